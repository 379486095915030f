"""The run half of the `duckdb` destination: the engine's attached database, one DuckDB
transaction for the data and the state."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from recipec.compiler.plan import LOADED_KEYS, Column, CommitStateStep, WriteStep, table_expression
from recipec.runtime import binding, engine
from recipec.runtime.destinations import (
    DestinationSession,
    SessionInputs,
    TableColumns,
    WriteRequest,
    WriteResult,
    first_write,
    register_session,
    state_from,
)
from recipec.runtime.state import State

if TYPE_CHECKING:
    from recipec.runtime.progress import TaskDisplay

log = logging.getLogger("recipec.runtime")


class DuckDBSession:
    """The destination is the engine's attached database: one DuckDB transaction does all."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, progress: TaskDisplay) -> None:
        self.connection = connection
        self.progress = progress

    def prepare(self, write: WriteStep, commit: CommitStateStep) -> None:
        state_setup = commit.setup_sql if commit.in_destination else []
        for statement in [*write.sql_write.setup_sql, *state_setup]:
            self.connection.execute(statement)

    def cancel(self) -> None:
        """The engine's connection is interrupted by the executor."""

    def read_state(self, step: CommitStateStep, recipe_name: str) -> State | None:
        if step.read_sql is None:
            return None
        try:
            row = engine.execute(self.connection, step.read_sql, {"recipe_name": recipe_name})
            return state_from(row.fetchone())
        except duckdb.CatalogException:
            return None  # first run: no state table yet

    def write(self, request: WriteRequest) -> WriteResult:
        step, full_refresh, staged = request.step, request.full_refresh, request.staged
        sql = step.sql_write
        result = WriteResult(rows=0)
        for statement in sql.setup_sql:
            self.connection.execute(statement)
        streamed = request.streamed_query
        if streamed is not None:  # the batch becomes the table in one pass
            statements = [binding.from_query(s, streamed.sql) for s in sql.full_refresh_sql]
        elif full_refresh or step.write_mode == "overwrite" or self.writes_whole_table(step):
            statements = sql.full_refresh_sql
        else:
            self.connection.execute(sql.create_sql)
            for alter in binding.new_columns(self.connection, step.table, staged):
                result.notes.append(f"added column: {alter}")
                self.connection.execute(alter)
            statements = sql.write_sql
        names = [c for c, _ in staged]
        for statement in statements:
            bound = binding.bind_columns(statement, names, step.merge_keys, "duckdb")
            log.debug("write:\n%s", bound)
            with self.progress.statement(f"write {step.table}", self.connection):
                row = engine.execute(self.connection, bound, request.values).fetchone()
            if row and isinstance(row[0], int):
                result.rows = int(row[0])
        if streamed is not None and streamed.dedup is not None:
            result.rows = self._deduplicate(step, streamed, result.rows)
        return result

    def _deduplicate(self, step: WriteStep, streamed: binding.StreamedQuery, rows: int) -> int:
        """Keep the latest row per key of a table that streamed in undeduplicated; returns its
        row count. Usually the check (one aggregate over the keys) finds nothing to do."""
        duplicates = streamed.duplicates_sql(step.table, step.merge_keys)
        if not self.connection.execute(duplicates).fetchone():
            return rows
        with self.progress.statement(f"deduplicate {step.table}", self.connection):
            row = self.connection.execute(streamed.dedup_sql(step.table)).fetchone()
        return int(row[0]) if row else rows

    def writes_whole_table(self, step: WriteStep) -> bool:
        """Whether the table is missing, so the batch can simply become it (see `first_write`)."""
        exists = engine.table_exists(self.connection, table_expression(step.table))
        return first_write(step) and not exists

    def commit_state(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        for statement in step.setup_sql:
            self.connection.execute(statement)
        for statement in step.commit_sql:
            engine.execute(self.connection, statement, values)

    def load_keys(self, step: CommitStateStep, recipe_name: str) -> int:
        read = exp.select("row_hash").from_(
            exp.maybe_parse(step.keys_read_sql or "", dialect="duckdb").subquery("stored")
        )
        try:
            engine.execute(
                self.connection,
                f"CREATE OR REPLACE TEMP TABLE {LOADED_KEYS} AS {read.sql('duckdb')}",
                {"recipe_name": recipe_name},
            )
        except duckdb.CatalogException:  # no state tables yet
            return engine.keys_table(self.connection, [])
        row = self.connection.execute(f"SELECT count(*) FROM {LOADED_KEYS}").fetchone()
        return int(row[0]) if row else 0

    def save_keys(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        for statement in step.setup_sql:
            self.connection.execute(statement)
        for statement in step.keys_commit_sql:
            engine.execute(self.connection, statement, values)

    def table_columns(self, table: exp.Table, expected: list[Column]) -> TableColumns | None:
        actual = self.connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE "
            "table_catalog = current_database() AND table_schema = $schema AND "
            "table_name = $name ORDER BY ordinal_position",
            {"schema": table.db or "main", "name": table.name},
        ).fetchall()
        return TableColumns(expected, [(r[0], r[1]) for r in actual], "duckdb", None)

    def record_run(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        for statement in step.setup_sql:
            self.connection.execute(statement)
        engine.execute(self.connection, step.run_record_sql or "", values)  # autocommit

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # no transaction was open
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()


@register_session("duckdb")
def _session(inputs: SessionInputs) -> DestinationSession:
    return DuckDBSession(inputs.engine, inputs.progress)
