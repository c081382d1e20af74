import json
import re

from passivscreen.config import ConfigError, validate_config
from passivscreen.pipeline import site_labels

if not config:
    raise WorkflowError(
        "no config given: run with --configfile configs/default.yaml (or another set)"
    )
try:
    config = validate_config(config)
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}")

RESULTS = f"results/{config['set']}"
LIGANDS = [lig["name"] for lig in config["ligands"]]
SITES = site_labels(config)
FACES = config["faces"]
# the clean slab that every projected-DOS figure starts from
CLEAN = SITES[0].replace(SITES[0].split("-Pb")[0], "pristine", 1)
# science settings passed to the jobs; each job also gets only its own ligand entry,
# so editing one ligand re-runs only that ligand's jobs
# (keys sorted, so that the order of keys in a config file never looks like a change)
SETTINGS = json.loads(
    json.dumps({k: v for k, v in config.items() if k != "ligands"}, sort_keys=True)
)


wildcard_constraints:
    ligand="|".join(re.escape(n) for n in LIGANDS),
    site=r"(pristine|vBr0|vBr\+)-Pb\d+",
    face="top|bottom|both",


def adsorption_records(wildcards):
    return expand(
        f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.json",
        ligand=LIGANDS,
        site=SITES,
        face=FACES,
    )


def pdos_figures(wildcards):
    return expand(
        f"{RESULTS}/pdos/{{ligand}}/{{site}}/{{face}}.png",
        ligand=LIGANDS,
        site=SITES,
        face=FACES,
    )


def pictures(wildcards):
    return expand(
        f"{RESULTS}/pictures/{{ligand}}/{{site}}/{{face}}.png",
        ligand=LIGANDS,
        site=SITES,
        face=FACES,
    )


def ligand_config(wildcards):
    """Only this ligand's entry changes its jobs' parameters."""
    entry = next(lig for lig in config["ligands"] if lig["name"] == wildcards.ligand)
    return json.loads(json.dumps(entry, sort_keys=True))
