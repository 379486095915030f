"""Reading databases: attach them to DuckDB through its scanner extension, or stream a driver's
rows into Arrow batches.

The scanner extensions come from PyPI (`duckdb-extension-postgres`, `duckdb-extension-mysql`,
pinned to the DuckDB version) or from DuckDB's own extension folder; nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec.compiler.plan import ExtractStep
from recipec.errors import ConnectorError
from recipec.registry import require
from recipec.runtime import engine, source_types, transient

DRIVERS = {
    "postgres": ("postgresql+psycopg2", "psycopg2", "postgres"),
    "mysql": ("mysql+pymysql", "pymysql", "mysql"),
}
"""Source type -> (SQLAlchemy driver name, driver module, extra that installs it)."""

_ATTACHING = threading.Lock()


def describe(step: ExtractStep) -> str:
    """`postgres public.customers in test on 127.0.0.1:5432` (never a password)."""
    return step.label


def _port(step: ExtractStep) -> int:
    return 3306 if step.source == "mysql" else 5432


def load_scanner(connection: duckdb.DuckDBPyConnection, scanner: str) -> bool:
    """Load DuckDB's extension for this database; False when it is not installed."""
    if not scanner:
        return False
    try:
        package = importlib.import_module(f"duckdb_extension_{scanner}")
    except ImportError:
        package = None
    if package is not None:
        version = duckdb.__version__
        shipped = (
            Path(package.__file__ or ".").parent
            / "extensions"
            / f"v{version}"
            / f"{scanner}.duckdb_extension"
        )
        if shipped.exists():
            # DuckDB derives the entry point from the file name: it must be <name>_scanner.
            cache = (
                Path(tempfile.gettempdir()) / f"recipec-extensions-{os.getuid()}" / f"v{version}"
            )
            target = cache / f"{scanner}_scanner.duckdb_extension"
            if not target.exists() or target.stat().st_size != shipped.stat().st_size:
                cache.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(f".{uuid.uuid4().hex}.part")
                shutil.copyfile(shipped, partial)
                os.replace(partial, target)
            connection.execute(f"LOAD {exp.Literal.string(str(target)).sql('duckdb')}")
            return True
    try:
        connection.execute(f"LOAD {scanner}")  # installed in DuckDB's own extension folder
        return True
    except duckdb.Error:
        return False


