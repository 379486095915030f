"""Destination sessions: how the runtime writes the staged rows and commits the state.

One session per run. The executor stages rows in its DuckDB engine, then asks the session to
`write` them, to record the state (`commit_state`) and to `commit` — for the SQL destinations all
three happen in one transaction of the destination, so the watermark commits with its rows.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
from sqlglot import exp

from recipec.compiler.connectors.statements import STAGE, table_expression
from recipec.compiler.plan import LOADED_KEYS, NEW_KEYS, Column, CommitStateStep, WriteStep
from recipec.errors import ConnectorError, DataLoaderError
from recipec.registry import get_destination, require
from recipec.runtime import binding, engine, transient
from recipec.runtime.protocols import WriteContext
from recipec.runtime.state import State

if TYPE_CHECKING:
    from recipec.runtime.progress import TaskDisplay
    from recipec.runtime.scratch import RunFolder

log = logging.getLogger("recipec.runtime")
STAGED = f'"{STAGE}"'
_PYFORMAT = re.compile(r"%\((\w+)\)s")
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


def session_for(write: WriteStep) -> SessionFactory:
    """How to open the session of `write`'s destination: its registered run half; without one,
    SQL in the engine's database (a DuckDB-dialect destination) or a plug-in handed batches."""
    registered = SESSIONS.get(write.destination)
    if registered is not None:
        return registered
    if write.dialect == "duckdb":
        return lambda inputs: DuckDBSession(inputs.engine, inputs.progress)
    return lambda inputs: PluginSession(
        inputs.engine, inputs.progress, inputs.config, inputs.recipe, inputs.batch_size
    )


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


def _state_from(row: Any) -> State | None:
    if not row:
        return None
    text = row[0] if isinstance(row[0], str) else _json_text(row[0])
    return State.from_json(text, "the destination's _recipec_state")


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value)


class DuckDBSession:
    """The destination is the engine's attached database: one DuckDB transaction does all."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, progress: TaskDisplay) -> None:
        self.connection = connection
        self.progress = progress

    def prepare(self, write: WriteStep, commit: CommitStateStep) -> None:
        for statement in [*write.setup_sql, *(commit.setup_sql if commit.in_destination else [])]:
            self.connection.execute(statement)

    def cancel(self) -> None:
        """The engine's connection is interrupted by the executor."""

    def read_state(self, step: CommitStateStep, recipe_name: str) -> State | None:
        if step.read_sql is None:
            return None
        try:
            row = engine.execute(self.connection, step.read_sql, {"recipe_name": recipe_name})
            return _state_from(row.fetchone())
        except duckdb.CatalogException:
            return None  # first run: no state table yet

    def write(self, request: WriteRequest) -> WriteResult:
        step, full_refresh, staged = request.step, request.full_refresh, request.staged
        result = WriteResult(rows=0)
        for statement in step.setup_sql:
            self.connection.execute(statement)
        streamed = request.streamed_query
        if streamed is not None:  # the batch becomes the table in one pass
            statements = [binding.from_query(s, streamed.sql) for s in step.full_refresh_sql]
        elif full_refresh or step.write_mode == "overwrite" or self.writes_whole_table(step):
            statements = step.full_refresh_sql
        else:
            self.connection.execute(step.create_sql)  # type: ignore[arg-type]
            for alter in binding.new_columns(self.connection, step.table, staged):
                result.notes.append(f"added column: {alter}")
                self.connection.execute(alter)
            statements = step.write_sql
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
            return _state_from(cursor.fetchone())
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
        for statement in step.setup_sql:
            self._run(statement)
        if full_refresh or step.write_mode == "overwrite" or self.writes_whole_table(step):
            statements = step.full_refresh_sql
        else:
            self._run(step.create_sql)  # type: ignore[arg-type]
            for alter in self._new_columns(step, staged):
                result.notes.append(f"added column: {alter}")
                self._run(alter)
            statements = step.write_sql
            if step.fallback_write_sql and self.server.server_version < self.MERGE_SINCE:
                statements = [
                    s for s in statements if s.startswith("CREATE")
                ] + step.fallback_write_sql
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
                    cursor.copy_expert(step.load_sql[0], data, size=1 << 20)
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


def _redshift(inputs: SessionInputs) -> DestinationSession:
    raise ConnectorError(
        "running a plan on Redshift is not supported in this version of recipec: "
        "compile it to review the SQL (recipec compile)",
        destination="redshift",
    )


SESSIONS["postgres"] = lambda inputs: PostgresSession(
    inputs.engine, inputs.progress, inputs.config, inputs.scratch
)
SESSIONS["redshift"] = _redshift
