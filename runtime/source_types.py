"""The DuckDB type of each column a database source returns, the same on both extraction paths.

DuckDB's scanner extensions type a column from the source's catalog. The driver path reads the
same decision from the cursor's description (Postgres type OIDs and type modifiers, MySQL field
types, flags and lengths), never from the Python values, so a column of NULLs, a jsonb column
mixing objects, arrays and numbers, or a TINYINT(1) holding 2 load as they do through the
scanner. Where the scanner itself loses what a column is (json and jsonb arrive as VARCHAR, a
Postgres domain as text) or keeps too much (a Postgres enum as ENUM), the scanner's read is
cast (`runtime/databases.py`, `scanner_casts`). docs/databases.md has the whole table.

The driver's batches carry each column's DuckDB type in their Arrow field metadata
(`TYPE_KEY`); the stage casts the staged column to it (JSON, UUID, TIME WITH TIME ZONE travel
as text).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from recipec.compiler.plan import table_expression
from recipec.errors import ConnectorError

TYPE_KEY = b"recipec.duckdb_type"
"""Arrow field metadata: the DuckDB type the staged column is cast to."""
MAX_DECIMAL_PRECISION = 38
"""Wider decimals (and Postgres' unconstrained NUMERIC) are DOUBLE, as both scanners read them."""

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class DriverColumn:
    """One column of a driver's result: its DuckDB type and how a driver value becomes Arrow's."""

    name: str
    duckdb_type: str
    convert: Convert | None = None
    """Applied to each non-NULL value (to each element of an array)."""


# -- Postgres -------------------------------------------------------------------------------------

_POINT = "STRUCT(x DOUBLE, y DOUBLE)"
_PG_SIMPLE = {
    16: "BOOLEAN", 20: "BIGINT", 21: "SMALLINT", 23: "INTEGER", 26: "UINTEGER", 700: "FLOAT",
    701: "DOUBLE", 25: "VARCHAR", 1043: "VARCHAR", 18: "VARCHAR", 19: "VARCHAR",
    1042: "VARCHAR", 17: "BLOB", 1082: "DATE", 1083: "TIME", 1266: "TIME WITH TIME ZONE",
    1114: "TIMESTAMP", 1184: "TIMESTAMP WITH TIME ZONE", 1186: "INTERVAL", 2950: "UUID",
    114: "JSON", 3802: "JSON", 869: "VARCHAR", 650: "VARCHAR", 600: _POINT,
}  # fmt: skip
"""Postgres type OID -> DuckDB type (NUMERIC, 1700, depends on its modifier)."""
PG_NUMERIC = 1700
PG_ARRAYS = {
    1000: 16, 1005: 21, 1007: 23, 1016: 20, 1021: 700, 1022: 701, 1231: 1700, 1009: 25,
    1015: 1043, 1014: 1042, 1002: 18, 1003: 19, 1001: 17, 1182: 1082, 1183: 1083, 1270: 1266,
    1115: 1114, 1185: 1184, 1187: 1186, 2951: 2950, 199: 114, 3807: 3802,
}  # fmt: skip
"""Postgres array type OID -> element type OID."""
PG_RANGES = (3904, 3926, 3906, 3908, 3910, 3912, 4451, 4536, 4532, 4533, 4534, 4535)
"""The built-in range and multirange types (VARCHAR: the server's text, `[1,5)`)."""
PG_AS_TEXT = (114, 3802, 1186, 1266, *PG_RANGES)
"""OIDs whose values the driver is asked for as the server's text (json, jsonb: any JSON value,
`null` included, kept apart from SQL NULL; interval: months survive; timetz; ranges)."""
PG_GEOMETRIC = (628, 601, 603, 602, 604, 718)
"""line, lseg, box, path, polygon, circle: `DOUBLE[]` of their numbers, as the scanner reads
them (point is a STRUCT)."""
_NUMBER = re.compile(r"[-+]?(?:Infinity|NaN|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


@dataclass(frozen=True)
class Catalog:
    """What a table's catalog says and a result's description does not."""

    dims: dict[str, int] = field(default_factory=dict)
    """Postgres arrays declared with more than one dimension: name -> dimensions."""
    json: frozenset[str] = frozenset()
    """MySQL JSON columns (MariaDB's are LONGTEXT)."""
    text_arrays: frozenset[int] = frozenset()
    """Postgres array types of enums (their OIDs), read as VARCHAR[]."""


_INTERVAL_PART = re.compile(r"([+-]?\d+) (year|mon|day)s?")
_INTERVAL_TIME = re.compile(r"([+-])?(\d+):(\d\d):(\d\d)(?:\.(\d+))?")


def _postgres_interval(text: str) -> Any:
    """`1 year 2 mons -3 days +04:05:06.5` (IntervalStyle postgres) as Arrow's month-day-nano."""
    import pyarrow as pa

    months = days = 0
    for count, unit in _INTERVAL_PART.findall(text):
        if unit == "year":
            months += 12 * int(count)
        elif unit == "mon":
            months += int(count)
        else:
            days += int(count)
    nanos = 0
    clock = _INTERVAL_TIME.search(text)
    if clock:
        sign, hours, minutes, seconds, fraction = clock.groups()
        whole = (int(hours) * 60 + int(minutes)) * 60 + int(seconds)
        nanos = whole * 10**9 + int(((fraction or "") + "000000000")[:9])
        nanos = -nanos if sign == "-" else nanos
    return pa.MonthDayNano([months, days, nanos])


def _inet_text(value: Any) -> str:
    """An inet with its prefix length always, as the scanner writes it (Postgres leaves out
    /32 and /128)."""
    text = str(value)
    return text if "/" in text else text + ("/128" if ":" in text else "/32")


def _point(value: Any) -> dict[str, float]:
    x, y = str(value).strip("()").split(",")
    return {"x": float(x), "y": float(y)}


def _numbers(value: Any) -> list[float]:
    return [float(n) for n in _NUMBER.findall(str(value))]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _timetz_text(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat()


_PG_CONVERT: dict[int, Convert] = {
    1042: lambda v: v.rstrip(" "),  # char(n) pads; its text value (and the scanner's) does not
    17: bytes,
    2950: str,
    114: _json_text,
    3802: _json_text,
    1186: _postgres_interval,
    1266: _timetz_text,
    869: _inet_text,
    650: str,
    600: _point,
}


def numeric_as_double(value: Any) -> float:
    """An unconstrained NUMERIC as a DOUBLE, rounded the way the postgres scanner rounds it, so
    both paths give the same double (not always the nearest one): the base-10000 digits of the
    value are accumulated in doubles, then divided by 10 ** scale."""
    if not isinstance(value, decimal.Decimal) or not value.is_finite():
        return float(value)
    sign, digits, exponent = value.as_tuple()
    scale = max(0, -int(exponent))
    text = ("".join(map(str, digits)) + "0" * max(0, int(exponent))).rjust(scale + 1, "0")
    whole, fraction = text[: len(text) - scale] or "0", text[len(text) - scale :]
    whole = whole.lstrip("0")
    head = -len(whole) % 4
    groups = [int(g) for g in _chunks("0" * head + whole)] if whole else []
    weight = len(groups) - 1
    groups += [int(g) for g in _chunks(fraction + "0" * (-len(fraction) % 4))]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        return 0.0
    return _accumulate(groups, weight, scale) * (-1.0 if sign else 1.0)


def _chunks(text: str) -> list[str]:
    return [text[i : i + 4] for i in range(0, len(text), 4)]


def _accumulate(groups: list[int], weight: int, scale: int) -> float:
    count = len(groups)
    scale_power = math.pow(10, scale)
    whole = fraction = 0.0
    if weight >= 0:
        whole = float(groups[0])
        for i in range(1, weight + 1):
            whole = whole * 10_000 + (groups[i] if i < count else 0)
        whole *= scale_power
    if count > weight + 1:
        correction = (count - weight - 1) * 4 - scale
        for i in range(max(0, weight + 1), count):
            if i + 1 < count:
                fraction = fraction * 10_000 + groups[i]
                continue
            base, digit = 10_000.0, float(groups[i])
            if correction >= 0:
                base, digit = base / math.pow(10, correction), digit / math.pow(10, correction)
            else:
                base, digit = base * math.pow(10, -correction), digit * math.pow(10, -correction)
            fraction = fraction * base + digit
    return (whole + fraction) / scale_power


def _pg_numeric(modifier: int | None) -> tuple[str, Convert | None]:
    """NUMERIC(p, s) from its type modifier (psycopg2 reports it less 4); unconstrained or wider
    than 38 digits: DOUBLE."""
    if modifier is None or modifier < 0:
        return "DOUBLE", numeric_as_double
    precision, scale = modifier >> 16, modifier & 0xFFFF
    if precision > MAX_DECIMAL_PRECISION or scale > precision:
        return "DOUBLE", numeric_as_double
    return f"DECIMAL({precision},{scale})", None


def postgres_column(name: str, oid: int, modifier: int | None, dims: int = 1) -> DriverColumn:
    """A psycopg2 result column as the postgres scanner types it (json and jsonb: JSON); an
    array has the dimensions its table declares (`int[][]`), else one."""
    element = PG_ARRAYS.get(oid)
    if element is not None:
        inner = postgres_column(name, element, modifier)
        convert = inner.convert
        if convert is not None:
            for _ in range(dims):
                convert = _each(convert)
        return DriverColumn(name, inner.duckdb_type + "[]" * dims, convert)
    if oid == PG_NUMERIC:
        duck, convert = _pg_numeric(modifier)
        return DriverColumn(name, duck, convert)
    if oid in _PG_SIMPLE:
        return DriverColumn(name, _PG_SIMPLE[oid], _PG_CONVERT.get(oid))
    if oid in PG_GEOMETRIC:
        return DriverColumn(name, "DOUBLE[]", _numbers)
    return DriverColumn(name, "VARCHAR", str)  # other types: the server's text


PG_QUERY_AS_TEXT = (26, 600, *PG_GEOMETRIC)
"""oid, point and the geometric types: the scanner reads them as text from a `query:` (it
types a query's columns from its result, not from the catalog), and so does the driver."""


def postgres_columns(
    description: Sequence[Any], catalog: Catalog | None = None, *, query: bool = False
) -> list[DriverColumn]:
    """The columns of a psycopg2 result (with what the table's catalog adds); `query`: the
    result of a `query:` source (arrays of enums come as text from psycopg2 there)."""
    catalog = catalog or Catalog()
    columns = []
    for column in description:
        oid = int(column.type_code)
        if oid in catalog.text_arrays:
            columns.append(DriverColumn(column.name, "VARCHAR[]", _each(str)))
            continue
        if query and oid in PG_QUERY_AS_TEXT:
            columns.append(DriverColumn(column.name, "VARCHAR", str))
            continue
        numeric = oid == PG_NUMERIC
        if numeric and column.precision is not None:
            modifier: int | None = (column.precision << 16) | (column.scale or 0)
        elif numeric:
            modifier = None
        else:  # an array's modifier (numeric(5,2)[]) is in internal_size
            size = column.internal_size
            modifier = size if PG_ARRAYS.get(oid) == PG_NUMERIC and size and size > 0 else None
        depth = catalog.dims.get(column.name, 1)
        columns.append(postgres_column(column.name, oid, modifier, depth))
    return columns


def postgres_enum_arrays_sql() -> str:
    """The OIDs of the array types of every enum in the database."""
    query = (
        exp.select(exp.cast(exp.column("typarray"), "BIGINT"))
        .from_(exp.table_("pg_type", db="pg_catalog"))
        .where(exp.column("typtype").eq(exp.Literal.string("e")))
    )
    return query.sql("postgres")


def postgres_dims_sql(table: str | None, schema: str | None) -> str:
    """The columns of a table declared as arrays of more than one dimension, and how many."""
    relation = exp.table_(table or "", db=schema, quoted=True).sql("postgres")
    attribute = exp.table_("pg_attribute", db="pg_catalog", alias="a")
    query = (
        exp.select(exp.column("attname", "a"), exp.column("attndims", "a"))
        .from_(attribute)
        .where(
            exp.and_(
                exp.column("attrelid", "a").eq(
                    exp.cast(exp.Literal.string(relation), exp.DataType.build("regclass", udt=True))
                ),
                exp.column("attnum", "a") > exp.Literal.number(0),
                exp.not_(exp.column("attisdropped", "a")),
                exp.column("attndims", "a") > exp.Literal.number(1),
            )
        )
    )
    return query.sql("postgres")


def register_postgres_text(dbapi_connection: Any, text_arrays: Sequence[int] = ()) -> None:
    """Ask psycopg2, on this connection only, for the server's text of `PG_AS_TEXT` types
    (and of arrays of them), and for lists of text of `text_arrays` (arrays of enums)."""
    import psycopg2.extensions as ext

    if text_arrays:
        strings = ext.new_array_type(tuple(text_arrays), "RECIPEC_TEXTS", ext.UNICODE)
        ext.register_type(strings, dbapi_connection)

    def text(value: str | None, cursor: Any) -> str | None:
        return value

    scalar = ext.new_type(PG_AS_TEXT, "RECIPEC_TEXT", text)
    ext.register_type(scalar, dbapi_connection)
    arrays = tuple(oid for oid, element in PG_ARRAYS.items() if element in PG_AS_TEXT)
    ext.register_type(ext.new_array_type(arrays, "RECIPEC_TEXT[]", scalar), dbapi_connection)


def postgres_typeof_sql(relation: exp.Expr, names: Sequence[str]) -> str:
    """One row with the type OID of each named column of `relation` (a table, or a query as a
    subquery), read without reading a row: `pg_typeof` of the NULLs of an empty join."""
    source = exp.alias_(relation, "_recipec_q", table=True)
    typed = [
        exp.alias_(
            exp.cast(
                exp.cast(
                    exp.func("pg_typeof", exp.column(n, "_recipec_q", quoted=True)),
                    exp.DataType.build("oid", udt=True),
                ),
                "BIGINT",
            ),
            exp.to_identifier(n, quoted=True),
        )
        for n in names
    ]
    one = exp.select(exp.Literal.number(1)).subquery("_recipec_one")
    query = exp.select(*typed).from_(one).join(source, on=exp.false(), join_type="LEFT")
    return query.sql("postgres")


def postgres_type_names_sql(oids: Sequence[int]) -> str:
    """(oid, is a domain, the type's name) for these type OIDs, a domain named by its base type
    (`numeric(10,2)`)."""
    domain = exp.column("typtype").eq(exp.Literal.string("d"))
    name = exp.Case(
        ifs=[
            exp.If(
                this=domain,
                true=exp.func("format_type", exp.column("typbasetype"), exp.column("typtypmod")),
            )
        ],
        default=exp.func("format_type", exp.column("oid"), exp.null()),
    )
    query = (
        exp.select(exp.cast(exp.column("oid"), "BIGINT"), domain, name)
        .from_(exp.table_("pg_type", db="pg_catalog"))
        .where(exp.column("oid").isin(*(exp.Literal.number(o) for o in oids)))
    )
    return query.sql("postgres")


def is_postgres_json(source_type: str) -> bool:
    """Whether a Postgres type (as `format_type` names it) is json or jsonb, or an array of them:
    the scanner reads those as VARCHAR, which both paths cast to JSON."""
    return source_type.removesuffix("[]") in ("json", "jsonb")


# -- MySQL / MariaDB ------------------------------------------------------------------------------

_MY_INTEGERS = {1: "TINYINT", 2: "SMALLINT", 3: "INTEGER", 8: "BIGINT", 9: "INTEGER"}
_MY_SIMPLE = {
    4: "FLOAT", 5: "DOUBLE", 10: "DATE", 14: "DATE", 7: "TIMESTAMP", 12: "TIMESTAMP",
    13: "INTEGER",
}  # fmt: skip
_MY_STRINGS = (15, 245, 247, 248, 249, 250, 251, 252, 253, 254)
_MY_DECIMALS = (0, 246)
_MY_TIME = 11
_MY_BIT = 16
_UNSIGNED, _BINARY_CHARSET = 32, 63


def _mysql_time(value: Any) -> str:
    """A TIME (a signed duration up to 838:59:59) as the mysql scanner writes it."""
    if not isinstance(value, dt.timedelta):
        return str(value)
    micros = (value.days * 86_400 + value.seconds) * 10**6 + value.microseconds
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    seconds, fraction = divmod(micros, 10**6)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{sign}{hour:02d}:{minute:02d}:{second:02d}"
    return text + ("." + f"{fraction:06d}".rstrip("0") if fraction else "")


def _bits_true(value: Any) -> bool:
    return int.from_bytes(value, "big") != 0 if isinstance(value, bytes) else bool(value)


def _mysql_decimal(length: int, scale: int, unsigned: bool) -> tuple[str, Convert | None]:
    precision = length - (1 if scale else 0) - (0 if unsigned else 1)
    if precision > MAX_DECIMAL_PRECISION or precision < 1:
        return "DOUBLE", float
    return f"DECIMAL({precision},{scale})", None


def mysql_column(
    name: str, code: int, length: int, scale: int, flags: int, charset: int
) -> DriverColumn:
    """A PyMySQL result field as the mysql scanner types it (TINYINT(1) and BIT(1): BOOLEAN)."""
    unsigned = bool(flags & _UNSIGNED)
    if code == 1 and length == 1:
        return DriverColumn(name, "BOOLEAN", bool)
    if code in _MY_INTEGERS:
        return DriverColumn(name, ("U" if unsigned else "") + _MY_INTEGERS[code])
    if code in _MY_DECIMALS:
        duck, convert = _mysql_decimal(length, scale, unsigned)
        return DriverColumn(name, duck, convert)
    if code in _MY_SIMPLE:
        return DriverColumn(name, _MY_SIMPLE[code])
    if code == _MY_TIME:
        return DriverColumn(name, "VARCHAR", _mysql_time)
    if code == _MY_BIT and length == 1:
        return DriverColumn(name, "BOOLEAN", _bits_true)
    if code == _MY_BIT:
        return DriverColumn(name, "BLOB", bytes)
    if code in _MY_STRINGS and charset == _BINARY_CHARSET and code != 245:
        return DriverColumn(name, "BLOB", bytes)
    return DriverColumn(name, "VARCHAR", _text)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def mysql_columns(cursor: Any) -> list[DriverColumn]:
    """The columns of a PyMySQL cursor's result (its fields carry the flags and character set
    the DB-API description leaves out)."""
    result = getattr(cursor, "_result", None)
    fields = getattr(result, "fields", None)
    if fields:
        return [
            mysql_column(f.name, f.type_code, f.length, f.scale, f.flags, f.charsetnr)
            for f in fields
        ]
    return [mysql_column(d[0], d[1], d[3] or 0, d[5] or 0, 0, 0) for d in cursor.description or []]


def has_json_checks(version: str) -> bool:
    """Whether a server is MariaDB 10.2 or later, whose JSON columns are LONGTEXT with a CHECK
    constraint listed in `information_schema.CHECK_CONSTRAINTS` (older ones have neither)."""
    match = re.match(r"^(?:5\.5\.5-)?(\d+)\.(\d+)", version)
    major_minor = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return "mariadb" in version.lower() and major_minor >= (10, 2)


def mysql_json_sql(table: str | None, schema: str | None, *, mariadb: bool) -> str:
    """The JSON columns of a MySQL table. MariaDB's JSON is LONGTEXT with a `json_valid(col)`
    CHECK constraint named after the column; MySQL's has its own DATA_TYPE."""
    column = exp.column("COLUMN_NAME", "c")
    where = exp.and_(
        exp.column("TABLE_SCHEMA", "c").eq(
            exp.Literal.string(schema) if schema else exp.func("DATABASE")
        ),
        exp.column("TABLE_NAME", "c").eq(exp.Literal.string(table or "")),
    )
    is_json: exp.Expr = exp.column("DATA_TYPE", "c").eq(exp.Literal.string("json"))
    if mariadb:
        checks = (
            exp.select(exp.column("CONSTRAINT_NAME", "k"))
            .from_(exp.table_("CHECK_CONSTRAINTS", db="information_schema", alias="k"))
            .where(
                exp.and_(
                    exp.column("CONSTRAINT_SCHEMA", "k").eq(exp.column("TABLE_SCHEMA", "c")),
                    exp.column("TABLE_NAME", "k").eq(exp.column("TABLE_NAME", "c")),
                    exp.column("CHECK_CLAUSE", "k").eq(
                        exp.func(
                            "CONCAT",
                            exp.Literal.string("json_valid(`"),
                            column.copy(),
                            exp.Literal.string("`)"),
                        )
                    ),
                )
            )
        )
        is_json = exp.or_(is_json, exp.Exists(this=checks))
    query = (
        exp.select(column)
        .from_(exp.table_("COLUMNS", db="information_schema", alias="c"))
        .where(exp.and_(where, is_json))
    )
    return query.sql("mysql")


def table_parts(table: str | None) -> tuple[str | None, str | None]:
    """(schema, table) of a source's `table:` key."""
    if not table:
        return None, None
    parsed = table_expression(table)
    return (parsed.db or None), parsed.name


# -- Arrow ------------------------------------------------------------------------------------

_ARROW = {
    "BOOLEAN": "bool_", "TINYINT": "int8", "SMALLINT": "int16", "INTEGER": "int32",
    "BIGINT": "int64", "UTINYINT": "uint8", "USMALLINT": "uint16", "UINTEGER": "uint32",
    "UBIGINT": "uint64", "FLOAT": "float32", "DOUBLE": "float64", "VARCHAR": "string",
    "JSON": "string", "UUID": "string", "TIME WITH TIME ZONE": "string", "BLOB": "binary",
    "DATE": "date32", "INTERVAL": "month_day_nano_interval",
}  # fmt: skip
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")


def arrow_type(duckdb_type: str) -> Any:
    """The Arrow type a column is staged as (then cast to `duckdb_type`)."""
    import pyarrow as pa

    if duckdb_type.endswith("[]"):
        return pa.list_(arrow_type(duckdb_type[:-2]))
    match = _DECIMAL.match(duckdb_type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    if duckdb_type == "TIME":
        return pa.time64("us")
    if duckdb_type == "TIMESTAMP":
        return pa.timestamp("us")
    if duckdb_type == "TIMESTAMP WITH TIME ZONE":
        return pa.timestamp("us", tz="UTC")
    if duckdb_type == _POINT:
        return pa.struct([("x", pa.float64()), ("y", pa.float64())])
    return getattr(pa, _ARROW.get(duckdb_type, "string"))()


def _each(convert: Convert) -> Convert:
    def each(values: Any) -> Any:
        if not isinstance(values, list):
            return values  # a multi-dimensional value where one dimension is declared
        return [None if v is None else convert(v) for v in values]

    return each


def to_arrow(columns: Sequence[DriverColumn], rows: Sequence[Sequence[Any]]) -> Any:
    """The rows as an Arrow table of the columns' types, each field naming its DuckDB type."""
    import pyarrow as pa

    arrays, fields = [], []
    for index, column in enumerate(columns):
        convert = column.convert
        values = [row[index] for row in rows]
        if convert is not None:
            values = [None if v is None else convert(v) for v in values]
        target = arrow_type(column.duckdb_type)
        try:
            arrays.append(pa.array(values, type=target))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            raise _unreadable(column, values, exc) from None
        metadata = {TYPE_KEY: column.duckdb_type.encode()}
        fields.append(pa.field(column.name, target, metadata=metadata))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _unreadable(column: DriverColumn, values: list[Any], exc: BaseException) -> ConnectorError:
    hint = ""
    if column.duckdb_type.endswith("[]") and any(
        isinstance(v, list) and any(isinstance(e, list) for e in v) for v in values
    ):
        hint = (
            " (a multi-dimensional array in a column declared with fewer dimensions: read it "
            "with a `query:` that casts it to text)"
        )
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ConnectorError(
        f"column {column.name!r} ({column.duckdb_type}): a value cannot be read as that type"
        f"{hint}: {message}"
    )


def declared_types(schema: Any) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a driver batch's columns, from their field metadata."""
    return [
        (f.name, f.metadata[TYPE_KEY].decode())
        for f in schema
        if f.metadata and TYPE_KEY in f.metadata
    ]
