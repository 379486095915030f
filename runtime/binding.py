"""Bind a plan's statements to the staged data, whose columns are known only at run time.

Three things wait for the data: `*` in a MERGE becomes the staged columns by name; a `datetime`
cast becomes TIMESTAMPTZ when the input carries a zone; and a table gains columns the source
added. Each rewrite works on the sqlglot AST of the plan's statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec.compiler.plan import TransformStep
from recipec.runtime.engine import execute

ZONE_PATTERN = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)\s*$"
"""A time of day followed by a UTC offset or `Z`."""


def _parse(statement: str) -> exp.Expression:
    return sqlglot.parse_one(statement, read="duckdb")


def _sql(expression: exp.Expression) -> str:
    return expression.sql(dialect="duckdb")


def expand_merge(statement: str, columns: Iterable[str], keys: Iterable[str]) -> str:
    """`UPDATE SET *` / `INSERT *` -> explicit column lists, matched by name."""
    merge = _parse(statement)
    names = list(columns)
    key_set = set(keys)
    source = merge.args["using"].alias_or_name
    for when in merge.find_all(exp.When):
        action = when.args["then"]
        if isinstance(action, exp.Update) and any(
            isinstance(e, exp.Star) for e in action.expressions
        ):
            action.set(
                "expressions",
                [
                    exp.EQ(
                        this=exp.column(c, quoted=True),
                        expression=exp.column(c, table=source, quoted=True),
                    )
                    for c in names
                    if c not in key_set
                ]
                or [
                    exp.EQ(
                        this=exp.column(c, quoted=True),
                        expression=exp.column(c, table=source, quoted=True),
                    )
                    for c in names
                ],
            )
        elif isinstance(action, exp.Insert) and isinstance(action.this, exp.Star):
            action.set("this", exp.Tuple(expressions=[exp.column(c, quoted=True) for c in names]))
            action.set(
                "expression",
                exp.Tuple(expressions=[exp.column(c, table=source, quoted=True) for c in names]),
            )
    return _sql(merge)


def input_query(create: exp.Expression, step_index: int) -> exp.Select:
    """`WITH ... SELECT * FROM <input of step N>` from the stage statement."""
    query = create.expression
    with_ = query.args.get("with_") or query.args.get("with")
    name = "_recipec_source" if step_index == 0 else f"_recipec_step_{step_index - 1}"
    select = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(name, quoted=True)))
    select.set("with_" if "with_" in query.args else "with", with_.copy())
    return select


def widen_zones(
    connection: duckdb.DuckDBPyConnection,
    stage_sql: str,
    transforms: Iterable[TransformStep],
    values: dict[str, Any],
) -> tuple[str, list[str]]:
    """Cast `datetime` columns to TIMESTAMPTZ where the input carries a zone.

    The input's type decides: TIMESTAMPTZ stays TIMESTAMPTZ; text is scanned for an offset (the
    one case that reads the data twice). Returns the statement and the columns widened.
    """
    create = _parse(stage_sql)
    widened: list[str] = []
    for step in transforms:
        if not step.zone_sensitive:
            continue
        probe = input_query(create, step.index)
        types = dict(
            (row[0], row[1])
            for row in execute(connection, "DESCRIBE " + _sql(probe), values).fetchall()
        )
        for column in step.zone_sensitive:
            input_type = types.get(column, "")
            if input_type == "TIMESTAMP WITH TIME ZONE" or (
                input_type == "VARCHAR" and _text_has_zone(connection, probe, column, values)
            ):
                _retype(create, step.index, column)
                widened.append(column)
    return _sql(create), widened


def _text_has_zone(
    connection: duckdb.DuckDBPyConnection, probe: exp.Select, column: str, values: dict[str, Any]
) -> bool:
    check = probe.copy()
    check.set(
        "expressions",
        [
            exp.func(
                "bool_or",
                exp.func(
                    "regexp_matches",
                    exp.column(column, quoted=True),
                    exp.Literal.string(ZONE_PATTERN),
                ),
            )
        ],
    )
    row = execute(connection, _sql(check), values).fetchone()
    return bool(row and row[0])


def _retype(create: exp.Expression, step_index: int, column: str) -> None:
    cte_name = f"_recipec_step_{step_index}"
    for cte in create.find_all(exp.CTE):
        if cte.alias != cte_name:
            continue
        for cast in cte.find_all(exp.Cast):
            alias = cast.parent
            if isinstance(alias, exp.Alias) and alias.alias == column:
                cast.set("to", exp.DataType.build("TIMESTAMPTZ"))


def new_columns(
    connection: duckdb.DuckDBPyConnection, table: str, staged: list[tuple[str, str]]
) -> list[str]:
    """`ALTER TABLE ... ADD COLUMN` for staged columns the table does not have yet."""
    target = sqlglot.parse_one(table, into=exp.Table, dialect="duckdb")
    existing = {row[0].lower() for row in connection.execute(f"DESCRIBE {_sql(target)}").fetchall()}
    statements = []
    for name, type_name in staged:
        if name.lower() in existing:
            continue
        statements.append(
            _sql(
                exp.Alter(
                    this=target.copy(),
                    kind="TABLE",
                    actions=[
                        exp.ColumnDef(
                            this=exp.to_identifier(name, quoted=True),
                            kind=exp.DataType.build(type_name, dialect="duckdb"),
                        )
                    ],
                )
            )
        )
    return statements
