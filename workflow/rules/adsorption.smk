# Complexes in batches of `batch_size`: one job relaxes its complexes one after the other with
# one calculator, and draws each one's projected DOS and structure picture.
for k, batch in enumerate(COMPLEX_BATCHES):

    rule:
        name:
            f"adsorption_{k:04d}"
        input:
            clean=f"{RESULTS}/slab/{CLEAN}/top.json",
            slabs=sorted(
                {complex_files(*m)[key] for m in batch for key in ("slab_json", "slab_xyz")}
            ),
            ligands=sorted(
                {complex_files(*m)[key] for m in batch for key in ("ligand_json", "ligand_xyz")}
            ),
        output:
            records=[complex_files(*m)["json"] for m in batch],
            structures=[complex_files(*m)["xyz"] for m in batch],
            pdos=[
                report(
                    complex_files(*m)["pdos"],
                    caption="../report/pdos.rst",
                    category="Projected DOS",
                    subcategory=m[0],
                )
                for m in batch
            ],
            pictures=[
                report(
                    complex_files(*m)["picture"],
                    caption="../report/structure.rst",
                    category="Structures",
                    subcategory=m[0],
                )
                for m in batch
            ],
        params:
            cfg=SETTINGS,
            entries=entries({m[0] for m in batch}),
            members=[complex_files(*m) for m in batch],
        threads: config["threads"]
        resources:
            **sized("adsorption", len(batch)),
            cpus_per_task=config["threads"],
        log:
            f"{RESULTS}/logs/adsorption/batch_{k:04d}.log",
        benchmark:
            f"{RESULTS}/benchmarks/adsorption/batch_{k:04d}.tsv"
        conda:
            "../envs/passivscreen.yaml"
        script:
            "../scripts/adsorption.py"
