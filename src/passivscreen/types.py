"""Typed records: one TypedDict per record kind a step writes (slab, ligand, complex, funnel) and per row of
the ranking, and the names of the keys that more than one part reads, each defined once here.

A record is the JSON a step writes (``results/<set>/.../*.json``); :func:`check_record` refuses a record
with a key its kind does not declare (a misspelt key is a bug, and fails loudly where it is written).
Code that reads a shared key names it by its constant here (``rec[E_ADS_PER_LIGAND]``), so that a typo
is a ``NameError`` and not a silent ``None``. Like :mod:`passivscreen.schema`, this module imports nothing
of passivscreen, and every part may import it.
"""

from __future__ import annotations

from typing import Any, TypedDict

#: E_ads of a complex: E(complex) - E(slab) - n E(ligand) (eV), n ligands (one per face)
E_ADS = "E_ads_eV"
#: E_ads divided by the number of ligands (eV): the ranked number
E_ADS_PER_LIGAND = "E_ads_per_ligand_eV"
#: the numerical uncertainty of a ranked E_ads per ligand (eV), from the convergence harness
E_ADS_UNCERTAINTY = "E_ads_uncertainty_eV"
#: Calibrated E_ads per ligand (issue 23): the screening value corrected towards DFT per anchor class, the raw
#: value where no calibration applies (column ``calibration`` says why); the half-width of its interval
E_ADS_CALIBRATED = "E_ads_calibrated_eV"
E_ADS_INTERVAL = "E_ads_interval_eV"


def tier_column(tier: str) -> str:
    """The column of E_ads per ligand at tier ``tier`` in ``tiers.csv`` and ``validation.csv``."""
    return f"{E_ADS_PER_LIGAND}_{tier}"


#: the total energy of a slab or ligand record (eV)
ENERGY = "energy_eV"
#: the total energy of a complex (eV)
E_COMPLEX = "E_complex_eV"
#: what became of a record: ``ok``, or why not (``scf_failed``, ``backend_error``, ``reference_failed``...)
STATUS = "status"
#: why a record is not ``ok`` (empty when it is)
REASON = "reason"


class TierRow(TypedDict, total=False):
    """One tier's result inside a record's ``tiers`` list."""

    name: str
    backend: str
    status: str
    reason: str
    energy_eV: float | None
    E_ads_eV: float | None
    fmax_eV_A: float | None
    n_steps: int
    n_force_calls: int
    wall_s: float
    calc_s: float
    #: the dispersion (D3) term of ``energy_eV`` where the calculator reports it (CP2K)
    dispersion_eV: float
    #: a funnel row's share of E_ads from dispersion (complex - slab - ligands); E_ads without it is the difference
    E_ads_dispersion_eV: float


_COMMON = {
    "kind": str,
    STATUS: str,
    REASON: str,
    "traceback": str,
    "backend": str,
    "provenance": dict,
    "tiers": list,
    "calc_s": float,
    "analysis_calc_s": float,
    "charges": list,
    "dipole_z_eA": float,
    "dipole_energy_estimate_eV": float,
    "orbitals": dict,
    "traps": dict,
}

#: The reference slab of a site type and face set (steps/slab.py).
SlabRecord = TypedDict(
    "SlabRecord",
    {
        **_COMMON,
        "site": str,
        "site_type": str,
        "face": str,
        "formula": str,
        "n_atoms": int,
        "charge": int,
        "multiplicity": int,
        "binding_pb": dict,
        "vacancies": dict,
        "groups": dict,
        "reference": str,
        "spec": dict,
        ENERGY: float | None,
        "fmax_eV_A": float | None,
    },
    total=False,
)

#: A free ligand: its conformers relaxed, the reference energy of its binding mode (steps/ligand.py).
LigandRecord = TypedDict(
    "LigandRecord",
    {
        **_COMMON,
        "ligand": str,
        "smiles": str | None,
        "input_smiles": str,
        "anchor": str | None,
        "anchor_index": int,
        "binding": str,
        "cation_index": int | None,
        "formula": str,
        "charge": int,
        "multiplicity": int,
        "bonds": list,
        ENERGY: float | None,
        "references": list,
        "n_conformers": int,
        "conformer_energies_eV": list,
        # an entry's SDF record: "<file>:<line>: the first conformer", or why it was not used
        "input_structure": str,
        "n_steps": int,
        "n_force_calls": int,
        "wall_s": float,
        "scf_recoveries": list,
        "bonds_changed": list,
        # slab.repeat: auto: the lateral cell this ligand job chose (n, n) and the shortest image distance there (A)
        "cell": list,
        "image_distance_A": float,
        # the conformers (indices into the structure file, lowest first) placed on that cell: the lowest
        # placement.conformers with a start that does not clash (placement/starts.py)
        "placed_conformers": list,
    },
    total=False,
)

