from passivscreen.steps import job_log, write_validation

sm = snakemake  # noqa: F821
with job_log(sm.log[0]) as log:
    stats = write_validation(
        list(sm.input),
        sm.params.tier_names,
        sm.params.screen,
        sm.params.check,
        sm.output.csv,
        sm.output.png,
        sm.output.summary,
        calibration=sm.params.calibration,
    )
    print(stats, file=log)
