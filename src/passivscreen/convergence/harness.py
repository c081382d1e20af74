"""The convergence harness: E_ads of finished complexes against vacuum, slab thickness, lateral cell and SCF
accuracy, one setting changed at a time, single points at the screen's final geometries."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from ase import Atoms
from ase.io import read

from passivscreen.analysis.energies import adsorption_energy
from passivscreen.calculators import Tier, screen_tiers, tiers_from_config
from passivscreen.calculators.systems import complex_state, electronic_state, molecule_box, state_of
from passivscreen.convergence.variants import Variant, rebuild, spec_with
from passivscreen.records.files import read_json
from passivscreen.relaxation.held import held_copy
from passivscreen.relaxation.scf import single_point
from passivscreen.structures import SlabSpec, face_tuple
from passivscreen.structures.cells import slab_spec
from passivscreen.types import E_ADS_PER_LIGAND

#: Axes of the harness and the config key of their values.
AXES = ("vacuum", "layers", "repeat", "accuracy")


def axis_value(axis: str, value: Any) -> Any:
    """A value of ``axis`` in one form (vacuum and accuracy as floats, layers as an int, a cell as a tuple),
    so that 80 and 80.0 are the same point."""
    if axis == "repeat":
        return tuple(int(x) for x in value)
    return int(value) if axis == "layers" else float(value)


def value_label(axis: str, value: Any) -> str:
    """How a point is written in ``convergence.csv`` (``3x3`` for a cell)."""
    v = axis_value(axis, value)
    return "x".join(map(str, v)) if axis == "repeat" else str(v)


def protocol_value(axis: str, spec: SlabSpec, tier: Tier) -> Any:
    """The value the protocol itself uses on ``axis``."""
    raw = {
        "vacuum": 2.0 * spec.vacuum,
        "layers": spec.n_pbbr2,
        "repeat": tuple(spec.repeat),
        "accuracy": tier.parameters.get("accuracy") or 1.0,
    }[axis]
    return axis_value(axis, raw)


def checks(spec: SlabSpec, tier: Tier) -> dict[str, Any]:
    """The settings a converged E_ads must not move from by more than the tolerance: twice the
    vacuum, one more PbBr2 layer, one more cell in each lateral direction, 3x tighter SCF."""
    a, b = spec.repeat
    out: dict[str, Any] = {"vacuum": 4.0 * spec.vacuum, "layers": spec.n_pbbr2 + 1, "repeat": (a + 1, b + 1)}
    if tier.kind == "xtb" and tier.parameters.get("accuracy"):
        out["accuracy"] = float(tier.parameters["accuracy"]) / 3.0
    return out


def variants(cfg: dict[str, Any], spec: SlabSpec, tier: Tier) -> list[Variant]:
    """Every point of every axis: the config's ``convergence`` values, the protocol's and the checks'."""
    conv = cfg["convergence"]
    want = set(conv["axes"])
    out: list[Variant] = []
    must = checks(spec, tier)
    for axis in AXES:
        if axis not in want or (axis == "accuracy" and "accuracy" not in must):
            continue
        values = [axis_value(axis, v) for v in conv[axis]]
        if axis == "repeat":  # a cell smaller than the complex's own would put the ligand on its images
            values = [v for v in values if v[0] >= spec.repeat[0] and v[1] >= spec.repeat[1]]
        values += [protocol_value(axis, spec, tier), axis_value(axis, must[axis])]
        seen: list[Any] = []
        for v in values:
            if v not in seen:
                seen.append(v)
        for v in seen:
            params = dict(tier.parameters, accuracy=float(v)) if axis == "accuracy" else dict(tier.parameters)
            out.append(Variant(axis, v, spec_with(spec, axis, v), params))
    return out


class _Energies:
    """Single points, each system evaluated once (slabs are shared by all ligands)."""

    def __init__(self, tier: Tier):
        self.tier = tier
        self.cache: dict[tuple, float | None] = {}
        self.seconds = 0.0

    def __call__(self, key: tuple, atoms: Atoms, params: dict[str, Any], charge: int, mult: int) -> float | None:
        if key not in self.cache:
            atoms = held_copy(atoms)
            electronic_state(atoms, charge, mult)
            tier = replace(self.tier, parameters=params)
            tier.attach(atoms)
            t0 = time.perf_counter()
            sp = single_point(atoms, atoms.calc)
            self.seconds += time.perf_counter() - t0
            self.cache[key] = sp["energy"]
        return self.cache[key]


