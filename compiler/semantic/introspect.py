"""`recipec compile --introspect`: read a database source's columns, so the plan records each
source type with the DuckDB and Arrow types it maps to, and the compiler can warn early.

This is the one compile step that connects (only when asked).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import sqlglot
from sqlglot import exp

from recipec.compiler.connectors.databases import DatabaseSource
from recipec.compiler.frontend.models import parse_table_name
from recipec.compiler.plan import SourceColumn
from recipec.errors import ConnectorError
from recipec.registry import require

_DIALECTS = {"postgres": "postgres", "mysql": "mysql"}
_POINT = "STRUCT(x DOUBLE, y DOUBLE)"
_SIMPLE_ARROW = {
    "BOOLEAN": "bool", "TINYINT": "int8", "SMALLINT": "int16", "INTEGER": "int32", "INT": "int32",
    "REAL": "float", "TEXT": "string", "UTINYINT": "uint8", "USMALLINT": "uint16",
    "UINTEGER": "uint32", "UINT": "uint32", "UBIGINT": "uint64", "HUGEINT": "decimal128(38, 0)",
    "BIGINT": "int64", "FLOAT": "float", "DOUBLE": "double", "VARCHAR": "string",
    "DATE": "date32", "TIME": "time64[us]", "TIMESTAMP": "timestamp[us]",
    "TIMESTAMP WITH TIME ZONE": "timestamp[us, tz=UTC]", "BLOB": "binary", "UUID": "string (uuid)",
    "JSON": "string (json)", "INTERVAL": "month_day_nano_interval",
}  # fmt: skip


_MYSQL_AS = {
    "MEDIUMINT": "INTEGER", "UMEDIUMINT": "UINTEGER", "YEAR": "INTEGER", "TIME": "VARCHAR",
    "TIMESTAMPTZ": "TIMESTAMP", "BIT": "BLOB",
}  # fmt: skip
"""Where the mysql scanner (and so the driver path) reads a type its own way."""
_POSTGRES_AS = {"MONEY": "VARCHAR", "BIT": "VARCHAR", "VARBIT": "VARCHAR", "POINT": _POINT}
_GEOMETRIC = {"LINE", "LSEG", "BOX", "PATH", "POLYGON", "CIRCLE"}
_RANGE = re.compile(r"^(INT4|INT8|NUM|TS|TSTZ|DATE)(MULTI)?RANGE$")
_WIDE_DECIMAL = re.compile(r"^DECIMAL(\((\d+),\s*\d+\))?$")


def duckdb_type(source_type: str, dialect: str) -> str:
    """The DuckDB type of a source column type, as both extraction paths read it
    (`runtime/source_types.py`; docs/databases.md has the table)."""
    text = source_type.upper().strip()
    if dialect == "mysql":
        text = re.sub(r"\s+(CHARACTER SET|COLLATE)\s+\S+", "", text)
        bits = re.match(r"^BIT\((\d+)\)$", text)
        if bits:
            return "BOOLEAN" if bits.group(1) == "1" else "BLOB"
        if re.match(r"^TINYINT\(1\)", text):
            return "BOOLEAN"  # MySQL's boolean
    if text.endswith("[]"):
        return duckdb_type(text[:-2], dialect) + "[]"
    if dialect == "postgres" and text in _GEOMETRIC:
        return "DOUBLE[]"  # the numbers of a box, circle, ... (point is a STRUCT)
    if dialect == "postgres" and _RANGE.match(text):
        return "VARCHAR"
    if dialect == "postgres" and text == "OID":
        return "UINTEGER"
    duck = _sqlglot_duckdb_type(text, dialect)
    if duck.startswith(("UDECIMAL", "UDOUBLE", "UFLOAT")):
        duck = duck[1:]  # MySQL's unsigned non-integers are plain DECIMAL, DOUBLE, FLOAT
    base = re.sub(r"\(.*\)$", "", duck)
    wide = _WIDE_DECIMAL.match(duck)
    unconstrained = wide is not None and wide.group(2) is None and dialect == "postgres"
    if unconstrained or (wide and wide.group(2) and int(wide.group(2)) > 38):
        return "DOUBLE"  # unconstrained NUMERIC, or wider than DuckDB's decimals
    if base in ("BLOB", "VARBINARY", "BINARY"):
        return "BLOB"
    if base == "REAL":
        return "FLOAT"
    overrides = _MYSQL_AS if dialect == "mysql" else _POSTGRES_AS
    return overrides.get(duck, overrides.get(base, duck))


def _sqlglot_duckdb_type(text: str, dialect: str) -> str:
    if text.startswith(("ENUM", "SET(")) or text in {"CITEXT", "NAME", "INET", "CIDR", "XML"}:
        return "VARCHAR"
    try:
        datatype = exp.DataType.build(text, dialect=dialect)
    except (sqlglot.errors.ParseError, ValueError):
        return "VARCHAR"
    if datatype.is_type(*exp.DataType.TEXT_TYPES):
        return "VARCHAR"  # lengths do not matter to DuckDB
    if datatype.is_type(exp.DataType.Type.ARRAY, exp.DataType.Type.LIST) and datatype.expressions:
        return duckdb_type(datatype.expressions[0].sql(dialect), dialect) + "[]"
    if datatype.is_type(*exp.DataType.INTEGER_TYPES):
        datatype.set("expressions", [])  # MySQL's display widths: BIGINT(20)
    if datatype.is_type("timestamp", "datetime") and datatype.expressions:
        return "TIMESTAMP"
    if datatype.is_type("unknown", "userdefined"):
        return "VARCHAR"
    return datatype.sql("duckdb")


def arrow_type(duck: str) -> str:
    match = re.match(r"^DECIMAL\((\d+),\s*(\d+)\)$", duck)
    if match:
        return f"decimal128({match.group(1)}, {match.group(2)})"
    if duck.endswith("[]"):
        return f"list<{arrow_type(duck[:-2])}>"
    return _SIMPLE_ARROW.get(duck.replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"), "string")


def introspect(source_type: str, config: Any) -> list[SourceColumn]:
    """The columns of a database source's table (a `query` source cannot be introspected)."""
    if config.table is None:
        return []
    sqlalchemy = require("sqlalchemy", extra=source_type, feature="recipec compile --introspect")
    # extras postgres, mysql and sql each bring SQLAlchemy
    from recipec.runtime.databases import driver_url  # the runtime's own connection settings

    step = _ExtractLike(source_type, config.model_dump())
    engine = sqlalchemy.create_engine(driver_url(step, step.config))
    parts = parse_table_name(config.table)
    schema, table = (parts[-2] if len(parts) > 1 else None), parts[-1]
    dialect = _DIALECTS.get(source_type, engine.dialect.name)
    try:
        with warnings.catch_warnings():  # types it does not know: named from the catalog
            warnings.simplefilter("ignore", sqlalchemy.exc.SAWarning)
            columns = sqlalchemy.inspect(engine).get_columns(table, schema=schema)
        catalog = _catalog(engine, source_type, table, schema)
        unknown = _type_names(engine, table, schema) if source_type == "postgres" else {}
    except sqlalchemy.exc.NoSuchTableError:
        raise ConnectorError(f"introspection: table {config.table} not found") from None
    except sqlalchemy.exc.SQLAlchemyError as exc:
        message = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise ConnectorError(
            f"introspection of {source_type} {config.table} failed: {message}"
        ) from None
    finally:
        engine.dispose()
    wanted = config.columns
    if wanted:  # the columns a projection selects, in its order (the order of the read)
        by_name = {column["name"]: column for column in columns}
        columns = [by_name[name] for name in wanted if name in by_name]
    out = []
    for column in columns:
        try:
            source = column["type"].compile(dialect=engine.dialect)
        except sqlalchemy.exc.CompileError:  # a type SQLAlchemy does not know (xml, point)
            source = unknown.get(column["name"], "UNKNOWN")
        if hasattr(column["type"], "data_type"):  # a Postgres DOMAIN
            source = unknown.get(column["name"], source)
        duck = duckdb_type(source, dialect)
        if column["name"] in catalog and duck.endswith("[]"):
            duck = duck.removesuffix("[]") + "[]" * catalog[column["name"]]
        elif column["name"] in catalog and duck == "VARCHAR":
            duck = "JSON"  # MariaDB's JSON is LONGTEXT with a json_valid check
        out.append(
            SourceColumn(
                name=column["name"],
                source_type=source,
                duckdb_type=duck,
                arrow_type=arrow_type(duck),
                nullable=bool(column.get("nullable", True)),
            )
        )
    return out


