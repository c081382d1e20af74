"""The probes' reduced surface model: a held slab cut to the atomic layers nearest the ligands.

With the slab held, a probe moves only the ligand; what it feels of the surface comes mostly from the top
PbBr2 layer and the CsBr layer under it. Keeping the ``layers`` atomic layers (PbBr2 or CsBr, each neutral)
nearest every face that carries a ligand, and dropping the rest, makes each probe call several times
cheaper (the default 2x2 slab: 52 -> 32 atoms at 3 layers; a 4x4 slab under TSPO1: 208 -> 128); the
relaxation that follows ends on the whole slab, after a pre-relaxation on the same cut with
``placement.relax_layers`` (docs/benchmarks.md, stops 30-31: which starts it picks, against the whole slab's
probes; what the pre-relaxation saves).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from passivscreen.calculators.systems import electronic_state
from passivscreen.structures import formal_charge
from passivscreen.structures.slab import layer_indices

#: Heights within this (A) are one atomic layer: the layers are a/2 = 2.9 A apart, a relaxed surface rumples
#: by a few tenths of an A.
LAYER_TOL_A = 1.0


def kept_atoms(atoms: Atoms, n_slab: int, layers: int) -> np.ndarray:
    """Indices of ``atoms`` (slab first, ``n_slab`` atoms, then the ligands) in the reduced model: the ``layers``
    atomic layers of the slab nearest each face that a ligand sits on (above the slab's top or below its
    bottom), and every ligand atom. ``layers`` 0, or at least the slab's, keeps everything; so does a cut whose
    dropped atoms are not neutral (Cs+, Pb2+, Br-: a defect below the kept layers)."""
    n = len(atoms)
    z = atoms.positions[:n_slab, 2]
    bottom_up = layer_indices(atoms[:n_slab], tol=LAYER_TOL_A)
    n_layers = len(bottom_up)
    layer = np.empty(n_slab, dtype=int)  # counted from the top (0) down
    for k, members in enumerate(bottom_up):
        layer[members] = n_layers - 1 - k
    if layers <= 0 or layers >= n_layers:
        return np.arange(n)
    lig_z = atoms.positions[n_slab:, 2]
    top = bool(np.any(lig_z > z.max())) or not len(lig_z)
    bottom = bool(np.any(lig_z < z.min()))
    keep = np.zeros(n_slab, dtype=bool)
    if top:
        keep |= layer < layers
    if bottom:
        keep |= layer >= n_layers - layers
    if formal_charge(atoms[np.flatnonzero(~keep)]) != 0:  # a defect below the kept layers: keep everything
        return np.arange(n)
    return np.concatenate([np.flatnonzero(keep), np.arange(n_slab, n)])


def reduced(atoms: Atoms, n_slab: int, layers: int) -> tuple[Atoms, np.ndarray, int]:
    """The reduced model of a placement (:func:`kept_atoms`): a copy with the dropped slab atoms deleted, the
    kept slab atoms fixed as ``atoms`` fixes them, the total charge and spin carried over; the kept indices and the
    reduced slab's atom count. Every atomic layer of a CsPbBr3 slab (PbBr2 or CsBr) is neutral with an even
    electron count, so the complex's charge and spin hold for the reduced model as well."""
    keep = kept_atoms(atoms, n_slab, layers)
    out = atoms[keep]  # ASE carries the FixAtoms over to the kept atoms
    # the totals sat on the first atom, which may be dropped (tblite reads their sums)
    charge, spin = atoms.get_initial_charges().sum(), atoms.get_initial_magnetic_moments().sum()
    electronic_state(out, int(round(charge)), int(round(spin)) + 1)
    return out, keep, int(np.sum(keep < n_slab))
