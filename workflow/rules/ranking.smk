rule ranking:
    input:
        adsorption_records,
    output:
        csv=report(
            f"{RESULTS}/ranking.csv",
            caption="../report/ranking_table.rst",
            category="Ranking",
        ),
        png=report(
            f"{RESULTS}/ranking.png",
            caption="../report/ranking_plot.rst",
            category="Ranking",
        ),
        orientations=f"{RESULTS}/orientations.csv",
        tiers=f"{RESULTS}/tiers.csv",
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


rule database:
    input:
        adsorption_records,
    output:
        f"{RESULTS}/results.db",
    params:
        set_name=config["set"],
    log:
        f"{RESULTS}/logs/database.log",
    benchmark:
        f"{RESULTS}/benchmarks/database.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/database.py"


rule pdos:
    input:
        clean=f"{RESULTS}/slab/{CLEAN}/top.json",
        defect=f"{RESULTS}/slab/{{site}}/{{face}}.json",
        complex=f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.json",
    output:
        report(
            f"{RESULTS}/pdos/{{ligand}}/{{site}}/{{face}}.png",
            caption="../report/pdos.rst",
            category="Projected DOS",
            subcategory="{ligand}",
        ),
    log:
        f"{RESULTS}/logs/pdos/{{ligand}}/{{site}}/{{face}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pdos/{{ligand}}/{{site}}/{{face}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/pdos.py"


rule picture:
    input:
        json=f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.json",
        xyz=f"{RESULTS}/adsorption/{{ligand}}/{{site}}/{{face}}.extxyz",
    output:
        report(
            f"{RESULTS}/pictures/{{ligand}}/{{site}}/{{face}}.png",
            caption="../report/structure.rst",
            category="Structures",
            subcategory="{ligand}",
        ),
    log:
        f"{RESULTS}/logs/pictures/{{ligand}}/{{site}}/{{face}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pictures/{{ligand}}/{{site}}/{{face}}.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/picture.py"
