rule ranking:
    input:
        adsorption_records,
    output:
        csv=f"{RESULTS}/ranking.csv",
        png=f"{RESULTS}/ranking.png",
        orientations=f"{RESULTS}/orientations.csv",
    params:
        title=lambda w: f"{config['set']}: E_ads at {config['calculator']['backend']}, held slab",
        order=config["ranking"]["order"],
    log:
        f"{RESULTS}/logs/ranking.log",
    benchmark:
        f"{RESULTS}/benchmarks/ranking.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/ranking.py"


rule pdos:
    input:
        clean=f"{RESULTS}/slab/{CLEAN}/top.json",
        defect=f"{RESULTS}/slab/{{site}}/{{face}}.json",
        complex=f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.json",
    output:
        f"{RESULTS}/pdos/{{ligand}}/{{site}}/{{face}}.png",
    log:
        f"{RESULTS}/logs/pdos/{{ligand}}/{{site}}/{{face}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pdos/{{ligand}}/{{site}}/{{face}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/pdos.py"
