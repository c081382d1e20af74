from __future__ import annotations

import json

import numpy as np
import pytest

from passivscreen.ligands import ligand_from_smiles
from passivscreen.placement import contact_ratio, orientations, place_ligand
from passivscreen.structures import surface_pb_indices


@pytest.fixture(scope="module")
def tmpo():
    return ligand_from_smiles("tmpo", "CP(C)(C)=O")


@pytest.mark.parametrize("face", ["top", "bottom"])
def test_anchor_on_top_of_pb_along_normal(small_slab, tmpo, face):
    site = surface_pb_indices(small_slab, face)[0]
    p = place_ligand(small_slab, tmpo, site, 30.0, face, distance=2.5)
    a = p.atoms
    assert len(a) == len(small_slab) + len(tmpo.atoms)
    d = a.positions[p.anchor] - a.positions[site]
    sign = 1 if face == "top" else -1
    assert np.allclose(d, [0, 0, sign * 2.5], atol=1e-8)
    # P=O axis along the normal, P further from the surface than O
    phos = p.n_slab + next(i for i, s in enumerate(tmpo.atoms.get_chemical_symbols()) if s == "P")
    po = a.positions[p.anchor] - a.positions[phos]
    assert po[2] * sign < 0
    assert abs(po[2]) / np.linalg.norm(po) == pytest.approx(1.0, abs=1e-8)
    # the whole ligand is outside the slab
    lig_z = a.positions[p.n_slab :, 2]
    slab_z = small_slab.positions[:, 2]
    assert (lig_z > slab_z.max()).all() if face == "top" else (lig_z < slab_z.min()).all()
    # slab atoms are untouched
    assert np.allclose(a.positions[: p.n_slab], small_slab.positions)


def test_rotations_are_distinct_and_clash_free(small_slab, tmpo):
    site = surface_pb_indices(small_slab)[0]
    ok, clash = orientations(small_slab, tmpo, site, 4)
    assert len(ok) == 4 and not clash
    assert [p.rotation_deg for p in ok] == [0, 90, 180, 270]
    ok45, _ = orientations(small_slab, tmpo, site, 4, span_deg=90.0)
    assert [p.rotation_deg for p in ok45] == [0, 22.5, 45, 67.5]
    assert all(p.min_contact_ratio >= 0.75 for p in ok)
    methyl = [p.atoms.positions[-1] for p in ok]
    assert np.linalg.norm(methyl[0] - methyl[1]) > 0.1


def test_clash_is_rejected(small_slab, tmpo):
    """orientations() sorts placements into accepted and clashing by the contact ratio."""
    site = surface_pb_indices(small_slab)[0]
    ok, clash = orientations(small_slab, tmpo, site, 2, min_contact_ratio=0.75)
    assert len(ok) == 2 and not clash
    # the threshold at each placement's own contact ratio: just above it the placement clashes, at it it is kept
    ratios = sorted(p.min_contact_ratio for p in ok)
    ok, clash = orientations(small_slab, tmpo, site, 2, min_contact_ratio=ratios[0] + 1e-6)
    assert len(clash) == sum(r < ratios[0] + 1e-6 for r in ratios) >= 1 and len(ok) + len(clash) == 2
    ok, clash = orientations(small_slab, tmpo, site, 2, min_contact_ratio=ratios[0])
    assert len(ok) == 2 and not clash
    # a ligand pushed into the surface: orientations() itself rejects every rotation
    from passivscreen.placement.place import INITIAL_DISTANCE

    original = INITIAL_DISTANCE["O"]
    INITIAL_DISTANCE["O"] = 0.3
    try:
        ok, clash = orientations(small_slab, tmpo, site, 4)
    finally:
        INITIAL_DISTANCE["O"] = original
    assert not ok and len(clash) == 4 and max(c.min_contact_ratio for c in clash) < 0.75
    p = place_ligand(small_slab, tmpo, site, 0.0, distance=0.3)
    assert contact_ratio(p.atoms, p.n_slab) < 0.5


