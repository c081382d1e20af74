from passivscreen.steps import update_database

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    n = update_database(list(sm.input), sm.output[0], sm.params.set_name)
    print(f"{sm.output[0]}: {n} rows", file=log)
