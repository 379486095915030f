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

from recipec.compiler.frontend.models import CursorIncremental
from recipec.compiler.frontend.yaml_loader import KeyPath, find, inside_scalar, walk
from recipec.compiler.language.expressions import ExpressionError
from recipec.compiler.language.transforms import MissingColumnError, StepError
from recipec.compiler.semantic.ir import LoadIR, TransformIR
from recipec.compiler.semantic.types import described_files, parse_type
from recipec.errors import Location, did_you_mean
from recipec.transform_hooks import hooks

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
    """Follow the columns through each step; fill `step_columns` (one entry per step).

    A step that does not fit its input is reported and ends the walk: the steps after it read
    an input no one knows, so checking them would only repeat the first problem."""
    if ir.columns is None:
        return ir
    ir = _check_cursor(ir, ir.columns)
    columns = list(ir.columns)
    outputs: list[Columns] = []
    for step in ir.transforms:
        try:
            output = hooks(step.config).output_columns(columns)
        except ExpressionError as exc:
            ir = _expression_problem(ir, step, exc)
            break
        except LookupError as exc:
            ir = _step_problems(ir, step, exc)
            break
        if output is None:
            break  # known only once the step has run (a Python function without `columns`)
        columns = output
        outputs.append(tuple(columns))
    if len(outputs) == len(ir.transforms):
        ir = _check_destination_columns(ir, [name for name, _ in columns])
    return ir.replace(step_columns=tuple(outputs))


def _step_path(step: TransformIR) -> KeyPath:
    return ("transform", "steps", step.index)


def _expression_problem(ir: LoadIR, step: TransformIR, exc: ExpressionError) -> LoadIR:
    """Locate an expression error at its key, and at the token inside the string."""
    expressions = hooks(step.config).expressions()
    key = next((k for k, text in expressions.items() if text == exc.text), None)
    location: Location | None = None
    if key is not None and key in step.key_locations:
        location = inside_scalar(step.key_locations[key], exc.offset)
    path = _step_path(step) + (tuple(key.split(".", 1)) if key else ())
    return ir.report(f"{step.type}: {exc.render()}", path, location=location)


def _step_problems(ir: LoadIR, step: TransformIR, exc: LookupError) -> LoadIR:
    """A step that does not fit its input: each missing column at the key or item naming it."""
    if isinstance(exc, MissingColumnError):
        for column in exc.columns:
            inside = _naming(ir, step, column)
            ir = ir.report(f"{step.type}: {exc.message(column)}", _step_path(step) + inside)
        return ir
    key = exc.key if isinstance(exc, StepError) else ()
    return ir.report(f"{step.type}: {exc}", _step_path(step) + key)


def _naming(ir: LoadIR, step: TransformIR, column: str) -> KeyPath:
    """The path, inside the step, of the key or value that names `column` (or of the step)."""
    node = find(ir.tree, _step_path(step)) if ir.tree is not None else None
    for path, child in walk(node) if node is not None else ():
        if child.is_mapping and column in child.value and (*path, column) != ("type",):
            return (*path, column)
        if isinstance(child.value, str) and child.value == column and path != ("type",):
            return path
    return ()


def _check_cursor(ir: LoadIR, columns: Columns) -> LoadIR:
    incremental = ir.source.incremental
    if not isinstance(incremental, CursorIncremental):
        return ir
    names = [name for name, _ in columns]
    if incremental.cursor_column.lower() in {name.lower() for name in names}:
        return ir
    selection = getattr(ir.source.config, "columns", None)
    if selection:  # a projection: the new watermark is read from the rows it loads
        hint = did_you_mean(incremental.cursor_column, names) or (
            "add it to source.columns: the new watermark is read from the rows loaded"
        )
        what = "is not one of source.columns"
    else:
        hint = did_you_mean(incremental.cursor_column, names) or (
            f"the source has: {', '.join(names)}"
        )
        what = "is not a source column"
    return ir.report(
        f"cursor column '{incremental.cursor_column}' {what}",
        ("source", "incremental", "cursor_column"),
        hint=hint,
    )


def _check_destination_columns(ir: LoadIR, names: list[str]) -> LoadIR:
    """The merge keys and the delete flag are columns of the last step's output."""
    present = {name.lower() for name in names}  # DuckDB's identifiers ignore case
    config = ir.destination.config
    named: list[tuple[KeyPath, str, str]] = [
        (("destination", "merge_keys", index), f"merge key '{key}'", key)
        for index, key in enumerate(ir.destination.merge_keys)
    ]
    for field in ("hard_delete_column", "soft_delete_column"):
        flag = getattr(config, field, None)
        if isinstance(flag, str):
            named.append((("destination", field), f"{field} '{flag}'", flag))
    for path, what, column in named:
        if column.lower() not in present:
            ir = ir.report(
                f"{what} is not in the output of the last step",
                path,
                hint=did_you_mean(column, names) or f"the output has: {', '.join(names)}",
            )
    return ir