def test_periodic_image_clash(small_slab):
    # a long rod lying flat clashes with its own periodic images on a 2x2 slab
    rod = ligand_from_smiles("rod", "CCCCCCCCCCCCCC(C)=O")
    site = surface_pb_indices(small_slab)[0]
    _, clash = orientations(small_slab, rod, site, 4)
    assert clash


@pytest.mark.parametrize("smiles, element, start", [("CP(C)(C)=O", "O", 2.5), ("CS", "S", 3.0), ("CN", "N", 2.65)])
def test_every_rotation_at_every_starting_height(small_slab, smiles, element, start):
    """placement.heights: each rotation placed at the anchor's initial height plus each offset, on both faces."""
    lig = ligand_from_smiles("l", smiles)
    assert lig.atoms[lig.anchor_index].symbol == element
    top, bottom = surface_pb_indices(small_slab, "top")[0], surface_pb_indices(small_slab, "bottom")[0]
    ok, clash = orientations(small_slab, lig, {"top": top, "bottom": bottom}, 2, height_offsets=(-0.3, 0.0, 0.4))
    placed = ok + clash
    assert [(c.rotation_deg, c.height_offset) for c in placed] == [
        (r, h) for r in (0.0, 180.0) for h in (-0.3, 0.0, 0.4)
    ]
    for c in placed:
        for anchor, site in zip(c.anchors, c.sites):
            d = np.linalg.norm(c.atoms.positions[anchor] - c.atoms.positions[site])
            assert d == pytest.approx(start + c.height_offset, abs=1e-8)


def test_ion_pair_starts_further_out_by_the_offset(small_slab):
    salt = ligand_from_smiles("mabr", "C[NH3+].[Br-]")
    site = surface_pb_indices(small_slab)[0]
    (base, up), _ = orientations(small_slab, salt, site, 1, height_offsets=(0.0, 0.5), min_contact_ratio=0.0)
    shift = up.atoms.positions[base.n_slab :] - base.atoms.positions[base.n_slab :]
    assert np.allclose(shift, [0.0, 0.0, 0.5], atol=1e-8)


@pytest.mark.parametrize("face", ["top", "bottom"])
def test_a_tilted_start_leans_the_molecule_about_its_anchor(small_slab, tmpo, face):
    """Tilt t: the anchor stays where the upright placement puts it, the anchor axis is t degrees from the normal,
    and every rotation x height x tilt is a placement of its own."""
    from passivscreen.ligands.anchors import anchor_axis

    site = surface_pb_indices(small_slab, face)[0]
    n = len(small_slab)
    up = place_ligand(small_slab, tmpo, site, 30.0, face)
    for tilt in (20.0, 45.0):
        p = place_ligand(small_slab, tmpo, site, 30.0, face, tilt_deg=tilt)
        assert np.allclose(p.atoms.positions[p.anchor], up.atoms.positions[up.anchor])
        lig = p.atoms[n:]
        axis = anchor_axis(lig, tmpo.anchor_index, tmpo.bonds)
        normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])
        angle = np.degrees(np.arccos(np.clip(np.dot(axis, -normal) / np.linalg.norm(axis), -1, 1)))
        assert angle == pytest.approx(tilt, abs=1e-6)
    ok, clash = orientations(small_slab, tmpo, site, 2, face=face, height_offsets=(0.0, -0.3), tilts=(0.0, 40.0))
    poses = {(c.rotation_deg, c.height_offset, c.tilt_deg) for c in ok + clash}
    assert len(poses) == 2 * 2 * 2


