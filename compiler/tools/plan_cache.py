"""Compiled plans reused while nothing they were compiled from changed (like dbt's partial
parsing): `recipec run RECIPE` then skips loading, rendering, validating and lowering.

An entry is keyed exactly by the compile's inputs, each checked again before the plan is reused:

- the recipe files (through `extends:`) and its schema lock, by content;
- the vars: which were given, and the values of those a non-secret template read;
- the environment variables non-secret templates read, by a hash of their values (a secret's value
  never changes a plan: it only ever shows as `***`);
- the data files whose columns were sniffed, by path, size and modification time;
- the plug-in and Python-step modules from the recipe's folder, by content;
- recipec itself (its version and its source files' modification times) and the working
  directory (a plan's paths are relative to it).

Imports nothing of the compiler but the plan: a hit costs reading a few small files.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipec._version import __version__
from recipec.compiler.plan import Plan

if TYPE_CHECKING:
    from recipec.compiler.driver import Pipeline

ENTRY_VERSION = 2
_PACKAGE_DIRS = (
    "recipec",
    "compiler",
    *(f"compiler/{group}" for group in ("connectors", "frontend", "semantic", "language")),
    *(f"compiler/{group}" for group in ("backend", "tools")),
    "runtime",
    "stdlib",
)


class PlanCache:
    """Plans by recipe file, in `folder` (`<state dir>/plans`)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def load(self, recipe: str | os.PathLike[str], vars: Mapping[str, Any]) -> Plan | None:
        """The cached plan of `recipe` with `vars`, if nothing it was compiled from changed."""
        try:
            entry = json.loads(self._path(recipe).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("inputs") != _stable_inputs(recipe):
            return None
        if entry.get("vars") != _var_key(vars, entry.get("read_vars", [])):
            return None
        if entry.get("env") != _env_key(entry.get("read_env", [])):
            return None
        if any(_file_hash(name) != digest for name, digest in entry.get("files", {}).items()):
            return None
        if entry.get("data") != _stamps(entry.get("data_globs", [])):
            return None
        try:
            return Plan.model_validate(entry["plan"])
        except (KeyError, ValueError):
            return None

    def store(self, pipeline: Pipeline, plan: Plan) -> None:
        """Keep `plan`, compiled from `pipeline`'s recipe file, with what it was compiled
        from."""
        from recipec.compiler.tools.lock import lock_path

        recipes = list(pipeline.recipes.values())
        plain = [
            ref
            for recipe in recipes
            for path, ref in recipe.templates.items()
            if path not in recipe.secrets
        ]
        read_vars = sorted({name for ref in plain for name in ref.var_names})
        read_env = sorted({name for ref in plain for name in ref.env_vars})
        path = pipeline.path
        others = [str(lock_path(path)), *_local_modules(path.resolve().parent)]
        files = {f.path: f.sha256 for r in recipes for f in r.files}  # hashed when read
        files |= {name: _file_hash(name) for name in others}
        data_globs = [  # file sources whose columns were read from the files' metadata
            extract.path
            for extract in (unit.extract for unit in plan.units)
            if extract.reader == "duckdb"
            and extract.path
            and "://" not in extract.path
            and extract.output_schema is not None
        ]
        vars = recipes[0].vars if recipes else {}
        entry = {
            "entry_version": ENTRY_VERSION,
            "inputs": _stable_inputs(path),
            "read_vars": read_vars,
            "vars": _var_key(vars, read_vars),
            "read_env": read_env,
            "env": _env_key(read_env),
            "files": files,
            "data_globs": data_globs,
            "data": _stamps(data_globs),
            "plan": plan.model_dump(mode="json"),
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entry, out, sort_keys=True)
        os.replace(temporary, self._path(path))

    def _path(self, recipe: str | os.PathLike[str]) -> Path:
        digest = hashlib.sha256(os.path.abspath(recipe).encode()).hexdigest()[:20]
        return self.folder / f"{digest}.json"


def _stable_inputs(recipe: str | os.PathLike[str]) -> dict[str, Any]:
    return {
        "entry_version": ENTRY_VERSION,
        "recipe": os.path.abspath(recipe),
        "cwd": os.getcwd(),
        "recipec": [__version__, _code_stamp()],
        "python": sys.version,
    }


def _code_stamp() -> list[int]:
    """recipec's own source files (an editable install changes without a new version)."""
    root = Path(__file__).resolve().parents[2]  # compiler/tools/plan_cache.py
    stamps = [
        entry.stat().st_mtime_ns
        for folder in _PACKAGE_DIRS
        if (root / folder).is_dir()
        for entry in os.scandir(root / folder)
        if entry.name.endswith((".py", ".yaml"))
    ]
    return [len(stamps), max(stamps, default=0)]


def _var_key(vars: Mapping[str, Any], read: list[str]) -> dict[str, Any]:
    """Which vars were given, and the values (hashed) of those a non-secret template read."""
    return {
        "given": sorted(vars),
        "read": {name: _digest(str(vars[name])) for name in read if name in vars},
    }


def _env_key(names: list[str]) -> dict[str, str | None]:
    return {name: _digest(os.environ[name]) if name in os.environ else None for name in names}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _file_hash(name: str) -> str | None:
    from recipec.compiler.frontend.recipe_files import file_of  # `stdlib:` names too

    try:
        return hashlib.sha256(file_of(name).read_bytes()).hexdigest()
    except OSError:
        return None


def _stamps(patterns: list[str]) -> list[list[Any]]:
    stamps = []
    names = {name for pattern in patterns for name in glob.glob(pattern, recursive=True)}
    for name in sorted(names):
        try:
            stat = os.stat(name)
        except OSError:
            continue
        stamps.append([name, stat.st_size, stat.st_mtime_ns])
    return stamps


def _local_modules(recipe_dir: Path) -> list[str]:
    """Files of the modules imported from where plug-ins are looked for (the recipe's folder,
    the working directory): plug-ins and the functions of Python steps."""
    folders = tuple(str(p.resolve()) + os.sep for p in (recipe_dir, Path.cwd()))
    installed = (sys.prefix + os.sep, sys.base_prefix + os.sep)
    files = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and file.startswith(folders) and not file.startswith(installed):
            files.add(file)
    return sorted(files)
