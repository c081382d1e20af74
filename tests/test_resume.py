"""A relaxation killed mid-way (SIGKILL) resumes from its trajectory and ends where an uninterrupted one does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ase.build import molecule
from ase.io import Trajectory, read

from passivscreen.calculators import get_calculator
from passivscreen.relaxation import relax

FMAX = 0.02

# Relaxes rattled benzene at GFN2-xTB (BFGS, fmax 0.02: ~28 steps) with relax(trajectory=...) and
# writes the RelaxResult as JSON. argv: trajectory, result JSON, seconds of sleep per force call
# (a throttle that makes the kill window wide; it does not change any number).
DRIVER = """
import json, sys, time
from passivscreen.calculators import get_calculator
from passivscreen.relaxation import relax
from ase.build import molecule

traj, out, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
atoms = molecule("C6H6")
atoms.rattle(0.15, seed=42)
calc = get_calculator("gfn2", fresh=True)
if delay:
    inner = calc.calculate
    def slow(*args, **kw):
        time.sleep(delay)
        return inner(*args, **kw)
    calc.calculate = slow
r = relax(atoms, calc, fmax=FMAX, steps=300, trajectory=traj)
with open(out, "w") as fh:
    json.dump({"status": r.status, "reason": r.reason, "energy": r.energy, "fmax": r.fmax,
               "n_steps": r.n_steps, "resumed_from_step": r.resumed_from_step}, fh)
""".replace("FMAX", repr(FMAX))


def _start(traj: Path, out: Path, delay: float) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(traj), str(out), str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _n_frames(traj: Path) -> int:
    """Frames the header counts (the last one may be mid-write)."""
    if not traj.exists() or traj.stat().st_size == 0:
        return 0
    try:
        with Trajectory(str(traj)) as t:
            return len(t)
    except Exception:
        return 0


def _benzene():
    atoms = molecule("C6H6")
    atoms.rattle(0.15, seed=42)
    return atoms


@pytest.mark.slow
def test_sigkilled_relaxation_resumes_to_the_same_energy(tmp_path):
    # uninterrupted reference, in this process
    ref = relax(_benzene(), get_calculator("gfn2", fresh=True), fmax=FMAX, steps=300)
    assert ref.status == "converged" and ref.n_steps >= 20, (ref.status, ref.n_steps)

    traj, out = tmp_path / "benzene.traj", tmp_path / "result.json"
    proc = _start(traj, out, delay=0.15)
    deadline = time.monotonic() + 120
    while _n_frames(traj) < 5:
        assert proc.poll() is None, f"driver ended before the kill: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "no 5 frames within 120 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # it really died mid-run
    killed_at = _n_frames(traj)

    again = _start(traj, out, delay=0.0)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    res = json.loads(out.read_text())
    assert res["status"] == "converged", res
    assert res["resumed_from_step"] >= min(killed_at, 5) - 1 > 0, (res, killed_at)
    assert res["fmax"] < FMAX
    assert abs(res["energy"] - ref.energy) < 0.01, (res["energy"], ref.energy)
    read(str(traj), ":")  # the whole trajectory is readable after the resume
    print(
        f"\nkilled after {killed_at} frames; resumed from step {res['resumed_from_step']}, "
        f"{res['n_steps']} more steps; E_resumed = {res['energy']:.6f} eV, "
        f"E_uninterrupted = {ref.energy:.6f} eV ({ref.n_steps} steps), "
        f"|dE| = {abs(res['energy'] - ref.energy):.2e} eV"
    )


def test_torn_last_frame_is_dropped_and_the_run_resumes(tmp_path):
    """A trajectory whose last frame was cut mid-write (what SIGKILL can leave) resumes from the frame before."""
    calc = get_calculator("gfn2", fresh=True)
    traj = tmp_path / "torn.traj"
    first = relax(_benzene(), calc, fmax=FMAX, steps=6, trajectory=traj)
    assert first.status == "not_converged"
    n = len(read(str(traj), ":"))
    before = traj.stat().st_size
    with Trajectory(str(traj), "a") as t:  # one more frame, then cut it in half
        t.write(first.atoms)
    size = traj.stat().st_size
    with open(traj, "r+b") as fh:
        fh.truncate(before + (size - before) // 2)
    with pytest.raises((ValueError, OSError)):  # JSONDecodeError or a short buffer, by where the cut falls
        read(str(traj), ":")
    r = relax(_benzene(), calc, fmax=FMAX, steps=300, trajectory=traj)
    assert r.resumed_from_step == n
    assert r.status == "converged", r.reason
    frames = read(str(traj), ":")  # repaired: every frame readable
    assert len(frames) >= n + r.n_steps
