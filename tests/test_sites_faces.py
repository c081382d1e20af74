"""Br-vacancy sites, faces, integrity flags and trap-state analysis (issue: bilateral passivation)."""

from __future__ import annotations

import numpy as np
import pytest

from passivscreen.analysis import geometry, integrity
from passivscreen.analysis.electronic import dipole_energy_estimate, pdos, trap_states
from passivscreen.ligands import ligand_from_smiles
from passivscreen.placement.starts import place_all as _place_all
from passivscreen.structures import (
    SlabError,
    face_tuple,
    formal_charge,
    layer_indices,
    parse_site,
    pdos_groups,
    site_slab,
    surface_pb_indices,
)


@pytest.mark.parametrize(
    "kind, faces, n_br, charge, mult",
    [
        ("pristine", ("top",), 20, 0, 1),
        ("vBr0", ("top",), 19, 0, 2),
        ("vBr+", ("top",), 19, 1, 1),
        ("vBr0", ("top", "bottom"), 18, 0, 3),
        ("vBr+", ("top", "bottom"), 18, 2, 1),
    ],
)
def test_vacancy_construction_and_charge(small_slab, kind, faces, n_br, charge, mult):
    ss = site_slab(small_slab, kind, faces)
    assert ss.atoms.get_chemical_symbols().count("Br") == n_br
    assert ss.charge == charge and ss.multiplicity == mult
    # formal charge of the ions left: +1 per missing Br-; neutral vacancies keep the electron
    assert formal_charge(ss.atoms) == 20 - n_br
    for face in faces:
        pb = ss.sites[face]
        assert ss.atoms[pb].symbol == "Pb"
        z = ss.atoms.positions[:, 2]
        assert ss.atoms.positions[pb, 2] == pytest.approx(z.max() if face == "top" else z.min())
        if kind != "pristine":
            # the removed Br was in-plane next to the binding Pb: Pb is now 4-coordinated
            vac = np.asarray(ss.vacancies[face])
            assert np.linalg.norm(_mic(ss.atoms, vac - ss.atoms.positions[pb])) == pytest.approx(2.935, abs=0.01)
            d = ss.atoms.get_distances(
                pb, [i for i, s in enumerate(ss.atoms.get_chemical_symbols()) if s == "Br"], mic=True
            )
            assert (d < 3.2).sum() == 4


def _mic(atoms, vec):
    from ase.geometry import find_mic

    return find_mic(vec[None, :], atoms.cell, atoms.pbc)[0][0]


def test_bottom_vacancy_mirrors_top(small_slab):
    top = site_slab(small_slab, "vBr0", ("top",))
    bottom = site_slab(small_slab, "vBr0", ("bottom",))
    zc = 0.5 * (small_slab.positions[:, 2].max() + small_slab.positions[:, 2].min())
    vt, vb = np.asarray(top.vacancies["top"]), np.asarray(bottom.vacancies["bottom"])
    assert vb[2] == pytest.approx(2 * zc - vt[2]) and np.allclose(vb[:2], vt[:2])
    groups = pdos_groups(top.atoms, ("top",), top.sites, top.vacancies)
    assert len(groups["defect"]) == 2 and top.sites["top"] in groups["defect"]
    assert set(groups["surface_Pb"]) == set(surface_pb_indices(top.atoms, "top"))


def test_unknown_site_and_face(small_slab):
    with pytest.raises(SlabError):
        site_slab(small_slab, "vCs", ("top",))
    with pytest.raises(ValueError):
        face_tuple("side")
    assert parse_site("vBr+-Pb10") == ("vBr+", 10)
    assert face_tuple("both") == ("top", "bottom")


def test_both_faces_placement(small_slab):
    ss = site_slab(small_slab, "vBr0", ("top", "bottom"))
    lig = ligand_from_smiles("tmpo", "CP(C)(C)=O")
    cfg = {"placement": {"orientations": 2, "min_contact_ratio": 0.75}}
    ok, clash, span = _place_all(ss.atoms, lig, ss.sites, ("top", "bottom"), cfg)
    assert ok and not clash and span == 360.0  # a vacancy breaks the 4-fold axis
    c = ok[0]
    assert len(c.atoms) == len(ss.atoms) + 2 * len(lig.atoms)
    a_top, a_bot = c.anchors
    assert c.atoms.positions[a_top, 2] > ss.atoms.positions[:, 2].max()
    assert c.atoms.positions[a_bot, 2] < ss.atoms.positions[:, 2].min()
    for a, face in zip(c.anchors, ("top", "bottom")):
        pb, d = geometry.nearest_pb(c.atoms, a, c.n_slab)
        assert pb == ss.sites[face] and d == pytest.approx(2.5)
    assert len(layer_indices(ss.atoms)) == 3


