"""Explain a failed cast: which step, column, value and source row did not fit."""

from __future__ import annotations

from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec.compiler.plan import Plan
from recipec.compiler.types import parse_type
from recipec.runtime.binding import input_query
from recipec.runtime.engine import execute


def explain_cast_failure(
    connection: duckdb.DuckDBPyConnection, plan: Plan, stage_sql: str, values: dict[str, Any]
) -> str | None:
    """The first value that does not fit a `cast` step, described for a person; or None."""
    create = sqlglot.parse_one(stage_sql, read="duckdb")
    for step in plan.transforms:
        if step.type != "cast":
            continue
        for column, type_name in step.config.get("columns", {}).items():
            target = parse_type(type_name).to_datatype()
            probe = input_query(create, step.index)
            numbered = exp.select(
                exp.alias_(exp.Window(this=exp.RowNumber()), "_recipec_row"),
                exp.column(column, quoted=True),
            ).from_(probe.subquery("_recipec_input"))
            value = exp.column(column, quoted=True)
            failing = (
                exp.select("_recipec_row", exp.cast(value, "VARCHAR"))
                .from_(numbered.subquery("_recipec_numbered"))
                .where(
                    exp.and_(
                        value.is_(exp.null()).not_(),
                        exp.TryCast(this=value, to=target).is_(exp.null()),
                    )
                )
                .limit(1)
            )
            try:
                row = execute(connection, failing.sql("duckdb"), values).fetchone()
            except duckdb.Error:
                continue
            if row:
                return (
                    f"transform[{step.index}] cast ({step.origin}): value {row[1]!r} in column "
                    f"'{column}' (row {row[0]} of the source) does not fit {type_name}"
                )
    return None
