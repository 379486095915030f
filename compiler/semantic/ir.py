"""Stage 5: the intermediate representation of one load, built from a validated recipe.

The IR is what the passes check and the lowering turns into a plan: validated configs, paths made
portable, the destination's capabilities, and where each step was written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from recipec.compiler.connectors.base import DestinationCapabilities, SqlSource
from recipec.compiler.connectors.databases import DatabaseSource
from recipec.compiler.frontend.models import (
    CursorIncremental,
    ModifiedTimeIncremental,
    PathField,
    RuntimeSettings,
)
from recipec.compiler.frontend.templates import SecretReference
from recipec.compiler.frontend.yaml_loader import KeyPath, Node, find, format_path, nearest_location
from recipec.errors import Location, Problem
from recipec.registry import Registration


@dataclass(frozen=True)
class SourceIR:
    type: str
    registration: Registration[Any]
    config: BaseModel
    path: str | None
    """Portable path or glob of a file source."""
    incremental: CursorIncremental | ModifiedTimeIncremental | None
    location: Location

    @property
    def read_by_duckdb(self) -> bool:
        """Whether DuckDB reads the source itself (a `SqlSource`), or Python batches are staged."""
        return isinstance(self.registration.factory, type) and issubclass(
            self.registration.factory, SqlSource
        )

    @property
    def reader(self) -> str:
        """How the runtime reads it: `duckdb` (files), `database` or `python` (batches)."""
        factory = self.registration.factory
        if isinstance(factory, type) and issubclass(factory, DatabaseSource):
            return "database"
        return "duckdb" if self.read_by_duckdb else "python"


@dataclass(frozen=True)
class TransformIR:
    index: int
    type: str
    registration: Registration[Any]
    config: BaseModel
    location: Location
    key_locations: Mapping[str, Location] = field(default_factory=dict)
    """Where each of the step's expressions was written (`where`, `columns.total`)."""


@dataclass(frozen=True)
class DestinationIR:
    type: str
    registration: Registration[Any]
    config: BaseModel
    capabilities: DestinationCapabilities
    database: str | None
    table: str
    write_mode: str
    merge_keys: tuple[str, ...]
    location: Location


@dataclass(frozen=True)
class LoadIR:
    """One load: source -> transforms -> destination, plus runtime settings."""

    name: str
    files: tuple[tuple[str, str], ...]
    """(portable path, sha256) of every recipe file, root first."""
    source: SourceIR
    transforms: tuple[TransformIR, ...]
    destination: DestinationIR
    runtime: RuntimeSettings
    secrets: dict[str, SecretReference]
    secret_locations: dict[str, Location] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    plugin_paths: tuple[str, ...] = ()
    """Folders (portable) the plug-in modules are imported from: the recipe's own."""
    cursor_output: str | None = None
    """Filled by the `track_cursor` pass."""
    materialize_stage: bool = True
    stage_reason: str = ""
    warnings: tuple[str, ...] = field(default=())
    source_schema: tuple[Any, ...] | None = None
    """Databases, when introspected: `plan.SourceColumn`s."""
    columns: tuple[tuple[str, str], ...] | None = None
    """The source's columns (name, DuckDB type), when known before the run."""
    schema_lock: str | None = None
    """The lock file `columns` came from (portable path); a run checks the source against it."""
    step_columns: tuple[tuple[tuple[str, str], ...], ...] = ()
    """Each step's output columns, filled by the `check_types` pass when `columns` is known."""
    dbt: Any = None
    """`DbtSettings` (paths portable), when dbt runs after the load."""
    tree: Node | None = field(default=None, repr=False, compare=False)
    """The resolved recipe, to locate any key path a problem names."""
    problems: tuple[Problem, ...] = ()
    """What the passes found wrong so far; `run_passes` raises them together."""
    problem_paths: tuple[KeyPath, ...] = ()
    """The key path of each of `problems`: a check that builds on a wrong value skips."""

    def replace(self, **changes: Any) -> LoadIR:
        return replace(self, **changes)

    def locate(self, path: KeyPath) -> Location | None:
        """Where `path` was written: its key, or the nearest parent's when it was not."""
        return nearest_location(self.tree, path) if self.tree is not None else None

    def report(
        self, message: str, path: KeyPath, *, location: Location | None = None, **fields: Any
    ) -> LoadIR:
        """This IR with one more problem, at `path` (located there unless `location` says)."""
        problem = Problem(
            message, path=format_path(path), location=location or self.locate(path), **fields
        )
        return replace(
            self, problems=(*self.problems, problem), problem_paths=(*self.problem_paths, path)
        )

    def reported(self, *paths: KeyPath) -> bool:
        """Whether a problem was found at one of `paths`, inside it, or at a parent of it."""
        return any(
            found[: len(path)] == path or path[: len(found)] == found
            for found in self.problem_paths
            for path in paths
        )


def portable_path(value: str, written_in: Path | None) -> str:
    """A path for the plan: relative to the working directory, POSIX style.

    A path written literally in a recipe is relative to that file's folder; one produced by a
    template (`--var`, environment) is relative to the working directory, where it was typed.
    Absolute paths, URLs and `:memory:` stay as they are.
    """
    if value == ":memory:" or "://" in value or os.path.isabs(value):
        return value
    base = written_in if written_in is not None else Path.cwd()
    absolute = os.path.normpath(os.path.abspath(base / value))
    try:
        return Path(os.path.relpath(absolute)).as_posix()
    except ValueError:  # another drive on Windows
        return Path(absolute).as_posix()


def resolve_paths(
    config: BaseModel, tree: Node, prefix: tuple[str, ...], templated: frozenset[str]
) -> BaseModel:
    """Make every `LocalPath` field of a config portable."""
    updates = {}
    for name, info in type(config).model_fields.items():
        value = getattr(config, name)
        if not isinstance(value, str) or not any(isinstance(m, PathField) for m in info.metadata):
            continue
        key = (*prefix, info.alias or name)
        node = find(tree, key)
        literal = format_path(key) not in templated
        written_in = Path(node.location.file).parent if node is not None and literal else None
        updates[name] = portable_path(value, written_in)
    return config.model_copy(update=updates) if updates else config
