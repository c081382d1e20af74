"""The results layout: every file a screen writes, named once, for the Snakemake rules and Python alike.

``Results("results/default").complex("acetone", "pristine-Pb12", "top").json`` is
``results/default/adsorption/acetone/pristine-Pb12/top.json``. A rule gets its output patterns from the same
methods with Snakemake wildcards for names (``layout.slab("{site}", "{face}").json``); a reader of a finished
tree finds its files with glob wildcards in the same methods (:meth:`Results.existing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The folder of every set's results tree (``results/<set>``), relative to the working directory.
BASE = "results"


@dataclass(frozen=True)
class Files:
    """A record and its structure file (and the job's work directory, where it has one)."""

    json: str
    xyz: str
    workdir: str | None = None


@dataclass(frozen=True)
class ComplexFiles(Files):
    """A complex's record and structure, its projected-DOS figure and picture."""

    pdos: str = ""
    picture: str = ""


@dataclass(frozen=True)
class RankingFiles:
    """What the ranking rule writes."""

    csv: str
    png: str
    orientations: str
    tiers: str
    failures: str


@dataclass(frozen=True)
class SummaryFiles:
    """A table, its figure and its summary (the convergence harness, the DFT check)."""

    csv: str
    png: str
    summary: str


@dataclass(frozen=True)
class Results:
    """The results tree of one set (``results/<set>``)."""

    root: str

    @classmethod
    def for_set(cls, set_name: str, base: str | Path = BASE) -> Results:
        """The tree of set ``set_name`` under ``base``."""
        return cls(str(Path(base) / set_name))

    @classmethod
    def of_complex(cls, record: str | Path) -> Results:
        """The tree that holds a complex's record (``<root>/adsorption/<ligand>/<site>/<face>.json``).

        Raises
        ------
        ValueError
            When ``record`` is not a complex's record of a results tree.
        """
        path = Path(record)
        if len(path.parents) < 4 or path.parents[2].name != "adsorption":
            raise ValueError(f"{record}: not a complex record (<results>/adsorption/<ligand>/<site>/<face>.json)")
        return cls(str(path.parents[3]))

    def _path(self, *parts: str) -> str:
        return str(Path(self.root, *parts))

    @property
    def skipped(self) -> str:
        """The ``ligands_file`` rows that were not run, with their reasons (``on_bad_ligand: skip``)."""
        return self._path("skipped.csv")

    @property
    def cells(self) -> str:
        """The cache of ``passivscreen cells``: a preview of ``slab.repeat: auto``'s choices
        (:func:`passivscreen.placement.cells.ligand_cells`; the ligand jobs record their own)."""
        return self._path("work", "cells.json")

    def slab(self, site: str, face: str) -> Files:
        """The reference slab of a site type and face set (with ``repeat: auto`` the label names its cell)."""
        return Files(self._path("slab", site, f"{face}.json"), self._path("slab", site, f"{face}.extxyz"))

    def ligand(self, name: str) -> Files:
        """A free ligand (its conformers in the structure file, lowest first)."""
        return Files(
            self._path("ligands", f"{name}.json"),
            self._path("ligands", f"{name}.extxyz"),
            self._path("work", "ligands", name),
        )

    def complex(self, ligand: str, site: str, face: str) -> ComplexFiles:
        """A ligand on a site and face set: record, structure, projected DOS, picture and work directory."""
        return ComplexFiles(
            self._path("adsorption", ligand, site, f"{face}.json"),
            self._path("adsorption", ligand, site, f"{face}.extxyz"),
            self._path("work", "adsorption", ligand, site, face),
            pdos=self._path("pdos", ligand, site, f"{face}.png"),
            picture=self._path("pictures", ligand, site, f"{face}.png"),
        )

    def funnel_slab(self, tier: str, site: str, face: str) -> Files:
        """The reference slab of a funnel tier, in that tier's cell."""
        return Files(
            self._path("tiers", tier, "slab", site, f"{face}.json"),
            self._path("tiers", tier, "slab", site, f"{face}.extxyz"),
        )

    def funnel(self, tier: str, rank: int | str) -> Files:
        """The ``rank``-th best row of the tier before, evaluated at funnel tier ``tier``."""
        stem = rank if isinstance(rank, str) else f"rank_{rank:04d}"
        return Files(self._path("tiers", tier, f"{stem}.json"), self._path("tiers", tier, f"{stem}.extxyz"))

    def funnel_row(self, tier: str, ligand: str, site: str, face: str) -> Files:
        """One complex evaluated at a funnel tier that evaluates every row (``top_k: all``)."""
        return Files(
            self._path("tiers", tier, "rows", ligand, site, f"{face}.json"),
            self._path("tiers", tier, "rows", ligand, site, f"{face}.extxyz"),
        )

    @property
    def ranking(self) -> RankingFiles:
        return RankingFiles(
            self._path("ranking.csv"),
            self._path("ranking.png"),
            self._path("orientations.csv"),
            self._path("tiers.csv"),
            self._path("failures.txt"),
        )

    @property
    def database(self) -> str:
        return self._path("results.db")

    @property
    def validation(self) -> SummaryFiles:
        return SummaryFiles(self._path("validation.csv"), self._path("parity.png"), self._path("validation.json"))

    @property
    def convergence(self) -> SummaryFiles:
        return SummaryFiles(
            self._path("convergence.csv"), self._path("convergence.png"), self._path("convergence.json")
        )

    def log(self, *job: str) -> str:
        """The log of a job (``logs/<job...>.log``)."""
        return self._path("logs", *job[:-1], f"{job[-1]}.log")

    def benchmark(self, *job: str) -> str:
        """Snakemake's benchmark file of a job (``benchmarks/<job...>.tsv``)."""
        return self._path("benchmarks", *job[:-1], f"{job[-1]}.tsv")

    def benchmark_folder(self, *under: str) -> str:
        """The folder of Snakemake's benchmark files of the jobs under ``under`` (``benchmarks/<under...>``;
        none: of every job), as :meth:`benchmark` names them."""
        return self._path("benchmarks", *under)

    def existing(self, pattern: str) -> list[Path]:
        """The files of this tree that match ``pattern``, sorted: a path of this layout with ``*`` for names,
        e.g. every complex record, ``layout.existing(layout.complex("*", "*", "*").json)``.

        For readers of a finished tree (benchmarks, tables); a rule names its files, it does not glob.

        Raises
        ------
        ValueError
            When ``pattern`` is not under this tree's root.
        """
        relative = Path(pattern).relative_to(self.root)
        return sorted(Path(self.root).glob(str(relative)))
