from passivscreen.records.layout import Results
from passivscreen.steps import job_log, run_convergence
from passivscreen.steps.batches import on_its_cell
from passivscreen.steps.convergence import complex_paths

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads}
# each complex with its slab references on its ligand's cell (slab.repeat: auto)
members = [on_its_cell(cfg, m) for m in sm.params.members]
complexes = [
    complex_paths(Results.of_complex(m["json"]).root, m["ligand"], m["site"], m["face"], m["slab_site"])
    for m in members
]
with job_log(sm.log[0]) as log:
    summary = run_convergence(cfg, complexes, sm.output.csv, sm.output.png, sm.output.summary, log)
    print(summary, file=log)
