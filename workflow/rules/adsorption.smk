rule adsorption:
    input:
        slab_json=f"{RESULTS}/slab/slab.json",
        slab_xyz=f"{RESULTS}/slab/slab.extxyz",
        ligand_json=f"{RESULTS}/ligands/{{ligand}}.json",
        ligand_xyz=f"{RESULTS}/ligands/{{ligand}}.extxyz",
    output:
        json=f"{RESULTS}/adsorption/{{ligand}}/{{site}}.json",
        xyz=f"{RESULTS}/adsorption/{{ligand}}/{{site}}.extxyz",
    params:
        cfg=SETTINGS,
        entry=ligand_config,
        workdir=lambda w: f"{RESULTS}/work/adsorption/{w.ligand}/{w.site}",
    threads: config["threads"]
    resources:
        mem_mb=4000,
        runtime=120,
    log:
        f"{RESULTS}/logs/adsorption/{{ligand}}/{{site}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/adsorption/{{ligand}}/{{site}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/adsorption.py"
