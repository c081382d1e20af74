"""``ligands_file``: a library of candidates from a file, checked row by row with the checks of a config's
``ligands`` entries, every bad row reported with its file, line and reason.

``on_bad_ligand: refuse`` (the default) stops before any compute and lists every bad row; ``skip`` runs the
others and keeps the bad rows, with their reasons, for ``results/<set>/skipped.csv``. Rows that are the same
molecule (canonical SMILES) with the same anchor and binding are run once; the repeats are reported.
"""

from __future__ import annotations

import copy
import csv
import functools
import re
import unicodedata
from pathlib import Path
from typing import Any

from passivscreen.calculators import BackendError
from passivscreen.config.errors import ConfigError
from passivscreen.config.ligand_checks import EntryProblem, placed_smiles
from passivscreen.ligands import LigandError, canonical_smiles, parse_smiles, resolve_smiles
from passivscreen.ligands.files import LigandFileError, Row, read_rows
from passivscreen.schema import schema

#: The columns of ``skipped.csv``.
SKIPPED_COLUMNS = ("file", "line", "name", "smiles", "reason")

#: The characters a ligand's name may have (it names files and Snakemake wildcards; the schema's pattern).
SAFE_NAME = re.compile(r"[A-Za-z0-9_.+-]+")


def file_safe_name(name: str) -> str:
    """``name`` as a ligand name may be written: accents dropped (NFKD), every run of other characters
    (spaces, commas, slashes, brackets) one ``_``, no ``_`` at either end; "" if nothing is left.

    A catalogue's "tri-n-octylphosphine oxide, TOPO" becomes ``tri-n-octylphosphine_oxide_TOPO``.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", ascii_name).strip("_")[:100]


def _parsed(smiles: str) -> Any:
    """The RDKit molecule of ``smiles``, or None where :func:`~passivscreen.ligands.parse_smiles` refuses it
    (the row's own check reports why)."""
    try:
        return parse_smiles(smiles)
    except LigandError:
        return None


@functools.cache
def _salt_remover() -> Any:
    """RDKit's salt remover with its own list of salts (built once)."""
    from rdkit.Chem.SaltRemover import SaltRemover

    return SaltRemover()


def strip_counter_ions(smiles: str) -> tuple[str, str] | None:
    """A catalogue's salt form reduced to the molecule screened: the counter-ions and solvent of RDKit's salt
    list (halides and hydrogen halides, alkali and alkaline-earth ions, water, sulfuric, nitric and
    phosphoric acid, TFA, ...) removed from a SMILES of several fragments that is not an ammonium salt
    (an ammonium salt is an ion pair, placed as written). Returns (the SMILES left, what was removed) when
    exactly one fragment is left, else None (the row is judged as written).

    ``CCCCCCCCN.Cl`` (octylamine hydrochloride) gives octylamine, ``CCCCCCCC(=O)[O-].[Na+]`` the octanoate
    anion (binding X, in a Br site).
    """
    from rdkit import Chem

    from passivscreen.ligands.anchors import find_anchors

    mol = _parsed(smiles) if "." in smiles else None
    if mol is None or len(Chem.GetMolFrags(mol)) < 2 or "ammonium" in find_anchors(mol):
        return None
    kept = _salt_remover().StripMol(mol, dontRemoveEverything=True)
    if len(Chem.GetMolFrags(kept)) != 1:
        return None
    left = Chem.MolToSmiles(kept)
    removed = [f for f in Chem.MolToSmiles(mol).split(".") if f != left]
    return left, ".".join(removed)


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


#: How an anchor class appears in the name of a row screened at that anchor (``glycine_amine``).
ANCHOR_TAGS = {"P=O": "PO", "S=O": "SO", "C=O": "CO", "N=O": "NO"}


def _per_anchor(entry: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """The entries a row is screened as, each with what was done ("" for the row as it is): a molecule with
    groups of several anchor classes and no ``anchor`` column (glycine: COOH and amine; a ketone amine) is
    screened once per class, as ``<name>_<class>`` with its ``anchor`` set, so that the ranking says which group
    binds (a config's ``ligands`` entry must choose instead). A row that cannot be parsed or has one class is
    returned as it is; so is one whose classes the run itself would not choose among (an ammonium salt's anion
    is its counter-ion)."""
    from passivscreen.ligands.anchors import find_anchors

    if entry.get("anchor") or entry.get("anchor_index") is not None or not entry.get("smiles"):
        return [(entry, "")]
    mol = _parsed(entry["smiles"])
    found = find_anchors(mol) if mol is not None else {}
    if "ammonium" in found or len(found) < 2:
        return [(entry, "")]
    name = entry["name"]
    out = []
    for cls in sorted(found):
        one = {**entry, "name": f"{name}_{ANCHOR_TAGS.get(cls, cls)}", "anchor": cls}
        one.setdefault("label", name)
        out.append((one, f"anchor classes {sorted(found)}: screened at {cls} as {one['name']!r}"))
    return out


def check_rows(
    rows: list[Row], backends: list[str], taken: dict[str, str]
) -> tuple[list[tuple[Row, dict[str, Any]]], list[tuple[Row, str]], list[tuple[Row, str]]]:
    """The rows that can be run (row, entry), the others (row, reason) and the accepted rows that were
    changed (row, what was done), in file order.

    Two things a catalogue writes are made usable first: a name with characters a file name cannot have is
    made file-safe (:func:`file_safe_name`, the original kept as ``label``), and a salt form loses its counter-ions
    (:func:`strip_counter_ions`). A molecule with several anchor classes and no ``anchor`` column is screened
    once per class (:func:`_per_anchor`).

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
    changed: list[tuple[Row, str]] = []
    for row in rows:
        entry: dict[str, Any] = dict(row.entry)
        name = entry.get("name", "")
        changes = []
        if name and not SAFE_NAME.fullmatch(name) and not row.problem and file_safe_name(name):
            kept = "" if entry.get("label") else f" (the file's name {name!r} kept as its label)"
            entry.setdefault("label", name)
            entry["name"] = name = file_safe_name(name)
            changes.append(f"named {name!r}{kept}")
        stripped = strip_counter_ions(entry["smiles"]) if entry.get("smiles") and not row.problem else None
        if stripped is not None:
            entry["smiles"] = stripped[0]
            changes.append(f"counter-ion(s) {stripped[1]} removed: {stripped[0]} is screened")
        for one, more in _per_anchor(entry) if not row.problem else [(entry, "")]:
            problem = row.problem or _entry_problem(one, validator)
            name = one.get("name", "")
            if problem is None and "smiles" not in one and "library" not in one:
                problem = "no smiles"
            if problem is None and dots_only(name):
                problem = f"{name!r} is not a name (only dots)"
            if problem is None and name.lower() in taken:
                problem = f"the name {name!r} is already used by {taken[name.lower()]}"
            if problem is None:
                try:
                    key = (_canonical(one), one.get("anchor"), one.get("binding"))
                    if key in seen:
                        line, first = seen[key]
                        problem = f"duplicate of line {line} ({first!r}): the same molecule, anchor and binding"
                    else:
                        # parsed, anchored, computable; the 3D embedding is the ligand job's (a failure there is a row)
                        placed_smiles(one, backends)
                except EntryProblem as err:
                    problem = f"{err.key}: {err}"
                except (LigandError, BackendError) as err:
                    problem = str(err)
            if problem is not None:
                bad.append((row, problem))
                continue
            seen[key] = (row.line, name)
            taken[name.lower()] = f"line {row.line}"
            good.append((row, one))
            if changes or more:
                changed.append((row, "; ".join([*changes, *([more] if more else [])])))
    return good, bad, changed


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
    good, bad, changed = check_rows(rows, backends, taken)
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
        "used": len({r.line for r, _ in good}),
        "entries": len(good),
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
        "changed": [{"line": r.line, "name": r.entry.get("name", ""), "change": what} for r, what in changed],
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
