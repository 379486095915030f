"""Destinations registered from Python (plug-ins): handed the staged rows as Arrow batches; their
state lives in the state backend. The session of every destination without a run half of its
own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from recipec.compiler.plan import Column, CommitStateStep, WriteStep
from recipec.errors import ConnectorError, DataLoaderError
from recipec.registry import get_destination
from recipec.runtime.connectors.duckdb import DuckDBSession
from recipec.runtime.destinations import (
    STAGED,
    TableColumns,
    WriteRequest,
    WriteResult,
)
from recipec.runtime.protocols import WriteContext
from recipec.runtime.state import State

if TYPE_CHECKING:
    from recipec.runtime.progress import TaskDisplay


class PluginSession(DuckDBSession):
    """A plug-in destination, handed Arrow batches; the state lives in the state backend."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        progress: TaskDisplay,
        config: dict[str, Any],
        recipe_name: str,
        batch_size: int,
    ) -> None:
        super().__init__(connection, progress)
        self.config = config
        self.recipe_name = recipe_name
        self.batch_size = batch_size

    def prepare(self, write: WriteStep, commit: CommitStateStep) -> None:
        """A plug-in creates its own tables."""

    def read_state(self, step: CommitStateStep, recipe_name: str) -> State | None:
        return None

    def write(self, request: WriteRequest) -> WriteResult:
        step, full_refresh = request.step, request.full_refresh
        registration = get_destination(step.destination)
        if registration is None:
            raise ConnectorError(
                f"destination type '{step.destination}' is not registered",
                destination=step.destination,
            )
        config = registration.validate_config(self.config, "destination block")
        context = WriteContext(
            recipe_name=self.recipe_name,
            table=step.table,
            write_mode="overwrite" if full_refresh else step.write_mode,
            merge_keys=tuple(step.merge_keys),
            full_refresh=full_refresh,
            batch_size=self.batch_size,
        )
        reader = self.connection.execute(f"SELECT * FROM {STAGED}").to_arrow_reader(self.batch_size)
        counted = _CountingReader(reader)
        try:
            written = registration.create(config).write(counted.reader(), context)
        except DataLoaderError:
            raise
        except Exception as exc:
            raise ConnectorError(
                f"destination '{step.destination}' failed writing {step.table}: "
                f"{type(exc).__name__}: {exc}",
                destination=step.destination,
                table=step.table,
            ) from exc
        return WriteResult(int(written) if written is not None else counted.rows)

    def commit_state(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        pass

    def record_run(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        pass

    def table_columns(self, table: exp.Table, expected: list[Column]) -> TableColumns | None:
        return None

    def load_keys(self, step: CommitStateStep, recipe_name: str) -> int:
        raise NotImplementedError("a plug-in destination keeps its hashes in the state backend")

    def save_keys(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        raise NotImplementedError("a plug-in destination keeps its hashes in the state backend")


class _CountingReader:
    """Counts the rows a plug-in destination reads, for when it does not say."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.rows = 0

    def reader(self) -> Any:
        import pyarrow as pa

        def batches() -> Any:
            for batch in self._reader:
                self.rows += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self._reader.schema, batches())
