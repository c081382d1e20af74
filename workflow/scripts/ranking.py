from passivscreen.steps import job_log, write_ranking

sm = snakemake  # noqa: F821
with job_log(sm.log[0]) as log:
    df = write_ranking(
        list(sm.input),
        sm.params.files,
        set_name=sm.params.set_name,
        order=sm.params.order,
        uncertainty=sm.params.uncertainty,
        tier_names=sm.params.tier_names,
        calibration=sm.params.calibration,
    )
    n = sm.params.n_complexes  # the rule's input holds every planned complex
    print(f"{n} of {n} complexes in, {len(df)} rows", file=log)
    cal = sm.params.calibration
    print(f"calibration: {cal['name'] if cal['active'] else 'none: ' + cal['reason']}", file=log)
    print(df.to_string(), file=log)
    print(open(sm.output.failures).read(), file=log)
