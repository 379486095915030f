"""The Python API: load, compile and run recipes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from recipec.compiler.driver import Recipe, compile_recipe, load_recipe
from recipec.compiler.plan import Plan

if TYPE_CHECKING:
    from recipec.runtime.executor import RunSummary
    from recipec.runtime.state import StateBackend


def from_yaml(path: str | os.PathLike[str], vars: Mapping[str, Any] | None = None) -> Recipe:
    """Load a recipe file: resolve `extends:`, render templates, validate."""
    return load_recipe(path, vars)


def run_plan(
    plan: Plan,
    state_backend: StateBackend | None = None,
    *,
    full_refresh: bool = False,
    progress: bool = False,
    refuse_stale: bool = False,
    vars: Mapping[str, Any] | None = None,
) -> RunSummary:
    """Execute a compiled plan. With `refuse_stale` (a saved plan), refuse it when one of its
    recipe files changed since it was compiled, or the destination table no longer has the
    columns it writes (`StalePlanError`). `vars` gives the vars its secrets read: a plan keeps
    their names, never their values."""
    from recipec.runtime.executor import Executor
    from recipec.runtime.progress import Progress
    from recipec.runtime.state import LocalStateBackend

    backend = state_backend if state_backend is not None else LocalStateBackend(".state")
    return Executor(
        plan,
        backend,
        full_refresh=full_refresh,
        progress=Progress(progress),
        refuse_stale=refuse_stale,
        vars=vars,
    ).run()


def run_recipe(
    recipe: Recipe,
    state_backend: StateBackend | None = None,
    *,
    full_refresh: bool = False,
) -> RunSummary:
    """Compile and run a loaded recipe."""
    plan = compile_recipe(recipe, lineage=False)  # only a reader of the plan needs lineage
    return run_plan(plan, state_backend, full_refresh=full_refresh, vars=recipe.vars)


def run_recipe_from_yaml(
    path: str | os.PathLike[str],
    state_dir: str | os.PathLike[str] = ".state",
    vars: Mapping[str, Any] | None = None,
    *,
    full_refresh: bool = False,
) -> RunSummary:
    """Load, compile and run a recipe file, keeping state in `state_dir`."""
    from recipec.runtime.state import LocalStateBackend

    return run_recipe(
        from_yaml(path, vars), LocalStateBackend(state_dir), full_refresh=full_refresh
    )


__all__ = [
    "compile_recipe",
    "from_yaml",
    "run_plan",
    "run_recipe",
    "run_recipe_from_yaml",
]
