"""Run the Python steps of a stage: stream each one's input out of DuckDB, call the user's
function, and stage its output as the temp table the following steps read."""

from __future__ import annotations

import logging
from typing import Any

import duckdb
from sqlglot import exp

from recipec.compiler.plan import TransformStep
from recipec.compiler.python_step import output_table
from recipec.errors import TransformError
from recipec.registry import get_transform
from recipec.runtime.engine import execute

log = logging.getLogger("recipec.runtime")


def python_steps(transforms: list[TransformStep]) -> list[tuple[TransformStep, Any]]:
    """(step, validated config) of each Python step, in order."""
    found = []
    for step in transforms:
        registration = get_transform(step.type)
        if registration is not None and getattr(registration.config_model, "runs_in_python", False):
            found.append(
                (step, registration.validate_config(step.config, f"transform[{step.index}]"))
            )
    return found


def step_input(stage: exp.Expr, index: int) -> exp.Select:
    """`WITH <the steps before> SELECT * FROM <step index's input>` from the stage statement."""
    query = stage.expression if isinstance(stage, exp.Create) else stage
    assert isinstance(query, exp.Query)
    name = "_recipec_source" if index == 0 else f"_recipec_step_{index - 1}"
    kept: list[exp.CTE] = []
    for cte in query.ctes:
        kept.append(cte.copy())
        if cte.alias == name:
            break
    select = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(name, quoted=True)))
    for cte in kept:
        select = select.with_(exp.to_identifier(cte.alias, quoted=True), as_=cte.this)
    return select


def run_python_steps(
    connection: duckdb.DuckDBPyConnection,
    stage: exp.Expr,
    transforms: list[TransformStep],
    values: dict[str, Any],
    batch_size: int,
) -> None:
    """Stage the output of each Python step, in order (a later one may read an earlier one's)."""
    steps = python_steps(transforms)
    if not steps:
        return
    import pyarrow as pa

    for step, config in steps:
        function = config.function()
        where = f"transform[{step.index}] {step.type} ({step.origin})"
        result = execute(connection, step_input(stage, step.index).sql("duckdb"), values)
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
            if not isinstance(output, pa.Table):
                raise TransformError(
                    f"{where}: the function returned {type(output).__name__}, not a pyarrow Table",
                    step=step.index,
                )
            outputs.append(output)
        if not outputs:  # no input rows: the function still says what its output's columns are
            outputs = [function(_empty_input(connection, stage, step, values), **config.params)]
        staged = pa.concat_tables(outputs, promote_options="permissive")
        connection.register("_recipec_python_arrow", staged)
        try:
            name = output_table(step.index)
            connection.execute(
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _recipec_python_arrow'
            )
        finally:
            connection.unregister("_recipec_python_arrow")
        log.debug("%s: %d row(s) staged in %s", where, staged.num_rows, name)
        _check_declared(connection, name, config, where, step.index)


def _empty_input(
    connection: duckdb.DuckDBPyConnection,
    stage: exp.Expr,
    step: TransformStep,
    values: dict[str, Any],
) -> Any:
    query = step_input(stage, step.index).limit(0)
    return execute(connection, query.sql("duckdb"), values).to_arrow_table()


def _check_declared(
    connection: duckdb.DuckDBPyConnection, name: str, config: Any, where: str, index: int
) -> None:
    """The function's output against the step's declared `columns` (names, order, types)."""
    if config.columns is None:
        return
    actual = [(r[0], r[1]) for r in connection.execute(f'DESCRIBE "{name}"').fetchall()]
    declared = [(n, t.duckdb_name()) for n, t in config.columns.items()]
    if actual != declared:
        shown = ", ".join(f"{n} {t}" for n, t in actual)
        expected = ", ".join(f"{n} {t}" for n, t in declared)
        raise TransformError(
            f"{where}: the function's output does not match its declared columns: "
            f"got {shown}; declared {expected}",
            step=index,
        )
