"""The DuckDB engine the runtime stages and transforms in, and how its errors are reported."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from recipec import duckdb_connection
from recipec.compiler.plan import LOADED_KEYS, NEW_KEYS
from recipec.errors import ConnectorError, DataLoaderError, EngineError, TransformError
from recipec.runtime import transient

DESTINATION = "_recipec_destination"
"""The name the destination database is attached under, whatever its file is called (DuckDB
would otherwise name the catalog after the file, and `recipec.duckdb` would collide with the
`recipec` state schema)."""


def connect(
    database: str | None,
    *,
    threads: int | None,
    memory_limit: str | None,
    preserve_order: bool = False,
    temp_directory: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """An engine with the destination database attached (or in-memory only).

    Timestamps compare in UTC; DuckDB's own progress bar never prints (it would corrupt
    `--format json` on stdout). Tables have no row order, so DuckDB may write rows in the order
    its threads finish (faster, less memory) unless the recipe asks to keep the source's. What
    DuckDB spills goes to `temp_directory` (the run's own scratch folder).
    """
    connection = duckdb_connection.connect()
    connection.execute("SET TimeZone = 'UTC'")
    if not preserve_order:
        connection.execute("SET preserve_insertion_order = false")
    connection.execute("SET enable_progress_bar = true")
    connection.execute("SET enable_progress_bar_print = false")
    if temp_directory:
        connection.execute(f"SET temp_directory = {exp.Literal.string(temp_directory).sql()}")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        connection.execute(f"SET memory_limit = {exp.Literal.string(memory_limit).sql()}")
    if database is None or database == ":memory:":
        return connection
    try:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConnectorError(
            f"cannot create the folder of DuckDB database '{database}': {exc.strerror}",
            database=database,
        ) from None
    attach = exp.Attach(
        this=exp.alias_(exp.Literal.string(database), exp.to_identifier(DESTINATION, quoted=True))
    )
    try:
        connection.execute(attach.sql("duckdb"))
    except duckdb.Error as exc:
        connection.close()
        message = f"cannot open DuckDB database '{database}': {first_line(exc)}"
        raise transient.connector_error(message, exc, database=database) from None
    connection.execute(f'USE "{DESTINATION}"')
    return connection


def table_exists(connection: duckdb.DuckDBPyConnection, table: exp.Table) -> bool:
    """Whether `table` exists (in the current database, unless `table` names its catalog).

    A lookup of the one name: `information_schema` and `duckdb_tables()` list every attached
    catalog, and listing an attached Postgres database's tables costs a round trip."""
    target = table.copy()
    if not target.catalog:
        row = connection.execute("SELECT current_database()").fetchone()
        target.set("catalog", exp.to_identifier(row[0] if row else "memory", quoted=True))
        if not target.db:
            target.set("db", exp.to_identifier("main", quoted=True))
    try:
        connection.execute(f"SELECT 1 FROM {target.sql('duckdb')} LIMIT 0")
    except duckdb.CatalogException:
        return False
    return True


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@functools.lru_cache(maxsize=256)
def parameters(statement: str) -> tuple[str, ...]:
    """The `$name` parameters a statement uses, as DuckDB's own parser sees them (microseconds;
    a statement it cannot parse names none, and running it gives DuckDB's error)."""
    try:
        parsed = duckdb.extract_statements(statement)
    except duckdb.Error:
        return ()
    return tuple(sorted({name for s in parsed for name in s.named_parameters}))


def execute(
    connection: duckdb.DuckDBPyConnection, statement: str, values: dict[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Run a statement, binding exactly the `$parameters` it names."""
    names = parameters(statement)
    if not names:
        return connection.execute(statement)
    missing = [n for n in names if values is None or n not in values]
    if missing:
        raise EngineError(f"no value for parameter(s) {', '.join(missing)} of: {statement}")
    return connection.execute(statement, {n: values[n] for n in names})  # type: ignore[index]


def translate(exc: duckdb.Error, *, doing: str, **context: Any) -> DataLoaderError:
    """A DuckDB error as ours: what we were doing, and DuckDB's first line."""
    message = f"{doing}: {first_line(exc)}"
    if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
        return TransformError(message, **context)
    if isinstance(exc, duckdb.BinderException | duckdb.CatalogException):
        return TransformError(message, **context)
    if isinstance(exc, duckdb.IOException):
        return transient.connector_error(message, exc, **context)
    return EngineError(message, **context)


def keys_table(connection: duckdb.DuckDBPyConnection, keys: list[str]) -> int:
    """`_recipec_loaded_keys` in the engine, holding `keys`; returns how many."""
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {LOADED_KEYS} AS "
        "SELECT CAST(unnest(CAST($keys AS VARCHAR[])) AS VARCHAR) AS row_hash",
        {"keys": keys},
    )
    return len(keys)


def keys_of(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The hashes in `_recipec_new_keys`, sorted (for a state file)."""
    rows = connection.execute(f"SELECT row_hash FROM {NEW_KEYS} ORDER BY 1").fetchall()
    return [str(row[0]) for row in rows]
