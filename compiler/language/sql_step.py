"""The `sql` transform: one SELECT over `{input}`, written in DuckDB SQL or another dialect.

    - type: sql
      query: "SELECT *, amount * 1.2 AS gross FROM {input}"
      dialect: postgres            # optional; transpiled to DuckDB by sqlglot
      columns: {gross: decimal}    # optional: types sqlglot cannot derive

The query is parsed and checked when the recipe is validated (one SELECT, reading `{input}`
only). Its output columns come from sqlglot's optimizer (star expansion, type annotation)
over the input's columns; a column whose type it cannot derive must be declared.
"""

from __future__ import annotations

import functools
from typing import Literal

import sqlglot
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects
from sqlglot.errors import OptimizeError, ParseError, SqlglotError

from recipec.compiler.frontend.models import ColumnName, StepConfig, TypeName
from recipec.compiler.semantic.types import scratch_duckdb
from recipec.errors import did_you_mean
from recipec.registry import register_transform

INPUT = "{input}"
_PLACEHOLDER = "__recipec_input__"
Columns = list[tuple[str, str]]


class SqlStep(StepConfig):
    type: Literal["sql"]
    dialect: str = "duckdb"
    """The dialect the query is written in (sqlglot's names: postgres, snowflake, ...)."""
    query: str
    """One SELECT reading `{input}`."""
    columns: dict[ColumnName, TypeName] = {}
    """Output column -> type: checked against the types the query gives."""

    @field_validator("dialect")
    @classmethod
    def _known_dialect(cls, dialect: str) -> str:
        try:
            Dialect.get_or_raise(dialect)
        except ValueError:
            raise PydanticCustomError(
                "sql_step",
                "unknown SQL dialect '{dialect}'",
                {
                    "dialect": dialect,
                    "hint": did_you_mean(dialect, [d.value for d in Dialects if d.value]),
                },
            ) from None
        return dialect

    @field_validator("query")
    @classmethod
    def _one_select(cls, query: str, info: ValidationInfo) -> str:
        _parse(query, info.data.get("dialect", "duckdb"))
        return query

    def expressions(self) -> dict[str, str]:
        return {}

    def carried_from(self, column: str) -> str | None:
        return None  # the query may change any value: no key passes through it for certain

    def output_columns(self, columns: Columns) -> Columns:
        """The query's columns as DuckDB types them, over an empty table of the input's
        columns: exact, where sqlglot's type annotation only approximates. A declared type
        must match."""
        _qualified(self, columns)  # unknown columns: an error that names them
        out = _describe(sql_step(self, exp.to_table(_PLACEHOLDER)), columns)
        for name, type_name in out:
            declared = self.columns.get(name)
            if declared is not None and declared.duckdb_name() != type_name:
                raise LookupError(
                    f"column '{name}' is declared {declared} but the query gives {type_name}"
                )
        unknown = set(self.columns) - {name for name, _ in out}
        if unknown:
            raise LookupError(f"declared columns not in the query's output: {sorted(unknown)}")
        return out


def _describe(query: exp.Select, columns: Columns) -> Columns:
    """DESCRIBE `query` in a scratch DuckDB, reading an empty table with `columns`."""
    import duckdb

    table = exp.Schema(
        this=exp.to_table(_PLACEHOLDER),
        expressions=[
            exp.ColumnDef(
                this=exp.to_identifier(name, quoted=True),
                kind=exp.DataType.build(t, dialect="duckdb"),
            )
            for name, t in columns
        ],
    )
    create = exp.Create(
        this=table,
        kind="TABLE",
        replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    )
    try:
        with scratch_duckdb() as connection:
            connection.execute(create.sql("duckdb"))
            rows = connection.execute("DESCRIBE " + query.sql("duckdb")).fetchall()
    except duckdb.Error as exc:
        raise LookupError(f"DuckDB cannot run the query: {str(exc).splitlines()[0]}") from None
    return [(str(row[0]), str(row[1])) for row in rows]


@functools.lru_cache(maxsize=256)
def _parse(query: str, dialect: str) -> exp.Select:
    """The query as a DuckDB-ready tree reading the placeholder table; a located error else."""
    if INPUT not in query:
        raise PydanticCustomError(
            "sql_step", "the query must read {marker} (the step's input)", {"marker": INPUT}
        )
    try:
        statements = sqlglot.parse(query.replace(INPUT, _PLACEHOLDER), read=dialect)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        raise PydanticCustomError(
            "sql_step",
            "the query does not parse as {dialect} SQL{where}: {error}",
            {"dialect": dialect, "where": where, "error": str(first.get("description", exc))},
        ) from None
    except (SqlglotError, ValueError) as exc:
        raise PydanticCustomError("sql_step", "{error}", {"error": str(exc)}) from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise PydanticCustomError(
            "sql_step", "the query must be exactly one SELECT (no other statements)"
        )
    select = statements[0]
    ctes = {cte.alias for cte in select.find_all(exp.CTE)}
    for table in select.find_all(exp.Table):
        if table.name != _PLACEHOLDER and table.name not in ctes:
            raise PydanticCustomError(
                "sql_step",
                "the query may read only {marker}, not '{table}'",
                {"marker": INPUT, "table": table.sql(dialect)},
            )
    if any(True for _ in select.find_all(exp.Placeholder)):
        raise PydanticCustomError("sql_step", "the query may not use parameters")
    return select


def _qualified(step: SqlStep, columns: Columns) -> exp.Select:
    """The query with its columns resolved against the input's: a column it reads that the
    input lacks is an error that names it. (sqlglot's optimizer loads only when needed.)"""
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    schema = MappingSchema({_PLACEHOLDER: dict(columns)}, dialect="duckdb")
    try:
        query = qualify(
            _parse(step.query, step.dialect).copy(),
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        raise LookupError(f"the query does not fit its input: {exc}") from None
    return query  # type: ignore[return-value]


@register_transform("sql", config=SqlStep)
def sql_step(step: SqlStep, relation: exp.Expression) -> exp.Select:
    """One SELECT over `{input}`, in DuckDB SQL or another dialect.

    The query reads the previous step where it reads `{input}`."""
    query = _parse(step.query, step.dialect).copy()
    for table in list(query.find_all(exp.Table)):
        if table.name == _PLACEHOLDER:
            replacement = relation.copy()
            if table.alias:
                replacement.set("alias", exp.TableAlias(this=exp.to_identifier(table.alias)))
            table.replace(replacement)
    return query
