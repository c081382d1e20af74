from passivscreen.steps import job_log, run_funnel_slab

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads}
with job_log(sm.log[0]) as log:
    rec = run_funnel_slab(cfg, sm.wildcards.tier, sm.wildcards.site, sm.wildcards.face, sm.output.json, sm.output.xyz)
    print(
        f"{sm.wildcards.tier} slab {rec['site']} {rec['face']}: {rec['status']} E = {rec.get('energy_eV')} eV "
        f"{rec.get('reason', '')}",
        file=log,
    )
