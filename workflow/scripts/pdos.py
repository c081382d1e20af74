from passivscreen.ranking import write_pdos_plot

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    write_pdos_plot(sm.input.clean, sm.input.defect, sm.input.complex, sm.output[0])
    print(f"wrote {sm.output[0]}", file=log)
