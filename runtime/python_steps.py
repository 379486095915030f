"""Run the Python steps of a stage: stream each one's input out of DuckDB, call the user's
function, and stage its output as the temp table the following steps read."""

from __future__ import annotations

import logging
from typing import Any

import duckdb
from sqlglot import exp

from recipec.compiler.plan import TransformStep, python_output_table
from recipec.errors import TransformError
from recipec.registry import get_transform
from recipec.runtime.binding import input_query
from recipec.runtime.engine import execute
from recipec.transform_hooks import runs_in_python

log = logging.getLogger("recipec.runtime")


def python_steps(transforms: list[TransformStep]) -> list[tuple[TransformStep, Any]]:
    """(step, validated config) of each Python step, in order."""
    found = []
    for step in transforms:
        registration = get_transform(step.type)
        if registration is not None and runs_in_python(registration.config_model):
            found.append(
                (step, registration.validate_config(step.config, f"transform[{step.index}]"))
            )
    return found


def run_python_steps(
    connection: duckdb.DuckDBPyConnection,
    stage_sql: str,
    transforms: list[TransformStep],
    values: dict[str, Any],
    batch_size: int,
) -> None:
    """Stage the output of each Python step, in order (a later one may read an earlier one's)."""
    steps = python_steps(transforms)
    if not steps:
        return
    import pyarrow as pa
    import sqlglot

    stage = sqlglot.parse_one(stage_sql, read="duckdb")

    for step, config in steps:
        function = config.function()
        where = f"transform[{step.index}] {step.type} ({step.origin})"
        result = execute(connection, input_query(stage, step.index).sql("duckdb"), values)
        if config.whole_table:
            inputs: Any = [result.to_arrow_table()]
        else:
            reader = result.to_arrow_reader(batch_size)
            inputs = (pa.Table.from_batches([batch]) for batch in reader)
        outputs = []
        for table in inputs:
            try:
                output = function(table, **config.params)
            except Exception as exc:
                raise TransformError(
                    f"{where}: the function failed: {exc!r}", step=step.index
                ) from exc
            outputs.append(as_table(output, where, step.index))
        if not outputs:  # no input rows: the function still says what its output's columns are
            empty = function(_empty_input(connection, stage, step, values), **config.params)
            outputs = [as_table(empty, where, step.index)]
        staged = pa.concat_tables(outputs, promote_options="permissive")
        connection.register("_recipec_python_arrow", staged)
        try:
            name = python_output_table(step.index)
            connection.execute(
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _recipec_python_arrow'
            )
        finally:
            connection.unregister("_recipec_python_arrow")
        log.debug("%s: %d row(s) staged in %s", where, staged.num_rows, name)
        described = connection.execute(f'DESCRIBE "{name}"').fetchall()
        check_declared([(r[0], r[1]) for r in described], config, where, step.index)


def _empty_input(
    connection: duckdb.DuckDBPyConnection,
    stage: exp.Expr,
    step: TransformStep,
    values: dict[str, Any],
) -> Any:
    query = input_query(stage, step.index).limit(0)
    return execute(connection, query.sql("duckdb"), values).to_arrow_table()


def as_table(output: Any, where: str, index: int | None = None) -> Any:
    """The function's result, which must be a pyarrow Table."""
    import pyarrow as pa

    if not isinstance(output, pa.Table):
        raise TransformError(
            f"{where}: the function returned {type(output).__name__}, not a pyarrow Table",
            step=index,
        )
    return output


def check_declared(
    actual: list[tuple[str, str]], config: Any, where: str, index: int | None = None
) -> None:
    """The function's output columns (as DuckDB describes them) against the step's declared
    `columns`: names, order and types."""
    if config.columns is None:
        return
    declared = [(n, t.duckdb_name()) for n, t in config.columns.items()]
    if actual != declared:
        shown = ", ".join(f"{n} {t}" for n, t in actual)
        expected = ", ".join(f"{n} {t}" for n, t in declared)
        raise TransformError(
            f"{where}: the function's output does not match its declared columns: "
            f"got {shown}; declared {expected}",
            step=index,
        )
