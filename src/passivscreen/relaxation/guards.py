"""Guards checked after every relaxation step: unphysical forces, a freed slab atom moving too far,
an energy below the reference basin (a reconstruction)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

#: Guard statuses after which a run is abandoned, not finished: no final energy is computed for it.
ABANDONED = {"probe_clash"}


class GuardTripped(RuntimeError):
    """A relaxation stopped by a guard; ``status`` names the guard."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Guards:
    """Limits checked after every step.

    Attributes
    ----------
    max_force
        Largest force (eV/A) on any atom that is still physical. Unphysical
        forces (the periodic GFN1 failure: ~100 eV/A) stop the run.
    watch
        Indices whose displacement from ``reference_positions`` is watched
        (free slab atoms); empty for a held slab.
    reference_positions
        Positions the watched atoms are compared with.
    max_displacement
        Largest allowed displacement (A) of a watched atom.
    energy_floor
        Lowest plausible energy (eV); falling below means the system left the
        reference basin (a reconstruction).
    energy_ceiling
        Highest energy (eV) worth going on from: a probe above it stops (status ``probe_clash``), as a start
        that presses the ligand into the surface does (``placement.probe_clash_eV``).
    """

    max_force: float = 50.0
    watch: list[int] = field(default_factory=list)
    reference_positions: np.ndarray | None = None
    max_displacement: float = 0.5
    energy_floor: float | None = None
    energy_ceiling: float | None = None

    def check(self, atoms: Atoms, energy: float, forces: np.ndarray) -> None:
        fmax = float(np.linalg.norm(forces, axis=1).max())
        if not np.isfinite(energy) or fmax > self.max_force:
            i = int(np.linalg.norm(forces, axis=1).argmax())
            raise GuardTripped(
                "unphysical_forces",
                f"force {fmax:.1f} eV/A on atom {i} ({atoms[i].symbol}) exceeds {self.max_force} eV/A",
            )
        if self.watch and self.reference_positions is not None:
            d = atoms.positions[self.watch] - self.reference_positions[self.watch]
            d = np.linalg.norm(d, axis=1)
            if d.max() > self.max_displacement:
                i = self.watch[int(d.argmax())]
                raise GuardTripped(
                    "reconstruction",
                    f"slab atom {i} ({atoms[i].symbol}) moved {d.max():.2f} A > {self.max_displacement} A",
                )
        if self.energy_floor is not None and energy < self.energy_floor:
            raise GuardTripped(
                "reconstruction",
                f"energy {energy:.3f} eV fell {self.energy_floor - energy:.3f} eV below the reference basin floor",
            )
        if self.energy_ceiling is not None and energy > self.energy_ceiling:
            raise GuardTripped(
                "probe_clash",
                f"energy {energy - self.energy_ceiling:.2f} eV above the ceiling of the lowest start probed before",
            )
