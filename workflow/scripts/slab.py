from passivscreen.steps import job_log, run_slab

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads}
with job_log(sm.log[0]) as log:
    rec = run_slab(cfg, sm.wildcards.site, sm.wildcards.face, sm.output.json, sm.output.xyz)
    print(
        f"slab {rec['formula']} ({rec['site']}, {rec['face']}): {rec['status']} E = {rec.get('energy_eV')} eV "
        f"traps {rec.get('traps')} {rec.get('reason', '')}",
        file=log,
    )
