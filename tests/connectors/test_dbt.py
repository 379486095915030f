"""dbt after the load: dbt-core's runner builds the project's models and runs its tests against
the database the load wrote (DuckDB through dbt-duckdb, Postgres through dbt-postgres)."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import Project

PROJECT = {
    "dbt_project.yml": """
        name: shop
        version: "1.0"
        profile: shop
        models:
          shop:
            +materialized: table
        """,
    "models/customer_counts.sql": """
        select '{{ var("run_date") }}' as run_date, count(*) as customers
        from {{ source('loaded', 'customers') }}
        """,
    "models/schema.yml": """
        version: 2
        sources:
          - name: loaded
            schema: "{{ var('loaded_schema', 'main') }}"
            tables: [{name: customers}]
        models:
          - name: customer_counts
            columns:
              - name: customers
                tests: [not_null]
        """,
}


@pytest.fixture
def shop(project: Project) -> Project:
    for name, text in PROJECT.items():
        project.write(f"dbt_project/{name}", text)
    project.write("data/customers.csv", "id,name\n1,ada\n2,alan\n3,grace\n")
    return project


def _recipe(project: Project, destination: dict[str, object], **dbt: object) -> None:
    recipe = {
        "name": "shop_load",
        "source": {"type": "csv", "path": "data/customers.csv"},
        "destination": {**destination, "write_mode": "overwrite"},
        "dbt": {"project_dir": "dbt_project", "vars": {"run_date": "{{ var('day') }}"}, **dbt},
    }
    project.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))


DUCKDB = {"type": "duckdb", "database": "w.duckdb", "table": "main.customers"}


def test_dbt_builds_the_models_on_what_the_load_wrote(shop: Project, cli):
    _recipe(shop, DUCKDB)
    compiled = cli("compile", "r.yaml", "--var", "day=2024-05-01")
    assert compiled.code == 0, compiled.err
    assert "dbt build --project-dir dbt_project --vars" in compiled.out
    assert '{"run_date": "2024-05-01"}' in compiled.out

    ran = cli("run", "r.yaml", "--var", "day=2024-05-01", "--format", "json")
    assert ran.code == 0, ran.err
    summary = json.loads(ran.out[ran.out.index("{") :])
    nodes = {(n["resource_type"], n["name"]): n["status"] for n in summary["resources"][0]["dbt"]}
    assert nodes == {
        ("model", "customer_counts"): "success",
        ("test", "not_null_customer_counts_customers"): "pass",
    }
    assert [s["step"] for s in summary["resources"][0]["steps"]][-1] == "dbt"
    assert shop.rows("SELECT run_date, customers FROM main.customer_counts", "w.duckdb") == [
        ("2024-05-01", 3)
    ]


def test_a_failing_dbt_test_fails_the_run_after_the_load_committed(shop: Project, cli):
    shop.write(
        "dbt_project/tests/at_most_two.sql",
        "select * from {{ ref('customer_counts') }} where customers > 2\n",
    )
    _recipe(shop, DUCKDB)
    result = cli("run", "r.yaml", "--var", "day=2024-05-01")
    assert result.code == 3
    assert result.err.strip().splitlines()[-1] == (
        "error: dbt build failed after the load committed: test at_most_two fail: "
        "Got 1 result, configured to fail if != 0"
    )
    assert shop.rows("SELECT count(*) FROM main.customers", "w.duckdb") == [(3,)]  # committed
    assert shop.state("shop_load") is not None


@pytest.mark.parametrize(
    ("dbt", "destination", "path", "message"),
    [
        ({"project_dir": "no_such_project"}, DUCKDB, "dbt.project_dir", "no dbt project at"),
        ({"profiles_dir": "dbt_project"}, DUCKDB, "dbt.profiles_dir", "no profiles.yml in"),
        (
            {},
            {**DUCKDB, "database": ":memory:"},
            "dbt",
            "recipec writes a dbt profile for a DuckDB file or a Postgres destination",
        ),
    ],
)
def test_a_dbt_block_that_cannot_work_is_a_recipe_error_and_nothing_moves(
    shop: Project, cli, dbt, destination, path, message
):
    _recipe(shop, destination, **dbt)
    result = cli("run", "r.yaml", "--var", "day=2024-05-01")
    assert result.code == 1
    assert "r.yaml:" in result.err and f"{path}: {message}" in result.err
    assert not (shop.root / "w.duckdb").exists() and shop.state("shop_load") is None


def test_dbt_builds_on_a_postgres_destination(shop: Project, cli, postgres):
    destination = postgres.destination(f"{postgres.namespace}.customers")
    _recipe(shop, destination)
    vars_ = ["--var", "day=2024-05-02"]
    shop.write(
        "dbt_project/models/schema.yml",
        PROJECT["models/schema.yml"].replace("'main'", f"'{postgres.namespace}'"),
    )
    result = cli("run", "r.yaml", *vars_)
    assert result.code == 0, result.err
    assert "dbt           1 model success, 1 test pass" in result.out
    rows = postgres.rows(f"SELECT run_date, customers FROM {postgres.namespace}.customer_counts")
    assert rows == [("2024-05-02", 3)]


def test_the_profile_recipec_writes_is_where_the_load_wrote(shop: Project, cli):
    _recipe(shop, DUCKDB)
    plan = cli("compile", "r.yaml", "--var", "day=x", "--format", "json").json()
    dbt = next(step for step in plan["units"][0]["steps"] if step["kind"] == "dbt")
    assert dbt["profile"] == {"type": "duckdb", "path": "w.duckdb"}
    assert dbt["project_dir"] == "dbt_project"
    assert dbt["vars"] == {"run_date": "x"}


def test_diff_rates_dbt_changes_safe(shop: Project, cli):
    _recipe(shop, DUCKDB)
    recipe = yaml.safe_load((shop.root / "r.yaml").read_text())
    without = {k: v for k, v in recipe.items() if k != "dbt"}
    shop.write("old.yaml", yaml.safe_dump(without, sort_keys=False))
    recipe["dbt"]["select"] = ["customer_counts+"]
    shop.write("new.yaml", yaml.safe_dump(recipe, sort_keys=False))
    added = cli("diff", "old.yaml", "r.yaml", "--var", "day=x", "--format", "json").json()
    assert [(c["path"], c["kind"], c["risk"]) for c in added] == [("dbt", "added", "safe")]
    selected = cli("diff", "r.yaml", "new.yaml", "--var", "day=x", "--format", "json").json()
    assert [(c["path"], c["risk"], c["after"]) for c in selected] == [
        ("dbt.select", "safe", ["customer_counts+"])
    ]


def test_the_example_loads_then_builds_its_models_and_passes_its_tests(tmp_path, monkeypatch, cli):
    import shutil

    from helpers import REPO

    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)
    result = cli(
        "run", "recipes/customers_with_dbt.yaml", "--var", "db_path=c.duckdb", "--format", "json"
    )
    assert result.code == 0, result.err
    summary = json.loads(result.out[result.out.index("{") :])
    assert summary["rows_written"] == 7
    statuses = sorted((n["resource_type"], n["status"]) for n in summary["resources"][0]["dbt"])
    assert statuses == [("model", "success")] + [("test", "pass")] * 4
    project = Project(tmp_path)
    assert project.rows(
        "SELECT active, customers, large_balances FROM main.customer_balances ORDER BY active",
        "c.duckdb",
    ) == [(False, 2, 1), (True, 5, 3)]


def test_a_dbt_step_builds_its_models_after_the_load(shop: Project, cli):
    recipe = {
        "name": "shop_load",
        "source": {"type": "csv", "path": "data/customers.csv"},
        "transform": {
            "steps": [
                {"type": "add_column", "name": "loaded", "value": "yes"},
                {
                    "type": "dbt",
                    "project_dir": "dbt_project",
                    "models": ["customer_counts"],
                    "vars": {"run_date": "2024-06-01"},
                },
            ]
        },
        "destination": {**DUCKDB, "write_mode": "overwrite"},
    }
    shop.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))
    plan = cli("compile", "r.yaml", "--format", "json").json()
    (dbt,) = [step for step in plan["units"][0]["steps"] if step["kind"] == "dbt"]
    assert dbt["select"] == ["customer_counts"] and dbt["command"] == "build"
    assert [s["type"] for s in plan["units"][0]["steps"] if s["kind"] == "transform"] == [
        "add_column"
    ]
    ran = cli("run", "r.yaml", "--format", "json")
    assert ran.code == 0, ran.err
    assert shop.rows("SELECT run_date FROM main.customer_counts", "w.duckdb") == [("2024-06-01",)]

    recipe["transform"]["steps"].reverse()  # the dbt step first
    shop.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))
    first = cli("validate", "r.yaml")
    assert first.code == 1
    assert "transform.steps[0]: a dbt step runs after the load commits" in first.err
    recipe["transform"]["steps"].reverse()
    recipe["dbt"] = {"project_dir": "dbt_project"}
    shop.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))
    both = cli("validate", "r.yaml")
    assert both.code == 1 and "both a dbt step and a dbt: block" in both.err


def test_the_json_schema_knows_the_dbt_step_and_block():
    import json

    from jsonschema import Draft202012Validator

    from recipec.compiler.tools.json_schema import schema_json

    validator = Draft202012Validator(json.loads(schema_json()))
    recipe = {
        "name": "r",
        "source": {"type": "csv", "path": "x.csv"},
        "transform": {"steps": [{"type": "dbt", "project_dir": "p", "models": ["m+"]}]},
        "destination": {"type": "duckdb", "database": "w.duckdb", "table": "t"},
        "dbt": {"project_dir": "p", "select": ["m"], "command": "run"},
    }
    assert list(validator.iter_errors(recipe)) == []
    recipe["dbt"]["command"] = "seed"
    assert list(validator.iter_errors(recipe))


UNREACHABLE_PROFILE = """
shop:
  target: dev
  outputs:
    dev: {type: postgres, host: 127.0.0.1, port: 1, user: postgres, password: "",
          dbname: test, schema: public, threads: 1}
