"""Every transform in every target dialect: stars expanded against the known columns, then
transpiled by sqlglot (golden files), and the DuckDB form checked against the plan's run."""

from __future__ import annotations

import json

import pytest
from snapshot_extensions import SqlSnapshot

from recipec import compile_recipe, from_yaml
from recipec.compiler.backend.portable import transforms_in
from recipec.errors import UsageError

DIALECTS = ["duckdb", "postgres", "mysql", "redshift", "snowflake", "bigquery", "spark"]
SCHEMA = {
    "columns": [
        {"name": "id", "type": "int"},
        {"name": "fname", "type": "str"},
        {"name": "lname", "type": "str"},
        {"name": "email", "type": "str"},
        {"name": "amount", "type": "decimal(12,2)"},
        {"name": "status", "type": "str"},
        {"name": "created_at", "type": "datetime"},
        {"name": "note", "type": "str"},
    ]
}
STEPS = [
    {"type": "rename_columns", "mapping": {"note": "remark"}},
    {"type": "cast", "columns": {"amount": "float"}},
    {"type": "add_column", "name": "origin", "value": "crm"},
    {"type": "filter", "where": "status not in ('deleted', 'spam') and amount between 0 and 1e6"},
    {
        "type": "derive",
        "columns": {
            "full_name": "concat(fname, ' ', lname)",
            "month": "date_trunc('month', created_at)",
            "tier": "case when amount % 100 = 0 then 'round' else 'other' end",
        },
    },
    {"type": "drop_columns", "columns": ["remark"]},
    {"type": "deduplicate", "keys": ["id"], "order_by": "created_at desc, amount"},
    {"type": "hash_columns", "columns": ["email"], "salt": "{{ secret('PII_SALT') }}"},
    {"type": "sql", "query": "SELECT id, full_name, email, tier, month FROM {input}"},
    {"type": "select_columns", "columns": ["id", "email", "tier", "full_name"]},
]


@pytest.fixture
def plan(project, monkeypatch):
    monkeypatch.setenv("PII_SALT", "pepper")
    document = {
        "name": "portable",
        "source": {"type": "csv", "path": "later/*.csv"},
        "schema": SCHEMA,
        "transform": {"steps": STEPS},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    project.write("r.yaml", json.dumps(document))
    return compile_recipe(from_yaml("r.yaml"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_transform_in_every_dialect_is_pinned(plan, dialect, snapshot):
    steps = transforms_in(plan.only, dialect)
    assert len(steps) == len(STEPS) and all(text is not None for _, text in steps)
    rendered = "\n\n".join(f"-- transform[{s.index}] {s.type}\n{text};" for s, text in steps)
    assert "pepper" not in rendered  # the salt is a parameter in every dialect
    assert rendered == snapshot(extension_class=SqlSnapshot)


def test_the_expanded_duckdb_form_loads_the_same_rows(plan, project):
    """The explicit-column DuckDB SQL gives what the plan's star-modifier SQL gives."""
    import duckdb

    rows = (
        "(1, 'Ada', 'L', 'a@x', 5.00, 'new', TIMESTAMP '2024-01-05 10:00:00', 'n'),"
        "(1, 'Ada', 'L', 'a@x', 7.00, 'new', TIMESTAMP '2024-02-05 10:00:00', 'n'),"
        "(2, 'Bob', NULL, NULL, 100.00, 'spam', TIMESTAMP '2024-01-05 10:00:00', NULL),"
        "(3, 'Cy', 'D', 'c@x', 200.00, 'ok', TIMESTAMP '2024-03-05 10:00:00', NULL)"
    )
    names = ", ".join(c["name"] for c in SCHEMA["columns"])
    with duckdb.connect() as connection:
        connection.execute("SET VARIABLE step_7_salt = 'pepper'")
        connection.execute(f"CREATE TABLE input AS SELECT * FROM (VALUES {rows}) AS v({names})")
        connection.execute(
            "CREATE TABLE typed AS SELECT id::BIGINT id, fname, lname, email, "
            "amount::DECIMAL(12,2) amount, status, created_at, note FROM input"
        )
        results = {}
        for form, steps in (
            ("plan", [(s, s.sql) for s in plan.only.transforms]),
            ("expanded", transforms_in(plan.only, "duckdb")),
        ):
            connection.execute("CREATE OR REPLACE TABLE current AS SELECT * FROM typed")
            for _, text in steps:
                sql = text.replace('"input"', "current").replace("input", "current")
                connection.execute(f"CREATE OR REPLACE TABLE current AS {sql}")
            results[form] = connection.execute("SELECT * FROM current ORDER BY id").fetchall()
    assert results["plan"] == results["expanded"]
    assert [row[0] for row in results["plan"]] == [1, 3]


def test_another_dialect_needs_the_source_columns(project):
    document = {
        "name": "untyped",
        "source": {"type": "csv", "path": "later/*.csv"},
        "transform": {"steps": [{"type": "filter", "where": "a > 1"}]},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    project.write("r.yaml", json.dumps(document))
    with pytest.raises(UsageError, match="need the source's columns"):
        transforms_in(compile_recipe(from_yaml("r.yaml")).only, "postgres")


def test_an_unknown_dialect_is_a_usage_error(plan, cli):
    with pytest.raises(UsageError):
        transforms_in(plan.only, "postgress")
    result = cli("compile", "r.yaml", "--dialect", "postgress")
    assert result.code == 2
