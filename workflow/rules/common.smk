import copy
import json
import os
from pathlib import Path

from snakemake.exceptions import IncompleteCheckpointException
from snakemake.logging import logger

from passivscreen.calculators import funnel_tiers, screen_tiers, tiers_from_config
from passivscreen.config import ConfigError, validate_config
from passivscreen.config.ligand_file import write_skipped
from passivscreen.records.layout import Results
from passivscreen.steps.jobs import (
    chunks,
    complex_member,
    job_resources,
    ligand_member,
    result_settings,
    screen_settings,
)
from passivscreen.placement.cells import recorded_cell
from passivscreen.steps.rank import planned_complexes
from passivscreen.structures.cells import is_auto, on_cell, paths_cell, site_cell

# the Snakefile's `configfile:` (configs/default.yaml) is the default set; a --configfile replaces it
# whole (Snakemake would merge it key by key, so a key left out would come from default.yaml, not
# from the schema's default)
if workflow.overwrite_configfiles:
    config = copy.deepcopy(workflow.config_settings.overwrite_config)
# a relative ligands_file is read from the folder of the config file in effect
_CONFIG_FILES = workflow.overwrite_configfiles or workflow.configfiles
try:
    config = validate_config(config, base=Path(_CONFIG_FILES[-1]).parent if _CONFIG_FILES else None)
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}")

# every path of the results tree comes from the layout (passivscreen.records.layout)
LAYOUT = Results.for_set(config["set"])
RESULTS = LAYOUT.root
# the ligands_file rows not run (on_bad_ligand: skip, and repeats of a molecule), with their reasons
if write_skipped(config, LAYOUT.skipped):
    logger.warning(f"{len(config['ligands_file_report']['skipped'])} ligands_file rows not run: {LAYOUT.skipped}")
# calibration.skip_stored: the ligands whose pair the calibration store has already
if config.get("stored_report"):
    logger.warning(f"{len(config['stored_report'])} ligands not run, their pairs are in the store: {sorted(config['stored_report'])}")
LIGANDS = [lig["name"] for lig in config["ligands"]]
# slab.repeat: auto chooses each ligand's lateral cell in its ligand job (it has the conformers; record field
# `cell`): the plan needs no 3D structure. The complexes' labels and paths name no cell (pristine-Pb10); their
# slab references do (slab/pristine-Pb10-3x3/), and the inputs that name them are known once the ligand's batch,
# a checkpoint, has run (cell_of)
AUTO = is_auto(config)
FACES = config["faces"]
# science settings passed to the jobs (not threads or batch size, which change no result);
# each job also gets only its own ligands' entries, so editing one ligand re-runs only the
# jobs that hold that ligand (keys sorted: the order of keys in a config is not a change).
# The screen's jobs do not see the funnel tiers or the harness's settings (adding a DFT check
# does not re-run a finished screen).
SETTINGS = json.loads(json.dumps(screen_settings(config), sort_keys=True))
ALL_SETTINGS = json.loads(json.dumps(result_settings(config), sort_keys=True))
CHAIN = tiers_from_config(config)
TIER_NAMES = [t.name for t in CHAIN]
SCREEN_TIER = screen_tiers(CHAIN)[-1].name
# funnel tiers (top_k): (name, k); tier j evaluates the best k rows of tier j - 1 (auto: top_max jobs planned)
FUNNEL = [(t.name, t.planned_k) for t in funnel_tiers(CHAIN)]
FUNNEL_TIERS = funnel_tiers(CHAIN)
# batches: `ligand_batch_size` free ligands and `batch_size` complexes per job, in config order
# (append new ligands at the end)
COMPLEXES = planned_complexes(config)
LIGAND_BATCHES = chunks(LIGANDS, config["ligand_batch_size"])
BATCH_OF = {lig: k for k, batch in enumerate(LIGAND_BATCHES) for lig in batch}
COMPLEX_BATCHES = chunks(COMPLEXES, config["batch_size"])


wildcard_constraints:
    site=r"(pristine|vBr0|vBr\+)-Pb\d+(-\d+x\d+)?",
    face="top|bottom|both",


def sized(kind, n=1):
    """mem_mb and runtime of a job of `kind` with `n` members, growing with the retry attempt, on the largest
    cell that its `site` wildcard or its input files' site labels name (slab.repeat: auto; its slab references
    name their cells: slab/pristine-Pb10-3x3/)."""

    def cell(wildcards, input):
        cells = [site_cell(wildcards.site)] if "site" in wildcards.keys() else []
        cells = [c for c in cells + [paths_cell(input)] if c is not None]
        return max(cells) if cells else None

    return {
        "mem_mb": lambda wildcards, input, attempt: job_resources(kind, n, config, attempt, cell(wildcards, input))[
            "mem_mb"
        ],
        "runtime": lambda wildcards, input, attempt: job_resources(kind, n, config, attempt, cell(wildcards, input))[
            "runtime"
        ],
    }


_CELLS = {}


def cell_of(ligand):
    """A ligand's lateral cell: None with an explicit slab.repeat (the labels name no cell); with auto the one
    its ligand job chose, read once its batch (a checkpoint) has run (before, the checkpoint's pending output
    stands in for the inputs that need it)."""
    if not AUTO:
        return None
    if ligand not in _CELLS:
        getattr(checkpoints, f"ligands_{BATCH_OF[ligand]:04d}").get()
        _CELLS[ligand] = recorded_cell(config, ligand, LAYOUT.ligand(ligand).json)
    return _CELLS[ligand]


