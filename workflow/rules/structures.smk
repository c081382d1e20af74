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


# Free ligands in batches of `ligand_batch_size`, one calculator per job.
for k, batch in enumerate(LIGAND_BATCHES):
    ligand_set = [ligand_files(lig) for lig in batch]

    rule:
        name:
            f"ligands_{k:04d}"
        output:
            records=[f["json"] for f in ligand_set],
            structures=[f["xyz"] for f in ligand_set],
        params:
            cfg=SETTINGS,
            entries=entries(batch),
            members=ligand_set,
        threads: config["threads"]
        resources:
            **sized("ligands", len(batch)),
            cpus_per_task=config["threads"],
        log:
            LAYOUT.log("ligands", f"batch_{k:04d}"),
        benchmark:
            LAYOUT.benchmark("ligands", f"batch_{k:04d}")
        conda:
            "../envs/passivscreen.yaml"
        script:
            "../scripts/ligand.py"
