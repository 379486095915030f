"""Type checking: the schema of the rows, followed through every step before anything runs.

The source's columns come from, in order: the recipe's `schema:` block, the database (with
`compile --introspect`), or the files' own header or Parquet metadata (read locally by DuckDB).
Each step's `output_columns` then gives its output, so a column that an earlier step renamed
or dropped, an expression comparing a string with a number, or a merge key missing from the
output is a compile-time error naming the step and the key. Without a known source schema
(files not there yet, a plug-in source) the checks wait for the run, which makes them anyway.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from recipec.compiler.expressions import ExpressionError
from recipec.compiler.ir import LoadIR, TransformIR
from recipec.compiler.models import CursorIncremental
from recipec.compiler.types import described_files, parse_type
from recipec.compiler.yaml_loader import inside_scalar
from recipec.errors import Location, Problem, RecipeError, did_you_mean

Columns = tuple[tuple[str, str], ...]


def declared_columns(declared: Any) -> Columns | None:
    """The recipe's `schema: {columns: [{name, type}]}`, as DuckDB types."""
    if declared is None:
        return None
    return tuple((c.name, parse_type(str(c.type)).duckdb_name()) for c in declared.columns)


def file_columns(ir: LoadIR, relation: exp.Expression) -> Columns | None:
    """The columns DuckDB reads from local files (the header, or Parquet metadata); None when
    the files are remote or not there yet."""
    path = ir.source.path
    if not ir.source.read_by_duckdb or not path:
        return None
    return described_files(relation.sql("duckdb"), path)


def check_types(ir: LoadIR) -> LoadIR:
    """Follow the columns through each step; fill `step_columns` (one entry per step)."""
    if ir.columns is None:
        return ir
    _check_cursor(ir, ir.columns)
    columns = list(ir.columns)
    outputs: list[Columns] = []
    for step in ir.transforms:
        output_columns = getattr(step.config, "output_columns", None)
        if output_columns is None:
            break  # a step that does not say what it outputs: the run checks the rest
        try:
            output = output_columns(columns)
        except ExpressionError as exc:
            raise RecipeError([_expression_problem(step, exc)]) from None
        except LookupError as exc:
            raise RecipeError(
                [
                    Problem(
                        f"{step.type}: {exc}",
                        path=f"transform.steps[{step.index}]",
                        location=step.location,
                    )
                ]
            ) from None
        if output is None:
            break  # known only once the step has run (a Python function without `columns`)
        columns = output
        outputs.append(tuple(columns))
    if len(outputs) == len(ir.transforms):
        _check_merge_keys(ir, [name for name, _ in columns])
    return ir.replace(step_columns=tuple(outputs))


def _expression_problem(step: TransformIR, exc: ExpressionError) -> Problem:
    """Locate an expression error at its key, and at the token inside the string."""
    expressions: dict[str, str] = getattr(step.config, "expressions", dict)()
    key = next((k for k, text in expressions.items() if text == exc.text), None)
    location: Location = step.location
    if key is not None and key in step.key_locations:
        location = inside_scalar(step.key_locations[key], exc.offset)
    path = f"transform.steps[{step.index}]" + (f".{key}" if key else "")
    return Problem(f"{step.type}: {exc.render()}", path=path, location=location)


def _check_cursor(ir: LoadIR, columns: Columns) -> None:
    incremental = ir.source.incremental
    if not isinstance(incremental, CursorIncremental):
        return
    names = [name for name, _ in columns]
    if incremental.cursor_column.lower() not in {name.lower() for name in names}:
        raise RecipeError(
            [
                Problem(
                    f"cursor column '{incremental.cursor_column}' is not a source column",
                    path="source.incremental.cursor_column",
                    location=ir.incremental_location or ir.source.location,
                    hint=did_you_mean(incremental.cursor_column, names)
                    or f"the source has: {', '.join(names)}",
                )
            ]
        )


def _check_merge_keys(ir: LoadIR, names: list[str]) -> None:
    present = {name.lower() for name in names}  # DuckDB's identifiers ignore case
    missing = [key for key in ir.destination.merge_keys if key.lower() not in present]
    if not missing:
        return
    raise RecipeError(
        [
            Problem(
                f"merge key '{key}' is not in the output of the last step",
                path="destination.merge_keys",
                location=ir.destination.location,
                hint=did_you_mean(key, names) or f"the output has: {', '.join(names)}",
            )
            for key in missing
        ]
    )
