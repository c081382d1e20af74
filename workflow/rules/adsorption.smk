rule adsorption:
    input:
        slab_json=f"{RESULTS}/slab/{{site}}/{{face}}.json",
        slab_xyz=f"{RESULTS}/slab/{{site}}/{{face}}.extxyz",
        ligand_json=f"{RESULTS}/ligands/{{ligand}}.json",
        ligand_xyz=f"{RESULTS}/ligands/{{ligand}}.extxyz",
    output:
        json=f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.json",
        xyz=f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.extxyz",
    params:
        cfg=SETTINGS,
        entry=ligand_config,
        workdir=lambda w: f"{RESULTS}/work/adsorption/{w.ligand}/{w.site}/{w.face}",
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=240,
    log:
        f"{RESULTS}/logs/adsorption/{{ligand}}/{{site}}/{{face}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/adsorption/{{ligand}}/{{site}}/{{face}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/adsorption.py"
