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


#: Site types: a pristine surface Pb, or the Pb exposed by a Br vacancy in the
#: outer PbBr2 layer, neutral (Br atom removed: one extra electron) or +1
#: (Br- removed).
SITE_TYPES = ("pristine", "vBr0", "vBr+")


@dataclass
class SiteSlab:
    """A reference slab for one site type and set of faces.

    Attributes
    ----------
    atoms
        The slab (tags and constraints as in :func:`build_slab`).
    charge
        Total charge for the calculator (e).
    multiplicity
        Spin multiplicity (2S + 1).
    sites
        Face -> index of the Pb the ligand binds to.
    vacancies
        Face -> position of the removed Br (A).
    """

    atoms: Atoms
    charge: int
    multiplicity: int
    sites: dict[str, int]
    vacancies: dict[str, list[float]]


def _inplane_br(slab: Atoms, pb: int, face: str) -> int:
    """The in-plane Br of the outer layer nearest to Pb ``pb`` (lowest index on ties)."""
    tag = 1 if face == "top" else -1
    brs = [i for i, (s, t) in enumerate(zip(slab.get_chemical_symbols(), slab.get_tags())) if s == "Br" and t == tag]
    d = slab.get_distances(pb, brs, mic=True)
    return brs[int(np.argmin(np.round(d, 6)))]


def site_slab(slab: Atoms, site_type: str, faces: tuple[str, ...], pb_index: int | None = None) -> SiteSlab:
    """The reference slab for ``site_type`` with a binding site on each of ``faces``.

    For a vacancy, one in-plane Br next to the chosen Pb is removed from the outer
    PbBr2 layer of each face in ``faces``; the bottom-face site is the mirror image
    (through the slab's central plane) of the top-face one, so top, bottom and both
    are symmetric. Neutral vacancies (``vBr0``) leave one unpaired electron each
    (multiplicity ``n + 1``); charged ones (``vBr+``) add +1 each.
    """
    if site_type not in SITE_TYPES:
        raise SlabError(f"unknown site type {site_type!r}; choose from {SITE_TYPES}")
    top = surface_pb_indices(slab, "top")
    pb_top = top[0] if pb_index is None else pb_index
    if pb_top not in top:
        raise SlabError(f"Pb {pb_top} is not a top-face Pb")
    zc = 0.5 * (slab.positions[:, 2].max() + slab.positions[:, 2].min())
    mirror = slab.positions[pb_top] * [1, 1, -1] + [0, 0, 2 * zc]
    bottom = surface_pb_indices(slab, "bottom")
    dist = np.linalg.norm(slab.positions[bottom] - mirror, axis=1)
    pb_bottom = bottom[int(np.argmin(dist))]
    pb_of = {"top": pb_top, "bottom": pb_bottom}
    remove: list[int] = []
    vac: dict[str, list[float]] = {}
    if site_type != "pristine":
        for face in faces:
            br = _inplane_br(slab, pb_of[face], face)
            remove.append(br)
            vac[face] = slab.positions[br].tolist()
    keep = [i for i in range(len(slab)) if i not in set(remove)]
    new_index = {old: new for new, old in enumerate(keep)}
    atoms = slab[keep]
    fixed = [new_index[i] for i in (slab.constraints[0].index if slab.constraints else []) if i in new_index]
    atoms.set_constraint(FixAtoms(indices=fixed))
    n = len(remove)
    charge = n if site_type == "vBr+" else 0
    mult = n + 1 if site_type == "vBr0" else 1
    return SiteSlab(atoms, charge, mult, {f: new_index[pb_of[f]] for f in faces}, vac)


def site_rotation_order(slab: Atoms, index: int, symprec: float = 0.01) -> int:
    """Order of the highest rotation about the surface normal through atom ``index``.

    Rotating a ligand by ``360 / order`` degrees about the normal through this
    site gives a symmetry-equivalent configuration (4 on the ideal slab's Pb).
    """
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    struct = AseAtomsAdaptor.get_structure(slab.copy())
    ops = SpacegroupAnalyzer(struct, symprec=symprec).get_symmetry_operations(cartesian=False)
    frac = struct[index].frac_coords
    best = 1
    for op in ops:
        rot = np.asarray(op.rotation_matrix)
        if round(np.linalg.det(rot)) != 1 or not np.allclose(rot[2], [0, 0, 1]):
            continue
        image = op.operate(frac)
        delta = image - frac
        if np.allclose(delta - np.round(delta), 0, atol=1e-3):
            angle = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))  # fractional in-plane rotation of a square cell
            order = int(round(360.0 / abs(angle))) if abs(angle) > 1e-3 else 1
            best = max(best, order)
    return best
