"""Bulk CsPbBr3 and PbBr2-terminated (001) slabs.

The bulk is built with pymatgen from its space group (Pm-3m); the slab is cut
with :func:`ase.build.surface`, which stacks ``n`` cubic cells along [001]
(``n`` PbBr2 + ``n`` CsBr layers); the topmost CsBr layer is removed so both
faces are PbBr2 (PbBr2-rich: ``n`` PbBr2 + ``n - 1`` CsBr layers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.build import surface
from ase.constraints import FixAtoms

#: Formal oxidation states used for the neutrality check.
FORMAL_CHARGES: dict[str, int] = {"Cs": 1, "Pb": 2, "Br": -1}

#: Tolerance (A) used to group atoms into layers.
LAYER_TOL = 0.3


class SlabError(ValueError):
    """Raised for a slab that cannot be built (charge, sizes)."""


@dataclass(frozen=True)
class SlabSpec:
    """Settings of a PbBr2-terminated CsPbBr3 (001) slab.

    Parameters
    ----------
    a
        Cubic lattice constant in A.
    n_pbbr2
        Number of PbBr2 layers (the slab has ``n_pbbr2 - 1`` CsBr layers).
    repeat
        In-plane supercell ``(n, m)``.
    vacuum
        Vacuum added on each side, in A.
    n_fixed_layers
        Bottom layers fixed in every calculation that relaxes slab atoms.
    """

    a: float = 5.87
    n_pbbr2: int = 3
    repeat: tuple[int, int] = (2, 2)
    vacuum: float = 10.0
    n_fixed_layers: int = 1

    @classmethod
    def from_config(cls, cfg: dict) -> SlabSpec:
        return cls(
            a=float(cfg.get("lattice_constant", 5.87)),
            n_pbbr2=int(cfg.get("n_pbbr2_layers", 3)),
            repeat=tuple(int(x) for x in cfg.get("repeat", [2, 2])),  # type: ignore[arg-type]
            vacuum=float(cfg.get("vacuum", 10.0)),
            n_fixed_layers=int(cfg.get("n_fixed_layers", 1)),
        )


def cubic_bulk(a: float = 5.87) -> Atoms:
    """Cubic Pm-3m CsPbBr3 with Pb at the origin (PbBr2 layer at z = 0)."""
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.ase import AseAtomsAdaptor

    if a <= 0:
        raise SlabError(f"lattice_constant must be positive, got {a}")
    struct = Structure.from_spacegroup(
        "Pm-3m",
        Lattice.cubic(a),
        ["Pb", "Br", "Cs"],
        [[0, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0.5]],
    )
    return AseAtomsAdaptor.get_atoms(struct)


def formal_charge(atoms: Atoms) -> int:
    """Sum of formal oxidation states (Cs+1, Pb+2, Br-1)."""
    try:
        return int(sum(FORMAL_CHARGES[s] for s in atoms.get_chemical_symbols()))
    except KeyError as err:  # pragma: no cover - only perovskite elements here
        raise SlabError(f"no formal charge known for element {err}") from err


def layer_indices(atoms: Atoms, tol: float = LAYER_TOL) -> list[np.ndarray]:
    """Atom indices grouped into layers along z, bottom first."""
    z = atoms.positions[:, 2]
    order = np.argsort(z)
    layers: list[list[int]] = []
    last = None
    for i in order:
        if last is None or z[i] - last > tol:
            layers.append([])
        layers[-1].append(int(i))
        last = z[i]
    return [np.array(lay) for lay in layers]


def build_slab(spec: SlabSpec) -> Atoms:
    """Build the PbBr2-terminated slab described by ``spec``.

    The slab is periodic in all three directions (vacuum along z), charge
    neutral, and carries a :class:`~ase.constraints.FixAtoms` on its bottom
    ``n_fixed_layers`` layers. Atom tags: 1 for the top PbBr2 layer, -1 for the
    bottom PbBr2 layer, 0 otherwise.

    Raises
    ------
    SlabError
        For impossible sizes or a slab that is not charge-neutral.
    """
    if spec.n_pbbr2 < 2:
        raise SlabError(f"n_pbbr2_layers must be >= 2 (got {spec.n_pbbr2})")
    if min(spec.repeat) < 1:
        raise SlabError(f"repeat must be positive integers (got {spec.repeat})")
    if spec.vacuum <= 0:
        raise SlabError(f"vacuum must be positive (got {spec.vacuum})")
    if not 0 <= spec.n_fixed_layers < 2 * spec.n_pbbr2 - 1:
        raise SlabError(f"n_fixed_layers out of range (got {spec.n_fixed_layers})")

    cells = surface(cubic_bulk(spec.a), (0, 0, 1), spec.n_pbbr2, vacuum=None)
    layers = layer_indices(cells)
    # stacking from the bottom: PbBr2, CsBr, PbBr2, ..., CsBr -> drop the top CsBr
    top = layers[-1]
    if set(cells[top].get_chemical_symbols()) != {"Cs", "Br"}:
        raise SlabError("unexpected stacking: top layer is not CsBr")
    del cells[top]
    slab = cells.repeat((spec.repeat[0], spec.repeat[1], 1))
    slab.center(vacuum=spec.vacuum, axis=2)
    slab.pbc = True

    charge = formal_charge(slab)
    if charge != 0:
        raise SlabError(f"slab {slab.get_chemical_formula()} has formal charge {charge:+d}")

    layers = layer_indices(slab)
    n_expected = 2 * spec.n_pbbr2 - 1
    if len(layers) != n_expected:
        raise SlabError(f"expected {n_expected} layers, found {len(layers)}")
    tags = np.zeros(len(slab), dtype=int)
    tags[layers[-1]] = 1
    tags[layers[0]] = -1
    slab.set_tags(tags)
    fixed = np.concatenate(layers[: spec.n_fixed_layers]) if spec.n_fixed_layers else []
    slab.set_constraint(FixAtoms(indices=sorted(int(i) for i in fixed)))
    return slab


def surface_pb_indices(slab: Atoms, face: str = "top") -> list[int]:
    """Indices of the Pb atoms of the outer PbBr2 layer of ``face``."""
    tag = 1 if face == "top" else -1
    return [i for i, (s, t) in enumerate(zip(slab.get_chemical_symbols(), slab.get_tags())) if s == "Pb" and t == tag]


def distinct_surface_sites(slab: Atoms, face: str = "top", symprec: float = 0.01) -> list[int]:
    """One representative surface Pb per symmetry-equivalence class.

    Equivalence comes from spglib (through pymatgen) applied to the slab.
    """
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    struct = AseAtomsAdaptor.get_structure(slab.copy())
    data = SpacegroupAnalyzer(struct, symprec=symprec).get_symmetry_dataset()
    equiv = np.asarray(data.equivalent_atoms)
    seen: dict[int, int] = {}
    for i in surface_pb_indices(slab, face):
        seen.setdefault(int(equiv[i]), i)
    return sorted(seen.values())
