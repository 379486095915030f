"""Stage 6: passes over the IR, run in order by `run_passes`. Each is `LoadIR -> LoadIR`.

A pass checks the recipe against what the runtime can do (raising located `RecipeError`s) or
derives facts the lowering needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from recipec.compiler.frontend.inheritance import parse_dot_path
from recipec.compiler.frontend.models import (
    CursorIncremental,
    ModifiedTimeIncremental,
    holds_secret,
)
from recipec.compiler.semantic.ir import LoadIR
from recipec.compiler.semantic.typecheck import check_types
from recipec.errors import RecipeError, sorted_problems
from recipec.transform_hooks import hooks


def check_capabilities(ir: LoadIR) -> LoadIR:
    """The destination must support the write mode the recipe asks for."""
    destination = ir.destination
    supported = destination.capabilities.write_modes
    if destination.write_mode in supported:
        return ir
    return ir.report(
        f"destination '{destination.type}' does not support write_mode '{destination.write_mode}'",
        ("destination", "write_mode"),
        expected=f"one of: {', '.join(sorted(supported))}",
    )


def check_incremental(ir: LoadIR) -> LoadIR:
    """`modified_time` needs local files to look at."""
    incremental = ir.source.incremental
    path = ir.source.path
    if isinstance(incremental, ModifiedTimeIncremental) and (path is None or "://" in path):
        return ir.report(
            "strategy 'modified_time' needs a source of local files (a path)",
            ("source", "incremental", "strategy"),
        )
    return ir


def track_cursor(ir: LoadIR) -> LoadIR:
    """Follow the cursor column through the steps, to find it in the staged rows."""
    incremental = ir.source.incremental
    if not isinstance(incremental, CursorIncremental):
        return ir
    name = incremental.cursor_column
    for step in ir.transforms:
        name = hooks(step.config).output_name(name)
    return ir.replace(cursor_output=name)


def choose_staging(ir: LoadIR) -> LoadIR:
    """Materialize the stage when the run must look at the batch before writing it.

    A merge deduplicates and upserts from it, and an incremental load reads the new watermark
    from it. Otherwise the stage is a view and the write streams straight from the source.
    """
    if ir.destination.write_mode in ("merge", "scd2"):
        return ir.replace(
            materialize_stage=True,
            stage_reason=f"{ir.destination.write_mode} reads the batch more than once",
        )
    if isinstance(ir.source.incremental, CursorIncremental):
        return ir.replace(
            materialize_stage=True, stage_reason="the new watermark is read from the batch"
        )
    if isinstance(ir.source.incremental, ModifiedTimeIncremental):
        return ir.replace(
            materialize_stage=True, stage_reason="it reads the list of new files ($files)"
        )
    return ir.replace(materialize_stage=False, stage_reason="streamed: nothing reads it twice")


def check_secrets(ir: LoadIR) -> LoadIR:
    """Secrets may only be connection settings, never values the plan writes into its SQL.

    A Python source or a plug-in destination gets its block as data, so any key of it may hold a
    secret; a connector that lowers to SQL allows secrets only in fields marked `SecretField`.
    """
    for path in sorted(ir.secrets):
        if not _may_hold_secret(ir, path):
            ir = ir.report(
                "a secret cannot be used here: its value would be written into the plan",
                parse_dot_path(path),
                location=ir.secret_locations.get(path),
                hint="use secrets for connection settings (passwords, tokens) of sources "
                "and destinations",
            )
    return ir


def _may_hold_secret(ir: LoadIR, path: str) -> bool:
    block, _, rest = path.partition(".")
    field = rest.split(".")[0].split("[")[0]
    if block == "source" and field != "incremental":
        config, writes_sql = ir.source.config, ir.source.reader != "python"
    elif block == "destination":
        config = ir.destination.config
        writes_sql = ir.destination.capabilities.dialect != "python"
    elif block == "transform" and field == "steps" and "." in rest:
        # transform.steps[i].field: only fields the step binds as run-time parameters
        step, name = rest.split(".")[:2]
        config = ir.transforms[int(step.partition("[")[2].rstrip("]"))].config
        return name in hooks(config).bound_parameters
    else:
        return False
    if not writes_sql:
        return True
    info = type(config).model_fields.get(field)
    return info is not None and holds_secret(info.annotation, info.metadata)


def check_write_mode(ir: LoadIR) -> LoadIR:
    """`overwrite` replaces the table each run: with an incremental source it would keep only
    the newest rows."""
    if ir.reported(("destination", "write_mode")):
        return ir  # an unsupported write mode: nothing more to say about it
    if ir.destination.write_mode == "overwrite" and ir.source.incremental is not None:
        return ir.report(
            "write_mode 'overwrite' replaces the table on every run, so with an "
            "incremental source the table would hold only the newest rows",
            ("destination", "write_mode"),
            hint="use append or merge with an incremental source",
        )
    return ir


def check_cursor_nullable(ir: LoadIR) -> LoadIR:
    """A cursor that can be NULL loses rows to the `>=` predicate: say so when the schema is
    known (rows with a NULL cursor are loaded only by a full read)."""
    incremental = ir.source.incremental
    if not isinstance(incremental, CursorIncremental) or not ir.source_schema:
        return ir
    for column in ir.source_schema:
        if column.name == incremental.cursor_column and column.nullable:
            return ir.replace(
                warnings=(
                    *ir.warnings,
                    f"cursor column '{column.name}' is nullable: rows with a NULL cursor are "
                    "loaded only by a full read (a run with no watermark and no initial_value)",
                )
            )
    return ir


DBT_ADAPTERS = {"duckdb": "duckdb", "postgres": "postgres"}
"""Destinations recipec writes a dbt profile for (the dbt adapter of each)."""


def check_dbt(ir: LoadIR) -> LoadIR:
    """The dbt project (and profiles) exist, and recipec can write a profile when none is
    given: for a DuckDB file or a Postgres destination."""
    dbt = ir.dbt
    if dbt is None:
        return ir
    project = Path(dbt.project_dir)
    if not (project / "dbt_project.yml").is_file():
        ir = ir.report(
            f"no dbt project at {dbt.project_dir} (no dbt_project.yml there)",
            ("dbt", "project_dir"),
            hint="project_dir is the folder of dbt_project.yml, relative to the recipe",
        )
    if dbt.profiles_dir is not None:
        if not (Path(dbt.profiles_dir) / "profiles.yml").is_file():
            ir = ir.report(
                f"no profiles.yml in {dbt.profiles_dir}",
                ("dbt", "profiles_dir"),
                hint="leave profiles_dir out and recipec writes a profile for the destination",
            )
        return ir
    destination = ir.destination
    if destination.type not in DBT_ADAPTERS or destination.database in (None, ":memory:"):
        where = f"{destination.type} {destination.database or ''}".rstrip()
        ir = ir.report(
            "recipec writes a dbt profile for a DuckDB file or a Postgres destination, "
            f"not for {where}",
            ("dbt",),
            hint="give profiles_dir (and target) of a profile that reaches the destination",
        )
    return ir


PASSES: tuple[Callable[[LoadIR], LoadIR], ...] = (
    check_secrets,
    check_capabilities,
    check_write_mode,
    check_incremental,
    check_types,
    track_cursor,
    choose_staging,
    check_cursor_nullable,
    check_dbt,
)


def run_passes(ir: LoadIR) -> LoadIR:
    """Run every pass; raise the problems they found together, in the order of the files."""
    for compiler_pass in PASSES:
        ir = compiler_pass(ir)
    if ir.problems:
        raise RecipeError(sorted_problems(ir.problems))
    return ir
