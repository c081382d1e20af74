"""CP2K input merging (calculators/cp2k_input.py::merge_inputs) on real CP2K input text, and the user's
``extra_inp`` in the input that the CP2K calculator class generates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ase.build import molecule
from ase.calculators.cp2k import InputSection, parse_input

from passivscreen.calculators import cp2k, get_calculator
from passivscreen.calculators.cp2k_input import CP2K_EXTRA_DEFAULTS, cp2k_template, merge_inputs

HAS_CP2K = cp2k.cp2k_executable() is not None

#: a CsPbBr3 force environment as a user would write it: two kinds with parameters, nested DFT sections
BASE = """
&FORCE_EVAL
  METHOD Quickstep
  &DFT
    BASIS_SET_FILE_NAME BASIS_MOLOPT
    &MGRID
      NGRIDS 4
      REL_CUTOFF [Ry] 50.0
    &END MGRID
    &SCF
      SCF_GUESS ATOMIC
      EPS_SCF 1.0E-6
      MAX_SCF 50
      &OUTER_SCF
        MAX_SCF 20
        EPS_SCF 1.0E-6
      &END OUTER_SCF
    &END SCF
  &END DFT
  &SUBSYS
    &KIND Pb
      BASIS_SET DZVP-MOLOPT-SR-GTH
      POTENTIAL GTH-PBE-q14
    &END KIND
    &KIND Br
      BASIS_SET DZVP-MOLOPT-SR-GTH
      POTENTIAL GTH-PBE-q7
    &END KIND
  &END SUBSYS
&END FORCE_EVAL
"""


def _sections(root: InputSection, path: str, params: str | None = None) -> list[InputSection]:
    """Every section at ``path`` (``A/B/C``, names as CP2K reads them: case-insensitive) with ``params``
    (any when None) under ``root``.

    Parameters
    ----------
    root
        A parsed input (:func:`ase.calculators.cp2k.parse_input`).
    path
        Section names separated by ``/``.
    params
        The section parameter to match (``Pb`` of ``&KIND Pb``), or None for any.

    Returns
    -------
    list of InputSection
        The matching sections, in input order.
    """
    found = [root]
    for name in path.upper().split("/"):
        found = [s for f in found for s in f.subsections if s.name == name]
    return [s for s in found if params is None or s.params == params]


def _one(root: InputSection, path: str, params: str | None = None) -> InputSection:
    """The one section at ``path`` (fails the test if there are none or several)."""
    found = _sections(root, path, params)
    assert len(found) == 1, (path, params, [(s.name, s.params) for s in found])
    return found[0]


def test_keyword_of_extra_replaces_the_base_keyword_case_insensitively():
    extra = "&force_eval\n  &dft\n    &scf\n      eps_scf 1.0E-8\n    &end scf\n  &end dft\n&end force_eval\n"
    merged = parse_input(merge_inputs(BASE, extra))
    scf = _one(merged, "FORCE_EVAL/DFT/SCF")
    assert scf.keywords == ["SCF_GUESS ATOMIC", "MAX_SCF 50", "eps_scf 1.0E-8"]
    # only the SCF's own EPS_SCF: the outer loop's keeps its value; no section is doubled
    assert _one(merged, "FORCE_EVAL/DFT/SCF/OUTER_SCF").keywords == ["MAX_SCF 20", "EPS_SCF 1.0E-6"]
    assert len(_sections(merged, "FORCE_EVAL")) == 1 and len(_sections(merged, "FORCE_EVAL/DFT")) == 1


def test_subsections_with_parameters_merge_only_with_the_same_parameter():
    extra = """
&FORCE_EVAL
  &SUBSYS
    &KIND Pb
      POTENTIAL GTH-PBE-q4
    &END KIND
    &KIND Cs
      BASIS_SET DZVP-MOLOPT-SR-GTH
      POTENTIAL GTH-PBE-q9
    &END KIND
  &END SUBSYS