"""
"""A profile of the project's own whose server is not there."""


def test_a_profile_that_cannot_connect_fails_before_anything_is_loaded(shop: Project, cli):
    shop.write("profiles/profiles.yml", UNREACHABLE_PROFILE)
    _recipe(shop, DUCKDB, profiles_dir="profiles", target="dev")
    result = cli("run", "r.yaml", "--var", "day=x")
    assert result.code == 3
    last = result.err.strip().splitlines()[-1]
    assert last.startswith(
        "error: dbt cannot connect with profiles/profiles.yml, target dev, so nothing was loaded:"
    )
    assert 'connection to server at "127.0.0.1", port 1 failed' in last
    assert not (shop.root / "w.duckdb").exists() and shop.state("shop_load") is None


def test_a_pipeline_whose_dbt_profile_cannot_connect_loads_no_resource(shop: Project, cli):
    shop.write("profiles/profiles.yml", UNREACHABLE_PROFILE)
    _pipeline(shop, dbt={"profiles_dir": "profiles", "target": "dev"})
    result = cli("run", "r.yaml", "--var", "day=x")
    assert result.code == 3
    expected = "error: dbt cannot connect with profiles/profiles.yml, target dev, so nothing was"
    assert result.err.strip().splitlines()[-1].startswith(expected)
    assert not (shop.root / "w.duckdb").exists()
    states = [shop.state(f"shop_pipeline.{n}") for n in ("customers", "orders", "audit")]
    assert states == [None, None, None]


