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
    numbered = _numbered(sqlglot.parse_one(stage_sql, read="duckdb"))
    threads = connection.execute("SELECT current_setting('threads')").fetchone()
    connection.execute("SET threads = 1")
    try:
        for step in plan.transforms:
            if step.type != "cast":
                continue
            for column, type_name in step.config.get("columns", {}).items():
                found = _first_misfit(connection, numbered, step.index, column, type_name, values)
                if found:
                    where = f"{found[0]}, data row {found[1]}" if found[0] else f"row {found[1]}"
                    return (
                        f"transform[{step.index}] cast ({step.origin}): value {found[2]!r} in "
                        f"column '{column}' ({where}) does not fit {type_name}"
                    )
    finally:
        connection.execute(f"SET threads = {int(threads[0]) if threads else 1}")
    return None


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
) -> tuple[str | None, int, str] | None:
    target = parse_type(type_name).to_datatype()
    value = exp.column(column, quoted=True)
    failing = (
        exp.select(FILE, ROW, exp.cast(value, "VARCHAR"))
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
    try:
        row = execute(connection, failing.sql("duckdb"), values).fetchone()
    except duckdb.Error:
        return None
    if not row:
        return None
    return (_relative(row[0]) if row[0] else None, int(row[1]), str(row[2]))


def _relative(path: str) -> str:
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
