"""`recipec runs`: a recipe's runs, resource by resource, as its destination recorded them (in
`<state_schema>._recipec_runs`: a load's row is written in its own transaction, a failed
attempt's after it rolled back)."""

from __future__ import annotations

from typing import Any

from recipec import duckdb_connection
from recipec.compiler.plan import HISTORY_COLUMNS, Plan
from recipec.errors import UsageError
from recipec.runtime.secrets import resolve_secrets


def load_history(plan: Plan, limit: int, vars: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest `limit` runs of the plan's resources, newest first; none before the first."""
    loads = []
    for unit in plan.units:
        step, write = unit.commit, unit.write
        if step.history_sql is None:
            raise UsageError(
                f"destination {write.destination} of {unit.name} keeps no load history: its "
                "state lives in the local state folder (see `recipec show-state`)"
            )
        values = {"recipe_name": unit.state_key, "limit": limit}
        if write.in_engine:
            rows = _duckdb_rows(write.database or ":memory:", step.history_sql, values)
        else:
            _, config = resolve_secrets(plan, unit, vars)
            rows = _postgres_rows(config, step.history_sql, values)
        loads += [
            {"resource": unit.name, **dict(zip(HISTORY_COLUMNS, row, strict=True))} for row in rows
        ]
    loads.sort(key=lambda load: str(load["finished_at"]), reverse=True)
    return loads[:limit]


def _duckdb_rows(database: str, statement: str, values: dict[str, Any]) -> list[tuple[Any, ...]]:
    import os

    import duckdb

    if database == ":memory:" or not os.path.exists(database):
        return []
    with duckdb_connection.connect(database, read_only=True) as connection:
        try:
            return connection.execute(statement, values).fetchall()
        except duckdb.CatalogException:  # never loaded: no state tables yet
            return []


def _postgres_rows(
    config: dict[str, Any], statement: str, values: dict[str, Any]
) -> list[tuple[Any, ...]]:
    import psycopg2.errors

    from recipec.runtime.connectors.postgres import postgres_connect

    connection = postgres_connect(config)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, values)
            return list(cursor.fetchall())
    except psycopg2.errors.UndefinedTable:  # never loaded: no state tables yet
        return []
    finally:
        connection.close()
