# The convergence harness (target `converge`, or `passivscreen converge CONFIG`): E_ads of every
# finished complex against the vacuum, the slab thickness, the lateral cell and the SCF accuracy.
rule converge:
    input:
        unpack(convergence_inputs),
    output:
        csv=report(
            f"{RESULTS}/convergence.csv",
            caption="../report/convergence.rst",
            category="Convergence",
        ),
        png=report(
            f"{RESULTS}/convergence.png",
            caption="../report/convergence.rst",
            category="Convergence",
        ),
        summary=f"{RESULTS}/convergence.json",
    params:
        cfg=ALL_SETTINGS,
        members=[complex_files(*m) for m in COMPLEXES],
    threads: config["threads"]
    resources:
        **sized("adsorption", len(COMPLEXES)),
        cpus_per_task=config["threads"],
    log:
        f"{RESULTS}/logs/convergence.log",
    benchmark:
        f"{RESULTS}/benchmarks/convergence.tsv"
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/convergence.py"
