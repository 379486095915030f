"""A run's temporary files, in one folder of its own that no exit path leaves behind.

Each run gets `<tmp>/recipec-runs/<random>/` and holds an exclusive lock on its `.lock` file for
as long as it runs. The folder is removed when the run ends; a run killed outright (SIGKILL)
cannot remove it, so every run first removes the folders whose lock nobody holds any more.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

LOCK = ".lock"
UNLOCKED_GRACE_SECONDS = 60.0
"""A folder without a lock file yet may be a run being born: leave it alone this long."""


def root() -> Path:
    return Path(tempfile.gettempdir()) / "recipec-runs"


class RunFolder:
    """The run-scoped folder: `file()` names a path in it; `close()` removes it."""

    def __init__(self) -> None:
        base = root()
        base.mkdir(parents=True, exist_ok=True)
        remove_abandoned(base)
        self.path = Path(tempfile.mkdtemp(dir=base))
        self._lock: IO[str] | None = open(self.path / LOCK, "w")  # noqa: SIM115 (held open)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._count = 0

    def file(self, suffix: str) -> Path:
        self._count += 1
        return self.path / f"{self._count}{suffix}"

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def remove_abandoned(base: Path) -> list[Path]:
    """Remove the run folders whose run is gone (their lock is free); returns them."""
    removed = []
    for folder in base.iterdir():
        if not folder.is_dir():
            continue
        lock_path = folder / LOCK
        if not lock_path.exists():
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime > UNLOCKED_GRACE_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            continue
        try:
            with open(lock_path) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except (BlockingIOError, FileNotFoundError):
            continue  # a live run holds it, or it just went
    return removed
