"""Freed slab atoms (``hold.free_radius > 0``): refused at validation on every backend that does not hold the
slab, and, end to end on SevenNet (which does), the atoms near the anchor relax while the rest stay put."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from ase.io import read

from passivscreen.calculators import REGISTRY
from passivscreen.config import ConfigError, validate_config

HAS_SEVENN = importlib.util.find_spec("sevenn") is not None
#: A of freed slab around the anchor N in the end-to-end run
RADIUS = 3.0


def _cfg(**extra) -> dict:
    return {"set": "free", "ligands": [{"name": "methylamine", "smiles": "CN"}], **extra}


@pytest.mark.parametrize("backend", sorted(n for n, b in REGISTRY.items() if not b.holds_slab))
def test_free_radius_refused_where_the_backend_does_not_hold_the_slab(backend):
    """Every relaxing backend with holds_slab False: free_radius > 0 refused, naming the field and backend
    (before any check of whether the backend can run here)."""
    with pytest.raises(ConfigError, match=rf"hold\.free_radius: .*{backend!r}.*holds_slab=False"):
        validate_config(_cfg(tiers=[{"backend": backend}], hold={"free_radius": 3.0}))
    validate_config(_cfg(hold={"free_radius": 0.0}))  # holding the whole slab is fine on the default gfn2


def test_free_radius_checks_only_relaxing_tiers():
    """A single-point funnel tier moves no atom: its backend need not hold the slab; a relaxing one must."""
    pytest.importorskip("sevenn", reason='sevenn not installed: pip install "passivscreen[ml]"')
    ok = [{"backend": "sevenn"}, {"backend": "gfn2", "task": "single_point", "top_k": 1}]
    validate_config(_cfg(tiers=ok, hold={"free_radius": 3.0}))
    with pytest.raises(ConfigError, match=r"hold\.free_radius: .*tiers\[1\].*'chgnet'"):
        validate_config(_cfg(tiers=[{"backend": "sevenn"}, {"backend": "chgnet"}], hold={"free_radius": 3.0}))


@pytest.mark.slow
@pytest.mark.ml
@pytest.mark.skipif(not HAS_SEVENN, reason='sevenn not installed: pip install "passivscreen[ml]"')
def test_free_radius_end_to_end_on_sevenn(tmp_path):
    """The smallest slab (2 PbBr2 layers, 1x1), methylamine, SevenNet, through the real steps: the slab atoms
    within RADIUS of the anchor are freed and move; every other slab atom keeps the reference geometry."""
    from passivscreen.steps.adsorption import run_adsorption
    from passivscreen.steps.convergence import complex_paths
    from passivscreen.steps.ligand import run_ligand
    from passivscreen.steps.slab import run_slab
    from passivscreen.structures import site_labels

    cfg = validate_config(
        _cfg(
            calculator={"backend": "sevenn"},
            slab={"n_pbbr2_layers": 2, "repeat": [1, 1], "vacuum": 8.0},
            relax={"fmax": 0.1, "steps": 60, "ligand_steps": 60},
            placement={"orientations": 1},
            hold={"free_radius": RADIUS},
        )
    )
    res = tmp_path / "results" / "free"
    site = site_labels(cfg)[0]
    p = complex_paths(res, "methylamine", site, "top")
    assert run_slab(cfg, site, "top", p["slab_record"], p["slab"])["status"] == "ok"
    assert run_ligand(cfg, "methylamine", p["ligand_record"], p["ligand"], res / "work" / "lig")["status"] == "ok"
    rec = run_adsorption(
        cfg, "methylamine", site, "top", p["slab_record"], p["slab"], p["ligand_record"], p["ligand"],
        p["record"], p["complex"], res / "work" / "cx",
    )  # fmt: skip
    assert rec["status"] == "ok" and rec["backend"] == "sevenn", rec.get("reason")
    slab, cx = read(p["slab"]), read(p["complex"])
    n = len(slab)
    free = rec["free_slab_atoms"]
    assert free, "no slab atom within the free radius"
    anchor = n + 1  # methylamine's heavy atoms follow the slab: C, then the anchor N
    assert cx[anchor].symbol == "N"
    d = cx.get_distances(anchor, list(range(n)), mic=True)
    moved = np.linalg.norm(cx.positions[:n] - slab.positions, axis=1)
    near = [i for i in free if d[i] <= RADIUS + 0.5]
    assert near == free, (free, d[free])
    held = [i for i in range(n) if i not in free]
    assert held and moved[held].max() < 1e-8, moved[held].max()
    assert moved[free].max() > 1e-3, moved[free]  # the freed atoms relaxed
