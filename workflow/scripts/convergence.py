from passivscreen.records.layout import Results
from passivscreen.steps import job_log, run_convergence
from passivscreen.steps.convergence import complex_paths

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads}
complexes = [
    complex_paths(Results.of_complex(m["json"]).root, m["ligand"], m["site"], m["face"]) for m in sm.params.members
]
with job_log(sm.log[0]) as log:
    summary = run_convergence(cfg, complexes, sm.output.csv, sm.output.png, sm.output.summary, log)
    print(summary, file=log)
