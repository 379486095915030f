"""Registries of sources, destinations and transforms.

Built-ins register exactly as plug-ins do: a decorator fills a registry. Installed packages can
register through the `recipec.plugins` entry point group (loaded lazily, on the first lookup that
misses), and a recipe's top-level `plugins: [module]` imports modules before validation.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from recipec.compiler.frontend.models import Incremental
from recipec.errors import DataLoaderError, MissingExtraError, RecipeError
from recipec.transform_hooks import TransformHooks

F = TypeVar("F", bound=Callable[..., Any])
Kind = Literal["source", "destination", "transform"]
ENTRY_POINT_GROUP = "recipec.plugins"


class PluginConfig(BaseModel):
    """Config of a plug-in that declared no model: any keys are accepted and passed through."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    incremental: Incremental | None = None


@dataclass(frozen=True)
class Registration(Generic[F]):
    """One registered connector or transform."""

    kind: Kind
    name: str
    factory: F
    config_model: type[BaseModel]
    builtin: bool
    description: str

    def validate_config(self, config: dict[str, Any], block: str) -> BaseModel:
        """Validate a block from a saved plan against the model installed now."""
        try:
            return self.config_model.model_validate(config)
        except ValidationError as exc:
            raise RecipeError(
                f"the plan's {block} does not fit plug-in '{self.name}' as installed now "
                f"({exc.error_count()} problem(s): {exc.errors()[0]['msg']}); compile again"
            ) from None

    def create(self, config: BaseModel, **context: Any) -> Any:
        """Call the factory with the config and whichever context keywords it accepts."""
        accepted = inspect.signature(self.factory).parameters
        if any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            return self.factory(config, **context)
        return self.factory(config, **{k: v for k, v in context.items() if k in accepted})


class Registry:
    """Name -> Registration, per kind."""

    def __init__(self) -> None:
        self._entries: dict[Kind, dict[str, Registration[Any]]] = {
            "source": {},
            "destination": {},
            "transform": {},
        }
        self._entry_points_loaded = False

    def register(
        self,
        kind: Kind,
        name: str,
        factory: Any,
        config: type[BaseModel] | None,
        *,
        builtin: bool = False,
    ) -> None:
        doc = inspect.getdoc(factory) or ""
        model = config or PluginConfig
        if kind == "transform" and not issubclass(model, TransformHooks):
            # a plug-in's model keeps the hooks it defines and answers the rest by default
            model = type(model.__name__, (model, TransformHooks), {"__module__": model.__module__})
        self._entries[kind][name] = Registration(
            kind, name, factory, model, builtin, doc.splitlines()[0] if doc else ""
        )

    def get(self, kind: Kind, name: str) -> Registration[Any] | None:
        found = self._entries[kind].get(name)
        if found is None:  # the built-ins register when first looked for
            ensure_builtins()
            found = self._entries[kind].get(name)
        if found is None and not self._entry_points_loaded:
            self.load_entry_points()
            found = self._entries[kind].get(name)
        return found

    def names(self, kind: Kind) -> list[str]:
        self.load_entry_points()
        return sorted(self._entries[kind])

    def all(self, kind: Kind) -> list[Registration[Any]]:
        return [self._entries[kind][name] for name in self.names(kind)]

    def load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = entry_point.load()
            except Exception as exc:
                raise DataLoaderError(
                    f"plug-in entry point '{entry_point.name}' ({entry_point.value}) "
                    f"failed to load: {exc}"
                ) from exc
            if callable(loaded) and not inspect.isclass(loaded):
                loaded(REGISTRY)


REGISTRY = Registry()


def _decorator(kind: Kind, name: str, config: type[BaseModel] | None) -> Callable[[F], F]:
    def wrap(factory: F) -> F:
        builtin = getattr(factory, "__module__", "").startswith("recipec.")
        REGISTRY.register(kind, name, factory, config, builtin=builtin)
        return factory

    return wrap


def register_source(name: str, config: type[BaseModel] | None = None) -> Callable[[F], F]:
    """Register a source. The factory receives its validated source block (an instance of
    `config`, or a `PluginConfig` holding any keys) and may accept a `context` keyword
    (`ReadContext`); it returns an iterable of batches (`DictBatch`, Arrow tables or record
    batches) or an object with `read(context)` returning one."""
    return _decorator("source", name, config)


def register_destination(name: str, config: type[BaseModel] | None = None) -> Callable[[F], F]:
    """Register a destination. The factory receives its validated destination block and returns
    an object with `write(reader, context) -> int` (see `recipec.runtime.protocols`)."""
    return _decorator("destination", name, config)


def register_transform(name: str, config: type[BaseModel] | None = None) -> Callable[[F], F]:
    """Register a transform lowered to SQL: `fn(step, relation: exp.Select) -> exp.Select`."""
    return _decorator("transform", name, config)


def get_source(name: str) -> Registration[Any] | None:
    return REGISTRY.get("source", name)


def get_destination(name: str) -> Registration[Any] | None:
    return REGISTRY.get("destination", name)


def get_transform(name: str) -> Registration[Any] | None:
    return REGISTRY.get("transform", name)


def import_plugins(
    modules: Iterable[str], search_paths: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Import the user's plug-in modules (a recipe's `plugins:` list), looking in
    `search_paths` (the recipe's folder) before the installed packages."""
    for folder in reversed(list(search_paths)):  # the first folder ends up first on sys.path
        absolute = os.path.abspath(folder)
        if absolute not in sys.path:
            sys.path.insert(0, absolute)
    for module in modules:
        importlib.import_module(module)


def require(module: str, *, extra: str, feature: str) -> Any:
    """Import an optional dependency, or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module, extra, feature) from None


def ensure_builtins() -> None:
    """Import the built-in connectors and transforms so that they register."""
    from recipec.compiler.connectors import BUILTIN_MODULES

    for module in BUILTIN_MODULES:
        importlib.import_module(f"recipec.compiler.connectors.{module}")
    importlib.import_module("recipec.compiler.language.transforms")
    importlib.import_module("recipec.compiler.language.sql_step")
    importlib.import_module("recipec.compiler.language.python_step")
