"""`recipec compile --introspect`: read a database source's columns, so the plan records each
source type with the DuckDB and Arrow types it maps to, and the compiler can warn early.

This is the one compile step that connects (only when asked).
"""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp

from recipec.compiler.connectors.databases import DatabaseSource
from recipec.compiler.models import parse_table_name
from recipec.compiler.plan import SourceColumn
from recipec.errors import ConnectorError
from recipec.registry import require

_DIALECTS = {"postgres": "postgres", "mysql": "mysql"}
_SIMPLE_ARROW = {
    "BOOLEAN": "bool", "TINYINT": "int8", "SMALLINT": "int16", "INTEGER": "int32", "INT": "int32",
    "REAL": "float", "TEXT": "string", "UTINYINT": "uint8", "USMALLINT": "uint16",
    "UINTEGER": "uint32", "UINT": "uint32", "UBIGINT": "uint64", "HUGEINT": "decimal128(38, 0)",
    "BIGINT": "int64", "FLOAT": "float", "DOUBLE": "double", "VARCHAR": "string",
    "DATE": "date32", "TIME": "time64[us]", "TIMESTAMP": "timestamp[us]",
    "TIMESTAMP WITH TIME ZONE": "timestamp[us, tz=UTC]", "BLOB": "binary", "UUID": "string (uuid)",
    "JSON": "string (json)", "INTERVAL": "month_day_nano_interval",
}  # fmt: skip


def duckdb_type(source_type: str, dialect: str) -> str:
    """The DuckDB type of a source column type, keeping precision and time zones."""
    text = source_type.upper()
    if dialect == "mysql" and re.match(r"^TINYINT\(1\)", text):
        return "BOOLEAN"  # MySQL's boolean
    text = re.sub(r"\s+(CHARACTER SET|COLLATE)\s+\S+", "", text)
    if text.startswith(("ENUM", "SET(")) or text in {"CITEXT", "NAME", "INET", "CIDR"}:
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
        columns = sqlalchemy.inspect(engine).get_columns(table, schema=schema)
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
        source = column["type"].compile(dialect=engine.dialect)
        duck = duckdb_type(source, dialect)
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


class _ExtractLike:
    """Just what `driver_url` reads from an extract step."""

    def __init__(self, source: str, config: dict[str, Any]) -> None:
        self.source, self.config = source, config


__all__ = ["DatabaseSource", "arrow_type", "duckdb_type", "introspect"]