&END FORCE_EVAL
"""
    merged = parse_input(merge_inputs(BASE, extra))
    assert [k.params for k in _sections(merged, "FORCE_EVAL/SUBSYS/KIND")] == ["Pb", "Br", "Cs"]
    assert _one(merged, "FORCE_EVAL/SUBSYS/KIND", "Pb").keywords == [
        "BASIS_SET DZVP-MOLOPT-SR-GTH",
        "POTENTIAL GTH-PBE-q4",
    ]
    assert _one(merged, "FORCE_EVAL/SUBSYS/KIND", "Br").keywords == [
        "BASIS_SET DZVP-MOLOPT-SR-GTH",
        "POTENTIAL GTH-PBE-q7",
    ]
    assert _one(merged, "FORCE_EVAL/SUBSYS/KIND", "Cs").keywords == [
        "BASIS_SET DZVP-MOLOPT-SR-GTH",
        "POTENTIAL GTH-PBE-q9",
    ]


def test_new_nested_sections_are_appended_and_the_others_kept():
    extra = """
&GLOBAL
  RUN_TYPE ENERGY_FORCE
&END GLOBAL
&FORCE_EVAL
  &DFT
    &PRINT
      &MO_CUBES
        NHOMO 2
        NLUMO 2
      &END MO_CUBES
    &END PRINT
    &SCF
      &OUTER_SCF
        MAX_SCF 5
      &END OUTER_SCF
    &END SCF
  &END DFT
&END FORCE_EVAL
"""
    merged = parse_input(merge_inputs(BASE, extra))
    assert [s.name for s in merged.subsections] == ["FORCE_EVAL", "GLOBAL"]
    assert _one(merged, "GLOBAL").keywords == ["RUN_TYPE ENERGY_FORCE"]
    assert [s.name for s in _one(merged, "FORCE_EVAL/DFT").subsections] == ["MGRID", "SCF", "PRINT"]
    assert _one(merged, "FORCE_EVAL/DFT/PRINT/MO_CUBES").keywords == ["NHOMO 2", "NLUMO 2"]
    assert _one(merged, "FORCE_EVAL/DFT/SCF/OUTER_SCF").keywords == ["EPS_SCF 1.0E-6", "MAX_SCF 5"]
    assert _one(merged, "FORCE_EVAL/DFT/MGRID").keywords == ["NGRIDS 4", "REL_CUTOFF [Ry] 50.0"]
    assert _one(merged, "FORCE_EVAL/DFT").keywords == ["BASIS_SET_FILE_NAME BASIS_MOLOPT"]


@pytest.mark.parametrize("extra", ["", "   \n\n", "! only a comment\n"])
def test_empty_extra_leaves_the_base(extra):
    assert merge_inputs(BASE, extra) == "\n".join(parse_input(BASE).write())
    # merging an input into itself changes nothing either
    assert merge_inputs(BASE, BASE) == merge_inputs(BASE, extra)


def test_the_shipped_template_takes_an_scf_override():
    """passivscreen's own template (OT inside an outer loop): EPS_SCF of the inner loop replaced, the outer
    loop's kept, the OT preconditioner replaced in its nested section."""
    p = SimpleNamespace(**CP2K_EXTRA_DEFAULTS, xc="PBE")
    extra = (
        "&FORCE_EVAL\n&DFT\n&SCF\nEPS_SCF 1.0E-8\n&OT\nPRECONDITIONER FULL_SINGLE_INVERSE\n"
        "&END OT\n&END SCF\n&END DFT\n&END FORCE_EVAL"
    )
    merged = parse_input(merge_inputs(cp2k_template(p, dipole=True), extra))
    scf = _one(merged, "FORCE_EVAL/DFT/SCF")
    assert [k for k in scf.keywords if k.startswith("EPS_SCF")] == ["EPS_SCF 1.0E-8"]
    assert "EPS_SCF 1.000e-06" in _one(merged, "FORCE_EVAL/DFT/SCF/OUTER_SCF").keywords
    ot = _one(merged, "FORCE_EVAL/DFT/SCF/OT")
    assert ot.keywords == ["MINIMIZER DIIS", "ENERGY_GAP 0.01", "PRECONDITIONER FULL_SINGLE_INVERSE"]
    assert "SURFACE_DIPOLE_CORRECTION T" in _one(merged, "FORCE_EVAL/DFT").keywords


