"""The convergence harness on a tiny system: a finished complex re-evaluated along every axis."""

from __future__ import annotations

import pandas as pd
import pytest
from ase import Atoms

from passivscreen.convergence.variants import rebuild, spec_with
from passivscreen.steps.convergence import run_convergence
from passivscreen.structures import SlabSpec, build_slab, site_slab, surface_pb_indices


def test_rebuild_keeps_the_ligand_on_its_pb(small_slab, tmp_path):
    """A variant slab (more vacuum, more layers, larger cell) carries the ligand at the same place over its Pb."""
    spec = SlabSpec(n_pbbr2=2, repeat=(2, 2), vacuum=8.0)
    pb = surface_pb_indices(small_slab)[0]
    ss = site_slab(small_slab, "vBr0", ("top", "bottom"), pb)
    cx = ss.atoms.copy()
    for f in ("top", "bottom"):
        z = 2.5 if f == "top" else -2.5
        cx += Atoms("O", positions=[ss.atoms.positions[ss.sites[f]] + [0.3, 0.0, z]])
    rec = {"face": "both", "binding_pb": ss.sites, "vacancies": ss.vacancies}
    for axis, value in (("vacuum", 40.0), ("layers", 3), ("repeat", (3, 3))):
        slab, new, sites = rebuild(rec, ss.atoms, cx, spec_with(spec, axis, value))
        assert len(new) == len(slab) + 2
        for k, f in enumerate(("top", "bottom")):
            d = new.positions[len(slab) + k] - slab.positions[sites[f]]
            assert d == pytest.approx([0.3, 0.0, 2.5 if f == "top" else -2.5], abs=1e-6), (axis, f)
        # the vacancies are rebuilt: one Br fewer per face than the pristine variant slab
        assert len(build_slab(spec_with(spec, axis, value))) - len(slab) == 2
    assert spec_with(spec, "vacuum", 40.0).vacuum == 20.0  # total vacuum -> per side


@pytest.mark.slow
def test_harness_on_a_tiny_system(tiny_screen, tmp_path):
    """The harness over the shared tiny screen's formaldehyde complex (tests/conftest.py::tiny_screen)."""
    cfg = tiny_screen.cfg
    p, rec = tiny_screen.paths["formaldehyde"], tiny_screen.records["formaldehyde"]
    out = {k: tmp_path / f"convergence.{k}" for k in ("csv", "png", "json")}
    summary = run_convergence(cfg, [p], out["csv"], out["png"], out["json"])
    df = pd.read_csv(out["csv"])
    assert set(df["axis"]) == {"vacuum", "layers", "repeat", "accuracy"}
    # the protocol's own point reproduces the screen's E_ads (same geometry, same settings)
    prot = df[df["protocol"]]
    assert len(prot) == 4 and (prot["E_ads_per_ligand_eV"] - rec["E_ads_per_ligand_eV"]).abs().max() < 1e-4
    assert (prot["delta_eV"].abs() < 1e-9).all()
    # one check per axis: twice the total vacuum, one more layer, the next cell, 3x tighter SCF
    checks = df[df["check"]].set_index("axis")["value"].astype(str).to_dict()
    assert checks == {"vacuum": "32.0", "layers": "3", "repeat": "3x3", "accuracy": str(3.0 / 3)}
    vac = df[df["axis"] == "vacuum"].set_index("value")["E_ads_per_ligand_eV"]
    assert set(vac.index.astype(float)) == {12.0, 16.0, 32.0}
    assert vac.nunique() == 3  # the box changes the periodic energy: three different numbers
    assert set(summary["uncertainty_eV"]) == {"C=O"}
    assert summary["uncertainty_eV"]["C=O"] == pytest.approx(df[df["check"]]["delta_eV"].abs().max(), abs=1e-4)
    assert out["png"].stat().st_size > 10_000
