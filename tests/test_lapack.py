"""tblite computes with an optimized BLAS/LAPACK (calculators.lapack): the wheel's reference one is slow.

Each case runs in a fresh Python process: which library tblite's extension binds is decided once per process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from passivscreen.calculators.lapack import candidates

ENERGY = """
from ase.build import molecule
from passivscreen.calculators import attach, calculator_parameters
from passivscreen.records.provenance import versions
a = molecule("CH3CHO")
attach(a, "gfn2", calculator_parameters("gfn2"), fresh=True)
print(versions()["lapack"], repr(float(a.get_potential_energy())))
"""


def _run(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("PASSIVSCREEN_LAPACK", "LD_PRELOAD")}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env={**environ, **env}
    )


@pytest.mark.skipif(not candidates(), reason="no optimized BLAS/LAPACK here (neither OpenBLAS nor MKL)")
def test_tblite_binds_the_optimized_lapack_and_gets_the_same_energy(tmp_path):
    """The library is loaded before tblite's extension, so the extension's dgemm_ binds to it (the dynamic
    linker's own record of the binding), and the energy is the reference library's to 1e-8 eV."""
    fast = _run(ENERGY, tmp_path, LD_DEBUG="bindings", LD_DEBUG_OUTPUT=str(tmp_path / "ld"))
    assert fast.returncode == 0, fast.stderr
    name, e_fast = fast.stdout.split()
    path = dict(candidates())[name]
    bindings = "".join(p.read_text() for p in tmp_path.glob("ld.*"))
    tblite = [line for line in bindings.splitlines() if "_libtblite" in line and "`dgemm_'" in line]
    assert tblite and all(os.path.realpath(path) in line or path in line for line in tblite), tblite[:2]
    ref = _run(ENERGY, tmp_path, PASSIVSCREEN_LAPACK="reference")
    assert ref.returncode == 0, ref.stderr
    name_ref, e_ref = ref.stdout.split()
    assert name_ref == "reference"
    assert float(e_fast) == pytest.approx(float(e_ref), abs=1e-8)
    # every library found here, named explicitly (MKL where OpenBLAS is the first choice): the same energy
    for _, path in candidates():
        named = _run(ENERGY, tmp_path, PASSIVSCREEN_LAPACK=path)
        assert named.returncode == 0, named.stderr
        assert named.stdout.split()[0] == path
        assert float(named.stdout.split()[1]) == pytest.approx(float(e_ref), abs=1e-8)


def test_a_library_that_cannot_be_loaded_is_a_clear_error_and_tblite_first_is_said(tmp_path):
    bad = _run(ENERGY, tmp_path, PASSIVSCREEN_LAPACK=str(tmp_path / "libnothing.so"))
    assert bad.returncode != 0 and "PASSIVSCREEN_LAPACK" in bad.stderr and "not a loadable BLAS/LAPACK" in bad.stderr
    first = _run("import tblite.interface\n" + ENERGY, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("reference (tblite was imported before")
