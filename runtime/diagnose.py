"""Explain a failed cast: which step, column and value did not fit, and where it was read."""

from __future__ import annotations

from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec.compiler.plan import Unit
from recipec.compiler.semantic.types import parse_type
from recipec.runtime.binding import input_query
from recipec.runtime.engine import execute

FILE = "_recipec_file"
ROW = "_recipec_row"


def explain_cast_failure(
    connection: duckdb.DuckDBPyConnection, unit: Unit, stage_sql: str, values: dict[str, Any]
) -> str | None:
    """The first value that does not fit a `cast` step, described for a person; or None.

    Runs after the failed transaction was rolled back, single-threaded so that rows are numbered
    in file order.
    """
    numbered = _numbered(sqlglot.parse_one(stage_sql, read="duckdb"))
    keys = _keys(unit)
    threads = connection.execute("SELECT current_setting('threads')").fetchone()
    connection.execute("SET threads = 1")
    try:
        for step in unit.transforms:
            if step.type != "cast":
                continue
            for column, type_name in step.config.get("columns", {}).items():
                found = _first_misfit(
                    connection, numbered, step.index, column, type_name, values, keys
                )
                if found:
                    where = _where(*found[:2], found[3])
                    return (
                        f"transform[{step.index}] cast ({step.origin}): value {found[2]!r} in "
                        f"column '{column}' ({where}) does not fit {type_name}"
                    )
    finally:
        connection.execute(f"SET threads = {int(threads[0]) if threads else 1}")
    return None


def _keys(unit: Unit) -> list[str]:
    """Columns that name a row of a database source: the merge keys, then the cursor."""
    keys = list(unit.write.merge_keys)
    incremental = unit.extract.incremental
    if incremental and incremental.cursor_column and incremental.cursor_column not in keys:
        keys.append(incremental.cursor_column)
    return keys


def _where(file: str | None, row: int, keys: dict[str, str]) -> str:
    """A file's data row, or a database row by its key values (a scan position is no use)."""
    if file:
        return f"{file}, data row {row}"
    if keys:
        return ", ".join(f"{name}={value}" for name, value in keys.items())
    return f"row {row}"


def _numbered(create: exp.Expr) -> exp.Expr:
    """The stage with each source row's file and its row number in that file (before the
    incremental predicate, so the number is the data row in the file)."""
    numbered = create.copy()
    for cte in numbered.find_all(exp.CTE):
        if cte.alias != "_recipec_source":
            continue
        read = cte.this
        relation = read.find(exp.From).this
        function = relation.this if isinstance(relation, exp.Table) else relation
        reads_files = isinstance(function, exp.Func)  # read_csv(...), not a staged table
        file_column: exp.Expr = exp.null()
        if reads_files:
            option = exp.EQ(this=exp.column("filename"), expression=exp.Literal.string(FILE))
            function.append("expressions", option)
            file_column = exp.column(FILE)
        inner = exp.select(
            exp.Star(),
            exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[file_column]), ROW),
        ).from_(relation)
        if not reads_files:
            inner = inner.select(exp.alias_(exp.null(), FILE))
        outer = exp.select(exp.Star()).from_(inner.subquery("_recipec_numbered"))
        if read.args.get("where"):
            outer.set("where", read.args["where"])
        cte.set("this", outer)
    return numbered


def _first_misfit(
    connection: duckdb.DuckDBPyConnection,
    numbered: exp.Expr,
    step_index: int,
    column: str,
    type_name: str,
    values: dict[str, Any],
    keys: list[str],
) -> tuple[str | None, int, str, dict[str, str]] | None:
    """The first value that does not fit: its file, row number, value and the row's keys
    (empty when the cast's input does not have them)."""
    if keys:
        try:
            return _misfit(connection, numbered, step_index, column, type_name, values, keys)
        except duckdb.Error:
            pass  # a key is not a column of the cast's input (renamed or computed later)
    try:
        return _misfit(connection, numbered, step_index, column, type_name, values, [])
    except duckdb.Error:
        return None


def _misfit(
    connection: duckdb.DuckDBPyConnection,
    numbered: exp.Expr,
    step_index: int,
    column: str,
    type_name: str,
    values: dict[str, Any],
    keys: list[str],
) -> tuple[str | None, int, str, dict[str, str]] | None:
    target = parse_type(type_name).to_datatype()
    value = exp.column(column, quoted=True)
    key_columns = [exp.cast(exp.column(key, quoted=True), "VARCHAR") for key in keys]
    failing = (
        exp.select(FILE, ROW, exp.cast(value, "VARCHAR"), *key_columns)
        .from_(input_query(numbered, step_index).subquery("_recipec_input"))
        .where(
            exp.and_(
                value.is_(exp.null()).not_(),
                exp.TryCast(this=value, to=target).is_(exp.null()),
            )
        )
        .order_by(FILE, ROW)
        .limit(1)
    )
    row = execute(connection, failing.sql("duckdb"), values).fetchone()
    if not row:
        return None
    found_keys = {key: str(v) for key, v in zip(keys, row[3:], strict=True)}
    return (_relative(row[0]) if row[0] else None, int(row[1]), str(row[2]), found_keys)


def _relative(path: str) -> str:
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
