"""Measuring one child process: wall time, CPU time and peak memory, shared by the benchmarks."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One measured process: wall time, CPU time, peak resident memory and what it printed."""

    wall: float
    cpu: float
    peak_mib: float
    stdout: str


def measure(command: Sequence[str], cwd: Path) -> Sample:
    """Run one child; its wall time and peak RSS come from wait4() on exactly that child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        process.returncode = code
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if code != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "(no stderr)"
        raise RuntimeError(f"{' '.join(command)} exited {code}: {last}")
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(wall=wall, cpu=cpu, peak_mib=usage.ru_maxrss / 1024, stdout=stdout)  # KiB
