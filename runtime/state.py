"""Incremental state: what a recipe has loaded so far, and where it is kept.

The destination's `_recipec_state` row, committed with the data, is the truth where the
destination holds state; a `StateBackend` keeps a copy (and is the only copy for destinations that
cannot hold state). Writes to a `LocalStateBackend` are atomic.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from recipec.errors import StateConflict, StateError

log = logging.getLogger("recipec.runtime")
STATE_FORMAT_VERSION = 3


class _StateModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CursorState(_StateModel):
    column: str
    watermark: str | None = None
    """The highest cursor value committed, as DuckDB text (timestamps in UTC)."""
    boundary_keys: list[str] = []
    """Append mode, into a destination that holds no state: the hashes of the source rows
    loaded at the watermark, so a rerun skips them (other destinations store them beside the
    data, in `_recipec_boundary_rows`)."""
    boundary_hashes: list[str] = []
    """Written by recipec before state format 2: hashes of the transformed rows loaded at the
    watermark. Honoured once, by the next run, which stores source-row hashes instead."""


class FileState(_StateModel):
    size: int
    mtime_ns: int


class StateMetadata(_StateModel):
    plan_fingerprint: str
    recipec_version: str
    run_id: str
    updated_at: str
    table: str | None = None


class State(_StateModel):
    """The state of one recipe."""

    format_version: int = STATE_FORMAT_VERSION
    recipe_name: str
    cursor: CursorState | None = None
    files: dict[str, FileState] = {}
    """`modified_time` sources: files loaded so far, by portable path."""
    checkpoints: dict[str, Any] = {}
    metadata: StateMetadata | None = None
    version: int = 0
    """How many times its key was written: what a store's compare-and-swap compares (0: a
    state never stored)."""

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> State:
        try:
            data = json.loads(text)
            return cls.model_validate(migrate(data))
        except (json.JSONDecodeError, ValidationError, TypeError) as exc:
            raise StateError(f"saved state in {where} is corrupt: {exc}", where=where) from None

    def same_data(self, other: State | None) -> bool:
        """Whether two states describe the same loaded data (ignoring run metadata)."""
        meta = {"metadata", "version"}
        return other is not None and self.model_dump(exclude=meta) == other.model_dump(exclude=meta)


def migrate(data: Any) -> Any:
    """Bring older state formats up to `STATE_FORMAT_VERSION`. Version 1 kept the hashes of
    transformed rows (`boundary_hashes`), which later versions still read; version 3 added the
    key's `version` (a state of before reads as version 0, never swapped)."""
    if not isinstance(data, dict):
        return data
    if data.get("format_version", 1) > STATE_FORMAT_VERSION:
        raise TypeError(
            f"format_version {data['format_version']} is newer than this recipec understands"
        )
    return {**data, "format_version": STATE_FORMAT_VERSION}


@runtime_checkable
class StateBackend(Protocol):
    """Keeps recipes' states outside the destination."""

    def load(self, recipe_name: str) -> State | None: ...

    def save(self, state: State) -> None:
        """Store a copy, whatever is stored (the destination holds the truth)."""
        ...

    def swap(self, state: State, expected: int) -> State:
        """Store `state` as its key's next version if the stored one is still version
        `expected` (0: none); returns what was stored. Raises `StateConflict` otherwise. Used
        where the backend is the only copy."""
        ...

    def lock(self, recipe_name: str) -> AbstractContextManager[None]:
        """Hold the recipe's state for a run: a concurrent run of it waits until released.
        Taken where the backend is the only copy (a destination that holds no state)."""
        ...


class LocalStateBackend:
    """States as JSON files: `{directory}/{recipe_name}.json`."""

    def __init__(self, directory: str | os.PathLike[str] = ".state") -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"LocalStateBackend({str(self.directory)!r})"

    def path(self, recipe_name: str) -> Path:
        return self.directory / f"{recipe_name}.json"

    def load(self, recipe_name: str) -> State | None:
        path = self.path(recipe_name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read saved state {path}: {exc}", path=str(path)) from None
        return State.from_json(text, str(path))

    @contextmanager
    def lock(self, recipe_name: str) -> Iterator[None]:
        """An exclusive lock on `{recipe_name}.lock` beside the state (released by the OS
        when a killed run's process ends)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{recipe_name}.lock"
        with open(path, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning(
                    "another run of %s holds %s: waiting for it to finish", recipe_name, path
                )
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def swap(self, state: State, expected: int) -> State:
        """Under a short lock of its own (a run may hold `lock` meanwhile): read the stored
        version, compare, replace the file atomically."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / f"{state.recipe_name}.swap.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            stored = self.load(state.recipe_name)
            found = stored.version if stored is not None else 0
            if found != expected:
                raise StateConflict(
                    f"the saved state of {state.recipe_name} changed while this run loaded "
                    f"(version {found}, this run read version {expected}): another run wrote "
                    "it; nothing of this run's state was saved",
                    path=str(self.path(state.recipe_name)),
                )
            swapped = state.model_copy(update={"version": expected + 1})
            self.save(swapped)
            return swapped

    def save(self, state: State) -> None:
        path = self.path(state.recipe_name)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(state.to_json())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except OSError as exc:
            raise StateError(f"cannot save state to {path}: {exc}", path=str(path)) from None
