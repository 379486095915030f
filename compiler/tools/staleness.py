"""Stale saved plans: like `terraform apply`, `recipec run --plan` refuses a plan whose recipe
files changed since it was compiled, or whose destination table no longer fits what it writes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from recipec.compiler.frontend.recipe_files import file_of
from recipec.compiler.plan import Column, Plan
from recipec.compiler.tools.diff import same_type
from recipec.errors import DataLoaderError


class StalePlanError(DataLoaderError):
    """A saved plan no longer matches its recipe files or its destination table: compile it
    again. A refusal before anything moves, like a recipe error (exit code 1)."""

    exit_code = 1


def stale_files(plan: Plan) -> list[str]:
    """The plan's recipe files that still exist at their paths (relative to the working
    directory) but whose content changed since it was compiled. A missing file is fine: a saved
    plan runs without its recipe."""
    changed = []
    for ref in plan.files:
        path = file_of(ref.path)
        try:
            content = path.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(content).hexdigest() != ref.sha256:
            changed.append(ref.path)
    return changed


def check_files(plan: Plan) -> None:
    """Refuse a saved plan whose recipe files changed since it was compiled."""
    changed = stale_files(plan)
    if changed:
        names = ", ".join(changed)
        raise StalePlanError(
            f"the saved plan is stale: {names} changed since the plan was compiled; compile it "
            f"again (recipec compile {plan.files[0].path} -o PLAN)",
            files=changed,
        )


def table_mismatches(
    expected: Sequence[Column],
    actual: Sequence[tuple[str, str]],
    dialect: str = "duckdb",
    zone_sensitive: Sequence[str] = (),
) -> list[str]:
    """How the table's columns (`actual`, name and type in the destination's dialect) fail what
    a plan writes (`expected`, DuckDB types already spelled in that dialect): a missing column,
    or one of another type. Extra columns in the table are fine. A TIMESTAMP column the plan
    casts from a `datetime` may be TIMESTAMPTZ (the runtime widens it when values carry zones).
    """
    table = {name.lower(): type_name for name, type_name in actual}
    sensitive = {name.lower() for name in zone_sensitive}
    problems = []
    for column in expected:
        found = table.get(column.name.lower())
        if found is None:
            problems.append(f"column '{column.name}' is missing from the table")
            continue
        if column.type.upper() == "NULL" or same_type(column.type, found, dialect):
            continue
        if column.name.lower() in sensitive and same_type(found, "TIMESTAMPTZ", dialect):
            continue
        problems.append(
            f"column '{column.name}' is {found} in the table but the plan writes {column.type}"
        )
    return problems


def check_table(table: str, problems: Sequence[str], where: str = "") -> None:
    """Refuse a saved plan that no longer fits its destination table."""
    if problems:
        raise StalePlanError(
            f"the saved plan is stale: the destination table {table}{where} no longer fits what "
            f"the plan writes: {'; '.join(problems)}. Compile the recipe again (or run with "
            "--full-refresh to rebuild the table)",
            table=table,
        )