_COMPLEX = {
    **_COMMON,
    "ligand": str,
    # the plan's label (it names the complex's files; with slab.repeat: auto no cell) and the slab reference's
    # (the site on the ligand's cell: pristine-Pb10-3x3)
    "site": str,
    "slab_site": str,
    "site_type": str | None,
    "face": str,
    "repeat": str,
    "n_ligands": int,
    "smiles": str | None,
    "anchor": str | None,
    "binding": str,
    "charge": int,
    "multiplicity": int,
    "n_conformers": int,
    "n_conformers_placed": int,
    # which: indices into the ligand's structure file (placement/starts.py)
    "placed_conformers": list,
    "orientations": list,
    "n_orientations": int,
    "rotation_span_deg": float,
    "traps_before": dict | None,
    # the best orientation: its screening single point ...
    "conformer": int,
    "rotation_deg": float,
    "height_offset_A": float,
    "tilt_deg": float,
    # 0: as embedded; else turned about the anchor axis so that an O-H, N-H or S-H points at the surface
    "roll_deg": float,
    "min_contact_ratio": float,
    "sp_calc_s": float,
    "probe_steps": int,
    "probe_force_calls": int,
    # probed on the reduced model (placement.probe_layers): its layers and atoms, and its energy at the probe's
    # end (on the whole slab's scale) minus the whole slab's there
    "probe_layers": int,
    "probe_atoms": int,
    "probe_model_error_eV": float | None,
    "E_ads_start_eV": float | None,
    "E_sp_eV": float | None,
    "E_ads_sp_eV": float | None,
    # ... its relaxation ...
    "tier": str,
    "n_steps": int,
    "n_force_calls": int,
    "wall_s": float,
    "scf_recoveries": list,
    "resumed_from_step": int,
    "free_slab_atoms": list,
    # pre-relaxed on the reduced model (placement.relax_layers) before the whole slab: its layers, outcome and
    # cost, and its final energy on the whole slab's scale
    "prerelax_layers": int,
    "prerelax_status": str,
    "prerelax_steps": int,
    "prerelax_force_calls": int,
    "prerelax_calc_s": float,
    "E_prerelax_eV": float | None,
    "E_slab_eV": float | None,
    "E_ligand_eV": float | None,
    E_COMPLEX: float | None,
    E_ADS: float | None,
    E_ADS_PER_LIGAND: float | None,
    # ... and its properties (steps/properties.py)
    "anchors": list,
    "d_anchor_Pb_A": float,
    "d_cation_Pb_A": float,
    "max_slab_displacement_A": float,
    "bond_order": float,
    "bond_order_source": str,
    "charge_transfer_e": float,
    "bonds_changed": list,
    "integrity": dict,
    "min_image_distance_A": float,
    # anchors of the ligand's class bound to a Pb at the end (the most of any ligand): 2 for a bidentate binder
    "denticity": int,
    "denticity_start": int,
    # a bidentate start: the lowest height of the molecule's other atoms above its Pb (placement/bidentate.py)
    "clearance_A": float | None,
}

#: A ligand on a site and face set, the best orientation relaxed (steps/adsorption.py).
ComplexRecord = TypedDict("ComplexRecord", _COMPLEX, total=False)

#: A complex evaluated again at a funnel tier (steps/funnel.py): the complex's keys, this tier's E_ads.
FunnelRecord = TypedDict(
    "FunnelRecord",
    {
        **_COMPLEX,
        "funnel_rank": int,
        "level": int,
        "previous": str,
        "screen_record": str,
        # how many rows the tier chose (top_k, or the rows top_k: auto found that cannot be ordered)
        "funnel_k": int,
        "funnel_choice": str,
        "calibration_store": str,
    },
    total=False,
)

#: One row of ``ranking.csv``, in column order (ranking.py); ``rank_<criterion>`` columns follow.
RankingRow = TypedDict(
    "RankingRow",
    {
        "rank": int,
        "ligand": str,
        "smiles": str | None,
        "anchor": str | None,
        "binding": str,
        "site": str | None,
        "faces": str,
        "repeat": str | None,
        E_ADS: float | None,
        E_ADS_PER_LIGAND: float | None,
        E_ADS_UNCERTAINTY: float | None,
        E_ADS_CALIBRATED: float | None,
        E_ADS_INTERVAL: float | None,
        "calibration": str,
        "cooperativity_eV": float | None,
        "bond_order": float | None,
        "denticity": int | None,
        "d_anchor_Pb_A": float | None,
        "charge_transfer_e": float | None,
        "trap_depth_eV_before": float | None,
        "trap_depth_eV_after": float | None,
        "trap_removed_eV": float | None,
        "gap_eV_before": float | None,
        "gap_eV_after": float | None,
        "dipole_energy_estimate_eV": float | None,
        "n_orientations": int,
        "n_conformers": int,
        "min_image_distance_A": float | None,
        "complete": bool,
        STATUS: str,
        "flags": str,
        "tier": str | None,
        "backend": str | None,
        REASON: str,
    },
)

#: The columns of ``ranking.csv``, in order (before the ``rank_<criterion>`` columns).
RANKING_COLUMNS: list[str] = list(RankingRow.__annotations__)

#: Record kind (the ``kind`` key) -> its TypedDict.
RECORD_TYPES: dict[str, type] = {
    "slab": SlabRecord,
    "ligand": LigandRecord,
    "adsorption": ComplexRecord,
    "funnel": FunnelRecord,
}


def check_record(record: dict[str, Any]) -> None:
    """Refuse a record whose kind is unknown or that has a key its kind does not declare.

    Raises
    ------
    TypeError
        Naming the kind and the undeclared keys: a bug in the code that built the record.
    """
    kind = record.get("kind")
    if kind not in RECORD_TYPES:
        raise TypeError(f"record of unknown kind {kind!r} (known: {sorted(RECORD_TYPES)})")
    unknown = sorted(set(record) - set(RECORD_TYPES[kind].__annotations__))
    if unknown:
        raise TypeError(f"{kind} record with undeclared key(s) {unknown}: declare them in passivscreen/types.py")
