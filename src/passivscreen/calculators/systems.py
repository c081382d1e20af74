"""A system as a calculator needs it: charge and spin on the atoms, a molecule's cell for the backend."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from passivscreen.calculators.tier import Tier


def electronic_state(atoms: Atoms, charge: int, multiplicity: int) -> None:
    """Charge and spin for the calculator (tblite reads their sums from the atoms)."""
    q = np.zeros(len(atoms))
    m = np.zeros(len(atoms))
    q[0], m[0] = charge, multiplicity - 1
    atoms.set_initial_charges(q)
    atoms.set_initial_magnetic_moments(m)


def molecule_box(atoms: Atoms, tier: Tier, vacuum: float = 10.0, cell: object = None) -> None:
    """A free molecule for ``tier``'s backend: no periodic boundaries for xTB, else centred in a large box.

    ML potentials and plane-wave/GPW DFT need a cell; with ``vacuum`` A on each side
    the molecule does not see its images (ML cutoffs are 5-6 A). ``cell`` (a slab's cell) puts the
    molecule at its centre instead: the same cell and grid as the slab, so that E_ads of a DFT tier
    compares like with like.
    """
    if tier.kind in ("xtb", "test"):
        atoms.pbc = False
    elif cell is not None:
        atoms.cell = cell
        atoms.pbc = True
        atoms.center()
    else:
        atoms.center(vacuum=vacuum)
        atoms.pbc = True
