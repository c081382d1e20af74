"""Orbital energies, Mulliken-projected densities of states and trap states (tblite GFN2-xTB).

Trap-state definition used throughout (one calculation at a time, so no
alignment of energy scales between charged and neutral cells is needed):

* every molecular orbital gets Mulliken weights on each atom,
  w_A(i) = sum_{mu in A} c_mu,i (S c)_mu,i  (they sum to 1 over atoms);
* the valence-band maximum (VBM) is the highest occupied Br-dominated orbital
  (weight on Br >= 0.5): the Br 4p valence band;
* the conduction-band minimum (CBM) is the lowest Pb-dominated orbital above the
  VBM whose weight on the *defect Pb* (the Pb next to the vacancy, or the site
  Pb) is below ``local_cut``: a band state, not a defect state;
* trap states are orbitals between VBM and CBM (by more than ``margin``) with a
  weight on the defect Pb and the ligand(s) of at least ``local_cut`` (a state
  that a reduced ligand brings into the gap counts too); the trap depth is
  CBM - E(deepest trap) (0 when there is none).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.units import Hartree


def orbital_summary(
    atoms: Atoms, groups: dict[str, list[int]], pairs: list[tuple[int, int]] | None = None
) -> dict[str, Any] | None:
    """Orbital energies (eV), occupations, Mulliken weights on atom ``groups``, bond orders of ``pairs``.

    ``atoms`` must carry a tblite calculator that has just evaluated this
    geometry; one extra SCF cycle (restarted from the converged result) stores
    the overlap matrix. Returns None for other calculators.

    Bond orders are Mayer/Wiberg, sum over mu in A, nu in B of (PS)_mu,nu (PS)_nu,mu
    from tblite's density and overlap matrices: the same numbers as tblite's own
    ``bond-orders`` for closed shells, and correct for the open-shell (uhf) slabs
    of a neutral Br vacancy, where tblite's spin-resolved array is not usable.
    """
    calc = atoms.calc
    xtb = getattr(calc, "_xtb", None)
    if xtb is None or getattr(calc, "_res", None) is None:
        return None
    res, route = _analysis_scf(xtb, calc)
    if res is None:
        return None
    eps = np.asarray(res.get("orbital-energies")) * Hartree
    occ = np.asarray(res.get("orbital-occupations"))
    coef = np.asarray(res.get("orbital-coefficients"))
    overlap = np.asarray(res.get("overlap-matrix"))
    atom_of = np.asarray(xtb.get("shell-map"))[np.asarray(xtb.get("orbital-map"))]
    if eps.ndim == 2:  # spin-resolved: fold channels into one list
        eps, occ = eps.ravel(), occ.ravel()
        coef = np.concatenate(list(coef), axis=1)
    density = np.asarray(res.get("density-matrix"))
    weights = coef * (overlap @ coef)  # (n_ao, n_mo)
    per_atom = np.zeros((len(atoms), weights.shape[1]))
    np.add.at(per_atom, atom_of, weights)
    pb = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Pb"]
    out: dict[str, Any] = {
        "scf": route,
        "energies_eV": eps.tolist(),
        "occupations": occ.tolist(),
        "w_Pb": per_atom[pb].sum(axis=0).tolist(),
        "w_Br": per_atom[[i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Br"]].sum(axis=0).tolist(),
    }
    for name, idx in groups.items():
        out[f"w_{name}"] = per_atom[list(idx)].sum(axis=0).tolist() if len(idx) else [0.0] * len(eps)
    if pairs:
        out["bond_orders"] = [mayer_bond_order(density, overlap, atom_of, a, b) for a, b in pairs]
    return out


#: The restart's cycle cap: a restart from the SCF just converged at this geometry needs a few cycles; one that
#: takes more is stalled (DMSO on the slab: 250 cycles, 50 s, without converging at accuracy 3)
RESTART_MAX_ITER = 50

#: Looser SCF thresholds the analysis restarts at when the restart at the calculator's own stalls: the
#: energy-neutral accuracy rungs of the relaxation's ladder (passivscreen.relaxation.scf.SCF_LADDER: energy
#: within 3e-5 / 3e-4 eV, forces within 2e-4 / 9e-3 eV/A of the tight thresholds, measured on an ion pair).
#: DMSO lying on the slab (stop 32): at accuracy 3 neither the restart nor an SCF from scratch converges in
#: 250 cycles; at accuracy 10 one from scratch converges in 11 s at the relaxation's energy (to 1e-9 eV) and
#: the restart in 4 s.
LOOSER_ACCURACY = (10.0, 30.0)


def _analysis_scf(xtb: Any, calc: Any) -> tuple[Any, str]:
    """tblite's result at the calculator's last geometry with the integrals saved, and how the SCF got there
    (``restart``, ``restart at accuracy 10``, ..., ``atomic guess, damped``); (None, reason) if no route
    converges. The calculator's own settings are set back whatever happens."""
    from tblite.exceptions import TBLiteRuntimeError

    own_accuracy = float(calc.parameters.get("accuracy", 1.0))
    own_max_iter = int(calc.parameters.get("max_iterations", 250))
    own_damping = float(calc.parameters.get("mixer_damping", 0.4))
    own = {"accuracy": own_accuracy, "mixer-damping": own_damping, "max-iter": own_max_iter}
    # each route sets every setting it depends on (they would otherwise carry over from the route before)
    routes: list[tuple[str, dict[str, float], bool]] = [
        ("restart", {**own, "max-iter": min(RESTART_MAX_ITER, own_max_iter)}, True),
        *[
            (f"restart at accuracy {acc:g}", {**own, "accuracy": acc}, True)
            for acc in LOOSER_ACCURACY
            if acc > own_accuracy
        ],
        # the atomic guess with a damped mixer at the calculator's own thresholds, as many cycles as its own
        # (1,000 cost 434 s on DMSO and still failed), before the analysis gives up
        ("atomic guess, damped", {**own, "mixer-damping": 0.2}, False),
    ]
    xtb.set("save-integrals", 1)
    try:
        for route, settings, restart in routes:
            for key, value in settings.items():
                xtb.set(key, value)
            try:
                return (xtb.singlepoint(calc._res, copy=True) if restart else xtb.singlepoint(copy=True)), route
            except TBLiteRuntimeError:
                continue
        return None, "no route converged"
    finally:  # the calculator's own settings again (ASE's TBLite parameters)
        xtb.set("save-integrals", 0)
        for key, value in own.items():
            xtb.set(key, value)


