"""``passivscreen rank``: a ranking of whatever complexes have finished, while a run goes on, and the same
table as the workflow's ranking rule once every complex is in."""

from __future__ import annotations

import copy
import shutil

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def tree(tiny_screen, tmp_path, monkeypatch):
    """A copy of the tiny screen's results tree under ``tmp_path/results`` (the working directory)."""
    shutil.copytree(tiny_screen.results, tmp_path / "results" / "tiny")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "results" / "tiny"


def test_a_partial_ranking_says_what_is_in_and_the_full_one_is_the_rules(tiny_screen, tree, capsys):
    from passivscreen.calibration import resolve
    from passivscreen.cli import main
    from passivscreen.convergence.uncertainty import uncertainty_for
    from passivscreen.ranking import ranking_title, write_ranking
    from passivscreen.records.layout import Results
    from passivscreen.steps.rank import planned_complexes, rank_finished

    # both faces planned: only the top ones have finished, so no ligand is complete
    cfg = copy.deepcopy(tiny_screen.cfg)
    cfg["faces"] = ["top", "bottom"]
    layout = Results.for_set("tiny")
    planned = planned_complexes(cfg)
    assert len(planned) == 2 * len(tiny_screen.records)
    df, n_in, n_all = rank_finished(cfg)
    assert (n_in, n_all) == (len(tiny_screen.records), len(planned))
    assert set(df["ligand"]) == set(tiny_screen.records) and not df["complete"].any()
    assert ranking_title(df, "tiny", n_in, n_all).endswith(f"({n_in} of {n_all} complexes in)")
    # one ligand's record gone (still running): the other is ranked and complete, the title says 1 of 2
    cfg = copy.deepcopy(tiny_screen.cfg)
    gone = layout.complex("methylamine", tiny_screen.site, "top").json
    saved = open(gone).read()
    import os

    os.remove(gone)
    assert main(["rank", str(_write(cfg, tree.parent.parent))]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 complexes in" in out and "1 of 2 ligands complete" in out
    part = pd.read_csv(layout.ranking.csv)
    assert list(part["ligand"]) == ["formaldehyde"] and part["complete"].all()
    assert (tree / "results.db").exists() and (tree / "ranking.png").exists()
    # everything in: the table the ranking rule writes from every record
    open(gone, "w").write(saved)
    full, n_in, n_all = rank_finished(cfg)
    assert n_in == n_all == 2 and full["complete"].all()
    records = [layout.complex(*m).json for m in planned_complexes(cfg)]
    rule = write_ranking(
        records,
        layout.ranking,
        set_name="tiny",
        order=cfg["ranking"]["order"],
        uncertainty=uncertainty_for(cfg, layout.convergence.summary),
        calibration=resolve(cfg),
    )
    pd.testing.assert_frame_equal(full, rule)
    assert ranking_title(full, "tiny", n_in, n_all) == ranking_title(full, "tiny")


def test_nothing_finished_writes_nothing(tiny_screen, tmp_path, monkeypatch, capsys):
    from passivscreen.cli import main

    monkeypatch.chdir(tmp_path)
    cfg = copy.deepcopy(tiny_screen.cfg)
    assert main(["rank", str(_write(cfg, tmp_path))]) == 0
    assert "no complex has finished yet (0 of 2)" in capsys.readouterr().out
    assert not (tmp_path / "results" / "tiny" / "ranking.csv").exists()


def _write(cfg, folder):
    import yaml

    path = folder / "tiny.yaml"
    keep = {k: v for k, v in cfg.items() if k != "ligands_file_report"}
    path.write_text(yaml.safe_dump(keep))
    return path
