"""PbBr2-terminated CsPbBr3 (001) slabs.

The bulk is built with pymatgen from its space group (Pm-3m); the slab is cut
with :func:`ase.build.surface`, which stacks ``n`` cubic cells along [001]
(``n`` PbBr2 + ``n`` CsBr layers); the topmost CsBr layer is removed so both
faces are PbBr2 (PbBr2-rich: ``n`` PbBr2 + ``n - 1`` CsBr layers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms

from passivscreen.schema import section_defaults
from passivscreen.structures.bulk import cubic_bulk, formal_charge
from passivscreen.structures.errors import SlabError

#: Tolerance (A) used to group atoms into layers.
LAYER_TOL = 0.3


@dataclass(frozen=True)
class SlabSpec:
    """Settings of a PbBr2-terminated CsPbBr3 (001) slab.

    Omitted fields take the defaults of the config schema's ``slab`` section.

    Parameters
    ----------
    a
        Cubic lattice constant in A.
    n_pbbr2
        Number of PbBr2 layers (the slab has ``n_pbbr2 - 1`` CsBr layers).
    repeat
        In-plane supercell ``(n, m)`` (default 2x2: the cell that ``slab.repeat: auto``, the schema's default,
        starts from; see :mod:`passivscreen.structures.cells`).
    vacuum
        Vacuum added on each side, in A.
    n_fixed_layers
        Bottom layers fixed in every calculation that relaxes slab atoms.
    """

    a: float = field(default_factory=lambda: float(_default("lattice_constant")))
    n_pbbr2: int = field(default_factory=lambda: int(_default("n_pbbr2_layers")))
    repeat: tuple[int, int] = (2, 2)
    vacuum: float = field(default_factory=lambda: float(_default("vacuum")))
    n_fixed_layers: int = field(default_factory=lambda: int(_default("n_fixed_layers")))

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SlabSpec:
        """The spec of a config's ``slab`` section (omitted keys: the schema's defaults)."""
        c = section_defaults("slab") | dict(cfg)
        if c["repeat"] == "auto":
            raise ValueError("slab.repeat is auto: the cell is chosen per ligand (structures.cells.slab_spec)")
        return cls(
            a=float(c["lattice_constant"]),
            n_pbbr2=int(c["n_pbbr2_layers"]),
            repeat=(int(c["repeat"][0]), int(c["repeat"][1])),
            vacuum=float(c["vacuum"]),
            n_fixed_layers=int(c["n_fixed_layers"]),
        )


def _default(key: str) -> Any:
    """Default of ``slab.<key>`` in the config schema (the one source of defaults)."""
    return section_defaults("slab")[key]


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

    from ase.build import surface  # imported here: ase.build pulls in scipy (slow start-up of `validate`)

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
