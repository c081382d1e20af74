from passivscreen.ranking import write_structure_picture

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    write_structure_picture(sm.input.xyz, sm.input.json, sm.output[0])
    print(f"wrote {sm.output[0]}", file=log)
