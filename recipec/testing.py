"""Test a transform on a small table, the way a run applies it.

    from recipec.testing import run_transform

    def test_add_gross():
        out = run_transform(add_gross, pa.table({"amount": [10]}), rate=1.5)
        assert out["gross"].to_pylist() == [15.0]

    def test_my_filter():  # any registered transform, by type name, with its config keys
        out = run_transform("filter", pa.table({"x": [1, 2]}), where="x > 1")
        assert out["x"].to_pylist() == [2]

A Python function (or a `@transform` type) is called as the runtime calls it, and its output is
checked against the declared `columns`; other transform types run their SQL in DuckDB over the
table, after their config is validated like a recipe's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
from pydantic import ValidationError
from sqlglot import exp

from recipec import duckdb_connection
from recipec.compiler.backend.lowering import bound_parameters, read_parameters
from recipec.compiler.language.python_step import PythonStepBase
from recipec.compiler.plan import parameter_name
from recipec.errors import RecipeError
from recipec.registry import ensure_builtins, get_transform
from recipec.runtime.python_steps import as_table, check_declared


def run_transform(transform: str | Callable[..., Any], table: pa.Table, **config: Any) -> pa.Table:
    """The output of `transform` (a type name, or a Python function) over `table`."""
    ensure_builtins()
    if callable(transform):
        return as_table(transform(table, **config), getattr(transform, "__name__", "transform"))
    registration = get_transform(transform)
    if registration is None:
        raise RecipeError(f"unknown transform type '{transform}'")
    try:
        model = registration.config_model.model_validate({"type": transform, **config})
    except ValidationError as exc:
        raise RecipeError(f"invalid config for transform '{transform}': {exc}") from None
    with duckdb_connection.connect() as connection:
        connection.register("input", table)
        if isinstance(model, PythonStepBase):
            output = as_table(model.function()(table, **model.params), transform)
            connection.register("output", output)
            described = connection.execute("DESCRIBE output").fetchall()
            check_declared([(r[0], r[1]) for r in described], model, transform)
            return output
        query = registration.factory(model, exp.to_table("input"))
        for field in bound_parameters(model):  # as the runtime does: DuckDB variables
            value = getattr(model, field, None)
            if value is not None:
                name = parameter_name(0, field)
                connection.execute(f"SET VARIABLE {name} = $value", {"value": value})
        query = read_parameters(query, model, 0)
        return connection.execute(query.sql("duckdb")).to_arrow_table()
