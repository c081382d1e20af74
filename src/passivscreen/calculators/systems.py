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


def state_of(record: dict) -> tuple[int, int]:
    """(charge, multiplicity) of a slab or ligand record (neutral singlet where it names none)."""
    return int(record.get("charge", 0)), int(record.get("multiplicity", 1))


def complex_state(slab: tuple[int, int], ligand: tuple[int, int], n_ligands: int) -> tuple[int, int]:
    """Charge and multiplicity of a slab carrying ``n_ligands`` copies of a ligand, from the (charge,
    multiplicity) of each: charges add, and so do unpaired electrons (high spin: a doublet radical on a
    closed-shell slab is a doublet, two of them a triplet; on a doublet vacancy slab one radical makes a
    triplet)."""
    (q_slab, m_slab), (q_lig, m_lig) = slab, ligand
    return q_slab + n_ligands * q_lig, m_slab + n_ligands * (m_lig - 1)


#: A free molecule in a slab's lateral cell: A of vacuum above and below it along z (the slab's own
#: c is 2-3x longer; E_ads changes by at most a few meV, docs/validation.md).
SLAB_CELL_MOLECULE_VACUUM = 6.0


def molecule_box(atoms: Atoms, tier: Tier, vacuum: float = 10.0, cell: object = None) -> None:
    """A free molecule for ``tier``'s backend: no periodic boundaries for xTB, else centred in a large box.

    ML potentials and plane-wave/GPW DFT need a cell; with ``vacuum`` A on each side
    the molecule does not see its images (ML cutoffs are 5-6 A). ``cell`` (a slab's cell) puts the
    molecule at the centre of the slab's lateral cell (the same a and b, hence the same grid
    spacing, and the same lateral images as the ligand of the complex), with
    :data:`SLAB_CELL_MOLECULE_VACUUM` A above and below it along z (never more than the slab's c):
    a DFT tier's grid cost is proportional to the cell's volume.
    """
    if tier.kind in ("xtb", "test"):
        atoms.pbc = False
    elif cell is not None:
        slab_cell = np.array(cell, dtype=float)
        slab_c = float(np.linalg.norm(slab_cell[2]))
        extent = float(np.ptp(atoms.positions[:, 2])) if len(atoms) else 0.0
        slab_cell[2] *= min(slab_c, extent + 2.0 * SLAB_CELL_MOLECULE_VACUUM) / slab_c
        atoms.cell = slab_cell
        atoms.pbc = True
        atoms.center()
    else:
        atoms.center(vacuum=vacuum)
        atoms.pbc = True