def test_converged_and_descending_probes_each_get_relax_top():
    """The rows relaxed after the probes: the lowest converged and the lowest still-descending ones, not the
    lowest overall (a probe that stopped early in a shallow minimum would crowd out the deep one)."""
    from passivscreen.steps.screening import to_relax

    def row(e, status, probed=True):
        return {"E_ads_sp_eV": e, "sp_status": status, **({"probe_force_calls": 9} if probed else {})}

    shallow = [row(-0.17, "converged"), row(-0.16, "converged"), row(-0.15, "converged")]
    deep = [row(-0.53, "not_converged"), row(-0.52, "not_converged")]
    failed = [row(None, "scf_failed")]
    chosen = to_relax(shallow + deep + failed, 1)
    assert chosen == [deep[0], shallow[0]]
    chosen = to_relax(deep + shallow, 2)
    assert chosen == [deep[0], deep[1], shallow[0], shallow[1]]
    # descending ones lower than every converged one do not crowd the converged out, nor the reverse
    late = [row(-0.10, "not_converged")]
    assert to_relax(shallow + late, 1) == [shallow[0], late[0]]
    # without probes: the lowest single points, whatever their status
    plain = [row(-0.3, "ok", probed=False), row(-0.5, "ok", probed=False), row(-0.4, "ok", probed=False)]
    assert to_relax(plain, 2) == [plain[1], plain[2]]
    # with probes, a start that was not probed (its single point only) never competes, however low
    assert to_relax([row(-0.9, "ok", probed=False)] + deep, 1) == [deep[0]]


def test_each_tilt_relaxes_the_lowest_probe_of_a_tilt_the_others_left_out():
    """placement.relax_each_tilt: TPPO's tilted starts begin pressed into the surface and are still far above the
    upright probes after 8 steps, yet end below them; the lowest probe of each tilt that relax_top and the tie
    window left out is relaxed too, once per tilt, and only with the setting (bidentate starts do not count)."""
    from passivscreen.steps.screening import to_relax

    def row(e, rot, tilt, conformer=0, bi=False):
        return {
            "E_ads_sp_eV": e, "sp_status": "not_converged", "probe_force_calls": 9, "rotation_deg": rot,
            "tilt_deg": tilt, "height_offset_A": 0.0, "conformer": conformer, **({"denticity_start": 2} if bi else {}),
        }  # fmt: skip

    upright = [row(-0.96, 0.0, 0.0, 1), row(-0.95, 0.0, 0.0)]
    tilted = [row(0.41, 67.5, 45.0), row(0.39, 0.0, 45.0, 1), row(2.1, 22.5, 45.0)]
    lying = [row(1.5, 0.0, 70.0)]
    rows = tilted + upright + lying
    assert to_relax(rows, 1, tie_eV=0.02) == [upright[0], upright[1]]  # the probes alone: upright only
    assert to_relax(rows, 1, tie_eV=0.02, each_tilt=True) == [upright[0], upright[1], tilted[1], lying[0]]
    # a tilt relax_top already chose gets nothing more, and each missing tilt is added once
    assert (
        to_relax(tilted + upright, 3, each_tilt=True)
        == to_relax(tilted + upright, 3)
        == [upright[0], upright[1], tilted[1]]
    )
    assert to_relax(tilted + upright, 2, each_tilt=True) == [upright[0], upright[1], tilted[1]]
    assert to_relax(upright + [row(-0.5, 0.0, 45.0)], 2, each_tilt=True) == [
        upright[0],
        upright[1],
        row(-0.5, 0.0, 45.0),
    ]
    # a bidentate start of the missing tilt does not stand in for its monodentate ones
    bi = row(-2.0, 0.0, 45.0, bi=True)
    assert to_relax(upright + tilted + [bi], 1, each_tilt=True) == [bi, upright[0], tilted[1]]


def test_probes_within_the_tie_window_of_another_shape_are_relaxed_too():
    """probe_tie_eV: nitrosomethane's 8 probes lie within 1.1 meV; the lowest is tilted (it ends at -0.37 eV),
    the upright start 0.8 meV above it ends at -0.55 eV. With a window, the lowest probe of each other shape
    (tilt, height, conformer) inside it is relaxed too, once per shape; rotations of a chosen shape are not."""
    from passivscreen.steps.screening import to_relax

    def row(e, rot, tilt, status="not_converged", height=0.0):
        return {
            "E_ads_sp_eV": e, "sp_status": status, "probe_force_calls": 10,
            "rotation_deg": rot, "tilt_deg": tilt, "height_offset_A": height, "conformer": 0,
        }  # fmt: skip

    tilted = [row(-0.3368, 0.0, 45.0), row(-0.3365, 67.5, 45.0)]
    upright = [row(-0.3360, 22.5, 0.0), row(-0.3357, 45.0, 0.0)]
    far = [row(-0.300, 0.0, 45.0, height=-0.3)]
    rows = tilted + upright + far
    assert to_relax(rows, 1) == [tilted[0]]  # no window: the lowest alone
    assert to_relax(rows, 1, tie_eV=0.02) == [tilted[0], upright[0]]  # one of each shape in the window
    assert to_relax(rows, 1, tie_eV=0.05) == [tilted[0], upright[0], far[0]]
    # converged and descending probes keep their own windows
    done = [row(-0.20, 0.0, 0.0, "converged"), row(-0.199, 0.0, 45.0, "converged")]
    assert to_relax(tilted + done, 1, tie_eV=0.02) == [tilted[0], done[0], done[1]]


