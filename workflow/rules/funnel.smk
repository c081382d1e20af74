# Funnel tiers (`top_k` in a tier): after the whole screen, the best k rows of the previous tier are
# evaluated again at this tier (e.g. a CP2K single point), job i taking the i-th best row (`auto`: the rows
# the screen cannot order; `all`: every row, one job per complex as soon as it is in); the slab
# references of the tier are computed once per site and face set, in the tier's own cell.
if FUNNEL:

    rule funnel_slab:
        output:
            json=LAYOUT.funnel_slab("{tier}", "{site}", "{face}").json,
            xyz=LAYOUT.funnel_slab("{tier}", "{site}", "{face}").xyz,
        params:
            cfg=ALL_SETTINGS,
        wildcard_constraints:
            tier="|".join(name for name, _ in FUNNEL),
        threads: config["threads"]
        # with the first complex batch on its site: the DFT rows of that cell wait for it, and a cell whose
        # complexes come late (a crowded ligand's 3x3) does not hold a core from the start
        priority: funnel_slab_priority
        resources:
            **sized("funnel"),
            cpus_per_task=config["threads"],
        log:
            LAYOUT.log("tiers", "{tier}", "slab", "{site}", "{face}"),
        benchmark:
            LAYOUT.benchmark("tiers", "{tier}", "slab", "{site}", "{face}")
        conda:
            "../envs/passivscreen.yaml"
        script:
            "../scripts/funnel_slab.py"


for level, (tier_name, top_k) in enumerate(FUNNEL, start=1):
    if FUNNEL_TIERS[level - 1].every:
        # top_k: all (the first funnel tier only): one job per complex, as soon as its screen row is in

        rule:
            name:
                f"funnel_{tier_name}_row"
            input:
                # lists, as the ranked rules give them (a single path would reach the script as a str)
                candidates=[LAYOUT.complex("{ligand}", "{site}", "{face}").json],
                slabs=funnel_row_slab(tier_name),
            output:
                json=LAYOUT.funnel_row(tier_name, "{ligand}", "{site}", "{face}").json,
                xyz=LAYOUT.funnel_row(tier_name, "{ligand}", "{site}", "{face}").xyz,
            params:
                cfg=ALL_SETTINGS,
                tier=tier_name,
                rank=0,
            # before any screening job still to start: each (screen, DFT) pair is complete as early as possible
            priority: len(COMPLEX_BATCHES) + 1
            wildcard_constraints:
                ligand="[^/]+",
                site="[^/]+",
                face="[^/]+",
            threads: config["threads"]
            resources:
                **sized("funnel", 1),
                cpus_per_task=config["threads"],
            log:
                LAYOUT.log("tiers", tier_name, "rows", "{ligand}", "{site}", "{face}"),
            benchmark:
                LAYOUT.benchmark("tiers", tier_name, "rows", "{ligand}", "{site}", "{face}")
            conda:
                "../envs/passivscreen.yaml"
            script:
                "../scripts/funnel.py"

        continue
    for i in range(top_k):

        rule:
            name:
                f"funnel_{tier_name}_{i:04d}"
            input:
                candidates=previous_records(level),
                slabs=funnel_slabs(tier_name),
            output:
                json=LAYOUT.funnel(tier_name, i).json,
                xyz=LAYOUT.funnel(tier_name, i).xyz,
            params:
                cfg=ALL_SETTINGS,
                tier=tier_name,
                rank=i,
            threads: config["threads"]
            priority: top_k - i
            resources:
                **sized("funnel", 1),
                cpus_per_task=config["threads"],
            log:
                LAYOUT.log("tiers", tier_name, f"rank_{i:04d}"),
            benchmark:
                LAYOUT.benchmark("tiers", tier_name, f"rank_{i:04d}")
            conda:
                "../envs/passivscreen.yaml"
            script:
                "../scripts/funnel.py"


if FUNNEL:

    # the screening tier against the last funnel tier (the DFT check): table, statistics, parity plot
    rule validation:
        input:
            ranked_records,
        output:
            csv=report(
                LAYOUT.validation.csv,
                caption="../report/validation.rst",
                category="Validation",
            ),
            png=report(
                LAYOUT.validation.png,
                caption="../report/validation.rst",
                category="Validation",
            ),
            summary=LAYOUT.validation.summary,
        params:
            tier_names=TIER_NAMES,
            screen=SCREEN_TIER,
            check=FUNNEL[-1][0],
            calibration=calibration_table(),
        resources:
            **sized("ranking"),
            cpus_per_task=1,
        log:
            LAYOUT.log("validation"),
        benchmark:
            LAYOUT.benchmark("validation")
        conda:
            "../envs/passivscreen.yaml"
        script:
            "../scripts/validation.py"
