# The convergence harness (target `converge`, or `passivscreen converge CONFIG`): E_ads of every
# finished complex against the vacuum, the slab thickness, the lateral cell and the SCF accuracy.
rule converge:
    input:
        unpack(convergence_inputs),
    output:
        csv=report(
            LAYOUT.convergence.csv,
            caption="../report/convergence.rst",
            category="Convergence",
        ),
        png=report(
            LAYOUT.convergence.png,
            caption="../report/convergence.rst",
            category="Convergence",
        ),
        summary=LAYOUT.convergence.summary,
    params:
        cfg=ALL_SETTINGS,
        members=[complex_member(LAYOUT, *m) for m in COMPLEXES],
    threads: config["threads"]
    resources:
        **sized("adsorption", len(COMPLEXES)),
        cpus_per_task=config["threads"],
    log:
        LAYOUT.log("convergence"),
    benchmark:
        LAYOUT.benchmark("convergence")
    conda:
        "../envs/passivscreen.yaml"
    script:
        "../scripts/convergence.py"
