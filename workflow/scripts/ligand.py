from passivscreen.pipeline import run_ligand

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads, "ligands": [sm.params.entry]}
with open(sm.log[0], "w") as log:
    rec = run_ligand(cfg, sm.wildcards.ligand, sm.output.json, sm.output.xyz, sm.params.workdir)
    print(f"ligand {sm.wildcards.ligand}: {rec['status']} E = {rec.get('energy_eV')} eV {rec.get('reason', '')}",
          file=log)
