from passivscreen.steps import job_log, run_adsorption_batch

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads, "ligands": sm.params.entries}
with job_log(sm.log[0]) as log:
    run_adsorption_batch(cfg, sm.params.members, log)
