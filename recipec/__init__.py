"""recipec: declarative YAML recipes compiled into inspectable data-loading plans.

The public API is imported lazily, so that `recipec --help` or a compile does not pay for the
runtime's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from recipec._version import __version__

_EXPORTS = {
    "Batch": "recipec.batch",
    "DictBatch": "recipec.batch",
    "ConnectorError": "recipec.errors",
    "DataLoaderError": "recipec.errors",
    "EngineError": "recipec.errors",
    "RecipeError": "recipec.errors",
    "StateError": "recipec.errors",
    "TransformError": "recipec.errors",
    "Destination": "recipec.runtime.protocols",
    "ReadContext": "recipec.runtime.protocols",
    "Source": "recipec.runtime.protocols",
    "WriteContext": "recipec.runtime.protocols",
    "Incremental": "recipec.compiler.frontend.models",
    "TransformHooks": "recipec.transform_hooks",
    "LocalStateBackend": "recipec.runtime.state",
    "State": "recipec.runtime.state",
    "StateBackend": "recipec.runtime.state",
    "Plan": "recipec.compiler.plan",
    "Recipe": "recipec.compiler.driver",
    "RunSummary": "recipec.runtime.executor",
    "compile_recipe": "recipec.api",
    "from_yaml": "recipec.api",
    "run_plan": "recipec.api",
    "run_recipe": "recipec.api",
    "run_recipe_from_yaml": "recipec.api",
    "get_destination": "recipec.registry",
    "get_source": "recipec.registry",
    "get_transform": "recipec.registry",
    "register_destination": "recipec.registry",
    "register_source": "recipec.registry",
    "register_transform": "recipec.registry",
    "transform": "recipec.compiler.language.python_step",
}

__all__ = [
    "Batch",
    "ConnectorError",
    "DataLoaderError",
    "Destination",
    "DictBatch",
    "EngineError",
    "Incremental",
    "LocalStateBackend",
    "Plan",
    "ReadContext",
    "Recipe",
    "RecipeError",
    "RunSummary",
    "Source",
    "State",
    "StateBackend",
    "StateError",
    "TransformError",
    "TransformHooks",
    "WriteContext",
    "__version__",
    "compile_recipe",
    "from_yaml",
    "get_destination",
    "get_source",
    "get_transform",
    "register_destination",
    "register_source",
    "register_transform",
    "run_plan",
    "run_recipe",
    "run_recipe_from_yaml",
    "transform",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'recipec' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from recipec.api import compile_recipe, from_yaml, run_plan, run_recipe, run_recipe_from_yaml
    from recipec.batch import Batch, DictBatch
    from recipec.compiler.driver import Recipe
    from recipec.compiler.frontend.models import Incremental
    from recipec.compiler.plan import Plan
    from recipec.errors import (
        ConnectorError,
        DataLoaderError,
        EngineError,
        RecipeError,
        StateError,
        TransformError,
    )
    from recipec.registry import (
        get_destination,
        get_source,
        get_transform,
        register_destination,
        register_source,
        register_transform,
    )
    from recipec.runtime.executor import RunSummary
    from recipec.runtime.protocols import Destination, ReadContext, Source, WriteContext
    from recipec.runtime.state import LocalStateBackend, State, StateBackend
