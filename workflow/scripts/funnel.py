from passivscreen.steps import job_log, run_funnel_member

sm = snakemake  # noqa: F821
cfg = {**sm.params.cfg, "threads": sm.threads}
with job_log(sm.log[0]) as log:
    rec = run_funnel_member(
        cfg,
        sm.params.tier,
        sm.params.rank,
        list(sm.input.candidates),
        list(sm.input.slabs),
        sm.output.json,
        sm.output.xyz,
    )
    print(
        f"{sm.params.tier} rank {sm.params.rank}: {rec.get('ligand')} {rec['status']} "
        f"E_ads {rec.get('E_ads_eV')} {rec.get('reason', '')}",
        file=log,
    )