def converge_complex(
    cfg: dict[str, Any], paths: dict[str, Path], energies: _Energies, points: list[Variant]
) -> list[dict[str, Any]]:
    """E_ads of one finished complex at every variant (rows of ``convergence.csv``)."""
    rec, slab_rec, lig_rec = (read_json(paths[k]) for k in ("record", "slab_record", "ligand_record"))
    if rec.get("status") != "ok":
        return []
    reference, cx, lig = read(paths["slab"]), read(paths["complex"]), read(paths["ligand"])
    n = len(face_tuple(rec["face"]))
    (charge, mult), (lig_charge, lig_mult) = state_of(slab_rec), state_of(lig_rec)
    cx_charge, cx_mult = complex_state((charge, mult), (lig_charge, lig_mult), n)
    tag = (slab_rec["site"], slab_rec["face"])
    molecule_box(lig, energies.tier)
    rows = []
    for v in points:
        slab, complex_atoms, _ = rebuild(slab_rec, reference, cx, v.spec)
        acc = v.params.get("accuracy")
        e_slab = energies(("slab", *tag, v.label), slab, v.params, charge, mult)
        e_lig = energies(("ligand", rec["ligand"], acc), lig, v.params, lig_charge, lig_mult)
        e_cx = energies(("complex", rec["ligand"], *tag, v.label), complex_atoms, v.params, cx_charge, cx_mult)
        e_ads = None if None in (e_slab, e_lig, e_cx) else adsorption_energy(e_cx, e_slab, e_lig, n) / n
        rows.append(
            {
                "ligand": rec["ligand"],
                "anchor": rec.get("anchor"),
                "site": rec.get("site"),
                "faces": rec.get("face"),
                "axis": v.axis,
                "value": value_label(v.axis, v.value),
                "n_atoms": len(complex_atoms),
                E_ADS_PER_LIGAND: e_ads,
            }
        )
    return rows


def convergence_table(cfg: dict[str, Any], complexes: list[dict[str, Path]], log: Any = None) -> pd.DataFrame:
    """The harness over ``complexes`` (paths of each finished complex and its references).

    Each row is one complex at one point of one axis, with ``delta_eV`` = E_ads there minus E_ads at
    the protocol's own setting, and ``check`` naming the rows that define convergence (twice the
    vacuum, one more layer, the next lateral cell, tighter SCF).
    """
    tier = screen_tiers(tiers_from_config(cfg))[-1]
    energies = _Energies(tier)
    frames: list[pd.DataFrame] = []
    for paths in complexes:
        t0 = time.perf_counter()
        # each complex on its own cell (slab.repeat: auto chooses it per ligand; its slab's label names it)
        rec = read_json(paths["record"])
        spec = slab_spec(cfg, rec.get("slab_site") or rec.get("site"))
        rows = converge_complex(cfg, paths, energies, variants(cfg, spec, tier))
        frames.append(annotate(pd.DataFrame(rows), spec, tier))
        if log is not None:
            print(f"{paths['record']}: {time.perf_counter() - t0:.1f} s", file=log, flush=True)
    filled = [f for f in frames if not f.empty]
    df = pd.concat(filled, ignore_index=True) if filled else pd.DataFrame()
    df.attrs["seconds"] = energies.seconds
    return df


def annotate(df: pd.DataFrame, spec: SlabSpec, tier: Tier) -> pd.DataFrame:
    """Mark the protocol's own points and the checks, and add ``delta_eV`` (E_ads minus the protocol's)."""
    if df.empty:
        return df
    df = df.copy()
    must = checks(spec, tier)

    def parse(axis: str, v: Any) -> Any:
        return tuple(int(x) for x in str(v).split("x")) if axis == "repeat" else v

    df["value"] = label = [value_label(a, parse(a, v)) for a, v in zip(df["axis"], df["value"])]
    df["protocol"] = [lab == value_label(a, protocol_value(a, spec, tier)) for a, lab in zip(df["axis"], label)]
    df["check"] = [a in must and lab == value_label(a, must[a]) for a, lab in zip(df["axis"], label)]
    ref = df[df["protocol"]].set_index(["ligand", "site", "faces", "axis"])[E_ADS_PER_LIGAND]
    keys = zip(df["ligand"], df["site"], df["faces"], df["axis"])
    df["delta_eV"] = [e - ref.get(key, float("nan")) for e, key in zip(df[E_ADS_PER_LIGAND], keys)]
    return df


def anchor_uncertainty(df: pd.DataFrame) -> dict[str, float]:
    """Per anchor class: the largest |delta| over the convergence checks (the numerical uncertainty)."""
    if df.empty:
        return {}
    checked = df[df["check"]]
    return {a: float(g["delta_eV"].abs().max()) for a, g in checked.groupby("anchor")}
