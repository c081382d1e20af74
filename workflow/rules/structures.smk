rule slab:
    output:
        json=LAYOUT.slab("{site}", "{face}").json,
        xyz=LAYOUT.slab("{site}", "{face}").xyz,
    params:
        cfg=SETTINGS,
    threads: config["threads"]
    resources:
        **sized("slab"),
        cpus_per_task=config["threads"],
    log:
        LAYOUT.log("slab", "{site}", "{face}"),
    benchmark:
        LAYOUT.benchmark("slab", "{site}", "{face}")
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/slab.py"


# Free ligands in batches of `ligand_batch_size`, one calculator per job. With slab.repeat: auto they are
# checkpoints: each ligand job chooses its ligands' cells, and the inputs of their complexes (slab references on
# those cells) are known when it has run (cell_of). With an explicit repeat they are plain rules (Snakemake does
# not re-run the jobs after a checkpoint for a newer input alone: `--forcerun ligands_0000` then re-runs only the
# ligand job; name its adsorption batches too).
for k, batch in enumerate(LIGAND_BATCHES):
    job = ligand_job(k, batch)
    if AUTO:

        checkpoint:
            name:
                job["name"]
            output:
                **job["output"],
            params:
                **job["params"],
            threads: config["threads"]
            resources:
                **job["resources"],
            log:
                job["log"],
            benchmark:
                job["benchmark"]
            conda:
                "../envs/passivscreen.yaml"
            script:
                "../scripts/ligand.py"

    else:

        rule:
            name:
                job["name"]
            output:
                **job["output"],
            params:
                **job["params"],
            threads: config["threads"]
            resources:
                **job["resources"],
            log:
                job["log"],
            benchmark:
                job["benchmark"]
            conda:
                "../envs/passivscreen.yaml"
            script:
                "../scripts/ligand.py"
