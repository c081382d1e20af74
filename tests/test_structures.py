from __future__ import annotations

import numpy as np
import pytest

from passivscreen.structures import (
    SlabError,
    SlabSpec,
    build_slab,
    distinct_surface_sites,
    formal_charge,
    layer_indices,
    surface_pb_indices,
)


def test_default_slab_composition_and_neutrality():
    slab = build_slab(SlabSpec())
    assert slab.get_chemical_formula() == "Br32Cs8Pb12"
    assert formal_charge(slab) == 0
    assert slab.pbc.all()
    assert np.allclose(slab.cell.lengths()[:2], [2 * 5.87, 2 * 5.87])


@pytest.mark.parametrize("n", [2, 3, 4])
def test_layer_count_and_pbbr2_faces(n):
    slab = build_slab(SlabSpec(n_pbbr2=n, repeat=(1, 1)))
    layers = layer_indices(slab)
    assert len(layers) == 2 * n - 1
    for lay in (layers[0], layers[-1]):
        assert sorted(set(slab[lay].get_chemical_symbols())) == ["Br", "Pb"]
    symbols = slab.get_chemical_symbols()
    assert symbols.count("Pb") == n and symbols.count("Cs") == n - 1
    assert formal_charge(slab) == 0


def test_vacuum_and_lattice_constant():
    slab = build_slab(SlabSpec(a=6.0, n_pbbr2=2, repeat=(1, 1), vacuum=12.0))
    z = slab.positions[:, 2]
    assert z.min() == pytest.approx(12.0)
    assert slab.cell[2, 2] - z.max() == pytest.approx(12.0)
    assert slab.cell[0, 0] == pytest.approx(6.0)
    pb = [a.index for a in slab if a.symbol == "Pb"]
    assert slab.get_distance(pb[0], pb[1]) == pytest.approx(6.0)


def test_fixed_atoms_are_bottom_layer():
    slab = build_slab(SlabSpec(n_fixed_layers=1))
    fixed = set(slab.constraints[0].index.tolist())
    bottom = set(layer_indices(slab)[0].tolist())
    assert fixed == bottom and len(fixed) == 12
    slab2 = build_slab(SlabSpec(n_fixed_layers=2))
    assert len(slab2.constraints[0].index) == 12 + 8


def test_surface_sites():
    slab = build_slab(SlabSpec())
    top = surface_pb_indices(slab, "top")
    bottom = surface_pb_indices(slab, "bottom")
    assert len(top) == 4 and len(bottom) == 4
    zmax = slab.positions[:, 2].max()
    assert all(abs(slab.positions[i, 2] - zmax) < 1e-6 for i in top)
    # the ideal 2x2 slab has one symmetry-distinct top Pb
    assert len(distinct_surface_sites(slab)) == 1
    # a displaced Pb breaks the equivalence: itself, its two edge neighbours, the diagonal one
    slab.positions[top[0], 2] += 0.2
    sites = distinct_surface_sites(slab)
    assert len(sites) == 3 and top[0] in sites


@pytest.mark.parametrize(
    "spec, msg",
    [
        (SlabSpec(n_pbbr2=1), "n_pbbr2_layers"),
        (SlabSpec(vacuum=-1.0), "vacuum"),
        (SlabSpec(repeat=(0, 2)), "repeat"),
        (SlabSpec(a=-5.0), "lattice_constant"),
    ],
)
def test_impossible_slabs_refused(spec, msg):
    with pytest.raises(SlabError, match=msg):
        build_slab(spec)


def test_charged_slab_refused(monkeypatch):
    import passivscreen.structures as st

    monkeypatch.setitem(st.FORMAL_CHARGES, "Cs", 2)
    with pytest.raises(SlabError, match="formal charge"):
        build_slab(SlabSpec())


def test_site_rotation_order():
    from passivscreen.structures import site_rotation_order

    slab = build_slab(SlabSpec())
    assert site_rotation_order(slab, surface_pb_indices(slab)[0]) == 4
    rect = build_slab(SlabSpec(repeat=(3, 2)))
    assert site_rotation_order(rect, surface_pb_indices(rect)[0]) == 2


def test_reduced_probe_model_keeps_the_layers_nearest_each_ligand_face():
    """placement.probe_layers: the n atomic layers under each face that carries a ligand (neutral, so the
    complex's charge and spin hold), every ligand atom, the kept atoms' constraints and indices mapped."""
    from ase import Atoms
    from ase.constraints import FixAtoms

    from passivscreen.relaxation.reduced import kept_atoms, reduced

    slab = build_slab(SlabSpec())  # 5 atomic layers, 52 atoms
    n = len(slab)
    top, bottom = slab.positions[:, 2].max(), slab.positions[:, 2].min()
    above = slab + Atoms("CO", positions=[[1.0, 1.0, top + 2.5], [1.0, 1.0, top + 3.7]])
    both = above + Atoms("CO", positions=[[1.0, 1.0, bottom - 2.5], [1.0, 1.0, bottom - 3.7]])
    above.set_constraint(FixAtoms(indices=range(n)))
    small, keep, n_small = reduced(above, n, 3)  # PbBr2 / CsBr / PbBr2 under the ligand
    assert n_small == 32 and len(small) == 34 and list(keep[-2:]) == [n, n + 1]
    assert formal_charge(small[:n_small]) == 0
    assert small[:n_small].get_chemical_formula() == "Br20Cs4Pb8"
    assert np.allclose(small.positions, above.positions[keep])
    assert sorted(small.constraints[0].index) == list(range(n_small))  # the slab held, the ligand free
    assert small.positions[:n_small, 2].min() > top - 5.87 - 0.1  # the top three layers
    assert len(kept_atoms(above, n, 1)) == 12 + 2  # the top PbBr2 layer alone
    assert len(kept_atoms(both, n, 2)) == 2 * 20 + 4  # PbBr2 / CsBr at each face
    assert len(kept_atoms(both, n, 3)) == n + 4 and len(kept_atoms(above, n, 0)) == n + 2
    # a cut that would drop a non-neutral part (a Br missing below the kept layers) keeps everything
    deep = [i for i in range(n) if slab[i].symbol == "Br" and slab.positions[i, 2] < bottom + 0.1][0]
    holed = above.copy()
    del holed[deep]
    assert len(kept_atoms(holed, n - 1, 3)) == len(holed)