def _complex(small_slab, smiles="CP(C)(C)=O"):
    lig = ligand_from_smiles("l", smiles)
    ss = site_slab(small_slab, "pristine", ("top",))
    ok, _, _ = _place_all(
        ss.atoms, lig, ss.sites, ("top",), {"placement": {"orientations": 1, "min_contact_ratio": 0.75}}
    )
    return ss, lig, ok[0]


def test_integrity_clean_case_has_no_flags(small_slab):
    ss, lig, c = _complex(small_slab)
    out = integrity.integrity_flags(
        c.atoms, ss.atoms, c.n_slab, c.anchors, lig.atoms, c.n_lig, "gfn2", slab_free=True, ligand_charge=0.14
    )
    assert out["flags"] == [] and out["surface_assessed"]


def test_integrity_ligand_reacted(small_slab):
    ss, lig, c = _complex(small_slab)
    bad = c.atoms.copy()
    p_index = c.n_slab + lig.atoms.get_chemical_symbols().index("P")
    bad.positions[p_index] += [0.0, 0.0, 2.0]  # P=O and P-C bonds broken
    out = integrity.integrity_flags(bad, ss.atoms, c.n_slab, c.anchors, lig.atoms, c.n_lig, "gfn2", slab_free=False)
    assert out["flags"] == ["ligand_reacted[gfn2]"]


def test_integrity_desorbed(small_slab):
    ss, lig, c = _complex(small_slab)
    far = c.atoms.copy()
    far.positions[c.n_slab :] += [0.0, 0.0, 2.0]
    out = integrity.integrity_flags(far, ss.atoms, c.n_slab, c.anchors, lig.atoms, c.n_lig, "gfn2", slab_free=False)
    assert out["flags"] == ["desorbed[gfn2]"]


def test_integrity_surface_damaged_only_when_slab_free(small_slab):
    ss, lig, c = _complex(small_slab)
    dmg = c.atoms.copy()
    pb = c.sites[0]
    dmg.positions[pb] += [0.0, 0.0, 1.2]  # the site Pb pulled out of the surface
    out = integrity.integrity_flags(dmg, ss.atoms, c.n_slab, c.anchors, lig.atoms, c.n_lig, "chgnet", slab_free=True)
    assert "surface_damaged[chgnet]" in out["flags"]
    assert any("Pb" in d for d in out["details"]["surface_damaged"])
    held = integrity.integrity_flags(dmg, ss.atoms, c.n_slab, c.anchors, lig.atoms, c.n_lig, "gfn2", slab_free=False)
    assert not any(f.startswith("surface_damaged") for f in held["flags"]) and not held["surface_assessed"]


def test_integrity_ligand_reduced(small_slab):
    ss, lig, c = _complex(small_slab)
    out = integrity.integrity_flags(
        c.atoms, ss.atoms, c.n_slab, c.anchors, lig.atoms, c.n_lig, "gfn2", slab_free=False, ligand_charge=-0.18
    )
    assert out["flags"] == ["ligand_reduced[gfn2]"]


def _summary(energies, occ, w_pb, w_def, w_br=None):
    e = np.asarray(energies, float)
    w_pb = np.asarray(w_pb, float)
    return {
        "energies_eV": e.tolist(),
        "occupations": list(occ),
        "w_Pb": w_pb.tolist(),
        "w_Br": (1 - w_pb if w_br is None else np.asarray(w_br)).tolist(),
        "w_defect": list(w_def),
    }


def test_trap_states_constructed():
    # valence band (Br) at -11..-10, band CBM at -7.5, a defect state at -7.9 (in gap)
    s = _summary([-11, -10, -7.9, -7.5, -7.0], [2, 2, 1, 0, 0], [0.1, 0.1, 0.8, 0.8, 0.8], [0, 0, 0.7, 0.05, 0.05])
    t = trap_states(s)
    assert t["vbm_eV"] == -10 and t["cbm_eV"] == -7.5 and t["gap_eV"] == pytest.approx(2.5)
    assert t["n_trap_states"] == 1 and t["trap_depth_eV"] == pytest.approx(0.4)
    clean = _summary([-11, -10, -7.5, -7.0], [2, 2, 0, 0], [0.1, 0.1, 0.8, 0.8], [0, 0, 0.1, 0.1])
    assert trap_states(clean)["trap_depth_eV"] == 0.0 and trap_states(clean)["n_trap_states"] == 0
    grid = np.linspace(-12, -6, 601)
    dos = pdos(clean, None, grid, sigma=0.1)
    assert np.trapezoid(dos, grid) == pytest.approx(4.0, rel=1e-3)
    assert np.trapezoid(pdos(clean, "defect", grid), grid) == pytest.approx(0.2, rel=1e-3)


def test_dipole_estimate():
    assert dipole_energy_estimate(0.0, 1000.0) == 0.0
    assert dipole_energy_estimate(1.0, 2 * np.pi * 14.399645) == pytest.approx(1.0)