def test_to_probe_takes_the_lowest_distinct_starts():
    """Rotations of one start whose single points agree within same_start_eV count once; other tilts,
    heights and conformers are never merged, however close; 0 probes every start."""
    from passivscreen.steps.screening import distinct_starts, to_probe

    def row(e, rot, tilt=0.0, height=0.0, conformer=0):
        return {
            "E_ads_sp_eV": e,
            "rotation_deg": rot,
            "tilt_deg": tilt,
            "height_offset_A": height,
            "conformer": conformer,
        }

    # methanethiol-like: four upright rotations within 1 meV, four tilted within 1 meV
    upright = [row(-0.166, r) for r in (0.0, 22.5, 45.0)] + [row(-0.165, 67.5)]
    tilted = [row(-0.437, r, 45.0) for r in (0.0, 22.5, 45.0)] + [row(-0.436, 67.5, 45.0)]
    kept = distinct_starts(upright + tilted, 0.005)
    assert [(r["tilt_deg"], r["E_ads_sp_eV"]) for r in kept] == [(45.0, -0.437), (0.0, -0.166)]
    # a rotation 7 meV away is another start; an identical energy at another height or conformer too
    other = [row(-0.159, 90.0), row(-0.166, 0.0, height=-0.3), row(-0.166, 0.0, conformer=1), row(None, 10.0)]
    kept = distinct_starts(upright + tilted + other, 0.005)
    assert len(kept) == 5
    assert to_probe(upright + tilted + other, 3, 0.005) == kept[:3]
    assert kept[:3][0]["tilt_deg"] == 45.0
    # 0: every start with an energy, lowest first
    every = to_probe(upright + tilted + other, 0, 0.005)
    assert len(every) == 11 and every[0]["E_ads_sp_eV"] == -0.437
    # a tolerance of 0 merges only identical energies
    assert len(distinct_starts(upright, 0.0)) == 2


BIS_PO = "CP(C)(=O)CCCP(C)(C)=O"  # propane-1,3-diylbis(dimethylphosphine oxide): O...O 5.6-7.2 A, Pb-Pb 5.87 A


def _nearest_pb(atoms, index, n_slab):
    from ase.geometry import get_distances

    pb = [i for i in range(n_slab) if atoms[i].symbol == "Pb"]
    _, d = get_distances(atoms.positions[[index]], atoms.positions[pb], cell=atoms.cell, pbc=atoms.pbc)
    return pb[int(np.argmin(d[0]))], float(d.min())