def mayer_bond_order(density: np.ndarray, overlap: np.ndarray, atom_of: np.ndarray, a: int, b: int) -> float:
    """Mayer bond order between atoms ``a`` and ``b`` (spin channels: 2 * sum over channels)."""
    ia, ib = atom_of == a, atom_of == b
    channels = [density] if density.ndim == 2 else list(density)
    total = 0.0
    for p in channels:
        ps = p @ overlap
        total += float((ps[np.ix_(ia, ib)] * ps[np.ix_(ib, ia)].T).sum())
    return total if density.ndim == 2 else 2.0 * total


def trap_states(summary: dict[str, Any], local_cut: float = 0.25, margin: float = 0.05) -> dict[str, Any]:
    """Band edges, gap and trap depth from an :func:`orbital_summary` (see module docstring)."""
    e = np.asarray(summary["energies_eV"])
    occ = np.asarray(summary["occupations"])
    w_pb = np.asarray(summary["w_Pb"])
    zero = np.zeros_like(e)
    w_def = np.asarray(summary.get("w_defect", zero)) + np.asarray(summary.get("w_ligand", zero))
    w_br = np.asarray(summary.get("w_Br", 1.0 - w_pb))
    valence = (occ > 0.5) & (w_br >= 0.5)
    vbm = float(e[valence].max())
    band = (e > vbm) & (w_pb >= 0.5) & (w_def < local_cut)
    cbm = float(e[band].min()) if band.any() else float("nan")
    trap = (e > vbm + margin) & (e < cbm - margin) & (w_def >= local_cut)
    homo = float(e[occ > 0.5].max())
    lumo = float(e[occ < 0.5].min()) if (occ < 0.5).any() else float("nan")
    out = {
        "vbm_eV": vbm,
        "cbm_eV": cbm,
        "gap_eV": cbm - vbm,
        "homo_lumo_gap_eV": lumo - homo,
        "n_trap_states": int(trap.sum()),
        "trap_depth_eV": float(cbm - e[trap].min()) if trap.any() else 0.0,
        "trap_energies_eV": (e[trap] - vbm).tolist(),
        "trap_occupations": occ[trap].tolist(),
    }
    return out


def pdos(summary: dict[str, Any], key: str | None, grid: np.ndarray, sigma: float = 0.1) -> np.ndarray:
    """Gaussian-broadened DOS (states/eV), projected on weight ``w_<key>`` (None: total)."""
    e = np.asarray(summary["energies_eV"])
    w = np.ones_like(e) if key is None else np.asarray(summary[f"w_{key}"])
    g = np.exp(-0.5 * ((grid[:, None] - e[None, :]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return g @ w


def dipole_energy_estimate(dipole_z: float, volume: float) -> float:
    """Spurious dipole-dipole energy (eV) of a polar slab under 3D periodicity.

    The leading term 2*pi*mu_z^2 / V (Makov-Payne / Neugebauer-Scheffler), with
    mu_z in e*A and V in A^3; GFN2-xTB has no dipole correction, so the number is
    reported next to each unilateral E_ads instead of being applied.
    """
    ke = 14.399645  # e^2 / (4 pi eps0) in eV*A
    return float(2 * np.pi * ke * dipole_z**2 / volume)


def electronic_properties(
    atoms: Atoms, groups: dict[str, list[int]], pairs: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """Charges, dipole, orbital summary and trap states of ``atoms`` just evaluated by their calculator.

    ``groups`` are the atom groups of the projected DOS; ``pairs`` the atom pairs whose
    bond orders are wanted (tblite only: other calculators give charges and dipole at most).
    """
    out: dict[str, Any] = {}
    calc = atoms.calc
    if "charges" in calc.results:
        out["charges"] = np.asarray(calc.results["charges"]).tolist()
    if "dipole" in calc.results:
        dz = float(np.asarray(calc.results["dipole"])[2])
        out["dipole_z_eA"] = dz
        out["dipole_energy_estimate_eV"] = dipole_energy_estimate(dz, atoms.get_volume())
    summary = orbital_summary(atoms, groups, pairs)
    if summary is not None:
        out["orbitals"] = summary
        out["traps"] = trap_states(summary)
    return out
