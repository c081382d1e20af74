from __future__ import annotations

import pytest

from passivscreen.analysis import energies, geometry
from passivscreen.ligands import ligand_from_smiles
from passivscreen.placement import place_ligand
from passivscreen.structures import surface_pb_indices


def test_eads_arithmetic():
    assert energies.adsorption_energy(-105.5, -100.0, -4.25) == pytest.approx(-1.25)
    assert energies.adsorption_energy(-104.0, -100.0, -4.25) == pytest.approx(0.25)


def test_identical_slab_atoms_in_both_terms(small_slab):
    lig = ligand_from_smiles("acetone", "CC(C)=O")
    site = surface_pb_indices(small_slab)[0]
    p = place_ligand(small_slab, lig, site)
    assert geometry.max_slab_displacement(p.atoms, small_slab) == 0.0
    moved = p.atoms.copy()
    moved.positions[3] += [0.0, 0.0, 0.4]
    assert geometry.max_slab_displacement(moved, small_slab) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        geometry.max_slab_displacement(lig.atoms, small_slab)
    pb, d = geometry.nearest_pb(p.atoms, p.anchor, p.n_slab)
    assert pb == site and d == pytest.approx(2.5)


def test_ligand_bonds_changed():
    lig = ligand_from_smiles("acetone", "CC(C)=O")
    # every bond 10 % longer (a hot, stretched ligand) is still bonded at the 1.2 x covalent-radii cutoff;
    # 50 % longer is beyond it (even the C=O): every bond broken, none formed
    centre = lig.atoms.positions.mean(axis=0)
    stretched = lig.atoms.copy()
    stretched.positions = centre + 1.1 * (lig.atoms.positions - centre)
    assert geometry.ligand_bonds_changed(lig.atoms, stretched) == []
    apart = lig.atoms.copy()
    apart.positions = centre + 1.5 * (lig.atoms.positions - centre)
    gone = geometry.ligand_bonds_changed(lig.atoms, apart)
    assert len(gone) == len(lig.atoms) - 1 and all(c.startswith("broken") for c in gone)  # acetone: a tree
    broken = lig.atoms.copy()
    broken.positions[lig.anchor_index] += [0, 0, 3.0]  # pull O off the carbonyl C
    changes = geometry.ligand_bonds_changed(lig.atoms, broken)
    assert any(c.startswith("broken C") and "O" in c for c in changes)


def test_a_final_scf_that_does_not_converge_again_is_flagged(small_slab, monkeypatch):
    """No orbital summary at the final geometry (tblite's SCF converges neither restarted nor from the atomic guess,
    DMSO lying on the slab): the row is flagged scf_unstable and says why; with orbitals it is not."""
    from passivscreen.config import validate_config
    from passivscreen.ligands import ligand_from_smiles
    from passivscreen.placement import orientations
    from passivscreen.steps import properties
    from passivscreen.structures import surface_pb_indices

    cfg = validate_config({"set": "x", "ligands": [{"name": "tmpo", "smiles": "CP(C)(C)=O"}]})
    lig = ligand_from_smiles("tmpo", "CP(C)(C)=O")
    c = orientations(small_slab, lig, surface_pb_indices(small_slab)[0], 1)[0][0]
    monkeypatch.setattr(properties, "gfn2_view", lambda atoms: atoms)
    groups = {"surface_Pb": [], "defect": []}
    for elec, flagged in (({"charges": [0.0] * len(c.atoms)}, True), ({"orbitals": {"bond_orders": [0.2]}}, False)):
        monkeypatch.setattr(properties, "electronic_properties", lambda *a, e=elec, **k: dict(e))
        row = properties.complex_properties(c.atoms, -0.5, c, lig, small_slab, groups, cfg, "gfn2")
        assert ("scf_unstable[gfn2]" in row["integrity"]["flags"]) is flagged, row["integrity"]
        assert ("scf_unstable" in row["integrity"]["details"]) is flagged