def test_bidentate_start_puts_both_anchors_on_neighbouring_pb(small_slab):
    from passivscreen.placement.bidentate import neighbour_vectors

    site = surface_pb_indices(small_slab)[0]
    nbrs = neighbour_vectors(small_slab, site)
    lengths = sorted(round(float(np.linalg.norm(v)), 2) for _, v in nbrs)
    assert lengths == [5.87] * 4 + [8.3] * 4  # the edges and the diagonals of the square lattice
    lig = ligand_from_smiles("bis", BIS_PO, conformers=8)
    assert lig.other_anchors and lig.anchor_index not in lig.other_anchors
    found = []
    for k, conf in enumerate(lig.conformers):
        lig.atoms.positions = conf
        ok, clash = orientations(small_slab, lig, site, 2, span_deg=90.0, conformer=k, height_offsets=(0.0, 0.3))
        bi = [c for c in ok + clash if c.denticity == 2]
        mono = [c for c in ok + clash if c.denticity == 1]
        assert len(mono) == 4  # 2 rotations x 2 heights, as before
        # a C4 site: one edge and one diagonal direction of the four each, x two heights, where the anchors fit
        oo = float(np.linalg.norm(conf[lig.anchor_index] - conf[lig.other_anchors[0]]))
        assert len(bi) == 2 * ((abs(oo - 5.87) <= 1.5) + (abs(oo - 8.30) <= 1.5)), oo
        for c in bi:
            (pb1, d1), (pb2, d2) = (_nearest_pb(c.atoms, a, c.n_slab) for a in (c.anchors[0], c.extra_anchors[0]))
            assert pb1 == site and pb2 != site and pb2 in surface_pb_indices(small_slab)
            height = 2.5 + c.height_offset
            assert height - 0.3 <= d1 <= height + 0.8 and height - 0.3 <= d2 <= height + 0.8, (d1, d2)
            found += [c] if c in ok else []
    assert found, "no conformer of the bis-phosphine oxide gives a clash-free bidentate start"
    # one P=O: no bidentate start
    one = ligand_from_smiles("tmpo", "CP(C)(C)=O")
    assert not one.other_anchors
    ok, clash = orientations(small_slab, one, site, 2, span_deg=90.0)
    assert all(c.denticity == 1 for c in ok + clash)


def test_the_lowest_bidentate_probe_is_relaxed_too():
    from passivscreen.steps.screening import row_pose, to_relax

    def row(e, rot, bi=False, status="not_converged"):
        r = {"E_ads_sp_eV": e, "rotation_deg": rot, "probe_force_calls": 8, "sp_status": status}
        return {**r, "denticity_start": 2} if bi else r

    rows = [row(-1.0, 0), row(-0.9, 90, status="converged"), row(-0.5, 0, bi=True), row(-0.4, 90, bi=True)]
    chosen = to_relax(rows, 1)
    assert [r["E_ads_sp_eV"] for r in chosen] == [-1.0, -0.9, -0.5]
    assert row_pose(rows[2]) == (0, 0, 0.0, 0.0, 2) and row_pose(rows[0]) == (0, 0, 0.0, 0.0)
    # a bidentate start already among the relaxed: nothing added
    assert len(to_relax([row(-1.0, 0, bi=True), row(-0.9, 90, status="converged"), row(-0.8, 0, bi=True)], 1)) == 2


