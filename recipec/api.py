"""The Python API: load, compile and run recipes."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recipec.compiler.driver import Recipe
    from recipec.compiler.plan import Plan
    from recipec.runtime.executor import RunSummary
    from recipec.runtime.state import StateBackend


def from_yaml(path: str | os.PathLike[str], vars: Mapping[str, Any] | None = None) -> Recipe:
    """Load a recipe file: resolve `extends:`, render templates, validate."""
    from recipec.compiler.driver import load_recipe

    return load_recipe(path, vars)


def compile_recipe(recipe: Recipe, *, introspect: bool = False, lineage: bool = True) -> Plan:
    """Lower a loaded recipe into its plan; connects to nothing unless `introspect`."""
    from recipec.compiler.driver import compile_recipe as lower_recipe

    return lower_recipe(recipe, introspect=introspect, lineage=lineage)


def compile_file(
    path: str | os.PathLike[str],
    vars: Mapping[str, Any] | None = None,
    *,
    introspect: bool = False,
    lineage: bool = True,
) -> Plan:
    """Load a recipe file and lower each of its resources into the plan's units."""
    from recipec.compiler.driver import compile_pipeline, load_pipeline

    pipeline = load_pipeline(path, vars)
    return compile_pipeline(pipeline, introspect=introspect, lineage=lineage)


def plan_for_run(
    path: str | os.PathLike[str],
    vars: Mapping[str, Any] | None,
    state_dir: str | os.PathLike[str],
) -> Plan:
    """The plan a run of the recipe file executes: compiled, or the one compiled before if
    nothing it was compiled from changed (kept in `<state_dir>/plans`)."""
    from recipec.compiler.tools.plan_cache import PlanCache

    cache = PlanCache(Path(state_dir) / "plans")
    plan = cache.load(path, vars or {})
    if plan is None:
        from recipec.compiler.driver import compile_pipeline, load_pipeline

        pipeline = load_pipeline(path, vars)
        plan = compile_pipeline(pipeline, lineage=False)  # only a reader needs lineage
        try:
            cache.store(pipeline, plan)
        except OSError as exc:  # a read-only or full disk costs the next run a compile, no more
            import logging

            logging.getLogger("recipec").debug("plan not cached: %s", exc)
    return plan


def run_plan(
    plan: Plan,
    state_backend: StateBackend | None = None,
    *,
    full_refresh: bool = False,
    progress: bool = False,
    refuse_stale: bool = False,
    vars: Mapping[str, Any] | None = None,
    select: Collection[str] | None = None,
    fail_fast: bool = False,
) -> RunSummary:
    """Execute a compiled plan: its units (those named in `select`, all without) in dependency
    order, each in its own transaction. With `refuse_stale` (a saved plan), refuse it when one
    of its recipe files changed since it was compiled, or a destination table no longer has the
    columns it writes (`StalePlanError`). `vars` gives the vars its secrets read: a plan keeps
    their names, never their values."""
    from recipec.runtime.progress import Progress
    from recipec.runtime.scheduler import run_plan as schedule
    from recipec.runtime.state import LocalStateBackend

    backend = state_backend if state_backend is not None else LocalStateBackend(".state")
    return schedule(
        plan,
        backend,
        vars=dict(vars or {}),
        full_refresh=full_refresh,
        progress=Progress(progress),
        refuse_stale=refuse_stale,
        selected=select,
        fail_fast=fail_fast,
    )


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
    """Load, compile (or reuse the plan compiled before) and run a recipe file, keeping state
    in `state_dir`."""
    from recipec.runtime.state import LocalStateBackend

    plan = plan_for_run(path, vars, state_dir)
    return run_plan(plan, LocalStateBackend(state_dir), full_refresh=full_refresh, vars=vars)


__all__ = [
    "compile_file",
    "compile_recipe",
    "from_yaml",
    "plan_for_run",
    "run_plan",
    "run_recipe",
    "run_recipe_from_yaml",
]
