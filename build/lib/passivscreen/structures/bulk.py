"""Bulk CsPbBr3: the cubic Pm-3m cell (pymatgen) and the formal charges of its ions."""

from __future__ import annotations

from ase import Atoms

from passivscreen.structures.errors import SlabError

#: Formal oxidation states used for the neutrality check.
FORMAL_CHARGES: dict[str, int] = {"Cs": 1, "Pb": 2, "Br": -1}


def cubic_bulk(a: float) -> Atoms:
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
