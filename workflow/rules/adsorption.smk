# Complexes in batches of `batch_size`: one job relaxes its complexes one after the other with
# one calculator, and draws each one's projected DOS and structure picture. Ready batches start in
# config order (priority), so a long job listed early does not run alone at the end.
for k, batch in enumerate(COMPLEX_BATCHES):
    # the complexes' own files name no cell; their slab references (input function) are on the ligand's cell
    files = [complex_member(LAYOUT, *m) for m in batch]

    rule:
        name:
            f"adsorption_{k:04d}"
        input:
            slabs=batch_references(batch),
            ligands=sorted(
                {f[key] for f in files for key in ("ligand_json", "ligand_xyz")}
            ),
        output:
            records=[f["json"] for f in files],
            structures=[f["xyz"] for f in files],
            pdos=[
                report(
                    f["pdos"],
                    caption="../report/pdos.rst",
                    category="Projected DOS",
                    subcategory=f["ligand"],
                )
                for f in files
            ],
            pictures=[
                report(
                    f["picture"],
                    caption="../report/structure.rst",
                    category="Structures",
                    subcategory=f["ligand"],
                )
                for f in files
            ],
        params:
            cfg=SETTINGS,
            entries=entries({f["ligand"] for f in files}),
            members=files,
        threads: config["threads"]
        priority: len(COMPLEX_BATCHES) - k
        resources:
            **sized("adsorption", len(batch)),
            cpus_per_task=config["threads"],
        log:
            LAYOUT.log("adsorption", f"batch_{k:04d}"),
        benchmark:
            LAYOUT.benchmark("adsorption", f"batch_{k:04d}")
        conda:
            "../envs/passivscreen.yaml"
        script:
            "../scripts/adsorption.py"
