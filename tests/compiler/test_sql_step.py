"""The `sql` transform: one SELECT over {input}, checked, typed and transpiled."""

from __future__ import annotations

import json

import pytest

from recipec import RecipeError, compile_recipe, from_yaml, run_recipe_from_yaml

DATA = "id,name,amount,created_at\n1,ada,10.5,2024-01-03 10:00:00\n2,alan,,2023-05-01 00:00:00\n"


def write(project, *steps):
    project.write("data/a.csv", DATA)
    document = {
        "name": "sql_steps",
        "source": {"type": "csv", "path": "data/*.csv"},
        "transform": {"steps": list(steps)},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "main.t"},
    }
    project.write("r.yaml", json.dumps(document))


def test_a_duckdb_query_runs_and_its_output_schema_is_derived(project):
    write(
        project,
        {"type": "sql", "query": "SELECT *, amount * 2 AS doubled FROM {input} WHERE id > 0"},
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
        ("amount", "DOUBLE"),
        ("created_at", "TIMESTAMP"),
        ("doubled", "DOUBLE"),
    ]
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, doubled FROM main.t ORDER BY id") == [(1, 21.0), (2, None)]


def test_a_query_in_another_dialect_is_transpiled(project):
    write(
        project,
        {
            "type": "sql",
            "dialect": "postgres",
            "query": "SELECT id, amount::numeric(10,2) AS amount, created_at::date AS day, "
            "name || '!' AS shout FROM {input} AS i",
        },
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("id", "BIGINT"),
        ("amount", "DECIMAL(10,2)"),
        ("day", "DATE"),
        ("shout", "VARCHAR"),
    ]
    assert "CAST(amount AS DECIMAL(10, 2))" in plan.only.transforms[0].sql
    run_recipe_from_yaml("r.yaml")
    rows = project.rows("SELECT id, CAST(amount AS VARCHAR), CAST(day AS VARCHAR), shout FROM t")
    assert sorted(rows) == [(1, "10.50", "2024-01-03", "ada!"), (2, None, "2023-05-01", "alan!")]


def test_types_are_duckdbs_own_and_declared_types_are_checked(project):
    query = "SELECT id, CAST(amount AS DECIMAL(10,2)) * 1.2 AS gross, md5(name) AS h FROM {input}"
    write(project, {"type": "sql", "query": query})
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("id", "BIGINT"),
        ("gross", "DECIMAL(12,3)"),
        ("h", "VARCHAR"),
    ]
    write(project, {"type": "sql", "query": query, "columns": {"h": "str"}})
    compile_recipe(from_yaml("r.yaml"))
    write(project, {"type": "sql", "query": query, "columns": {"h": "int"}})
    with pytest.raises(RecipeError, match="column 'h' is declared int but the query gives VARCHAR"):
        compile_recipe(from_yaml("r.yaml"))


@pytest.mark.parametrize(
    ("query", "path", "message"),
    [
        ("SELECT * FROM orders", "query", "the query must read {input}"),
        ("SELECT * FROM {input} JOIN orders USING (id)", "query", "may read only {input}"),
        ("SELECT * FROM {input}; DROP TABLE t", "query", "exactly one SELECT"),
        ("DELETE FROM {input}", "query", "exactly one SELECT"),
        ("SELECT * FRM {input}", "query", "does not parse as duckdb SQL"),
        ("SELECT *, $x AS p FROM {input}", "query", "may not use parameters"),
        ("SELECT nope FROM {input}", "", "Column 'nope' could not be resolved"),
    ],
)
def test_bad_queries_are_recipe_errors_at_the_step(project, query, path, message):
    write(project, {"type": "sql", "query": query})
    with pytest.raises(RecipeError) as caught:
        compile_recipe(from_yaml("r.yaml"))
    (problem,) = caught.value.problems
    assert problem.path == "transform.steps[0]" + (f".{path}" if path else "")
    assert message in problem.message
    assert problem.location is not None and problem.location.file == "r.yaml"


def test_an_unknown_dialect_suggests_the_right_one(project):
    write(project, {"type": "sql", "dialect": "postgress", "query": "SELECT * FROM {input}"})
    with pytest.raises(RecipeError) as caught:
        from_yaml("r.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "transform.steps[0].dialect"
    assert problem.hint == "did you mean 'postgres'?"