@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_calculator_input_contains_the_users_extra_inp(tmp_path):
    """The input that PassivCP2K (built through the registry) generates carries ``extra_inp``: a replaced
    keyword, a new nested section, and nothing of the replaced value left in that section."""
    extra = """
&FORCE_EVAL
  &DFT
    &SCF
      EPS_SCF 3.0E-7
    &END SCF
    &PRINT
      &MULLIKEN ON
      &END MULLIKEN
    &END PRINT
  &END DFT
&END FORCE_EVAL
"""
    calc = get_calculator("cp2k", {"directory": str(tmp_path), "extra_inp": extra}, fresh=True)
    plain = get_calculator("cp2k", {"directory": str(tmp_path / "plain")}, fresh=True)
    atoms = molecule("H2O")
    atoms.cell = [6.0, 6.0, 6.0]
    atoms.pbc = True
    calc.atoms = atoms
    plain.atoms = atoms
    text = calc._generate_input()
    root = parse_input(text)
    scf = _one(root, "FORCE_EVAL/DFT/SCF")
    assert [k for k in scf.keywords if k.upper().startswith("EPS_SCF")] == ["EPS_SCF 3.0E-7"]
    assert _one(root, "FORCE_EVAL/DFT/PRINT/MULLIKEN").params == "ON"
    assert _one(root, "FORCE_EVAL/DFT/PRINT/HIRSHFELD").params == "ON"  # the template's print key kept beside it
    assert calc.parameters.extra_inp == extra  # the parameter itself is not rewritten
    # without extra_inp: the template's value, its Hirshfeld populations, no MULLIKEN
    default = parse_input(plain._generate_input())
    assert "EPS_SCF 1.000e-06" in _one(default, "FORCE_EVAL/DFT/SCF").keywords
    assert "SHAPE_FUNCTION DENSITY" in _one(default, "FORCE_EVAL/DFT/PRINT/HIRSHFELD").keywords
    assert not _sections(default, "FORCE_EVAL/DFT/PRINT/MULLIKEN")
    plain.set(populations=False)  # a changed parameter resets the calculator: give it the atoms again
    plain.atoms = atoms
    assert not _sections(parse_input(plain._generate_input()), "FORCE_EVAL/DFT/PRINT/HIRSHFELD")


# CP2K 2023's Hirshfeld tables (SHAPE_FUNCTION DENSITY), cut from real outputs: a doublet and a closed shell
UKS_TABLE = """
 !-----------------------------------------------------------------------------!
                           Hirshfeld Charges

  #Atom  Element  Kind  Ref Charge     Population       Spin moment  Net charge
      1       C      1       4.000    2.583   1.768            0.815      -0.128
      2       H      2       1.000    0.508   0.449            0.062       0.043
      3      Pb      3      14.000    7.000   6.900            0.100       0.100

  Total Charge                                                            0.015
 !-----------------------------------------------------------------------------!
"""
RKS_TABLE = """
                           Hirshfeld Charges

  #Atom  Element  Kind  Ref Charge     Population                    Net charge
      1       O      1       6.000          6.305                        -0.305
      2       H      2       1.000          0.847                         0.153
      3       H      2       1.000          0.847                         0.153

  Total Charge                                                            0.000
"""


def test_hirshfeld_tables_give_charges_and_spins_of_the_last_table():
    from passivscreen.calculators.cp2k_input import hirshfeld

    charges, spins = hirshfeld(UKS_TABLE)
    assert charges == [-0.128, 0.043, 0.100] and spins == [0.815, 0.062, 0.100]
    assert hirshfeld(UKS_TABLE + RKS_TABLE) == ([-0.305, 0.153, 0.153], None)  # the last SCF's table
    assert hirshfeld("no table here") is None
    assert hirshfeld(" Hirshfeld Charges\n\n  Total Charge  0.0\n") is None