def test_the_dbt_profile_in_the_plan_holds_no_password(shop: Project, cli, monkeypatch):
    monkeypatch.setenv("RECIPEC_TEST_PG_PASSWORD", "pg-secret-for-dbt")
    destination = {
        "type": "postgres",
        "host": "127.0.0.1",
        "database": "test",
        "user": "postgres",
        "password": "{{ env_var('RECIPEC_TEST_PG_PASSWORD') }}",
        "table": "public.customers",
    }
    _recipe(shop, destination)
    compiled = cli("compile", "r.yaml", "--var", "day=x", "--format", "json")
    assert compiled.code == 0, compiled.err
    assert "pg-secret-for-dbt" not in compiled.out
    (dbt,) = [step for step in compiled.json()["units"][0]["steps"] if step["kind"] == "dbt"]
    assert dbt["profile"]["password"] == "***" and dbt["profile"]["schema"] == "public"


ORDERS_MODEL = """
    select c.id, count(o.id) as orders
    from {{ source('loaded', 'customers') }} c
    left join {{ source('loaded', 'orders') }} o on o.customer_id = c.id
    group by c.id
    """


def _pipeline(
    project: Project,
    *,
    dbt: dict[str, object],
    destination: dict[str, object] = DUCKDB,
    schema: str = "main",
    **resource_changes: object,
) -> None:
    """Three resources into one database (a DuckDB file by default); dbt after the two its
    model reads."""
    project.write("data/orders.csv", "id,customer_id\n10,1\n11,1\n12,3\n")
    project.write("data/audit.csv", "event\nstarted\n")
    project.write("dbt_project/models/customer_orders.sql", ORDERS_MODEL)
    project.write(
        "dbt_project/models/schema.yml",
        PROJECT["models/schema.yml"].replace(
            "tables: [{name: customers}]", "tables: [{name: customers}, {name: orders}]"
        ),
    )
    resources = [
        {"name": "customers", "source": {"path": "data/customers.csv"}},
        {"name": "orders", "source": {"path": "data/orders.csv"}},
        {"name": "audit", "source": {"path": "data/audit.csv"}},
    ]
    for resource in resources:
        resource["destination"] = {"table": f"{schema}.{resource['name']}"}
        resource.update(resource_changes.get(str(resource["name"]), {}))  # type: ignore[call-overload]
    recipe = {
        "name": "shop_pipeline",
        "defaults": {
            "source": {"type": "csv"},
            "destination": {**destination, "write_mode": "overwrite"},
        },
        "resources": resources,
        "dbt": {
            "project_dir": "dbt_project",
            "vars": {"run_date": "{{ var('day') }}", "loaded_schema": schema},
            **dbt,
        },
    }
    project.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))


