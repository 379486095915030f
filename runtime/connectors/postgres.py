"""The run half of the `postgres` destination: rows to a temporary table by COPY, then one
set-based statement writes them; the state row commits in the same Postgres transaction."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import re
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from recipec.compiler.plan import (
    NEW_KEYS,
    STAGE,
    Column,
    CommitStateStep,
    WriteStep,
    table_expression,
)
from recipec.errors import ConnectorError
from recipec.registry import require
from recipec.runtime import binding, engine, transient
from recipec.runtime.destinations import (
    Columns,
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
    from recipec.runtime.scratch import RunFolder

log = logging.getLogger("recipec.runtime")
_PYFORMAT = re.compile(r"%\((\w+)\)s")


_POSTGRES_TYPES = {
    "TINYINT": "SMALLINT", "UTINYINT": "SMALLINT", "USMALLINT": "INTEGER", "UINTEGER": "BIGINT",
    "UBIGINT": "DECIMAL(20, 0)", "HUGEINT": "DECIMAL(38, 0)", "UHUGEINT": "DECIMAL(39, 0)",
    "TIMESTAMP_S": "TIMESTAMP", "TIMESTAMP_MS": "TIMESTAMP", "TIMESTAMP_NS": "TIMESTAMP",
    "VARINT": "NUMERIC", "BIT": "TEXT",
}  # fmt: skip
"""DuckDB types Postgres has no name for, and the Postgres type that holds their values."""
_NESTED = (
    exp.DataType.Type.LIST,
    exp.DataType.Type.ARRAY,
    exp.DataType.Type.STRUCT,
    exp.DataType.Type.MAP,
    exp.DataType.Type.UNION,
)


def postgres_column(name: str, duckdb_type: str) -> tuple[exp.ColumnDef, exp.Expr]:
    """A staged column as a Postgres column, and the DuckDB expression that exports it as CSV
    text Postgres reads back exactly (nested values as JSON, blobs as hex)."""
    column: exp.Expr = exp.column(name, quoted=True)
    datatype = exp.DataType.build(duckdb_type, dialect="duckdb")
    export: exp.Expr
    if datatype.this in _NESTED or datatype.is_type("json"):
        target, export = exp.DataType.build("JSONB"), exp.func("to_json", column)
    elif datatype.is_type("blob", "varbinary", "binary"):
        target = exp.DataType.build("BYTEA")
        export = exp.DPipe(this=exp.Literal.string("\\x"), expression=exp.func("hex", column))
    elif duckdb_type.upper() in _POSTGRES_TYPES:
        target, export = exp.DataType.build(_POSTGRES_TYPES[duckdb_type.upper()]), column
    elif datatype.is_type("enum") or duckdb_type.upper().startswith("ENUM"):
        target, export = exp.DataType.build("TEXT"), exp.cast(column, "VARCHAR")
    else:
        target, export = datatype, column
    return exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=target), export


def postgres_connect(config: dict[str, Any]) -> Any:
    """A psycopg2 connection to a Postgres destination (its secrets resolved)."""
    psycopg2 = require("psycopg2", extra="postgres", feature="the postgres destination")
    where = f"{config['database']} on {config['host']}:{config.get('port') or 5432}"
    try:
        return psycopg2.connect(
            host=config["host"],
            port=config.get("port") or 5432,
            dbname=config["database"],
            user=config.get("user"),
            password=config.get("password") or None,
            connect_timeout=10,
            application_name="recipec",
        )
    except psycopg2.Error as exc:
        message = engine.first_line(exc)
        raise transient.connector_error(
            f"cannot connect to postgres {where}: {message}", exc, database=where
        ) from None


class PostgresSession:
    """Rows go to a temporary table by COPY, then one set-based statement writes them; the state
    row commits in the same Postgres transaction."""

    MERGE_SINCE = 150000
    """Postgres 15 brought MERGE; older servers upsert with INSERT ... ON CONFLICT."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        progress: TaskDisplay,
        config: dict[str, Any],
        scratch: RunFolder,
    ) -> None:
        self.engine = connection
        self.scratch = scratch
        self.progress = progress
        self.where = f"{config['database']} on {config['host']}:{config.get('port') or 5432}"
        self.errors = require("psycopg2", extra="postgres", feature="the postgres destination")
        self.server = postgres_connect(config)

    def _error(self, exc: BaseException, doing: str) -> ConnectorError:
        message = engine.first_line(exc)
        return transient.connector_error(
            f"{doing} postgres {self.where}: {message}", exc, database=self.where
        )

    def _run(self, statement: str, values: dict[str, Any] | None = None) -> Any:
        cursor = self.server.cursor()
        try:
            cursor.execute(statement, values)
        except self.errors.Error as exc:
            raise self._error(exc, "cannot write to") from None
        return cursor

    def read_state(self, step: CommitStateStep, recipe_name: str) -> State | None:
        """The committed state, read inside the run's transaction after taking the recipe's
        state lock: a concurrent run of the same recipe waits here until this one commits or
        rolls back, then reads what it committed (so nothing is loaded twice)."""
        if step.read_sql is None:
            return None
        self._create_state_tables(step)
        self._lock_state(recipe_name)
        try:
            cursor = self.server.cursor()
            cursor.execute(step.read_sql, {"recipe_name": recipe_name})
            return state_from(cursor.fetchone())
        except self.errors.Error as exc:
            raise self._error(exc, "cannot read the state from") from None

    def _create_state_tables(self, step: CommitStateStep) -> None:
        """The state tables, in a short transaction of their own under a lock shared by every
        recipe: concurrent first runs would otherwise race in CREATE ... IF NOT EXISTS."""
        self._run("SELECT pg_advisory_xact_lock(hashtextextended('recipec state tables', 0))")
        for statement in step.setup_sql:
            self._run(statement)
        self.commit()

    def _lock_state(self, recipe_name: str) -> None:
        """Hold the recipe's state lock until this transaction ends."""
        key = {"key": f"recipec state {recipe_name}"}
        row = self._run(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%(key)s, 0))", key
        ).fetchone()
        if row and row[0]:
            return
        log.warning(
            "another run of %s holds its state in postgres %s: waiting for it to finish",
            recipe_name,
            self.where,
        )
        self._run("SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0))", key)

    def write(self, request: WriteRequest) -> WriteResult:
        step, full_refresh, staged = request.step, request.full_refresh, request.staged
        sql = step.sql_write
        result = WriteResult(rows=0)
        columns = [postgres_column(name, type_name) for name, type_name in staged]
        stage = exp.Create(
            this=exp.Schema(
                this=exp.to_identifier(STAGE, quoted=True),
                expressions=[definition for definition, _ in columns],
            ),
            kind="TABLE",
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        )
        self._run(stage.sql("postgres") + " ON COMMIT DROP")
        self._copy_stage(step, [export for _, export in columns])
        for statement in sql.setup_sql:
            self._run(statement)
        if full_refresh or step.write_mode == "overwrite" or self.writes_whole_table(step):
            statements = sql.full_refresh_sql
        else:
            self._run(sql.create_sql)
            for alter in self._new_columns(step, staged):
                result.notes.append(f"added column: {alter}")
                self._run(alter)
            statements = sql.write_sql
            if sql.fallback_write_sql and self.server.server_version < self.MERGE_SINCE:
                statements = [
                    s for s in statements if s.startswith("CREATE")
                ] + sql.fallback_write_sql
        names = [c for c, _ in staged]
        for statement in statements:
            bound = binding.bind_columns(statement, names, step.merge_keys, "postgres")
            log.debug("write:\n%s", bound)
            values = request.values
            used = {name: values[name] for name in _PYFORMAT.findall(bound) if name in values}
            cursor = self._run(bound, used or None)
            if cursor.rowcount is not None and cursor.rowcount >= 0:
                result.rows = cursor.rowcount
        return result

    def _copy_stage(self, step: WriteStep, exports: list[exp.Expr]) -> None:
        """Export the staged rows as CSV with DuckDB (parallel, to a temporary file, so memory
        stays bounded) and COPY them into the server's temporary stage table."""
        path = str(self.scratch.file(".csv"))
        try:
            query = exp.select(*exports).from_(exp.to_identifier(STAGE, quoted=True))
            target = exp.Literal.string(path).sql("duckdb")
            with self.progress.statement("export for COPY", self.engine):
                self.engine.execute(
                    f"COPY ({query.sql('duckdb')}) TO {target} (FORMAT csv, HEADER false)"
                )
            with open(path, "rb") as data:
                cursor = self.server.cursor()
                try:
                    cursor.copy_expert(step.sql_write.load_sql[0], data, size=1 << 20)
                except self.errors.Error as exc:
                    raise self._error(exc, "cannot load rows into") from None
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)

    def writes_whole_table(self, step: WriteStep) -> bool:
        target = table_expression(step.table)
        cursor = self._run(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
            "coalesce(%(schema)s, current_schema()) AND table_name = %(table)s",
            {"schema": target.db or None, "table": target.name},
        )
        row = cursor.fetchone()
        return first_write(step) and not (row and row[0])

    def _new_columns(self, step: WriteStep, staged: Columns) -> list[str]:
        target = table_expression(step.table)  # quoted, as the table was created
        cursor = self._run(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "coalesce(%(schema)s, current_schema()) AND table_name = %(table)s",
            {"schema": target.db or None, "table": target.name},
        )
        existing = {row[0].lower() for row in cursor.fetchall()}
        missing = [(n, t) for n, t in staged if n.lower() not in existing]
        statements = []
        for name, type_name in missing:
            definition, _ = postgres_column(name, type_name)
            alter = exp.Alter(this=target.copy(), kind="TABLE", actions=[definition])
            statements.append(alter.sql("postgres"))
        return statements

    def commit_state(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        for statement in step.commit_sql:  # the state tables exist: read_state made them
            self._run(statement, values)

    def load_keys(self, step: CommitStateStep, recipe_name: str) -> int:
        rows = self._run(step.keys_read_sql or "", {"recipe_name": recipe_name}).fetchall()
        return engine.keys_table(self.engine, [row[0] for row in rows])

    def save_keys(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        """Delete the stored hashes, then COPY the new ones in."""
        forget, load = step.keys_commit_sql
        self._run(forget, values)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for (row_hash,) in self.engine.execute(f"SELECT row_hash FROM {NEW_KEYS}").fetchall():
            writer.writerow((values["recipe_name"], row_hash))
        text.seek(0)
        try:
            self.server.cursor().copy_expert(load, text)
        except self.errors.Error as exc:
            raise self._error(exc, "cannot store the loaded rows' hashes in") from None

    def prepare(self, write: WriteStep, commit: CommitStateStep) -> None:
        """Its state tables are created in `read_state`, under a lock of the server's."""

    def cancel(self) -> None:
        with contextlib.suppress(Exception):
            self.server.cancel()

    def record_run(self, step: CommitStateStep, values: dict[str, Any]) -> None:
        self._run(step.run_record_sql or "", values)
        self.commit()

    def table_columns(self, table: exp.Table, expected: list[Column]) -> TableColumns | None:
        actual = self._run(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
            "attrelid = to_regclass(%(table)s) AND attnum > 0 AND NOT attisdropped",
            {"table": table.sql("postgres")},
        ).fetchall()
        self.server.rollback()  # end the read: read_state then takes the state lock
        written = []  # the Postgres types this destination creates for the DuckDB ones
        for column in expected:
            definition, _ = postgres_column(column.name, column.type)
            written.append(
                column.model_copy(update={"type": definition.args["kind"].sql("postgres")})
            )
        return TableColumns(written, [(r[0], r[1]) for r in actual], "postgres", self.where)

    def commit(self) -> None:
        try:
            self.server.commit()
        except self.errors.Error as exc:
            raise self._error(exc, "cannot commit to") from None

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.server.rollback()
        with contextlib.suppress(duckdb.Error):
            self.engine.execute("ROLLBACK")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.server.close()
        self.engine.close()


@register_session("postgres")
def _session(inputs: SessionInputs) -> DestinationSession:
    return PostgresSession(inputs.engine, inputs.progress, inputs.config, inputs.scratch)
