"""Python transforms: a user function from a pyarrow Table to a pyarrow Table.

    - type: python
      function: mypackage.cleaning.add_gross     # imported by name
      params: {rate: 1.2}                         # passed as keyword arguments
      columns: {id: int, gross: float}            # optional: the output schema, checked

or a function registered under its own name with the `@transform` decorator:

    @recipec.transform("add_gross", columns={"id": "int", "gross": "float"})
    def add_gross(table: pa.Table, rate: float = 1.2) -> pa.Table: ...

    - type: add_gross
      params: {rate: 1.3}

The stage is SQL in DuckDB, so a Python step splits it: the runtime streams the step's input
out of DuckDB in batches (`runtime.batch_size` rows), calls the function on each batch (or once
on the whole input with `whole_table: true`) and stages the result as a temp table that the
following steps read. In the plan, the step reads `_recipec_python_<index>`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, create_model, field_validator
from pydantic_core import PydanticCustomError
from sqlglot import exp

from recipec.compiler.frontend.models import ColumnName, StepConfig, TypeName
from recipec.registry import Registration, register_transform
from recipec.transform_hooks import runs_in_python

Columns = list[tuple[str, str]]
TableFunction = Callable[..., Any]


def import_function(reference: str) -> TableFunction:
    """`package.module.function` -> the function; a ValueError that says what is missing."""
    module_name, _, name = reference.rpartition(".")
    if not module_name:
        raise ValueError(f"'{reference}' is not module.function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module '{module_name}': {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"module '{module_name}' has no function '{name}'")
    return function  # type: ignore[no-any-return]


class PythonStepBase(StepConfig):
    """What every Python step has: its parameters, the declared output, the batching."""

    params: dict[str, Any] = {}
    """Keyword arguments for the function."""
    columns: dict[ColumnName, TypeName] | None = None
    """The function's output columns and types; checked at run time when given."""
    whole_table: bool = False
    """Call the function once on the whole input instead of once per batch."""

    runs_in_python: ClassVar[bool] = True

    def function(self) -> TableFunction:
        raise NotImplementedError

    def carried_from(self, column: str) -> str | None:
        return None  # the function may change any value

    def output_columns(self, columns: Columns) -> Columns | None:
        """The declared output, or None: only running the function tells."""
        if self.columns is None:
            return None
        return [(n, t.duckdb_name()) for n, t in self.columns.items()]


class PythonStep(PythonStepBase):
    type: Literal["python"]
    function_: str = Field(alias="function")
    """`package.module.function`, importable from the recipe's folder or installed."""

    @field_validator("function_")
    @classmethod
    def _importable(cls, reference: str) -> str:
        try:
            import_function(reference)
        except ValueError as exc:
            raise PydanticCustomError(
                "python_step",
                "{error}",
                {
                    "error": str(exc),
                    "hint": "the module must be importable from the recipe's folder, the "
                    "working directory or the installed packages",
                },
            ) from None
        return reference

    def function(self) -> TableFunction:
        return import_function(self.function_)


STAGED_OUTPUT = "_recipec_python_output"
"""The table a Python step's SQL reads; the lowering names it per step
(`plan.python_output_table`)."""


def _reads_staged_output(step: Any, relation: exp.Expression) -> exp.Select:
    """Call a Python function on pyarrow Tables of the rows.

    In the plan the step reads the table its output is staged in."""
    return exp.select(exp.Star()).from_(exp.to_table(STAGED_OUTPUT))


register_transform("python", config=PythonStep)(_reads_staged_output)


def transform(
    name: str, *, columns: dict[str, str] | None = None, whole_table: bool = False
) -> Callable[[TableFunction], TableFunction]:
    """Register a Python function `fn(table: pa.Table, **params) -> pa.Table` as the transform
    type `name`; `columns` declares (and checks) its output."""

    def register(function: TableFunction) -> TableFunction:
        config: Any = create_model(
            f"{function.__name__}_config",
            __base__=PythonStepBase,
            type=(Literal[name], ...),  # type: ignore[valid-type,arg-type]
            columns=(
                dict[ColumnName, TypeName] | None,
                Field(default=columns, validate_default=True),
            ),
            whole_table=(bool, whole_table),
        )
        config.function = lambda self: function

        def factory(step: Any, relation: exp.Expression) -> exp.Select:
            return _reads_staged_output(step, relation)

        factory.__doc__ = function.__doc__ or f"Python function {function.__qualname__}."
        register_transform(name, config=config)(factory)
        return function

    return register


def is_python_step(registration: Registration[Any] | None) -> bool:
    return registration is not None and runs_in_python(registration.config_model)
