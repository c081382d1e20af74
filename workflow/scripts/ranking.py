from passivscreen.steps import write_ranking

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    df = write_ranking(
        list(sm.input),
        sm.output.csv,
        sm.output.png,
        sm.output.orientations,
        sm.params.set_name,
        sm.params.order,
        sm.output.tiers,
        sm.params.uncertainty,
        sm.params.tier_names,
    )
    print(df.to_string(), file=log)
