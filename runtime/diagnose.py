"""Explain a failed cast: which step, column and value did not fit, and where it was read."""

from __future__ import annotations

from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec.compiler.plan import Plan
from recipec.compiler.types import parse_type
from recipec.runtime.binding import input_query
from recipec.runtime.engine import execute

FILE = "_recipec_file"
ROW = "_recipec_row"


def explain_cast_failure(
    connection: duckdb.DuckDBPyConnection, plan: Plan, stage_sql: str, values: dict[str, Any]
) -> str | None:
    """The first value that does not fit a `cast` step, described for a person; or None.

    Runs after the failed transaction was rolled back, single-threaded so that rows are numbered
    in file order.
    """
    create = sqlglot.parse_one(stage_sql, read="duckdb")
    with_file = _with_file_names(create.copy())
    threads = connection.execute("SELECT current_setting('threads')").fetchone()
    connection.execute("SET threads = 1")
    try:
        for step in plan.transforms:
            if step.type != "cast":
                continue
            for column, type_name in step.config.get("columns", {}).items():
                found = _first_misfit(
                    connection, with_file, create, step.index, column, type_name, values
                )
                if found:
                    where = f"{found[0]}, data row {found[1]}" if found[0] else f"row {found[1]}"
                    return (
                        f"transform[{step.index}] cast ({step.origin}): value {found[2]!r} in "
                        f"column '{column}' ({where}) does not fit {type_name}"
                    )
    finally:
        connection.execute(f"SET threads = {int(threads[0]) if threads else 1}")
    return None


def _with_file_names(create: exp.Expr) -> exp.Expr | None:
    """The stage with each source row's file name, and without the incremental predicate."""
    for cte in create.find_all(exp.CTE):
        if cte.alias == "_recipec_source":
            source = cte.this
            source.set("where", None)
            source.select(exp.alias_(exp.column("filename"), FILE), copy=False)
            return create
    return None


def _first_misfit(
    connection: duckdb.DuckDBPyConnection,
    with_file: exp.Expr | None,
    create: exp.Expr,
    step_index: int,
    column: str,
    type_name: str,
    values: dict[str, Any],
) -> tuple[str | None, int, str] | None:
    target = parse_type(type_name).to_datatype()
    value = exp.column(column, quoted=True)
    for statement, has_file in ((with_file, True), (create, False)):
        if statement is None:
            continue
        partition = [exp.column(FILE)] if has_file else []
        numbered = exp.select(
            exp.column(FILE) if has_file else exp.null().as_(FILE),
            exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=partition), ROW),
            value,
        ).from_(input_query(statement, step_index).subquery("_recipec_input"))
        failing = (
            exp.select(FILE, ROW, exp.cast(value, "VARCHAR"))
            .from_(numbered.subquery("_recipec_numbered"))
            .where(
                exp.and_(
                    value.is_(exp.null()).not_(),
                    exp.TryCast(this=value, to=target).is_(exp.null()),
                )
            )
            .order_by(FILE, ROW)
            .limit(1)
        )
        try:
            row = execute(connection, failing.sql("duckdb"), values).fetchone()
        except duckdb.Error:
            continue  # e.g. a source without file names: try plain row numbers
        if row:
            return (_relative(row[0]) if row[0] else None, int(row[1]), str(row[2]))
    return None


def _relative(path: str) -> str:
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
