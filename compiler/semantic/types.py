"""Logical column types named in recipes, and their DuckDB (and other dialect) types.

>>> parse_type("integer")
LogicalType(name='int', precision=None, scale=None)
>>> parse_type("decimal(10, 2)").to_sql()
'DECIMAL(10, 2)'
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from recipec.errors import did_you_mean

CANONICAL = ("str", "int", "float", "bool", "date", "datetime", "datetimetz", "decimal")
ALIASES: dict[str, str] = {
    "str": "str", "string": "str", "text": "str", "varchar": "str",
    "int": "int", "integer": "int", "bigint": "int", "long": "int", "int64": "int",
    "float": "float", "double": "float", "float64": "float",
    "bool": "bool", "boolean": "bool",
    "date": "date",
    "datetime": "datetime", "timestamp": "datetime",
    "datetimetz": "datetimetz", "timestamptz": "datetimetz",
    "decimal": "decimal", "numeric": "decimal",
}  # fmt: skip
_DUCKDB: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "datetimetz": "TIMESTAMPTZ",
}
_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*$")


class TypeNameError(ValueError):
    """A type name that is not one of ours; `hint` carries a suggestion."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class LogicalType:
    """A recipe type: one of `CANONICAL`, with precision and scale for decimals."""

    name: str
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name == "decimal":
            return f"decimal({self.precision},{self.scale})"
        return self.name

    def to_datatype(self) -> exp.DataType:
        """The DuckDB type. `datetime` is TIMESTAMP; the runtime widens it to TIMESTAMPTZ when
        the input carries a zone (see `runtime.binding`)."""
        if self.name == "decimal":
            return exp.DataType(
                this=exp.DataType.Type.DECIMAL,
                expressions=[
                    exp.DataTypeParam(this=exp.Literal.number(self.precision)),
                    exp.DataTypeParam(this=exp.Literal.number(self.scale)),
                ],
            )
        return exp.DataType.build(_DUCKDB[self.name])

    def to_sql(self, dialect: str = "duckdb") -> str:
        return self.to_datatype().sql(dialect)

    def duckdb_name(self) -> str:
        """The type as DuckDB names it (DECIMAL(12,2)), as in a schema the compiler tracks."""
        return duckdb_spelling(self.to_sql())


def parse_type(text: str) -> LogicalType:
    """Parse a type name such as `int`, `timestamp` or `decimal(12,2)`."""
    match = _SPEC.match(str(text))
    name = match.group(1).lower() if match else str(text)
    canonical = ALIASES.get(name)
    if match is None or canonical is None:
        raise TypeNameError(
            f"unknown type '{text}'",
            did_you_mean(name, ALIASES) or f"use one of {', '.join(CANONICAL)}",
        )
    precision, scale = match.group(2), match.group(3)
    if canonical == "decimal":
        p = int(precision) if precision else 18
        s = int(scale) if scale else (0 if precision else 3)
        if not 1 <= p <= 38 or not 0 <= s <= p:
            raise TypeNameError(
                f"invalid decimal({p},{s})", "precision is 1 to 38 and scale is 0 to precision"
            )
        return LogicalType("decimal", p, s)
    if precision:
        raise TypeNameError(f"type '{name}' takes no parameters")
    return LogicalType(canonical)


@functools.lru_cache(maxsize=512)
def duckdb_spelling(type_sql: str) -> str:
    """A type as DuckDB itself names it (VARCHAR, DECIMAL(12,2)), as DESCRIBE reports columns,
    so types from different places compare equal."""
    import duckdb

    with scratch_duckdb() as connection:
        try:
            return str(connection.sql(f"SELECT CAST(NULL AS {type_sql})").types[0])
        except duckdb.Error:
            return type_sql


_SCRATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def scratch_duckdb() -> Iterator[Any]:
    """The compiler's one in-memory DuckDB, for questions only DuckDB answers exactly (how it
    names a type, what columns a file has): a new connection costs ~12 ms."""
    with _SCRATCH_LOCK:
        yield _scratch()


@functools.cache
def _scratch() -> Any:
    from recipec import duckdb_connection

    return duckdb_connection.connect()


def described_files(relation: str, path: str) -> tuple[tuple[str, str], ...] | None:
    """The columns of a DuckDB read of local files (`relation`, e.g. `READ_CSV('x/*.csv')`),
    sniffed once per process for files unchanged since: a compile and the run that follows it
    share the one sniff."""
    if "://" in path or "$" in relation:  # remote, or files chosen at run time
        return None
    files = tuple(sorted(glob.glob(path, recursive=True)))
    try:
        stamps = tuple((f, os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in files)
    except OSError:
        return None
    return _describe_files(relation, stamps) if files else None


@functools.lru_cache(maxsize=32)
def _describe_files(
    relation: str, stamps: tuple[tuple[str, int, int], ...]
) -> tuple[tuple[str, str], ...] | None:
    import duckdb

    try:
        with scratch_duckdb() as connection:
            rows = connection.execute(f"DESCRIBE SELECT * FROM {relation} LIMIT 0").fetchall()
    except duckdb.Error:
        return None
    return tuple((str(row[0]), str(row[1])) for row in rows)
