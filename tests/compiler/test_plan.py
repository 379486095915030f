"""The plan: deterministic, portable, fingerprinted, readable; SQL built and quoted by sqlglot."""

import json
import shutil
import string
from pathlib import Path

import duckdb
import pytest
from helpers import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snapshot_extensions import JsonSnapshot, SqlSnapshot, TextSnapshot

from recipec import Plan, RecipeError, compile_recipe, from_yaml
from recipec.api import compile_file
from recipec.compiler.tools.render import render_plan

EXAMPLES = sorted(p.name for p in (REPO / "recipes").glob("*.yaml"))


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize("recipe", EXAMPLES)
def test_example_plans_are_pinned(in_repo, recipe, snapshot):
    plan = compile_file(f"recipes/{recipe}", {"db_path": "example.duckdb"})
    assert plan.to_json() == snapshot(extension_class=JsonSnapshot)
    assert render_plan(plan) == snapshot(extension_class=TextSnapshot)
    stages = "\n".join(unit.stage.sql for unit in plan.units)
    assert stages + "\n" == snapshot(extension_class=SqlSnapshot)


def test_same_recipe_gives_byte_identical_json_wherever_it_is_compiled(tmp_path, monkeypatch):
    outputs = []
    for place in ("laptop/work", "ci/build/checkout"):
        root = tmp_path / place
        shutil.copytree(REPO / "recipes", root / "recipes")
        monkeypatch.chdir(root)
        text = compile_recipe(
            from_yaml("recipes/customers.yaml", vars={"db_path": "x.duckdb"})
        ).to_json()
        assert str(tmp_path) not in text  # no absolute path of the compiling machine
        outputs.append(text)
    assert outputs[0] == outputs[1]


def test_fingerprint_is_a_hash_of_the_content(in_repo):
    plan = compile_recipe(from_yaml("recipes/customers.yaml", vars={"db_path": "x.duckdb"}))
    assert plan.fingerprint == plan.compute_fingerprint()
    other = compile_recipe(from_yaml("recipes/customers.yaml", vars={"db_path": "y.duckdb"}))
    assert other.fingerprint != plan.fingerprint
    assert Plan.from_json(plan.to_json()) == plan


def test_an_edited_or_foreign_plan_is_refused(in_repo, tmp_path):
    plan = json.loads(
        compile_recipe(from_yaml("recipes/customers.yaml", vars={"db_path": "x"})).to_json()
    )
    plan["units"][0]["steps"][-2]["sql"]["write_sql"] = ["DROP TABLE main.customers"]
    with pytest.raises(RecipeError, match="edited after it was compiled"):
        Plan.from_json(json.dumps(plan))
    plan["format_version"] = 99
    with pytest.raises(RecipeError, match="format_version 99"):
        Plan.from_json(json.dumps(plan))
    with pytest.raises(RecipeError, match="not valid JSON"):
        Plan.from_json("{nope")


def test_compiling_connects_to_nothing(project):
    project.write(
        "r.yaml",
        """
        name: offline
        source: {type: parquet, path: "does/not/exist/*.parquet"}
        destination: {type: duckdb, database: /nonexistent/dir/x.duckdb, table: t}
        """,
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    assert "READ_PARQUET('does/not/exist/*.parquet')" in plan.only.extract.query


NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() == s and s != "" and "{{" not in s and "{%" not in s)
"""Names as written in YAML: one holding `{{` or `{%` is a template, by design."""


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old=NAMES, new=NAMES)
def test_any_column_name_is_quoted_never_injected(project, old, new):
    """Rename and cast columns with arbitrary names; DuckDB sees exactly those names."""
    quoted = '"' + old.replace('"', '""') + '"'
    project.write("d.parquet.sql", "")
    with duckdb.connect() as connection:
        connection.execute(f"COPY (SELECT 1 AS {quoted}, 'x' AS other) TO 'd.parquet'")
    recipe = {
        "name": "q",
        "source": {"type": "parquet", "path": "d.parquet"},
        "transform": {
            "steps": [
                {"type": "cast", "columns": {old: "str"}},
                {"type": "rename_columns", "mapping": {old: new}},
            ]
        },
        "destination": {"type": "duckdb", "database": ":memory:", "table": "t"},
    }
    Path("r.yaml").write_text(
        json.dumps(recipe, ensure_ascii=False), encoding="utf-8"
    )  # JSON is YAML
    plan = compile_recipe(from_yaml("r.yaml"))
    with duckdb.connect() as connection:
        create = plan.only.stage.sql.replace("CREATE OR REPLACE TEMPORARY VIEW", "CREATE TEMP VIEW")
        connection.execute(create)
        columns = [row[0] for row in connection.execute('DESCRIBE "_recipec_stage"').fetchall()]
        rows = connection.execute('SELECT * FROM "_recipec_stage"').fetchall()
    expected = [new, "other"] if new.lower() != "other" else None
    if expected is not None:
        assert columns == expected
        assert rows == [("1", "x")]


@pytest.mark.parametrize("name", ["select", "my col", 'we"ird', "x); DROP TABLE t; --"])
def test_awkward_column_names_load(project, cli, name):
    header = '"' + name.replace('"', '""') + '"'
    project.write("d.csv", f"{header},b\n1,2\n")
    recipe = {
        "name": "awkward",
        "source": {"type": "csv", "path": "d.csv"},
        "transform": {
            "steps": [
                {"type": "rename_columns", "mapping": {name: name + string.digits[:1]}},
                {"type": "cast", "columns": {name + "0": "int"}},
            ]
        },
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": 'main."odd table"'},
    }
    project.write("r.yaml", json.dumps(recipe))
    assert cli("run", "r.yaml").code == 0
    assert project.columns('main."odd table"') == [(name + "0", "BIGINT"), ("b", "BIGINT")]


def test_a_redshift_plan_compiles_but_does_not_run(in_repo, tmp_path):
    from recipec import ConnectorError, run_plan

    plan = compile_recipe(from_yaml("recipes/orders_to_redshift.yaml"))
    assert plan.only.write.sql_write.dialect == "redshift"
    assert plan.only.write.sql_write.load_sql[0].startswith(
        "COPY \"_recipec_stage\" FROM 's3://my-bucket/recipec/orders/' IAM_ROLE"
    )
    with pytest.raises(ConnectorError, match="not supported in this version"):
        run_plan(plan)