def test_polar_roll_turns_an_o_h_to_the_surface_where_the_embedded_roll_does_not(small_slab, tmpo):
    """placement.polar_h_roll: acetic acid's O-H is its only polar H; at 45 deg of tilt the embedded roll points it
    away from the surface and the polar roll brings it >= 0.5 A lower (each tilted start placed twice: 4 rotations x
    (upright + tilted + rolled) = 12 starts). Upright, or without a polar H (TMPO), nothing is added; the rolled
    starts are told apart from the others by their pose and their trajectory's name."""
    from passivscreen.placement.place import POLAR_ROLL_GAIN_A, oriented, polar_hydrogens, polar_roll
    from passivscreen.steps.probes import placement_stem
    from passivscreen.steps.screening import pose, row_pose, start_row

    acid = ligand_from_smiles("acetic_acid", "CC(=O)O")
    sym = acid.atoms.get_chemical_symbols()
    (h,) = polar_hydrogens(acid)
    assert sym[h] == "H" and any(sym[b if a == h else a] == "O" for a, b in acid.bonds if h in (a, b))
    # not an H on the anchor (a thiol's S-H, an amine's N-H); ethanolamine's O-H beside its N anchor counts
    assert polar_hydrogens(tmpo) == [] and polar_hydrogens(ligand_from_smiles("m", "CN")) == []
    assert polar_hydrogens(ligand_from_smiles("t", "CS")) == []
    eta = ligand_from_smiles("ethanolamine", "NCCO")
    assert eta.atoms[eta.anchor_index].symbol == "N" and len(polar_hydrogens(eta)) == 1
    roll = polar_roll(acid, 45.0)
    assert roll is not None and polar_roll(acid, 0.0) is None and polar_roll(tmpo, 45.0) is None
    z = [oriented(acid, 0.0, "top", 45.0, r)[h, 2] for r in (0.0, roll)]
    assert z[0] - z[1] >= POLAR_ROLL_GAIN_A
    # on the bottom face "toward the surface" is +z
    zb = [oriented(acid, 0.0, "bottom", 45.0, r)[h, 2] for r in (0.0, polar_roll(acid, 45.0, "bottom"))]
    assert zb[1] - zb[0] >= POLAR_ROLL_GAIN_A
    site = surface_pb_indices(small_slab)[0]
    ok, clash = orientations(
        small_slab, acid, site, 4, span_deg=90.0, tilts=(0.0, 45.0), polar_h=True, min_contact_ratio=0
    )
    rolled = [c for c in ok + clash if c.roll_deg]
    assert len(ok + clash) == 12 and len(rolled) == 4
    assert all(c.tilt_deg == 45.0 and c.roll_deg == roll for c in rolled)
    assert len({pose(c) for c in ok + clash}) == 12 and len({placement_stem(c) for c in ok + clash}) == 12
    # a rolled start's pose reads back the same from a cache's JSON (a killed job's probes are found again)
    assert all(tuple(json.loads(json.dumps(list(pose(c))))) == pose(c) for c in rolled)
    assert all(row_pose(json.loads(json.dumps(start_row(c)))) == pose(c) for c in rolled)
    plain, _ = orientations(small_slab, acid, site, 4, span_deg=90.0, tilts=(0.0, 45.0), min_contact_ratio=0)
    assert len(plain) == 8 and not any(c.roll_deg for c in plain)
    ok, clash = orientations(small_slab, tmpo, site, 4, span_deg=90.0, tilts=(0.0, 45.0), polar_h=True)
    assert len(ok + clash) == 8


@pytest.mark.slow
def test_the_polar_roll_start_heads_for_the_hydrogen_bonded_minimum(root):
    """Real GFN2-xTB on the default 2x2 slab (3 layers, 40 A of vacuum, held): acetic acid tilted 45 deg at the
    same rotation, from the embedded roll and from the polar roll, each probed 8 BFGS steps as the search does.
    The rolled start is >= 0.08 eV lower and its O-H is within 3 A of a Br (the workflow's probes: -0.69 to -0.71
    against -0.57 eV; relaxed, -0.72 eV, H ... Br 2.4 A, the exhaustive search's -0.73 eV minimum, stop 32).
    About a minute."""
    import yaml
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS

    from passivscreen.calculators import get_calculator
    from passivscreen.config import validate_config
    from passivscreen.ligands.molecules import entry_ligand
    from passivscreen.placement.place import polar_hydrogens
    from passivscreen.structures.cells import slab_spec
    from passivscreen.structures.slab import build_slab

    cfg = validate_config(yaml.safe_load((root / "configs" / "default.yaml").read_text()), base=None)
    slab = build_slab(slab_spec(cfg, repeat=(2, 2)))
    acid = entry_ligand(cfg, {"name": "acetic_acid", "smiles": "CC(=O)O"})
    site = surface_pb_indices(slab)[0]
    ok, _ = orientations(slab, acid, site, 4, span_deg=90.0, tilts=(45.0,), polar_h=True)
    start = {bool(c.roll_deg): c for c in ok if c.rotation_deg == 22.5}
    assert set(start) == {False, True}
    end = {}
    for rolled, c in start.items():
        atoms = c.atoms.copy()
        atoms.set_constraint(FixAtoms(indices=range(c.n_slab)))
        atoms.calc = get_calculator("gfn2", fresh=True)
        BFGS(atoms, maxstep=0.2, alpha=30.0, logfile=None).run(fmax=0.05, steps=8)
        h = c.n_slab + polar_hydrogens(acid)[0]
        br = [i for i in range(c.n_slab) if atoms[i].symbol == "Br"]
        end[rolled] = atoms.get_potential_energy(), float(atoms.get_distances(h, br, mic=True).min())
    assert end[True][0] < end[False][0] - 0.08, end
    assert end[True][1] < 3.0 < end[False][1], end


