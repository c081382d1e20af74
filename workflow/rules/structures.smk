rule slab:
    output:
        json=f"{RESULTS}/slab/{{site}}/{{face}}.json",
        xyz=f"{RESULTS}/slab/{{site}}/{{face}}.extxyz",
    params:
        cfg=SETTINGS,
    threads: config["threads"]
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        f"{RESULTS}/logs/slab/{{site}}/{{face}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/slab/{{site}}/{{face}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/slab.py"


rule ligand:
    output:
        json=f"{RESULTS}/ligands/{{ligand}}.json",
        xyz=f"{RESULTS}/ligands/{{ligand}}.extxyz",
    params:
        cfg=SETTINGS,
        entry=ligand_config,
        workdir=lambda w: f"{RESULTS}/work/ligands/{w.ligand}",
    threads: config["threads"]
    resources:
        mem_mb=2000,
        runtime=30,
    log:
        f"{RESULTS}/logs/ligands/{{ligand}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/ligands/{{ligand}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/ligand.py"
