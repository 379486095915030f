"""recipec: declarative YAML recipes compiled into inspectable data-loading plans."""

from recipec._version import __version__
from recipec.api import compile_recipe, from_yaml, run_plan, run_recipe, run_recipe_from_yaml
from recipec.batch import Batch, DictBatch
from recipec.compiler.driver import Recipe
from recipec.compiler.models import Incremental
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
]