@pytest.mark.slow
def test_the_lone_pair_donors_bind_a_surface_pb(small_slab):
    """Real GFN2-xTB (small slab, held): a pyridine, a nitrile, a phosphine and a thioether, each placed upright on
    a surface Pb by its anchor class (N, N, P, S at their initial distances), relax onto that Pb and bind: the
    anchor stays the ligand atom nearest the Pb, within 3.3 A of it, and the complex is lower than slab plus
    ligand (GFN2-xTB here: pyridine -0.9, acetonitrile -0.7, trimethylphosphine -1.1, dimethyl sulfide -0.3 eV).
    About a minute."""
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS

    from passivscreen.calculators import get_calculator

    site = surface_pb_indices(small_slab)[0]
    e_slab = small_slab.copy()
    e_slab.calc = get_calculator("gfn2", fresh=True)
    e_slab = e_slab.get_potential_energy()
    for smiles, element in [("c1ccncc1", "N"), ("CC#N", "N"), ("CP(C)C", "P"), ("CSC", "S")]:
        lig = ligand_from_smiles("l", smiles, seed=1)
        assert lig.atoms[lig.anchor_index].symbol == element
        free = lig.atoms.copy()
        free.cell, free.pbc = small_slab.cell, small_slab.pbc
        free.calc = get_calculator("gfn2", fresh=True)
        BFGS(free, maxstep=0.2, alpha=30.0, logfile=None).run(fmax=0.1, steps=40)
        c = place_ligand(small_slab, lig, site)
        atoms = c.atoms.copy()
        atoms.set_constraint(FixAtoms(indices=range(c.n_slab)))
        atoms.calc = get_calculator("gfn2", fresh=True)
        BFGS(atoms, maxstep=0.2, alpha=30.0, logfile=None).run(fmax=0.1, steps=40)
        d = atoms.get_distances(site, list(range(c.n_slab, len(atoms))), mic=True)
        assert int(np.argmin(d)) + c.n_slab == c.anchor and d.min() < 3.3, (smiles, d.min())
        e_bind = atoms.get_potential_energy() - e_slab - free.get_potential_energy()
        assert e_bind < -0.15, (smiles, e_bind)


@pytest.fixture(scope="module")
def dpepo(root):
    """DPEPO (two P=O) and its ten conformers as the seed run's ligand job relaxed them at GFN2-xTB, lowest first
    (the two lowest within 2.5 meV, folded; the third, 28 meV higher, open)."""
    from ase.io import read

    lig = ligand_from_smiles("DPEPO", "O=P(c1ccccc1)(c1ccccc1)c1ccccc1Oc1ccccc1P(=O)(c1ccccc1)c1ccccc1")
    frames = read(root / "tests" / "data" / "dpepo_conformers.extxyz", ":")
    assert [f.get_chemical_symbols() for f in frames[:1]] == [lig.atoms.get_chemical_symbols()]
    return lig, frames


@pytest.fixture(scope="module")
def default_cfg(root):
    from passivscreen.config import load_config, validate_config

    return validate_config(load_config(root / "configs" / "default.yaml"))


def _site_slab(cfg, n):
    from passivscreen.structures import parse_site, site_labels, site_slab
    from passivscreen.structures.cells import slab_spec
    from passivscreen.structures.slab import build_slab

    _, pb = parse_site(site_labels(cfg, (n, n))[0])
    return site_slab(build_slab(slab_spec(cfg, repeat=(n, n))), "pristine", ("top",), pb)


