"""Destination sessions: how the runtime writes the staged rows and commits the state.

One session per run. The executor stages rows in its DuckDB engine, then asks the session to
`write` them, to record the state (`commit_state`) and to `commit` — for the SQL destinations all
three happen in one transaction of the destination, so the watermark commits with its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
from sqlglot import exp

from recipec.compiler.plan import STAGE, Column, CommitStateStep, WriteStep
from recipec.runtime import binding
from recipec.runtime.state import State

if TYPE_CHECKING:
    from recipec.runtime.progress import TaskDisplay
    from recipec.runtime.scratch import RunFolder

STAGED = f'"{STAGE}"'
Columns = list[tuple[str, str]]


@dataclass(frozen=True)
class SessionInputs:
    """What opening a destination session may need."""

    engine: duckdb.DuckDBPyConnection
    """The unit's engine connection (the destination's database attached, when in the engine)."""
    progress: TaskDisplay
    config: dict[str, Any]
    """The destination's config, secrets resolved."""
    scratch: RunFolder
    recipe: str
    batch_size: int


SessionFactory = Callable[[SessionInputs], "DestinationSession"]
SESSIONS: dict[str, SessionFactory] = {}
"""Run halves of the built-in destinations, by the name the compile half registered."""


def register_session(name: str) -> Callable[[SessionFactory], SessionFactory]:
    """Register how the destination `name` opens its session (its run half)."""

    def register(factory: SessionFactory) -> SessionFactory:
        SESSIONS[name] = factory
        return factory

    return register


def session_for(write: WriteStep) -> SessionFactory:
    """How to open the session of `write`'s destination: its registered run half; without one
    (a plug-in destination), the session that hands it the rows as Arrow batches."""
    _load_builtins()
    registered = SESSIONS.get(write.destination)
    if registered is not None:
        return registered
    from recipec.runtime.connectors.plugins import PluginSession

    return lambda inputs: PluginSession(
        inputs.engine, inputs.progress, inputs.config, inputs.recipe, inputs.batch_size
    )


def _load_builtins() -> None:
    import importlib

    from recipec.runtime.connectors import BUILTINS

    for name in BUILTINS:
        importlib.import_module(f"recipec.runtime.connectors.{name}")


@dataclass(frozen=True)
class TableColumns:
    """A destination table's columns, for the stale-plan check of `run --plan`."""

    written: list[Column]
    """The plan's columns, typed as the destination creates them."""
    actual: list[tuple[str, str]]
    """(name, type) as the table has them now; empty when it does not exist."""
    dialect: str
    where: str | None
    """The destination, for messages (None: the plan's `database`)."""


@dataclass(frozen=True)
class WriteRequest:
    """What a session is asked to write."""

    step: WriteStep
    full_refresh: bool
    staged: Columns
    """The staged columns (name, DuckDB type); empty when the batch streams."""
    values: dict[str, Any]
    """The run's bound parameters (`$run_at`...)."""
    streamed_query: binding.StreamedQuery | None = None
    """Set when the batch streams from the source into a new table instead of being staged."""


@dataclass
class WriteResult:
    rows: int
    notes: list[str] = field(default_factory=list)


class DestinationSession(Protocol):
    def prepare(self, write: WriteStep, commit: CommitStateStep) -> None:
        """Before the transaction, one unit at a time: create what units share (schemas,
        recipec's tables), so concurrent transactions do not race to create them."""
        ...

    def cancel(self) -> None:
        """Cancel what runs on the destination's server (from another thread)."""
        ...

    def read_state(self, step: CommitStateStep, recipe_name: str) -> State | None: ...

    def write(self, request: WriteRequest) -> WriteResult: ...

    def commit_state(self, step: CommitStateStep, values: dict[str, Any]) -> None: ...

    def load_keys(self, step: CommitStateStep, recipe_name: str) -> int:
        """Put the stored hashes of the rows loaded at the watermark into the engine's
        `_recipec_loaded_keys`; returns how many."""
        ...

    def save_keys(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        """Replace the stored hashes with the engine's `_recipec_new_keys`, in the data's
        transaction."""
        ...

    def record_run(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        """After a rollback: the failed attempt's row in `_recipec_runs`, committed alone."""
        ...

    def table_columns(self, table: exp.Table, expected: list[Column]) -> TableColumns | None:
        """The table's columns now, beside `expected` as the destination would create them;
        None for a destination whose tables are its own business (a plug-in)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...


def first_write(step: WriteStep) -> bool:
    """A batch written into a table that does not exist yet becomes the table, with the
    create-and-insert of an overwrite, whatever the write mode: merging into nothing only costs
    more (the batch is already deduplicated, and scd2 versions are all new). Not with delete
    flags: flagged rows must not be written."""
    config = step.config
    return not (config.get("hard_delete_column") or config.get("soft_delete_column"))


def state_from(row: Any) -> State | None:
    if not row:
        return None
    text = row[0] if isinstance(row[0], str) else _json_text(row[0])
    return State.from_json(text, "the destination's _recipec_state")


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value)
