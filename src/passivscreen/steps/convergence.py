"""Step: the convergence harness over a finished screen (``snakemake converge``, ``passivscreen converge``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from passivscreen.calculators import set_threads
from passivscreen.convergence.harness import convergence_table
from passivscreen.convergence.report import write_convergence
from passivscreen.convergence.uncertainty import protocol_of
from passivscreen.records.layout import Results


def complex_paths(
    results: str | Path, ligand: str, site: str, face: str, slab_site: str | None = None
) -> dict[str, Path]:
    """The files of one finished complex and its references under ``results`` (:class:`Results`); ``slab_site``:
    the label of its slab reference when it is not ``site`` (``slab.repeat: auto``: the site on its cell)."""
    layout = Results(str(results))
    c, lig = layout.complex(ligand, site, face), layout.ligand(ligand)
    slab = layout.slab(slab_site or site, face)
    return {
        "record": Path(c.json),
        "complex": Path(c.xyz),
        "slab_record": Path(slab.json),
        "slab": Path(slab.xyz),
        "ligand_record": Path(lig.json),
        "ligand": Path(lig.xyz),
    }


def run_convergence(
    cfg: dict[str, Any],
    complexes: list[dict[str, Path]],
    out_csv: str | Path,
    out_png: str | Path,
    out_json: str | Path,
    log: Any = None,
) -> dict[str, Any]:
    """E_ads of ``complexes`` against every convergence axis; writes the table, the figure and the summary."""
    set_threads(cfg["threads"])
    df = convergence_table(cfg, complexes, log)
    protocol = {**protocol_of(cfg), "tolerance": cfg["convergence"]["tolerance"]}
    return write_convergence(df, out_csv, out_png, out_json, protocol)
