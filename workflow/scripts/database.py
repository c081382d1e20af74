from passivscreen.steps import job_log, update_database

sm = snakemake  # noqa: F821
with job_log(sm.log[0]) as log:
    n = update_database(list(sm.input), sm.output[0], sm.params.set_name)
    print(f"{sm.output[0]}: {n} rows", file=log)
