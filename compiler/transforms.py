"""Built-in transforms, each lowered to one SELECT over its input relation with sqlglot.

A transform registers a config model and a lowering function `fn(step, relation) -> exp.Select`.
Steps select `*` with DuckDB's star modifiers, so a transform needs no knowledge of the input's
other columns and the plan compiles without touching the source. Config models may define
`output_name(column)` so the compiler can follow a column (the cursor) through the steps.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlglot import exp

from recipec.compiler.models import CursorValue, StrictModel, TypeName
from recipec.compiler.types import LogicalType
from recipec.errors import did_you_mean
from recipec.registry import register_transform

Columns = list[tuple[str, str]]
"""A relation's columns: (name, DuckDB type)."""


class MissingColumnError(LookupError):
    """A step names a column its input does not have."""

    def __init__(self, column: str, available: Columns) -> None:
        names = [name for name, _ in available]
        hint = did_you_mean(column, names)
        super().__init__(
            f"no column '{column}' in its input"
            + (f"; {hint}" if hint else f" (columns: {', '.join(names)})")
        )


def _position(columns: Columns, name: str) -> int:
    """Where `name` is, matched as DuckDB matches identifiers (case-insensitively)."""
    for index, (existing, _) in enumerate(columns):
        if existing.lower() == name.lower():
            return index
    raise MissingColumnError(name, columns)


def _identifier(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


class RenameColumns(StrictModel):
    type: Literal["rename_columns"]
    mapping: dict[str, str] = Field(min_length=1)
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


class Cast(StrictModel):
    type: Literal["cast"]
    columns: dict[str, TypeName] = Field(min_length=1)
    """Column -> type (str, int, float, bool, date, datetime, decimal(p,s) or an alias)."""

    def zone_sensitive(self) -> list[str]:
        """Columns cast to `datetime`: TIMESTAMP, or TIMESTAMPTZ when the input carries a zone."""
        return [c for c, t in self.columns.items() if t.name == "datetime"]

    def carried_from(self, column: str) -> str | None:
        return None if column in self.columns else column  # a cast can merge distinct values

    def output_columns(self, columns: Columns) -> Columns:
        out = list(columns)
        for name, logical in self.columns.items():
            index = _position(columns, name)
            out[index] = (out[index][0], logical.to_sql())
        return out


@register_transform("cast", config=Cast)
def cast(step: Cast, relation: exp.Expression) -> exp.Select:
    """Cast columns in place; a value that does not fit fails the run and names the value."""
    replacements = [
        exp.alias_(exp.cast(_column(name), logical.to_datatype()), _identifier(name))
        for name, logical in step.columns.items()
    ]
    return exp.select(exp.Star(replace=replacements)).from_(relation)


class AddColumn(StrictModel):
    type: Literal["add_column"]
    name: str = Field(min_length=1)
    value: CursorValue | bool | None
    """A constant (templates are rendered first, so `{{ recipe.name }}` works)."""
    cast_to: TypeName | None = Field(default=None, alias="as")
    """Optional type of the new column (`as: date`)."""

    def carried_from(self, column: str) -> str | None:
        return None if column == self.name else column

    def output_columns(self, columns: Columns) -> Columns:
        if self.cast_to is not None:
            type_name = self.cast_to.to_sql()
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
