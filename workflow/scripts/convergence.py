from passivscreen.steps import run_convergence
from passivscreen.steps.convergence import complex_paths

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads}
results = sm.params.members[0]["json"].split("/adsorption/")[0] if sm.params.members else "."
complexes = [complex_paths(results, m["ligand"], m["site"], m["face"]) for m in sm.params.members]
with open(sm.log[0], "w") as log:
    summary = run_convergence(cfg, complexes, sm.output.csv, sm.output.png, sm.output.summary, log)
    print(summary, file=log)
