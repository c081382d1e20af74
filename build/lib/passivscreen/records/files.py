"""Files: atomic JSON, text and structure writing (a killed job never leaves a half-written result)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import write

from passivscreen.types import check_record


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, data: dict[str, Any]) -> None:
    """Atomically write ``data`` as indented JSON."""
    atomic_write_text(path, json.dumps(data, indent=2, default=_default, sort_keys=False) + "\n")


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    """Atomically write a step's record, after :func:`passivscreen.types.check_record` (every key declared
    for its kind: a misspelt key fails here, where it is written)."""
    check_record(record)
    write_json(path, record)


def read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def write_structures(path: str | Path, images: Atoms | list[Atoms]) -> None:
    """Atomically write one or several structures as extended XYZ."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".extxyz")
    os.close(fd)
    try:
        clean = []
        for a in images if isinstance(images, list) else [images]:
            b = a.copy()
            b.calc = None
            clean.append(b)
        write(tmp, clean, format="extxyz")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
