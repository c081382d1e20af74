rule ranking:
    input:
        adsorption_records,
    output:
        csv=f"{RESULTS}/ranking.csv",
        png=f"{RESULTS}/ranking.png",
        orientations=f"{RESULTS}/orientations.csv",
    params:
        title=lambda w: f"{config['set']}: E_ads at {config['calculator']['backend']}, held slab",
    log:
        f"{RESULTS}/logs/ranking.log",
    benchmark:
        f"{RESULTS}/benchmarks/ranking.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/ranking.py"