def test_a_pipeline_runs_dbt_after_the_resources_it_depends_on(shop: Project, cli):
    _pipeline(shop, dbt={"depends_on": ["customers", "orders"], "select": ["customer_orders"]})
    compiled = cli("compile", "r.yaml", "--var", "day=2024-05-01")
    assert compiled.code == 0, compiled.err
    assert "dbt  after customers, orders committed" in compiled.out
    assert "| dbt build --project-dir dbt_project --select customer_orders" in compiled.out
    graph = cli("compile", "r.yaml", "--var", "day=x", "--graph", "--format", "mermaid").out
    assert graph.splitlines()[-3:] == [
        '  _dbt[["dbt build"]]',
        "  customers --> _dbt",
        "  orders --> _dbt",
    ]
    plan = cli("compile", "r.yaml", "--var", "day=x", "--format", "json").json()
    assert plan["dbt"]["depends_on"] == ["customers", "orders"]
    assert plan["dbt"]["step"]["profile"] == {"type": "duckdb", "path": "w.duckdb"}

    ran = cli("run", "r.yaml", "--var", "day=2024-05-01", "--format", "json")
    assert ran.code == 0, ran.err
    summary = ran.json()
    assert summary["dbt"]["status"] == "success"
    assert [(n["resource_type"], n["name"], n["status"]) for n in summary["dbt"]["dbt"]] == [
        ("model", "customer_orders", "success")
    ]
    assert [r["status"] for r in summary["resources"]] == ["success"] * 3
    rows = shop.rows("SELECT id, orders FROM main.customer_orders ORDER BY id", "w.duckdb")
    assert rows == [(1, 2), (2, 0), (3, 1)]
    text = cli("run", "r.yaml", "--var", "day=2024-05-01")
    assert "dbt: success\n  ran           1 model success" in text.out


def test_a_pipeline_runs_dbt_on_the_postgres_database_its_resources_loaded(
    shop: Project, cli, postgres
):
    schema = postgres.namespace
    destination = postgres.destination(f"{schema}.unused", state_schema=schema)
    _pipeline(
        shop, dbt={"depends_on": ["customers", "orders"]}, destination=destination, schema=schema
    )
    plan = cli("compile", "r.yaml", "--var", "day=x", "--format", "json").json()
    profile = plan["dbt"]["step"]["profile"]
    assert (profile["type"], profile["schema"], profile["password"]) == (
        "postgres",
        schema,
        "***" if "password" in destination else None,
    )
    ran = cli("run", "r.yaml", "--var", "day=2024-05-03", "--format", "json")
    assert ran.code == 0, ran.err
    nodes = {(n["resource_type"], n["name"]): n["status"] for n in ran.json()["dbt"]["dbt"]}
    assert nodes[("model", "customer_orders")] == "success"
    rows = postgres.rows(f"SELECT id, orders FROM {schema}.customer_orders ORDER BY id")
    assert rows == [(1, 2), (2, 0), (3, 1)]