def known_cell(ligand):
    """cell_of, or None while the ligand's batch has not run."""
    try:
        return cell_of(ligand)
    except IncompleteCheckpointException:
        return None


def funnel_slab_priority(wildcards):
    """A funnel tier's slab reference runs with the first complex batch on its site and cell (that batch's
    priority, one above it: the batches start in config order)."""
    first = next(
        (
            k
            for k, batch in enumerate(COMPLEX_BATCHES)
            if any(on_cell(m[1], known_cell(m[0])) == wildcards.site for m in batch)
        ),
        0,
    )
    return len(COMPLEX_BATCHES) - first + 1


def entries(names):
    """The config entries of the ligands `names` (keys sorted), in config order."""
    wanted = set(names)
    return [json.loads(json.dumps(lig, sort_keys=True)) for lig in config["ligands"] if lig["name"] in wanted]


def ligand_job(k, batch):
    """What the k-th ligand batch job declares (a checkpoint with auto, else a rule: structures.smk)."""
    ligand_set = [ligand_files(lig) for lig in batch]
    return {
        "name": f"ligands_{k:04d}",
        "output": {"records": [f["json"] for f in ligand_set], "structures": [f["xyz"] for f in ligand_set]},
        "params": {"cfg": SETTINGS, "entries": entries(batch), "members": ligand_set},
        "resources": {**sized("ligands", len(batch)), "cpus_per_task": config["threads"]},
        "log": LAYOUT.log("ligands", f"batch_{k:04d}"),
        "benchmark": LAYOUT.benchmark("ligands", f"batch_{k:04d}"),
    }


def ligand_files(ligand):
    return ligand_member(LAYOUT, ligand)


def complex_files(ligand, site, face):
    """A complex's files (complex_member), its slab references on the ligand's cell (an input function's
    helper: with auto it needs the ligand's batch to have run)."""
    return complex_member(LAYOUT, ligand, site, face, cell_of(ligand))


def batch_references(batch):
    """An input function: the slab references (and the clean slab) of the complexes of an adsorption batch."""

    def references(wildcards):
        files = [complex_files(*m) for m in batch]
        return sorted({f[key] for f in files for key in ("clean_json", "slab_json", "slab_xyz")})

    return references


def funnel_row_slab(tier_name):
    """An input function: the funnel tier's slab reference of one complex (wildcards ligand, site, face)."""

    def slab(wildcards):
        site = on_cell(wildcards.site, cell_of(wildcards.ligand))
        return [LAYOUT.funnel_slab(tier_name, site, wildcards.face).json]

    return slab


def funnel_slabs(tier_name):
    """An input function: every slab reference of a funnel tier (each site and face on every ligand's cell)."""

    def slabs(wildcards):
        return sorted({LAYOUT.funnel_slab(tier_name, on_cell(m[1], cell_of(m[0])), m[2]).json for m in COMPLEXES})

    return slabs


def adsorption_records(wildcards):
    return [LAYOUT.complex(*m).json for m in COMPLEXES]


def pdos_figures(wildcards):
    return [LAYOUT.complex(*m).pdos for m in COMPLEXES]


def pictures(wildcards):
    return [LAYOUT.complex(*m).picture for m in COMPLEXES]


def convergence_inputs(wildcards):
    """Every finished complex with its slab and ligand (the harness re-evaluates them)."""
    files = [complex_files(*m) for m in COMPLEXES]
    keys = ("json", "xyz", "slab_json", "slab_xyz", "ligand_json", "ligand_xyz")
    return {"files": sorted({f[k] for f in files for k in keys})}


def funnel_records(level):
    """The records of funnel tier `level` (1 = the first tier with top_k): one per rank, or per complex (all)."""
    from passivscreen.steps.funnel import funnel_paths

    return funnel_paths(LAYOUT, FUNNEL_TIERS[level - 1], COMPLEXES)


def previous_records(level):
    """What funnel tier `level` chooses from: the screen's records, or the funnel tier before it."""
    return adsorption_records(None) if level == 1 else funnel_records(level - 1)


def ranked_records(wildcards):
    """Every record the ranking merges: the screen's and every funnel tier's."""
    return adsorption_records(wildcards) + [p for j in range(1, len(FUNNEL) + 1) for p in funnel_records(j)]


def uncertainty_table():
    """The harness's per-anchor uncertainty of this protocol: results/<set>/convergence.json if the harness
    ran on this set, else the shipped table of the default protocol when the protocol is the same."""
    from passivscreen.convergence.uncertainty import uncertainty_for

    return uncertainty_for(config, LAYOUT.convergence.summary)


def calibration_table():
    """The calibration the ranking applies: the data set of calibration.data when it was made with this
    protocol, else inactive with the reason (column `calibration` of ranking.csv)."""
    from passivscreen.calibration import resolve

    return resolve(config)


def validation_outputs(wildcards):
    """The DFT check's table and parity plot, when the config has funnel tiers."""
    return [LAYOUT.validation.csv, LAYOUT.validation.png] if FUNNEL else []


def print_failures(path):
    """The failed-row summary of the ranking (if this run made one), for the end of a run."""
    import os
    import sys

    if os.path.exists(path):
        with open(path) as fh:
            print(f"{path}:\n{fh.read()}", file=sys.stderr)