def test_a_bidentate_start_that_presses_the_molecule_into_the_surface_is_a_clash(default_cfg, dpepo):
    """DPEPO's lowest conformer fits onto two Pb only with a ring among the surface Br (its contact ratio passes
    0.75, its lowest atom is below the Pb): set apart as a clash, with its clearance. Its fourth conformer (P=O
    axes nearer parallel) fits with the whole molecule 1.5 A or more above the Pb and is kept."""
    from passivscreen.placement.bidentate import BIDENTATE_CLEARANCE
    from passivscreen.placement.starts import place_all

    lig, frames = dpepo
    ss = _site_slab(default_cfg, 3)
    bi = {}
    for k in (0, 3):
        lig.atoms.positions = frames[k].positions
        ok, clash, _ = place_all(ss.atoms, lig, ss.sites, ("top",), default_cfg, conformer=k)
        bi[k] = [(c, c in ok) for c in ok + clash if c.denticity == 2]
        assert bi[k] and all(c.clearance_A is not None for c, _ in bi[k])
        assert all(c.clearance_A is None for c in ok + clash if c.denticity == 1)
    (c0, kept0), *_ = bi[0]
    assert c0.min_contact_ratio >= default_cfg["placement"]["min_contact_ratio"] and c0.clearance_A < 0.0
    assert not kept0 and not c0.clear
    assert any(kept and c.clearance_A >= max(1.5, BIDENTATE_CLEARANCE) for c, kept in bi[3])
    lig.atoms.positions = frames[0].positions


def test_a_conformer_without_a_clean_start_is_passed_over_for_the_next(default_cfg, dpepo):
    """placed_conformers: the lowest ``placement.conformers`` conformers that have a monodentate start that does not
    clash, and for a ligand with two anchors the lowest that many with such a bidentate start. DPEPO's two lowest
    have none on 3x3 (every monodentate start puts a ring 2.7 A below the Pb, the bidentate fit buries one), the
    third and fourth have monodentate ones, the fourth and fifth bidentate ones: [2, 3, 4]; with one conformer
    wanted, [2, 3]. TMPO's lowest has: [0]. The ligand's positions are left as they were."""
    import copy

    from passivscreen.placement.starts import place_all, placed_conformers

    lig, frames = dpepo
    ss = _site_slab(default_cfg, 3)
    before = lig.atoms.positions.copy()
    assert list(placed_conformers(ss.atoms, lig, ss.sites, ("top",), default_cfg, frames)) == [2, 3, 4]
    assert np.allclose(lig.atoms.positions, before)
    for k in (0, 1):
        lig.atoms.positions = frames[k].positions
        assert not place_all(ss.atoms, lig, ss.sites, ("top",), default_cfg, conformer=k)[0]
    one = copy.deepcopy(default_cfg)
    one["placement"]["conformers"] = 1
    assert list(placed_conformers(ss.atoms, lig, ss.sites, ("top",), one, frames)) == [2, 3]
    tmpo = ligand_from_smiles("tmpo", "CP(C)(C)=O", conformers=2)
    from ase import Atoms

    tframes = [Atoms(tmpo.atoms.get_chemical_symbols(), positions=p) for p in tmpo.conformers]
    assert list(placed_conformers(ss.atoms, tmpo, ss.sites, ("top",), default_cfg, tframes))[0] == 0
    # none placeable (every start clashes at any ratio): the lowest, whose clashes the record then reports
    strict = copy.deepcopy(default_cfg)
    strict["placement"]["min_contact_ratio"] = 50.0
    assert list(placed_conformers(ss.atoms, lig, ss.sites, ("top",), strict, frames)) == [0]


def test_the_ligand_job_sizes_the_cell_for_the_conformers_that_can_be_placed(default_cfg, dpepo):
    """The ligand job's cell is chosen for the conformers placed on it: DPEPO's open third and fourth conformers
    come closer than 3 A to their images on 3x3, so its cell is 4x4 (it was 3x3 for the two folded ones, which
    have no clean start) and the record names the conformers. On 2x2 every start clashes with the images, and
    nothing is placed but the lowest conformer."""
    from passivscreen.steps.ligand import placed_cell

    lig, frames = dpepo
    chosen = placed_cell(default_cfg, lig, frames)
    assert chosen["cell"] == [4, 4] and chosen["placed_conformers"] == [2, 3, 4]
    assert chosen["image_distance_A"] >= default_cfg["placement"]["min_image_distance"]
