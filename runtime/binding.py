"""Bind a plan's statements to the staged data, whose columns are known only at run time.

Some things wait for the data: each step's columns are checked against its input; a `datetime`
cast becomes TIMESTAMPTZ when the input carries a zone; `*` in a MERGE becomes the staged columns
by name; and a table gains columns the source added. Rewrites work on the sqlglot AST of the
plan's statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec.compiler.language.expressions import ExpressionError
from recipec.compiler.plan import READ, ROW_HASH, TransformStep, table_expression
from recipec.errors import TransformError
from recipec.registry import get_transform
from recipec.runtime.engine import execute
from recipec.transform_hooks import hooks

ZONE_PATTERN = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)\s*$"
"""A time of day followed by a UTC offset or `Z`."""


def _parse(statement: str) -> exp.Expr:
    return sqlglot.parse_one(statement, read="duckdb")


def _sql(expression: exp.Expr, dialect: str = "duckdb") -> str:
    return expression.sql(dialect=dialect)


def _quoted(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def bind_columns(statement: str, columns: Sequence[str], keys: Sequence[str], dialect: str) -> str:
    """Replace the `*` that stands for the staged columns with those columns, by name.

    `INSERT INTO t SELECT * FROM stage` names its columns (so column order never matters),
    `MERGE ... UPDATE SET * / INSERT *` lists them, and `ON CONFLICT DO UPDATE SET *` updates
    every column that is not a key.
    """
    tree = sqlglot.parse_one(statement, read=dialect)
    names = list(columns)
    non_keys = [c for c in names if c not in set(keys)] or names
    for insert in tree.find_all(exp.Insert):
        select = insert.expression
        if isinstance(select, exp.Select) and any(
            isinstance(e, exp.Star) for e in select.expressions
        ):
            insert.set(
                "this",
                exp.Schema(
                    this=insert.this, expressions=[exp.to_identifier(c, quoted=True) for c in names]
                ),
            )
            select.set("expressions", [_quoted(c) for c in names])
        conflict = insert.args.get("conflict")
        if conflict is not None and any(isinstance(e, exp.Star) for e in conflict.expressions):
            conflict.set(
                "expressions",
                [exp.EQ(this=_quoted(c), expression=_quoted(c, "excluded")) for c in non_keys],
            )
    for merge in tree.find_all(exp.Merge):
        source = merge.args["using"].alias_or_name
        for when in merge.find_all(exp.When):
            action = when.args["then"]
            if isinstance(action, exp.Update) and any(
                isinstance(e, exp.Star) for e in action.expressions
            ):
                action.set(
                    "expressions",
                    [exp.EQ(this=_quoted(c), expression=_quoted(c, source)) for c in non_keys],
                )
            elif isinstance(action, exp.Insert) and isinstance(action.this, exp.Star):
                action.set("this", exp.Tuple(expressions=[_quoted(c) for c in names]))
                action.set("expression", exp.Tuple(expressions=[_quoted(c, source) for c in names]))
    return tree.sql(dialect=dialect)


def input_query(create: exp.Expr, step_index: int) -> exp.Select:
    """`WITH <the steps before> SELECT * FROM <input of step N>` from the stage statement.

    The later steps are left out: they do not feed the input, and one may read a Python step's
    output that is not staged yet."""
    query = create.expression
    assert isinstance(query, exp.Query)
    name = "_recipec_source" if step_index == 0 else f"_recipec_step_{step_index - 1}"
    select = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(name, quoted=True)))
    for cte in query.ctes:
        select = select.with_(exp.to_identifier(cte.alias, quoted=True), as_=cte.this.copy())
        if cte.alias == name:
            break
    return select


@dataclass(frozen=True)
class BoundStage:
    sql: str
    widened: tuple[str, ...]
    """Columns cast to TIMESTAMPTZ because their values carry a zone."""


def read_from(
    stage_sql: str, table: str, types: Sequence[tuple[str, str]] = (), present: Sequence[str] = ()
) -> str:
    """The stage reading its source rows from `table` (rows a driver already filtered), the
    columns the source declared (introspected) cast back to their own types."""
    create = _parse(stage_sql)
    have = {name.lower() for name in present}
    casts = [
        exp.alias_(
            exp.cast(_quoted(name), exp.DataType.build(type_name, dialect="duckdb")),
            exp.to_identifier(name, quoted=True),
        )
        for name, type_name in types
        if name.lower() in have
    ]
    for cte in create.find_all(exp.CTE):
        if cte.alias == "_recipec_source":
            select = exp.select(exp.Star(replace=casts) if casts else exp.Star())
            cte.set("this", select.from_(exp.to_identifier(table, quoted=True)))
    return _sql(create)


def cast_source(stage_sql: str, casts: Sequence[tuple[str, str]]) -> str:
    """The stage with the columns its source read returns cast to these DuckDB types (a
    scanner's VARCHAR that holds JSON, say), around the read so its filters still push down."""
    if not casts:
        return stage_sql
    create = _parse(stage_sql)
    replaced = [
        exp.alias_(
            exp.cast(_quoted(name), exp.DataType.build(type_name, dialect="duckdb")),
            exp.to_identifier(name, quoted=True),
        )
        for name, type_name in casts
    ]
    for cte in create.find_all(exp.CTE):
        if cte.alias == "_recipec_source":
            read = cte.this.subquery("_recipec_typed")
            cte.set("this", exp.select(exp.Star(replace=replaced)).from_(read))
    return _sql(create)


@dataclass(frozen=True)
class StreamedQuery:
    """The stage's SELECT streamed straight into a new table.

    A merge or scd2 batch keeps only the latest row per key (`QUALIFY ROW_NUMBER() ... = 1`).
    That window holds the whole batch in memory, so a streamed first load leaves it out and
    applies it to the new table only when the table turns out to hold a duplicate key: a
    source whose key is unique (the usual case) then streams in bounded memory.
    """

    sql: str
    dedup: str | None = None
    """The QUALIFY condition that was left out, or None."""

    def duplicates_sql(self, table: str, keys: Sequence[str]) -> str:
        """One row when `table` holds a key more than once."""
        grouped = (
            exp.select(exp.Literal.number(1))
            .from_(table_expression(table))
            .group_by(*[_quoted(k) for k in keys])
            .having("count(*) > 1")
            .limit(1)
        )
        return _sql(grouped)

    def dedup_sql(self, table: str) -> str:
        """Rewrite `table` keeping the rows the stage's QUALIFY keeps."""
        assert self.dedup is not None
        kept = exp.select(exp.Star()).from_(table_expression(table)).qualify(self.dedup)
        create = exp.Create(
            this=table_expression(table), kind="TABLE", replace=True, expression=kept
        )
        return _sql(create)


def stage_query(stage_sql: str) -> StreamedQuery:
    """The SELECT of the stage statement (what `CREATE ... "_recipec_stage" AS` would hold)."""
    query = _parse(stage_sql).expression
    qualify = query.args.get("qualify")
    if qualify is None:
        return StreamedQuery(_sql(query))
    query.set("qualify", None)
    return StreamedQuery(_sql(query), _sql(qualify.this))


def from_query(statement: str, query: str, dialect: str = "duckdb") -> str:
    """`statement` reading `query` where it read the staged table (streaming, not staging)."""
    tree = sqlglot.parse_one(statement, read=dialect)
    inner = sqlglot.parse_one(query, read="duckdb")
    assert isinstance(inner, exp.Query)
    for table in list(tree.find_all(exp.Table)):
        if table.name == "_recipec_stage" and not table.db:
            alias = table.alias or "_recipec_stage"
            table.replace(inner.copy().subquery(exp.to_identifier(alias, quoted=True)))
    return tree.sql(dialect=dialect)


def source_select(stage_sql: str) -> exp.Select:
    """The stage's read of the source (its `_recipec_source` CTE)."""
    for cte in _parse(stage_sql).find_all(exp.CTE):
        if cte.alias == "_recipec_source":
            return cte.this
    raise ValueError("the stage has no _recipec_source")


def split_read(stage_sql: str, read_sql: str) -> tuple[str, str]:
    """The plan's `read_sql` over the stage's bound read, and the stage reading what it staged
    instead (without the hash column it adds)."""
    create = _parse(stage_sql)
    read = _parse(read_sql)
    for cte in create.find_all(exp.CTE):
        if cte.alias != "_recipec_source":
            continue
        for table in list(read.find_all(exp.Table)):
            if table.name == "_recipec_source" and not table.db:
                table.replace(cte.this.copy().subquery(table.alias))
        staged = exp.Star(except_=[exp.column(ROW_HASH, quoted=True)])
        cte.set("this", exp.select(staged).from_(exp.to_identifier(READ, quoted=True)))
    return _sql(read), _sql(create)


def chunked(stage_sql: str, column: str, bounds: Sequence[tuple[int, int]]) -> str:
    """The stage reading its source as a UNION ALL of key ranges (DuckDB runs them in
    parallel)."""
    create = _parse(stage_sql)
    for cte in create.find_all(exp.CTE):
        if cte.alias != "_recipec_source":
            continue
        read = cte.this
        key = exp.column(column, quoted=True)
        parts = [
            read.copy().where(
                exp.and_(key >= exp.Literal.number(low), key < exp.Literal.number(high))
            )
            for low, high in bounds
        ]
        union = parts[0]
        for part in parts[1:]:
            union = exp.union(union, part, distinct=False)
        cte.set("this", union)
    return _sql(create)


def bind_stage(
    connection: duckdb.DuckDBPyConnection,
    stage_sql: str,
    transforms: Sequence[TransformStep],
    values: dict[str, Any],
    source_columns: Sequence[tuple[str, str]] | None = None,
) -> BoundStage:
    """Check each step against its input's columns and widen zoned `datetime` casts.

    The source is described once (DuckDB sniffs a sample; `source_columns` when the caller
    knows them already); the columns then flow through each
    step's `output_columns`. A step that names a missing column fails here, before any data
    moves, with a "did you mean". Steps without `output_columns` (plug-ins) end the checking.
    """
    create = _parse(stage_sql)
    if not transforms:
        return BoundStage(stage_sql, ())
    columns = list(source_columns or _describe(connection, input_query(create, 0), values))
    widened: list[str] = []
    for step in transforms:
        registration = get_transform(step.type)
        if registration is None:
            break
        config = registration.validate_config(step.config, f"transform[{step.index}]")
        types = {name.lower(): type_name for name, type_name in columns}
        for column in step.zone_sensitive:
            input_type = types.get(column.lower(), "")
            if input_type == "TIMESTAMP WITH TIME ZONE" or (
                input_type == "VARCHAR"
                and _text_has_zone(connection, input_query(create, step.index), column, values)
            ):
                _retype(create, step.index, column)
                widened.append(column)
        try:
            output = hooks(config).output_columns(columns)
        except (LookupError, ExpressionError) as exc:
            raise TransformError(
                f"transform[{step.index}] {step.type} ({step.origin}): {exc}",
                step=step.index,
            ) from None
        if output is None:
            break
        columns = output
        columns = [
            (name, "TIMESTAMP WITH TIME ZONE" if name in widened else type_name)
            for name, type_name in columns
        ]
    return BoundStage(_sql(create), tuple(widened))


def _describe(
    connection: duckdb.DuckDBPyConnection, query: exp.Select, values: dict[str, Any]
) -> list[tuple[str, str]]:
    return describe(connection, _sql(query), values)


def describe(
    connection: duckdb.DuckDBPyConnection, query: str, values: dict[str, Any]
) -> list[tuple[str, str]]:
    """A query's columns (name, DuckDB type), its parameters bound."""
    rows = execute(connection, "DESCRIBE " + query, values).fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


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


def _retype(create: exp.Expr, step_index: int, column: str) -> None:
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
    described = connection.execute(f"DESCRIBE {_sql(target)}").fetchall()
    existing = {row[0].lower() for row in described}
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
