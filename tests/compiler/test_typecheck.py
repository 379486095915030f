"""Type checking at compile time: the schema flows through every step before anything runs."""

from __future__ import annotations

import json

import pytest

from recipec import RecipeError, compile_recipe, from_yaml

SCHEMA = {
    "columns": [
        {"name": "id", "type": "int"},
        {"name": "email", "type": "string"},
        {"name": "amount", "type": "decimal(12,2)"},
        {"name": "created_at", "type": "datetime"},
    ]
}


def compile_steps(project, steps, *, schema=SCHEMA, destination=None, source=None):
    document = {
        "name": "typed",
        "source": source or {"type": "csv", "path": "nowhere/*.csv"},
        "transform": {"steps": steps},
        "destination": destination or {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    if schema is not None:
        document["schema"] = schema
    project.write("r.yaml", json.dumps(document, indent=2))
    return compile_recipe(from_yaml("r.yaml"))


def problem(project, steps, **kwargs):
    with pytest.raises(RecipeError) as caught:
        compile_steps(project, steps, **kwargs)
    (found,) = caught.value.problems
    return found


def test_the_plan_shows_every_steps_output_schema(project):
    plan = compile_steps(
        project,
        [
            {"type": "derive", "columns": {"year": "year(created_at)", "big": "amount > 10"}},
            {"type": "rename_columns", "mapping": {"email": "mail"}},
            {"type": "drop_columns", "columns": ["created_at"]},
        ],
    )
    assert [(c.name, c.type) for c in plan.only.extract.output_schema] == [
        ("id", "BIGINT"),
        ("email", "VARCHAR"),
        ("amount", "DECIMAL(12,2)"),
        ("created_at", "TIMESTAMP"),
    ]
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("id", "BIGINT"),
        ("mail", "VARCHAR"),
        ("amount", "DECIMAL(12,2)"),
        ("year", "BIGINT"),
        ("big", "BOOLEAN"),
    ]


def test_a_column_renamed_by_an_earlier_step_is_an_error_at_its_token(project):
    found = problem(
        project,
        [
            {"type": "rename_columns", "mapping": {"email": "mail"}},
            {"type": "filter", "where": "email is not null"},
        ],
    )
    assert found.path == "transform.steps[1].where"
    assert "unknown column 'email'" in found.message
    assert "did you mean 'mail'?" in found.message
    line = (project.root / "r.yaml").read_text().splitlines()[found.location.line - 1]
    assert line[found.location.column - 1 :].startswith("email is not null")


@pytest.mark.parametrize(
    ("steps", "path", "message"),
    [
        (
            [{"type": "filter", "where": "email > 3"}],
            "transform.steps[0].where",
            "cannot compare string (VARCHAR) with numeric (INTEGER)",
        ),
        (
            [{"type": "derive", "columns": {"y": "year(email)"}}],
            "transform.steps[0].columns.y",
            "year() needs a temporal value, but email is VARCHAR",
        ),
        (
            [{"type": "filter", "where": "amount + 1"}],
            "transform.steps[0]",
            "a filter needs a true/false condition",
        ),
        (
            [{"type": "drop_columns", "columns": ["emial"]}],
            "transform.steps[0]",
            "no column 'emial' in its input; did you mean 'email'?",
        ),
        (
            [{"type": "derive", "columns": {"email": "lower(email)"}}],
            "transform.steps[0]",
            "column 'email' already exists",
        ),
    ],
)
def test_type_errors_name_the_step_and_key(project, steps, path, message):
    found = problem(project, steps)
    assert found.path.startswith(path)
    assert message in found.message


def test_a_merge_key_missing_from_the_output(project):
    destination = {
        "type": "duckdb",
        "database": "out.duckdb",
        "table": "t",
        "write_mode": "merge",
        "merge_keys": ["id"],
    }
    found = problem(
        project, [{"type": "select_columns", "columns": ["email"]}], destination=destination
    )
    assert found.path == "destination.merge_keys[0]"
    assert "merge key 'id' is not in the output of the last step" in found.message


def test_a_cursor_column_the_source_does_not_have(project):
    source = {
        "type": "csv",
        "path": "nowhere/*.csv",
        "incremental": {"strategy": "cursor", "cursor_column": "created"},
    }
    found = problem(project, [], source=source)
    assert found.path == "source.incremental.cursor_column"
    assert "did you mean 'created_at'?" in (found.hint or "")


def test_file_headers_type_the_recipe_without_a_declared_schema(project):
    project.write("data/a.csv", "id,name\n1,ada\n")
    found = problem(
        project,
        [{"type": "filter", "where": "nme = 'ada'"}],
        schema=None,
        source={"type": "csv", "path": "data/*.csv"},
    )
    assert "unknown column 'nme'" in found.message and "did you mean 'name'?" in found.message


def test_without_a_known_schema_the_checks_wait_for_the_run(project):
    plan = compile_steps(project, [{"type": "filter", "where": "nme = 'ada'"}], schema=None)
    assert plan.only.output_schema is None


def test_a_declared_schema_with_a_bad_type_is_located(project):
    schema = {"columns": [{"name": "id", "type": "integr"}]}
    found = problem(project, [], schema=schema)
    assert found.path == "schema.columns[0].type"
