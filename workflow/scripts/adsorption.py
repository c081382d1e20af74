from passivscreen.pipeline import run_adsorption

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads, "ligands": [sm.params.entry]}
with open(sm.log[0], "w") as log:
    rec = run_adsorption(cfg, sm.wildcards.ligand, sm.wildcards.site, sm.wildcards.face, sm.input.slab_json,
                         sm.input.slab_xyz, sm.input.ligand_json, sm.input.ligand_xyz, sm.output.json,
                         sm.output.xyz, sm.params.workdir)
    print(f"{sm.wildcards.ligand} on {sm.wildcards.site} ({sm.wildcards.face}): {rec['status']} "
          f"E_ads = {rec.get('E_ads_eV')} eV {rec.get('reason', '')}", file=log)
