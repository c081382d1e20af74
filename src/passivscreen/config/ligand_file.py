"""``ligands_file``: a library of candidates from a file, checked row by row with the checks of a config's
``ligands`` entries, every bad row reported with its file, line and reason.

``on_bad_ligand: refuse`` (the default) stops before any compute and lists every bad row; ``skip`` runs the
others and keeps the bad rows, with their reasons, for ``results/<set>/skipped.csv``. Rows that are the same
molecule (canonical SMILES) with the same anchor and binding are run once; the repeats are reported.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

from passivscreen.calculators import BackendError
from passivscreen.config.errors import ConfigError
from passivscreen.config.ligand_checks import EntryProblem, placed_smiles
from passivscreen.ligands import LigandError, canonical_smiles, resolve_smiles
from passivscreen.ligands.files import LigandFileError, Row, read_rows
from passivscreen.schema import schema

#: The columns of ``skipped.csv``.
SKIPPED_COLUMNS = ("file", "line", "name", "smiles", "reason")


def _entry_problem(entry: dict[str, Any], validator: Any) -> str | None:
    """Why an entry breaks the schema of a ``ligands`` item (its first problem), or None."""
    errors = sorted(validator.iter_errors(entry), key=lambda e: list(map(str, e.path)))
    if not errors:
        return None
    err = errors[0]
    where = ".".join(map(str, err.absolute_path))
    return f"{where}: {err.message}" if where else err.message


def _canonical(entry: dict[str, Any]) -> str:
    return canonical_smiles(resolve_smiles(entry), entry["name"])


def check_rows(
    rows: list[Row], backends: list[str], taken: dict[str, str]
) -> tuple[list[tuple[Row, dict[str, Any]]], list[tuple[Row, str]]]:
    """The rows that can be run (row, entry) and the others (row, reason), in file order.

    ``taken``: names already used (lower case -> where), filled with the accepted rows' names. A row is
    refused for what refuses a config entry: the schema of a ``ligands`` item (name characters, anchor and
    binding values), a name used before (also differing only in case), the run's own decision of what is
    placed (:func:`~passivscreen.config.ligand_checks.placed_smiles`: SMILES, anchor, binding, elements
    every backend computes). A row that repeats an accepted molecule (canonical SMILES, anchor, binding) is
    reported as a duplicate and not run.

    Not checked here, unlike a ``ligands`` entry: the 3D embedding (RDKit ETKDG, ~13 ms a row, two thirds of
    the time of a library's validation). A row that cannot be embedded becomes a failed row of its ligand job
    (``invalid_structure``, the reason from RDKit) and, with ``slab.repeat: auto``, gets the smallest cell
    (the ligand job chooses the cells, :func:`passivscreen.steps.ligand.run_ligand`).
    """
    import jsonschema

    from passivscreen.config.checks import dots_only

    item = schema()["properties"]["ligands"]["items"]
    validator = jsonschema.validators.validator_for(item)(item)
    good: list[tuple[Row, dict[str, Any]]] = []
    bad: list[tuple[Row, str]] = []
    seen: dict[tuple[str, str | None, str | None], tuple[int, str]] = {}
    for row in rows:
        entry: dict[str, Any] = dict(row.entry)
        name = entry.get("name", "")
        problem = row.problem or _entry_problem(entry, validator)
        if problem is None and "smiles" not in entry and "library" not in entry:
            problem = "no smiles"
        if problem is None and dots_only(name):
            problem = f"{name!r} is not a name (only dots)"
        if problem is None and name.lower() in taken:
            problem = f"the name {name!r} is already used by {taken[name.lower()]}"
        if problem is None:
            try:
                key = (_canonical(entry), entry.get("anchor"), entry.get("binding"))
                if key in seen:
                    line, first = seen[key]
                    problem = f"duplicate of line {line} ({first!r}): the same molecule, anchor and binding"
                else:
                    # parsed, anchored, computable; the 3D embedding is the ligand job's (a failure there is a row)
                    placed_smiles(entry, backends)
            except EntryProblem as err:
                problem = f"{err.key}: {err}"
            except (LigandError, BackendError) as err:
                problem = str(err)
        if problem is not None:
            bad.append((row, problem))
            continue
        seen[key] = (row.line, name)
        taken[name.lower()] = f"line {row.line}"
        good.append((row, entry))
    return good, bad


def expand_ligands_file(cfg: dict[str, Any], base: str | Path | None, backends: list[str]) -> dict[str, Any]:
    """``cfg`` with the usable rows of its ``ligands_file`` appended to ``ligands`` (a new dict).

    ``base``: the folder of the config file (a relative ``ligands_file`` is relative to it; None: the
    working directory). The result has no ``ligands_file`` but a ``ligands_file_report`` (the file, its
    row count, the rows used, and the skipped rows with their reasons), so validating it again reads
    nothing twice.

    Raises
    ------
    ConfigError
        The file cannot be read, or (``on_bad_ligand: refuse``) any row cannot be used: every bad row is listed.
    """
    if not cfg.get("ligands_file"):
        return cfg
    out = copy.deepcopy(cfg)
    path = Path(out.pop("ligands_file"))
    if not path.is_absolute():
        path = Path(base or ".") / path
    try:
        rows = read_rows(path)
    except LigandFileError as err:
        raise ConfigError(f"config field ligands_file: {err}") from err
    taken = {lig["name"].lower(): f"ligands entry {lig['name']!r}" for lig in out["ligands"]}
    good, bad = check_rows(rows, backends, taken)
    refused = [(r, why) for r, why in bad if not why.startswith("duplicate of line")]
    if refused and out["on_bad_ligand"] == "refuse":
        lines = "\n".join(f"  {path}:{r.line} ({r.entry.get('name', '?')}): {why}" for r, why in refused)
        raise ConfigError(
            f"config field ligands_file: {len(refused)} of {len(rows)} rows of {path} cannot be used "
            f"(on_bad_ligand: refuse; 'skip' runs the others):\n{lines}"
        )
    if not good and not out["ligands"]:
        raise ConfigError(f"config field ligands_file: no row of {path} can be used ({len(rows)} rows)")
    out["ligands"] = out["ligands"] + [entry for _, entry in good]
    out["ligands_file_report"] = {
        "file": str(path),
        "rows": len(rows),
        "used": len(good),
        "skipped": [
            {
                "file": str(path),
                "line": r.line,
                "name": r.entry.get("name", ""),
                "smiles": r.entry.get("smiles", ""),
                "reason": why,
            }
            for r, why in bad
        ],
    }
    return out


def write_skipped(cfg: dict[str, Any], path: str | Path) -> int:
    """Write the skipped rows of a validated config's ``ligands_file`` to ``path`` (CSV); how many.

    Nothing is written when the config read no file; an empty table (the header) when no row was skipped.
    """
    report = cfg.get("ligands_file_report")
    if not report:
        return 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SKIPPED_COLUMNS)
        writer.writeheader()
        writer.writerows(report["skipped"])
    return len(report["skipped"])
