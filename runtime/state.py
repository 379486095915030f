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

from recipec.errors import StateError

log = logging.getLogger("recipec.runtime")
STATE_FORMAT_VERSION = 2


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
        return other is not None and self.model_dump(exclude={"metadata"}) == other.model_dump(
            exclude={"metadata"}
        )


def migrate(data: Any) -> Any:
    """Bring older state formats up to `STATE_FORMAT_VERSION`. Version 1 kept the hashes of
    transformed rows (`boundary_hashes`), which version 2 still reads; nothing else changed."""
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

    def save(self, state: State) -> None: ...

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
