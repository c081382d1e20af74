# passivscreen: screening ligands that passivate PbBr2-rich CsPbBr3 surfaces.
# Run: snakemake --cores 2 (configs/default.yaml), or --configfile configs/<set>.yaml for another set


configfile: "configs/default.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/structures.smk"
include: "workflow/rules/adsorption.smk"
include: "workflow/rules/ranking.smk"
include: "workflow/rules/funnel.smk"
include: "workflow/rules/convergence.smk"


rule all:
    default_target: True
    input:
        LAYOUT.ranking.csv,
        LAYOUT.ranking.png,
        LAYOUT.database,
        pdos_figures,
        pictures,
        validation_outputs,


# the screen alone (`snakemake screen`): every complex relaxed at the screening tier, without the funnel's tiers
# and the ranking; a calibration's first step, before `passivscreen calibrate --carry` says which DFT rows it needs
rule screen:
    input:
        pdos_figures,
        pictures,


# the run's end: one screen on the rows that failed (written by the ranking rule)
onsuccess:
    print_failures(LAYOUT.ranking.failures)


onerror:
    print_failures(LAYOUT.ranking.failures)
