"""Transform steps in other SQL dialects.

A step's SQL in the plan is DuckDB's and selects `*` with DuckDB's star modifiers (`* EXCLUDE`,
`* REPLACE`, `* RENAME`), so it compiles without the input's columns. Once they are known (the
type checker's `output_schema`), sqlglot's qualifier expands the stars into explicit columns and
the step transpiles to any dialect sqlglot writes: `QUALIFY` becomes a filtered subquery where a
dialect has none, and a salt read from a DuckDB variable becomes a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify

from recipec.compiler.plan import Column, TransformStep, Unit
from recipec.errors import UsageError


def step_sql(step: TransformStep, columns: Sequence[Column], dialect: str) -> str:
    """One step's SELECT over `input` in `dialect`, its stars expanded against `columns`."""
    query = sqlglot.parse_one(step.sql, read="duckdb")
    query = qualify(
        query,
        schema={"input": {c.name: c.type for c in columns}},
        dialect="duckdb",
        quote_identifiers=True,
    )
    if dialect != "duckdb":  # a run-time parameter, in the dialect's own placeholder style
        query = query.transform(
            lambda node: (
                exp.Placeholder(this=node.expressions[0].name)
                if isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable"
                else node
            )
        )
    return query.sql(dialect=dialect, pretty=True)


def transforms_in(plan: Unit, dialect: str) -> list[tuple[TransformStep, str | None]]:
    """Each transform step of the plan in `dialect`; None for a Python step (no SQL)."""
    try:
        sqlglot.Dialect.get_or_raise(dialect)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    columns = plan.extract.output_schema
    if columns is None:
        raise UsageError(
            "the steps need the source's columns to be written in another dialect: declare a "
            "schema:, lock it, use --introspect, or compile where the source files are"
        )
    out: list[tuple[TransformStep, str | None]] = []
    for step in plan.transforms:
        if step.runs_in_python or step.output_schema is None:
            out.append((step, None))
            if step.output_schema is None:
                break
        else:
            try:
                out.append((step, step_sql(step, columns, dialect)))
            except SqlglotError as exc:
                raise UsageError(f"transform[{step.index}] {step.type}: {exc}") from None
        columns = step.output_schema
    return out
