"""Built-in transforms, each lowered to one SELECT over its input relation with sqlglot.

A transform registers a config model and a lowering function `fn(step, relation) -> exp.Select`.
Steps select `*` with DuckDB's star modifiers, so a transform needs no knowledge of the input's
other columns and the plan compiles without touching the source. Config models may define
`output_name(column)` so the compiler can follow a column (the cursor) through the steps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlglot import exp

from recipec.compiler.frontend.models import (
    ColumnName,
    CursorValue,
    SecretSetting,
    StepConfig,
    TypeName,
)
from recipec.compiler.language import expressions
from recipec.compiler.semantic.types import LogicalType
from recipec.errors import did_you_mean
from recipec.registry import register_transform

Columns = list[tuple[str, str]]
"""A relation's columns: (name, DuckDB type)."""


class StepError(LookupError):
    """A step that does not fit its input; `key` is the path, inside the step, of what is
    wrong (`("columns", "total")`), or empty for the step as a whole."""

    def __init__(self, message: str, key: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.key = key


class MissingColumnError(StepError):
    """A step names columns its input does not have (the first is the message)."""

    def __init__(self, column: str | Sequence[str], available: Columns) -> None:
        self.columns = (column,) if isinstance(column, str) else tuple(column)
        self.available = available
        super().__init__(self.message(self.columns[0]))

    def message(self, column: str) -> str:
        """What is wrong with one of `columns`."""
        names = [name for name, _ in self.available]
        hint = did_you_mean(column, names)
        return f"no column '{column}' in its input" + (
            f"; {hint}" if hint else f" (columns: {', '.join(names)})"
        )

    def __str__(self) -> str:
        return "; ".join(self.message(column) for column in self.columns)


def _position(columns: Columns, name: str) -> int:
    """Where `name` is, matched as DuckDB matches identifiers (case-insensitively)."""
    for index, (existing, _) in enumerate(columns):
        if existing.lower() == name.lower():
            return index
    raise MissingColumnError(name, columns)


def _check_columns(names: Iterable[str], columns: Columns) -> None:
    """Every one of `names` is a column of the input; else one error naming all that are not."""
    present = {name.lower() for name, _ in columns}
    missing = [name for name in names if name.lower() not in present]
    if missing:
        raise MissingColumnError(missing, columns)


def _identifier(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


class RenameColumns(StepConfig):
    type: Literal["rename_columns"]
    mapping: dict[ColumnName, ColumnName] = Field(min_length=1)
    """Old name -> new name."""

    def output_name(self, column: str) -> str:
        return self.mapping.get(column, column)

    def carried_from(self, column: str) -> str | None:
        """The input column whose values `column` carries unchanged."""
        renamed = {new: old for old, new in self.mapping.items()}
        if column in renamed:
            return renamed[column]
        return None if column in self.mapping else column

    def output_columns(self, columns: Columns) -> Columns:
        _check_columns(self.mapping, columns)
        out = list(columns)
        for old, new in self.mapping.items():
            index = _position(columns, old)
            out[index] = (new, out[index][1])
        return out


@register_transform("rename_columns", config=RenameColumns)
def rename_columns(step: RenameColumns, relation: exp.Expression) -> exp.Select:
    """Rename columns, keeping their position."""
    renames = [exp.alias_(_column(old), _identifier(new)) for old, new in step.mapping.items()]
    return exp.select(exp.Star(rename=renames)).from_(relation)


class Cast(StepConfig):
    type: Literal["cast"]
    columns: dict[ColumnName, TypeName] = Field(min_length=1)
    """Column -> type (str, int, float, bool, date, datetime, decimal(p,s) or an alias)."""

    def zone_sensitive(self) -> list[str]:
        """Columns cast to `datetime`: TIMESTAMP, or TIMESTAMPTZ when the input carries a zone."""
        return [c for c, t in self.columns.items() if t.name == "datetime"]

    def carried_from(self, column: str) -> str | None:
        return None if column in self.columns else column  # a cast can merge distinct values

    def output_columns(self, columns: Columns) -> Columns:
        _check_columns(self.columns, columns)
        out = list(columns)
        for name, logical in self.columns.items():
            index = _position(columns, name)
            out[index] = (out[index][0], logical.duckdb_name())
        return out


@register_transform("cast", config=Cast)
def cast(step: Cast, relation: exp.Expression) -> exp.Select:
    """Cast columns in place; a value that does not fit fails the run and names the value."""
    replacements = [
        exp.alias_(exp.cast(_column(name), logical.to_datatype()), _identifier(name))
        for name, logical in step.columns.items()
    ]
    return exp.select(exp.Star(replace=replacements)).from_(relation)


class AddColumn(StepConfig):
    type: Literal["add_column"]
    name: ColumnName
    value: CursorValue | bool | None
    """A constant (templates are rendered first, so `{{ recipe.name }}` works)."""
    cast_to: TypeName | None = Field(default=None, alias="as")
    """Optional type of the new column (`as: date`)."""

    def carried_from(self, column: str) -> str | None:
        return None if column == self.name else column

    def output_columns(self, columns: Columns) -> Columns:
        if self.cast_to is not None:
            type_name = self.cast_to.duckdb_name()
        else:
            type_name = {bool: "BOOLEAN", int: "INTEGER", float: "DOUBLE", str: "VARCHAR"}.get(
                type(self.value), "NULL"
            )
        return [*columns, (self.name, type_name)]


def _constant(value: str | int | float | bool | None) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(value)


@register_transform("add_column", config=AddColumn)
def add_column(step: AddColumn, relation: exp.Expression) -> exp.Select:
    """Add a column holding a constant."""
    value = _constant(step.value)
    if step.cast_to is not None:
        value = exp.cast(value, step.cast_to.to_datatype())
    new = exp.alias_(value, _identifier(step.name))
    return exp.select(exp.Star(), new).from_(relation)


__all__ = ["AddColumn", "Cast", "LogicalType", "RenameColumns"]


# -- transforms written in the expression language ------------------------------------------------


def _expression(text: str) -> str:
    """A recipe expression, checked when the recipe is validated (the caret error points into
    it); kept as text in the config, parsed again (cached) where it is lowered."""
    return _checked(expressions.parse, text)


def _checked(parse: Callable[[str], object], text: str) -> str:
    try:
        parse(text)
    except expressions.ExpressionError as exc:
        raise PydanticCustomError(
            "expression", "{message}", {"message": exc.render(), "offset": exc.offset}
        ) from None
    return text


Expression = Annotated[str, AfterValidator(_expression)]


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> expressions.Expr:
    return expressions.parse(text)


def _schema(columns: Columns) -> dict[str, str | None]:
    return {name: type_name for name, type_name in columns}


class Filter(StepConfig):
    type: Literal["filter"]
    where: Expression
    """Keep the rows for which this is true (NULL counts as false)."""

    def expressions(self) -> dict[str, str]:
        return {"where": self.where}

    def carried_from(self, column: str) -> str | None:
        return column

    def output_columns(self, columns: Columns) -> Columns:
        found = expressions.infer(_parsed(self.where), _schema(columns), self.where)
        if found is not None and expressions.family(found) != "boolean":
            raise expressions.ExpressionError(
                f"a filter needs a true/false condition, but this is {found}", self.where, 0
            )
        return list(columns)


@register_transform("filter", config=Filter)
def filter_rows(step: Filter, relation: exp.Expression) -> exp.Select:
    """Keep the rows where the condition holds."""
    return exp.select(exp.Star()).from_(relation).where(expressions.lower(_parsed(step.where)))


class Derive(StepConfig):
    type: Literal["derive"]
    columns: dict[ColumnName, Expression] = Field(min_length=1)
    """New column -> expression over the step's input columns."""

    def expressions(self) -> dict[str, str]:
        return {f"columns.{name}": text for name, text in self.columns.items()}

    def carried_from(self, column: str) -> str | None:
        return None if column in self.columns else column

    def output_columns(self, columns: Columns) -> Columns:
        schema = _schema(columns)
        out = list(columns)
        for name, text in self.columns.items():
            if name.lower() in {column.lower() for column in schema}:
                raise StepError(
                    f"column '{name}' already exists in its input (derive adds new "
                    "columns; cast or rename an existing one, or drop it in an earlier step)",
                    ("columns", name),
                )
            out.append((name, expressions.infer(_parsed(text), schema, text) or "NULL"))
        return out


@register_transform("derive", config=Derive)
def derive(step: Derive, relation: exp.Expression) -> exp.Select:
    """Add columns computed by expressions over the input's columns.

    Each expression reads the input, not the other derived columns."""
    computed = [
        exp.alias_(expressions.lower(_parsed(text)), _identifier(name))
        for name, text in step.columns.items()
    ]
    return exp.select(exp.Star(), *computed).from_(relation)


class DropColumns(StepConfig):
    type: Literal["drop_columns"]
    columns: list[ColumnName] = Field(min_length=1)

    def carried_from(self, column: str) -> str | None:
        return column

    def output_columns(self, columns: Columns) -> Columns:
        _check_columns(self.columns, columns)
        dropped = {name.lower() for name in self.columns}
        return [(n, t) for n, t in columns if n.lower() not in dropped]


@register_transform("drop_columns", config=DropColumns)
def drop_columns(step: DropColumns, relation: exp.Expression) -> exp.Select:
    """Drop columns."""
    return exp.select(exp.Star(except_=[_column(c) for c in step.columns])).from_(relation)


class SelectColumns(StepConfig):
    type: Literal["select_columns"]
    columns: list[ColumnName] = Field(min_length=1)
    """The columns to keep, in this order."""

    def carried_from(self, column: str) -> str | None:
        return column

    def output_columns(self, columns: Columns) -> Columns:
        _check_columns(self.columns, columns)
        return [columns[_position(columns, name)] for name in self.columns]


@register_transform("select_columns", config=SelectColumns)
def select_columns(step: SelectColumns, relation: exp.Expression) -> exp.Select:
    """Keep these columns, in this order."""
    return exp.select(*[_column(c) for c in step.columns]).from_(relation)


class Deduplicate(StepConfig):
    type: Literal["deduplicate"]
    keys: list[ColumnName] = Field(min_length=1)
    order_by: str | None = None
    """Which row of a key to keep, the first in this order: `updated_at desc, id`."""

    @field_validator("order_by")
    @classmethod
    def _order(cls, text: str | None) -> str | None:
        if text is not None:
            _checked(expressions.parse_order, text)
        return text

    def carried_from(self, column: str) -> str | None:
        return column

    def output_columns(self, columns: Columns) -> Columns:
        _check_columns(self.keys, columns)
        schema = _schema(columns)
        for item in _ordering(self.order_by or ""):
            expressions.infer(item.operand, schema, self.order_by or "")
        return list(columns)

    def expressions(self) -> dict[str, str]:
        return {"order_by": self.order_by} if self.order_by else {}


@functools.lru_cache(maxsize=256)
def _ordering(text: str) -> tuple[expressions.Ordered, ...]:
    return expressions.parse_order(text) if text.strip() else ()


@register_transform("deduplicate", config=Deduplicate)
def deduplicate(step: Deduplicate, relation: exp.Expression) -> exp.Select:
    """Keep one row per key: the first in `order_by` (an arbitrary one without it)."""
    order = [
        exp.Ordered(this=expressions.lower(item.operand), desc=item.descending, nulls_first=False)
        for item in _ordering(step.order_by or "")
    ] or [exp.Ordered(this=_column(k)) for k in step.keys]
    window = exp.Window(
        this=exp.RowNumber(),
        partition_by=[_column(k) for k in step.keys],
        order=exp.Order(expressions=order),
    )
    return exp.select(exp.Star()).from_(relation).qualify(window.eq(1))


class HashColumns(StepConfig):
    type: Literal["hash_columns"]
    columns: list[ColumnName] = Field(min_length=1)
    salt: SecretSetting | None = None
    """Prepended to each value before hashing; may be a secret (bound at run time)."""

    bound_parameters: ClassVar[tuple[str, ...]] = ("salt",)
    """Fields passed to the SQL as run-time parameters, never written into it."""

    def carried_from(self, column: str) -> str | None:
        return None if column in self.columns else column

    def output_columns(self, columns: Columns) -> Columns:
        _check_columns(self.columns, columns)
        hashed = {name.lower() for name in self.columns}
        return [(n, "VARCHAR" if n.lower() in hashed else t) for n, t in columns]


@register_transform("hash_columns", config=HashColumns)
def hash_columns(step: HashColumns, relation: exp.Expression) -> exp.Select:
    """Replace values with their salted SHA-256 (lowercase hex); NULL stays NULL.

    The hash is of the salt followed by the value's text."""
    salt = exp.Placeholder(this="salt") if step.salt is not None else exp.Literal.string("")
    replacements = [
        exp.alias_(
            exp.Case(
                ifs=[
                    exp.If(this=exp.Is(this=_column(name), expression=exp.Null()), true=exp.Null())
                ],
                default=exp.SHA2(
                    this=exp.DPipe(this=salt.copy(), expression=exp.cast(_column(name), "VARCHAR")),
                    length=exp.Literal.number(256),
                ),
            ),
            _identifier(name),
        )
        for name in step.columns
    ]
    return exp.select(exp.Star(replace=replacements)).from_(relation)
