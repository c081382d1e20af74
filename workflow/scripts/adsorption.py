from passivscreen.steps import run_adsorption_batch

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads, "ligands": sm.params.entries}
with open(sm.log[0], "w") as log:
    run_adsorption_batch(cfg, sm.params.members, sm.input.clean, log)
