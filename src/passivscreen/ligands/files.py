"""Reading a ligand library file: a CSV (header with ``name`` and ``smiles``), a SMILES file or an SDF file.

Each row becomes a ligand entry (the keys of a config's ``ligands`` item) with the line it came from, or a
problem that names the line. Whether an entry can be run is decided elsewhere
(:mod:`passivscreen.config.ligand_file`); this module only reads.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The columns a CSV row may give (others, such as a catalogue number or a price, are ignored).
COLUMNS = ("name", "smiles", "anchor", "binding", "label", "library")
#: Other headers of the name column, in the order they are looked for when there is no ``name`` (PubChem's
#: ``cmpdname``, a database's ``compound`` or ``id``).
NAME_COLUMNS = ("compound_name", "molecule_name", "cmpdname", "compound", "molecule", "title", "id")
#: Other headers of the SMILES column (besides any single column whose header contains ``smiles``).
SMILES_COLUMNS = ("isomeric_smiles", "canonical_smiles")
TABLE_SUFFIXES = (".csv", ".tsv")
SMILES_SUFFIXES = (".smi", ".smiles", ".ism", ".can")
SDF_SUFFIXES = (".sdf", ".sd")


class LigandFileError(ValueError):
    """The file as a whole cannot be read (missing, unknown format, a CSV without ``name`` or ``smiles``)."""


@dataclass
class Row:
    """One row of a library file: its first line, the entry it gives, or why it gives none."""

    line: int
    entry: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def read_rows(path: str | Path) -> list[Row]:
    """The rows of a ligand library file, in file order.

    Formats by suffix: ``.csv`` or ``.tsv`` (a header with at least ``name`` and ``smiles``, also under the
    headers of :data:`NAME_COLUMNS` and :data:`SMILES_COLUMNS`; comma, semicolon or tab between fields;
    optional ``anchor``, ``binding``, ``label``, ``library``; other columns ignored), ``.smi``/``.smiles``
    (SMILES with its CXSMILES extension if any, whitespace, name; a row without a name is named
    ``<file stem>_<line>``; ``#`` lines are comments) or ``.sdf``
    (one record per molecule: its title line or a ``name`` property is the name, its SMILES is written
    from the structure with the stereochemistry of its 3D coordinates; ``anchor``, ``binding``, ``label``
    properties are read).

    Raises
    ------
    LigandFileError
        The file is missing, not UTF-8, of an unknown format, or a CSV header lacks ``name`` or ``smiles``.
    """
    path = Path(path)
    if not path.is_file():
        raise LigandFileError(f"{path} not found")
    suffix = path.suffix.lower()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise LigandFileError(f"{path} is not UTF-8 text (byte {err.start})") from err
    if suffix in TABLE_SUFFIXES:
        return _csv_rows(path, text)
    if suffix in SMILES_SUFFIXES:
        return _smiles_rows(path, text)
    if suffix in SDF_SUFFIXES:
        return _sdf_rows(text, path)
    raise LigandFileError(
        f"{path}: unknown format {suffix!r} (.csv or .tsv with name,smiles; {', '.join(SMILES_SUFFIXES)}; "
        f"{', '.join(SDF_SUFFIXES)})"
    )


def _delimiter(first: str) -> str:
    """The delimiter of a table whose header is ``first``: a comma, a semicolon (a spreadsheet's export where
    the comma is the decimal mark) or a tab, whichever gives a name and a SMILES column (default comma)."""
    for delim in (",", ";", "\t"):
        header = [h.strip().lower() for h in first.split(delim)]
        if _column(header, "smiles", SMILES_COLUMNS) is not None and _column(header, "name", NAME_COLUMNS):
            return delim
    return ","


def _column(header: list[str], key: str, aliases: tuple[str, ...]) -> str | None:
    """The header's column for ``key``: itself, else the first of ``aliases`` the header has, else (SMILES only)
    the one column whose name contains ``smiles`` (PubChem's ``IsomericSMILES``, ``canonical_smiles``)."""
    for name in (key, *aliases):
        if name in header:
            return name
    if key == "smiles":
        found = [h for h in header if "smiles" in h]
        return found[0] if len(found) == 1 else None
    return None


def _csv_rows(path: Path, text: str) -> list[Row]:
    lines = text.splitlines()
    reader = csv.reader(lines, delimiter=_delimiter(lines[0]) if lines else ",")
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration as err:
        raise LigandFileError(f"{path} is empty: expected a header with name,smiles") from err
    columns = {k: _column(header, k, a) for k, a in (("name", NAME_COLUMNS), ("smiles", SMILES_COLUMNS))}
    missing = [k for k, c in columns.items() if c is None]
    if missing:
        raise LigandFileError(f"{path}: the header {header} has no {' or '.join(missing)} column")
    header = [next((k for k, c in columns.items() if c == h), h) for h in header]
    dup = sorted({h for h in header if h in COLUMNS and header.count(h) > 1})
    if dup:
        raise LigandFileError(f"{path}: the header gives the column(s) {dup} twice")
    rows = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        entry = {h: v.strip() for h, v in zip(header, values, strict=False) if h in COLUMNS and v.strip()}
        if len(values) != len(header):
            rows.append(Row(line, entry, f"{len(values)} fields, the header has {len(header)}"))
            continue
        rows.append(Row(line, entry))
    return rows


def _smiles_rows(path: Path, text: str) -> list[Row]:
    rows = []
    for line, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(None, 1)
        if line == 1 and parts[0].lower() == "smiles":
            continue  # a header line
        if len(parts) > 1 and parts[1].startswith("|") and "|" in parts[1][1:]:
            # a CXSMILES extension (|...|) belongs to the SMILES, the name follows it
            end = parts[1].index("|", 1) + 1
            rest = parts[1][end:].strip()
            parts = [f"{parts[0]} {parts[1][:end]}", *([rest] if rest else [])]
        name = parts[1].strip() if len(parts) > 1 else f"{path.stem}_{line}"
        rows.append(Row(line, {"name": name, "smiles": parts[0]}))
    return rows


def _sdf_rows(text: str, path: Path) -> list[Row]:
    rows: list[Row] = []
    block: list[str] = []
    start = 1
    for line, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() == "$$$$":
            if any(b.strip() for b in block):
                rows.append(_sdf_record("\n".join(block), start, len(rows), path))
            block, start = [], line + 1
            continue
        block.append(raw)
    if any(b.strip() for b in block):
        rows.append(_sdf_record("\n".join(block), start, len(rows), path))
    return rows


def record_sha256(body: str) -> str:
    """SHA-256 of an SDF record's text (its lines up to ``$$$$``, joined by newlines)."""
    return hashlib.sha256(body.encode()).hexdigest()


def read_sdf_record(structure: dict[str, Any]) -> str:
    """The text of the SDF record a ligand entry's ``structure`` names (``file``, ``line`` its record starts on,
    optional ``sha256``), as :func:`read_rows` read it.

    Raises
    ------
    LigandFileError
        The file is gone, or the record's text is no longer the one validated (its SHA-256 differs).
    """
    path = Path(structure["file"])
    try:
        with path.open(encoding="utf-8-sig") as fh:
            lines = itertools.takewhile(
                lambda raw: raw.strip() != "$$$$", itertools.islice(fh, structure["line"] - 1, None)
            )
            body = "\n".join(raw.rstrip("\r\n") for raw in lines)
    except OSError as err:
        raise LigandFileError(f"the structure file {path} cannot be read: {err}") from err
    if structure.get("sha256") and record_sha256(body) != structure["sha256"]:
        raise LigandFileError(f"{path}:{structure['line']}: the SDF record changed since the config was validated")
    return body


def read_molblock(body: str) -> Any:
    """The RDKit molecule of an SDF record's text (hydrogens kept), or None if RDKit cannot read it (quietly)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        return Chem.MolFromMolBlock(body, removeHs=False)
    finally:
        RDLogger.EnableLog("rdApp.*")


def _sdf_record(body: str, line: int, index: int, path: Path) -> Row:
    """One SDF record (``body``: its lines up to ``$$$$``) as a row; a 3D record's coordinates are named in
    its entry's ``structure`` (the ligand job's first conformer)."""
    from rdkit import Chem

    mol = read_molblock(body)
    # data items (> <name>) follow the molblock's M  END
    props = {k.strip("<> "): v.strip() for k, v in _sdf_data(body).items()} if mol is not None else {}
    title = body.splitlines()[0].strip() if body.splitlines() else ""
    if mol is None:
        return Row(line, {"name": title} if title else {}, "RDKit cannot read this record's molblock")
    is_3d = bool(mol.GetNumConformers()) and mol.GetConformer().Is3D()
    if is_3d:
        Chem.AssignStereochemistryFrom3D(mol)
    entry: dict[str, Any] = {
        "name": props.get("name") or title or f"record_{index + 1}",
        "smiles": Chem.MolToSmiles(Chem.RemoveHs(mol)),
    }
    entry.update({k: props[k] for k in ("anchor", "binding", "label") if props.get(k)})
    if is_3d:
        entry["structure"] = {"file": str(path.resolve()), "line": line, "sha256": record_sha256(body)}
    return Row(line, entry)


def _sdf_data(body: str) -> dict[str, str]:
    """The data items of an SDF record: ``> <key>`` followed by its value lines."""
    out: dict[str, str] = {}
    key = None
    for raw in body.splitlines():
        if raw.startswith(">"):
            key = raw[raw.find("<") + 1 : raw.rfind(">")] if "<" in raw else None
            if key is not None:
                out[key] = ""
        elif key is not None:
            if raw.strip():
                out[key] = (out[key] + "\n" + raw.strip()).strip()
            else:
                key = None
    return out