def _libpq_value(value: Any) -> str:
    """Plain when it can be, quoted (libpq style) when it holds spaces or quotes."""
    text = str(value)
    if text and not any(ch.isspace() or ch in "'\\" for ch in text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def connection_string(step: ExtractStep, config: dict[str, Any]) -> str:
    """The key=value connection string the scanner extensions take."""
    database_key = "dbname" if step.source == "postgres" else "database"
    parts = {
        "host": config["host"],
        "port": config.get("port") or _port(step),
        database_key: config["database"],
        "user": config.get("user"),
        "password": config.get("password"),
    }
    return " ".join(f"{k}={_libpq_value(v)}" for k, v in parts.items() if v not in (None, ""))


def attach(
    connection: duckdb.DuckDBPyConnection,
    step: ExtractStep,
    config: dict[str, Any],
    *,
    cursor_range: bool = False,
) -> None:
    """Attach the source database read-only under `step.database.attached_as` (once a run: units
    reading the same database share it).

    A read of a cursor range (an incremental run, a backfill window) is one query, which the
    source can serve from an index on the cursor. DuckDB's postgres scanner would otherwise
    split the table into ctid ranges read in parallel, each scanning its pages whole: for 2% of
    a 2M-row table, 0.06 s instead of 0.3 s.
    """
    read = step.database_read
    if cursor_range and read.scanner == "postgres":
        connection.execute("SET SESSION pg_use_ctid_scan = false")  # this unit's reads only
    target = exp.Literal.string(connection_string(step, config)).sql("duckdb")
    name = exp.to_identifier(read.attached_as, quoted=True).sql("duckdb")
    statement = f"ATTACH IF NOT EXISTS {target} AS {name} (TYPE {read.scanner}, READ_ONLY)"
    try:
        with _ATTACHING:  # the run's units share the engine, where an attachment is global
            connection.execute(statement)
    except duckdb.Error as exc:
        raise connector_error(exc, step) from None


_PRIMARY_KEY = """
SELECT k.table_schema, list(k.column_name ORDER BY k.ordinal_position)
FROM "{catalog}".information_schema.table_constraints AS c
JOIN "{catalog}".information_schema.key_column_usage AS k
  ON k.constraint_name = c.constraint_name
  AND k.table_schema = c.table_schema
  AND k.table_name = c.table_name
WHERE c.constraint_type = 'PRIMARY KEY'
  AND c.table_name = $name
  AND c.table_schema = coalesce($schema, c.table_schema)
GROUP BY k.table_schema
"""


def primary_key(connection: duckdb.DuckDBPyConnection, table: exp.Table) -> list[str]:
    """The primary key columns of an attached source table, from the source's standard
    information_schema (DuckDB's mysql scanner does not report constraints itself). A table
    named without a schema that several schemas hold has none we can be sure of."""
    catalog, *schema, name = (part.name for part in table.parts)
    statement = _PRIMARY_KEY.format(catalog=catalog.replace('"', '""'))
    values = {"name": name, "schema": schema[0] if schema else None}
    rows = connection.execute(statement, values).fetchall()
    return list(rows[0][1]) if len(rows) == 1 else []


def scanner_casts(
    connection: duckdb.DuckDBPyConnection, step: ExtractStep, values: dict[str, Any]
) -> list[tuple[str, str]]:
    """The columns of the scanner's read to cast, and to what, so they are typed as the driver
    path types them: the scanners read json and jsonb (Postgres) and JSON (MySQL, from a
    table's catalog) as VARCHAR, and a Postgres domain as text; Postgres enums are ENUM through
    the scanner, VARCHAR on both paths (a new label must not break the next load)."""
    from recipec.runtime.binding import describe

    try:
        return _scanner_casts(connection, step, describe(connection, step.query, values))
    except duckdb.Error as exc:
        raise connector_error(exc, step) from None


def _scanner_casts(
    connection: duckdb.DuckDBPyConnection, step: ExtractStep, read: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    enums = [(name, _enum_as_text(t)) for name, t in read if t.startswith("ENUM(")]
    texts = {name: type_name for name, type_name in read if type_name.startswith("VARCHAR")}
    if step.database_read.scanner == "postgres" and texts:
        found = _postgres_types(connection, step, list(texts))
        return enums + [
            (name, duck)
            for name, type_name in texts.items()
            if (duck := _postgres_cast(type_name, *found.get(name, (False, ""))))
        ]
    if step.database_read.scanner == "mysql" and texts:
        json_names = _mysql_json_columns(connection, step)
        return [(name, "JSON") for name, type_name in texts.items() if name in json_names]
    return enums


def _enum_as_text(duckdb_type: str) -> str:
    """`ENUM('a', 'b')[]` -> `VARCHAR[]`."""
    depth = 0
    while duckdb_type.endswith("[]"):
        duckdb_type, depth = duckdb_type[:-2], depth + 1
    return "VARCHAR" + "[]" * depth


def _source_query(connection: duckdb.DuckDBPyConnection, step: ExtractStep, sql: str) -> list[Any]:
    """Rows of a query the source runs itself (through the attached scanner)."""
    read = step.database_read
    attached = exp.Literal.string(read.attached_as or "")
    function = exp.func(f"{read.scanner}_query", attached, exp.Literal.string(sql))
    return connection.execute(exp.select(exp.Star()).from_(function).sql("duckdb")).fetchall()


def _postgres_types(
    connection: duckdb.DuckDBPyConnection, step: ExtractStep, names: list[str]
) -> dict[str, tuple[bool, str]]:
    """Column name -> (a domain, the Postgres type's name, a domain's base type)."""
    config = step.config
    relation: exp.Expr
    if config.get("table"):
        schema, table = source_types.table_parts(config["table"])
        relation = exp.table_(table or "", db=schema, quoted=True)
    else:
        query = sqlglot.parse_one(config.get("query") or "", read="postgres")
        assert isinstance(query, exp.Query)  # validated when the recipe compiled
        relation = query.subquery()
    rows = _source_query(connection, step, source_types.postgres_typeof_sql(relation, names))
    if not rows:
        return {}
    oids = dict(zip(names, rows[0], strict=True))
    statement = source_types.postgres_type_names_sql(sorted(set(oids.values())))
    named = {
        oid: (domain, name) for oid, domain, name in _source_query(connection, step, statement)
    }
    return {name: named[oid] for name, oid in oids.items() if oid in named}


def _postgres_cast(duckdb_type: str, domain: bool, source_type: str) -> str | None:
    """What a column the scanner read as text is cast to: JSON for json and jsonb; a domain's
    base type (the scanner reads domains as text, the driver sees the base type)."""
    suffix = duckdb_type[len("VARCHAR") :]
    if source_types.is_postgres_json(source_type):
        return "JSON" + suffix
    if domain and not source_type.endswith("]") and not suffix:
        from recipec.compiler.semantic.introspect import duckdb_type as mapped

        target = mapped(source_type, "postgres")
        return target if target != "VARCHAR" else None
    return None


def _mysql_json_columns(connection: duckdb.DuckDBPyConnection, step: ExtractStep) -> set[str]:
    """A MySQL table's JSON columns (a `query:` has no catalog to ask: its JSON stays VARCHAR,
    on both paths)."""
    if not step.config.get("table"):
        return set()
    schema, table = source_types.table_parts(step.config["table"])
    version = _source_query(connection, step, "SELECT VERSION()")[0][0]
    mariadb = source_types.has_json_checks(str(version))
    statement = source_types.mysql_json_sql(table, schema, mariadb=mariadb)
    return {str(row[0]) for row in _source_query(connection, step, statement)}


_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def connector_error(exc: BaseException, step: ExtractStep) -> ConnectorError:
    """The driver's or scanner's first line, naming what was read (passwords masked: some
    drivers echo the whole connection string)."""
    message = engine.first_line(exc)
    message = _PASSWORD.sub(r"\1***", message)
    return transient.connector_error(
        f"cannot read {describe(step)}: {message}", exc, source=step.source
    )


def driver_url(step: ExtractStep, config: dict[str, Any]) -> Any:
    sqlalchemy = require("sqlalchemy", extra=step.source, feature=f"the {step.source} source")
    if step.source == "sql":
        return sqlalchemy.engine.make_url(config["url"])
    drivername, module, extra = DRIVERS[step.source]
    require(module, extra=extra, feature=f"the {step.source} source")
    return sqlalchemy.engine.URL.create(
        drivername,
        username=config.get("user"),
        password=config.get("password") or None,
        host=config["host"],
        port=config.get("port") or _port(step),
        database=config["database"],
    )


def read_with_driver(
    step: ExtractStep,
    config: dict[str, Any],
    values: dict[str, Any],
    batch_size: int,
    text: str | None = None,
) -> Iterator[Any]:
    """Stream the source query's rows (or `text`'s) as Arrow tables of at most `batch_size`,
    typed from the result's description as the scanner would type them (`source_types`)."""
    sqlalchemy = require("sqlalchemy", extra=step.source, feature=f"the {step.source} source")
    engine = sqlalchemy.create_engine(driver_url(step, config), pool_pre_ping=False)
    text = text if text is not None else step.database_read.source_query
    query = sqlalchemy.text(text)
    params = {name: value for name, value in values.items() if f":{name}" in text}
    try:
        with engine.connect() as connection:
            kind = _driver_kind(connection)
            catalog = _prepare_driver(connection, kind, step)
            result = connection.execution_options(
                stream_results=True, yield_per=batch_size
            ).execute(query, params)
            # the description, before the cursor closes when the last row is fetched
            described = _described(kind, result.cursor, catalog, step)
            names = list(result.keys())
            for rows in result.partitions(batch_size):
                columns = described or _inferred_columns(names, rows)
                yield source_types.to_arrow(columns, rows)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise connector_error(getattr(exc, "orig", None) or exc, step) from None
    finally:
        engine.dispose()


def _driver_kind(connection: Any) -> str:
    """`postgres` (psycopg2), `mysql` (PyMySQL), or "" for a driver without a type table."""
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg2":
        return "postgres"
    if dialect.name in ("mysql", "mariadb") and dialect.driver == "pymysql":
        return "mysql"
    return ""


def _prepare_driver(connection: Any, kind: str, step: ExtractStep) -> source_types.Catalog:
    """Set the session up for typed reads; what the table's catalog says that a result's
    description does not."""
    dbapi = connection.connection.dbapi_connection
    schema, table = source_types.table_parts(step.config.get("table"))
    if kind == "postgres":
        connection.exec_driver_sql("SET intervalstyle = 'postgres'")
        if table is None:  # a query: typed from its result alone, as the scanner types it
            source_types.register_postgres_text(dbapi)
            return source_types.Catalog()
        statement = source_types.postgres_enum_arrays_sql()
        enum_arrays = frozenset(int(row[0]) for row in connection.exec_driver_sql(statement))
        source_types.register_postgres_text(dbapi, sorted(enum_arrays))
        statement = source_types.postgres_dims_sql(table, schema)
        dims = {str(name): int(d) for name, d in connection.exec_driver_sql(statement)}
        return source_types.Catalog(dims=dims, text_arrays=enum_arrays)
    if kind != "mysql" or table is None:
        return source_types.Catalog()
    mariadb = source_types.has_json_checks(str(dbapi.get_server_info()))
    statement = source_types.mysql_json_sql(table, schema, mariadb=mariadb)
    json_names = frozenset(str(row[0]) for row in connection.exec_driver_sql(statement))
    return source_types.Catalog(json=json_names)


def _described(
    kind: str, cursor: Any, catalog: source_types.Catalog, step: ExtractStep
) -> list[source_types.DriverColumn] | None:
    """The result's columns, typed from its description and the table's catalog (None for a
    driver without a type table)."""
    if kind == "postgres":
        query = not step.config.get("table")
        return source_types.postgres_columns(cursor.description, catalog, query=query)
    if kind == "mysql":
        columns = source_types.mysql_columns(cursor)
        return [
            source_types.DriverColumn(c.name, "JSON", c.convert)
            if c.name in catalog.json and c.duckdb_type == "VARCHAR"
            else c
            for c in columns
        ]
    return None


def _inferred_columns(names: list[str], rows: Any) -> list[source_types.DriverColumn]:
    inferred = [_inferred([row[i] for row in rows]) for i in range(len(names))]
    return [
        source_types.DriverColumn(name, duck, _FALLBACK_CONVERT.get(duck))
        for name, duck in zip(names, inferred, strict=True)
    ]


def _inferred(values: list[Any]) -> str:
    """The DuckDB type of a column of a database without a type table: from its values (the
    one place that infers), JSON-like lists and dicts as JSON."""
    import pyarrow as pa

    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, dict | list):
        return "JSON"
    if isinstance(sample, decimal.Decimal):
        return "DOUBLE"
    if isinstance(sample, dt.datetime):
        return "TIMESTAMP WITH TIME ZONE" if sample.tzinfo is not None else "TIMESTAMP"
    try:
        inferred = pa.array(values).type
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return "VARCHAR"
    return _FROM_ARROW.get(str(inferred), "VARCHAR")


_FALLBACK_CONVERT = {
    "JSON": lambda v: v if isinstance(v, str) else json.dumps(v, default=str),
    "DOUBLE": float,
    "BLOB": bytes,
    "VARCHAR": str,
}
_FROM_ARROW = {
    "bool": "BOOLEAN", "int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR",
    "binary": "BLOB", "date32[day]": "DATE", "time64[us]": "TIME", "null": "VARCHAR",
}  # fmt: skip


def chunk_bounds(low: Any, high: Any, chunks: int) -> list[tuple[int, int]]:
    """[low, high] split into at most `chunks` integer ranges [a, b)."""
    if not isinstance(low, int) or not isinstance(high, int) or high < low:
        return []
    width = max(1, -(-(high - low + 1) // chunks))  # ceiling division
    return [(start, min(start + width, high + 1)) for start in range(low, high + 1, width)]


def min_max_driver(step: ExtractStep, config: dict[str, Any]) -> Any:
    """min and max of the chunk column, asked of the source through the driver."""
    sqlalchemy = require("sqlalchemy", extra=step.source, feature=f"the {step.source} source")
    engine = sqlalchemy.create_engine(driver_url(step, config))
    try:
        with engine.connect() as connection:
            return connection.execute(
                sqlalchemy.text(step.database_read.source_span_query or "")
            ).fetchone()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise connector_error(getattr(exc, "orig", None) or exc, step) from None
    finally:
        engine.dispose()