def _catalog(engine: Any, source_type: str, table: str, schema: str | None) -> dict[str, int]:
    """What the reflected types leave out, as the runtime reads it from the catalog: Postgres
    arrays of more than one dimension (name -> dimensions), MySQL JSON columns (name -> 0)."""
    from recipec.runtime import source_types

    with engine.connect() as connection:
        if source_type == "postgres":
            statement = source_types.postgres_dims_sql(table, schema)
            return {str(n): int(d) for n, d in connection.exec_driver_sql(statement)}
        if source_type == "mysql":
            server = str(connection.connection.dbapi_connection.get_server_info())
            mariadb = source_types.has_json_checks(server)
            statement = source_types.mysql_json_sql(table, schema, mariadb=mariadb)
            return {str(row[0]): 0 for row in connection.exec_driver_sql(statement)}
    return {}


def _type_names(engine: Any, table: str, schema: str | None) -> dict[str, str]:
    """Each column's type as Postgres names it (`point`, `xml`; a domain by its base type,
    `numeric(10,2)`), for the types SQLAlchemy reflects as NullType or DOMAIN."""
    relation = exp.table_(table, db=schema, quoted=True).sql("postgres")
    regclass = exp.cast(exp.Literal.string(relation), exp.DataType.build("regclass", udt=True))
    domain = exp.column("typtype", "t").eq(exp.Literal.string("d"))
    named = exp.Case(
        ifs=[
            exp.If(
                this=domain,
                true=exp.func(
                    "format_type", exp.column("typbasetype", "t"), exp.column("typtypmod", "t")
                ),
            )
        ],
        default=exp.func("format_type", exp.column("atttypid", "a"), exp.column("atttypmod", "a")),
    )
    query = (
        exp.select(exp.column("attname", "a"), named)
        .from_(exp.table_("pg_attribute", db="pg_catalog", alias="a"))
        .join(
            exp.table_("pg_type", db="pg_catalog", alias="t"),
            on=exp.column("oid", "t").eq(exp.column("atttypid", "a")),
        )
        .where(exp.and_(exp.column("attrelid", "a").eq(regclass), exp.column("attnum", "a") > 0))
    )
    with engine.connect() as connection:
        return {str(n): str(t) for n, t in connection.exec_driver_sql(query.sql("postgres"))}


class _ExtractLike:
    """Just what `driver_url` reads from an extract step."""

    def __init__(self, source: str, config: dict[str, Any]) -> None:
        self.source, self.config = source, config


__all__ = ["DatabaseSource", "arrow_type", "duckdb_type", "introspect"]