def test_dbt_is_skipped_when_a_resource_it_depends_on_fails(shop: Project, cli):
    _pipeline(
        shop,
        dbt={"depends_on": ["orders"]},
        orders={"transform": {"steps": [{"type": "cast", "columns": {"id": "date"}}]}},
    )
    result = cli("run", "r.yaml", "--var", "day=x", "--format", "json")
    assert result.code == 3
    summary = result.json()
    assert [(r["resource"], r["status"]) for r in summary["resources"]] == [
        ("customers", "success"),
        ("orders", "failed"),
        ("audit", "success"),
    ]
    assert summary["dbt"]["status"] == "skipped"
    assert summary["dbt"]["error"] == "depends on orders, which failed"
    assert "skipped dbt: depends on orders, which failed" in result.err
    assert not shop.rows(
        "SELECT * FROM information_schema.tables WHERE table_name = 'customer_orders'", "w.duckdb"
    )


def test_a_failing_dbt_model_fails_the_pipeline_with_dbts_message(shop: Project, cli):
    _pipeline(shop, dbt={})
    shop.write(
        "dbt_project/models/broken.sql", "select no_such_column from {{ ref('customer_orders') }}\n"
    )
    result = cli("run", "r.yaml", "--var", "day=x")
    assert result.code == 3
    assert "dbt build failed after the load committed: model broken error" in result.err
    assert shop.rows("SELECT count(*) FROM main.orders", "w.duckdb") == [(3,)]  # committed


@pytest.mark.parametrize(
    ("dbt", "changes", "path", "message"),
    [
        (
            {"depends_on": ["customers", "ordres"]},
            {},
            "dbt.depends_on[1]",
            "dbt depends on 'ordres', which is not a resource of this recipe",
        ),
        ({"project_dir": "nowhere"}, {}, "dbt.project_dir", "no dbt project at nowhere"),
        (
            {},
            {"audit": {"destination": {"table": "main.audit", "database": "other.duckdb"}}},
            "dbt",
            "dbt runs against one database, and the resources it depends on write to several "
            "(customers to w.duckdb, audit to other.duckdb)",
        ),
    ],
)
def test_a_pipeline_dbt_block_that_cannot_work_is_a_recipe_error(
    shop: Project, cli, dbt, changes, path, message
):
    _pipeline(shop, dbt=dbt, **changes)
    result = cli("run", "r.yaml", "--var", "day=x")
    assert result.code == 1, result.err
    assert "r.yaml:" in result.err and f"{path}: {message}" in result.err
    assert not (shop.root / "w.duckdb").exists()


def test_the_example_pipeline_loads_in_order_then_builds_and_tests_its_models(
    tmp_path, monkeypatch, cli
):
    import shutil

    from helpers import REPO

    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    monkeypatch.chdir(tmp_path)
    vars_ = ["--var", "db_path=shop.duckdb", "--var", "run_date=2024-03-10"]
    result = cli("run", "recipes/shop_pipeline.yaml", *vars_, "--format", "json")
    assert result.code == 0, result.err
    summary = result.json()
    assert [(r["resource"], r["rows_written"]) for r in summary["resources"]] == [
        ("customers", 7),
        ("orders", 6),
        ("order_items", 7),
    ]
    statuses = sorted((n["resource_type"], n["status"]) for n in summary["dbt"]["dbt"])
    assert statuses == [("model", "success")] + [("test", "pass")] * 8
    project = Project(tmp_path)
    assert project.rows(
        "SELECT customer_id, orders, total_amount, CAST(as_of AS VARCHAR) "
        "FROM main.customer_orders WHERE orders > 0 ORDER BY customer_id",
        "shop.duckdb",
    ) == [
        (1, 2, 155.5, "2024-03-10"),
        (2, 1, 89.9, "2024-03-10"),
        (3, 1, 250.0, "2024-03-10"),
        (7, 1, 410.25, "2024-03-10"),
    ]
    again = cli(
        "run",
        "recipes/shop_pipeline.yaml",
        *vars_,
        "--var",
        "include_items=false",
        "--format",
        "json",
    )
    assert again.code == 0, again.err
    rerun = again.json()  # each cursor re-reads only the rows at its watermark
    assert [(r["resource"], r["rows_read"]) for r in rerun["resources"]] == [
        ("customers", 1),
        ("orders", 1),
    ]
    assert rerun["dbt"]["status"] == "success"
    assert project.rows("SELECT count(*) FROM main.order_items", "shop.duckdb") == [(7,)]
