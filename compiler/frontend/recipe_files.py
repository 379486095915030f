"""How a plan names the recipe files it was compiled from, and back: relative to the working
directory, or `stdlib:...` for the bundled bases. Light to import: a cached plan's run reads
its files' names without the compiler.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

STDLIB_PREFIX = "stdlib:"


def stdlib_root() -> Path:
    return Path(str(resources.files("recipec.stdlib")))


def portable_name(path: Path) -> str:
    """How a file is named in a plan: never an absolute path of the compiling machine."""
    stdlib = stdlib_root().resolve()
    resolved = path.resolve()
    if resolved.is_relative_to(stdlib):
        return STDLIB_PREFIX + resolved.relative_to(stdlib).as_posix()
    return Path(os.path.relpath(resolved)).as_posix()


def file_of(name: str) -> Path:
    """The file a plan names with `portable_name`."""
    if name.startswith(STDLIB_PREFIX):
        return stdlib_root() / name[len(STDLIB_PREFIX) :]
    return Path(name)


__all__ = ["STDLIB_PREFIX", "file_of", "portable_name", "stdlib_root"]
