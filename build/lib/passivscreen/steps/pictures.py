"""Per-complex figures drawn in the adsorption job: projected DOS and a picture of the structure."""

from __future__ import annotations

from pathlib import Path

from passivscreen.analysis.figures import plot_pdos
from passivscreen.records.files import read_json


def write_pdos_plot(
    clean_json: str | Path, defect_json: str | Path, complex_json: str | Path, path: str | Path
) -> None:
    """Projected DOS of the clean slab, the site's slab and the passivated complex (one figure)."""
    clean, defect, cpx = read_json(clean_json), read_json(defect_json), read_json(complex_json)
    systems = [("clean slab", clean.get("orbitals"))]
    if defect.get("site_type") != "pristine":
        systems.append((f"{defect['site']} slab ({defect['face']})", defect.get("orbitals")))
    systems.append((f"{cpx['ligand']} on {cpx['site']} ({cpx['face']})", cpx.get("orbitals")))
    systems = [(label, s) for label, s in systems if s]
    if not cpx.get("orbitals"):
        systems.append((f"{cpx['ligand']}: no complex ({cpx.get('status')})", None))
    plot_pdos(systems, path, title=f"Projected DOS: {cpx['ligand']}, {cpx['site']}, {cpx['face']}")


def write_structure_picture(xyz: str | Path, record_json: str | Path, path: str | Path) -> None:
    """Side and top views of a relaxed complex (ASE's PNG writer), or a note when there is none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ase.io import read
    from ase.visualize.plot import plot_atoms

    rec = read_json(record_json)
    atoms = read(xyz) if Path(xyz).stat().st_size > 0 else None
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    if atoms is None or len(atoms) == 0:
        for ax in axes:
            ax.text(0.5, 0.5, f"no structure: {rec.get('status')}", ha="center", va="center")
            ax.axis("off")
    else:
        plot_atoms(atoms, axes[0], rotation="-90x", radii=0.5)
        plot_atoms(atoms, axes[1], rotation="0x", radii=0.5)
        axes[0].set_title("side view", fontsize=9)
        axes[1].set_title("top view", fontsize=9)
        for ax in axes:
            ax.axis("off")
    e = rec.get("E_ads_eV")
    what = f"E_ads {e:.2f} eV, BO {rec.get('bond_order') or 0:.2f}" if e is not None else rec.get("status", "")
    fig.suptitle(f"{rec['ligand']} on {rec.get('site')} ({rec.get('face')}): {what}", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
