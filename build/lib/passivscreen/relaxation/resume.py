"""Resumable relaxations: the last good frame of a trajectory that a killed job left behind."""

from __future__ import annotations

from pathlib import Path

from ase import Atoms
from ase.io import Trajectory, read


def last_frame(traj: Path) -> tuple[Atoms | None, int]:
    """Last readable frame of a trajectory and the number of readable frames.

    A job killed while writing leaves a torn trailing frame (ASE's header
    already counts it) and the whole file cannot be read; the frames are then
    read one by one and the good ones before the torn frame are kept. The file
    is rewritten with the good frames only, so that appending to it leaves a
    fully readable trajectory. An unreadable file gives ``(None, 0)``.
    """
    if not traj.exists() or traj.stat().st_size == 0:
        return None, 0
    try:
        frames = read(str(traj), index=":")
        return (frames[-1], len(frames)) if frames else (None, 0)
    except Exception:  # a torn frame: read the good ones one by one
        pass
    good: list[Atoms] = []
    try:
        with Trajectory(str(traj), "r") as reader:
            n = len(reader)
            for i in range(n):
                try:
                    good.append(reader[i])
                except Exception:  # a torn frame after SIGKILL: keep what came before
                    break
    except Exception:  # header unreadable
        return None, 0
    if not good:
        return None, 0
    if len(good) < n:
        tmp = traj.with_name(traj.name + ".repair")
        with Trajectory(str(tmp), "w") as writer:
            for frame in good:
                writer.write(frame)
        tmp.replace(traj)
    return good[-1], len(good)
