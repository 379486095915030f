"""Stage 3: templates rendered per value; secrets kept out of plans and messages."""

import pytest

from recipec import RecipeError, compile_recipe, from_yaml

RECIPE = """
name: {name}
source:
  type: csv
  path: "{path}"
destination:
  type: duckdb
  database: "{database}"
  table: main.t
"""


def write(project, name="t", path="d.csv", database="out.duckdb"):
    project.write("d.csv", "id\n1\n")
    return project.write("r.yaml", RECIPE.format(name=name, path=path, database=database))


def test_env_var_env_var_with_default_env_attribute_var_and_recipe_name(project, monkeypatch):
    monkeypatch.setenv("DATA_FILE", "d.csv")
    monkeypatch.setenv("DB_DIR", "dbs")
    write(
        project,
        path="{{ env_var('DATA_FILE') }}",
        database="{{ env.DB_DIR }}/{{ var('db') }}_{{ env_var('MISSING_X', 'dflt') }}"
        "_{{ recipe.name }}.duckdb",
    )
    plan = compile_recipe(from_yaml("r.yaml", vars={"db": "main"}))
    assert plan.only.extract.path == "d.csv"
    assert plan.only.write.database == "dbs/main_dflt_t.duckdb"


def test_templated_paths_resolve_against_the_working_directory(project):
    project.write(
        "sub/r.yaml", RECIPE.format(name="t", path="literal.csv", database="{{ var('db') }}")
    )
    plan = compile_recipe(from_yaml("sub/r.yaml", vars={"db": "here.duckdb"}))
    assert plan.only.extract.path == "sub/literal.csv"  # literal: relative to the recipe
    assert plan.only.write.database == "here.duckdb"  # templated: relative to where it was typed


def test_every_unresolved_template_is_reported_with_key_path_and_line(project):
    write(project, path="{{ env_var('NOPE_1') }}", database="{{ var('nope_2') }}")
    with pytest.raises(RecipeError) as info:
        from_yaml("r.yaml")
    problems = info.value.problems
    assert [(p.path, p.location.line) for p in problems] == [
        ("source.path", 4),
        ("destination.database", 7),
    ]
    assert "environment variable 'NOPE_1' is not set" in problems[0].message
    assert "--var nope_2=VALUE" in problems[1].message


def test_template_syntax_errors_and_sandbox_escapes_are_recipe_errors(project):
    write(project, path="{{ oops(", database="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(RecipeError) as info:
        from_yaml("r.yaml")
    messages = [p.message for p in info.value.problems]
    assert any("template syntax error" in m for m in messages)
    assert any("template error" in m or "unresolved template" in m for m in messages)


SECRET_RECIPE = """
name: s
plugins: [secret_source]
source:
  type: secret_echo
  token: "{{ env_var('API_TOKEN') }}"
  url: "https://x/?key={{ secret('API_KEY') }}"
  note: "{{ env_var('PLAIN_NOTE') }}"
destination:
  type: duckdb
  database: out.duckdb
  table: main.t
"""

SECRET_SOURCE = """
from recipec import DictBatch, register_source

@register_source("secret_echo")
def secret_echo(config):
    yield DictBatch(columns=["token", "url"], rows=[[config.token, config.url]])
"""


@pytest.fixture
def secret_project(project, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "tok-SECRET-123")
    monkeypatch.setenv("API_KEY", "key-SECRET-456")
    monkeypatch.setenv("PLAIN_NOTE", "not a secret")
    project.write("secret_source.py", SECRET_SOURCE)
    project.write("r.yaml", SECRET_RECIPE)
    return project


def test_secrets_never_appear_in_plans_but_are_resolved_when_the_plan_runs(secret_project, cli):
    compiled = cli("compile", "r.yaml", "--format", "json")
    assert compiled.code == 0
    assert "SECRET" not in compiled.out
    plan = compiled.json()
    assert plan["units"][0]["steps"][0]["config"]["token"] == "***"
    assert (
        plan["units"][0]["steps"][0]["config"]["note"] == "not a secret"
    )  # not a secret-looking key
    assert plan["units"][0]["secrets"]["source.token"] == {
        "env": ["API_TOKEN"],
        "template": "{{ env_var('API_TOKEN') }}",
        "vars": [],
        "file": None,
        "key": None,
    }
    assert plan["units"][0]["secrets"]["source.url"]["env"] == ["API_KEY"]
    assert "SECRET" not in cli("compile", "r.yaml").out

    secret_project.write("plan.json", compiled.out)
    assert cli("run", "--plan", "plan.json").code == 0
    assert secret_project.rows("SELECT token, url FROM main.t") == [
        ("tok-SECRET-123", "https://x/?key=key-SECRET-456")
    ]


def test_secrets_are_redacted_from_error_messages(secret_project, cli):
    failing = SECRET_SOURCE.replace('"secret_echo"', '"secret_fail"').replace(
        "yield DictBatch", "raise RuntimeError(f'bad token {config.token}')\n    yield DictBatch"
    )
    secret_project.write("secret_fail.py", failing)
    secret_project.write(
        "r.yaml",
        SECRET_RECIPE.replace("secret_source", "secret_fail").replace("secret_echo", "secret_fail"),
    )
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "bad token ***" in result.err
    assert "SECRET" not in result.err + result.out


def test_a_missing_secret_at_run_time_names_the_key_not_the_value(secret_project, cli, monkeypatch):
    assert cli("compile", "r.yaml", "-o", "plan.json").code == 0
    monkeypatch.delenv("API_TOKEN")
    result = cli("run", "--plan", "plan.json")
    assert result.code == 1
    assert "source.token" in result.err and "API_TOKEN" in result.err
