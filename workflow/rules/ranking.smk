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
    resources:
        **sized("ranking"),
        cpus_per_task=1,
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
    resources:
        **sized("database"),
        cpus_per_task=1,
    log:
        f"{RESULTS}/logs/database.log",
    benchmark:
        f"{RESULTS}/benchmarks/database.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/database.py"
