"""`recipec run --plan` refuses a stale saved plan, as `terraform apply` refuses a stale plan:
one whose recipe files changed since it was compiled, or whose destination table no longer has
the columns it writes. Nothing is written and the state is untouched."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from recipec.api import run_plan
from recipec.compiler.driver import compile_recipe, load_recipe
from recipec.compiler.plan import Column, Plan
from recipec.compiler.tools.staleness import StalePlanError, stale_files, table_mismatches
from recipec.runtime.state import LocalStateBackend

PARENT = """
destination:
  type: duckdb
  database: out.duckdb
  write_mode: merge
"""
RECIPE = """
name: stale
extends: base.yaml
source:
  type: csv
  path: data/*.csv
  incremental: {strategy: cursor, cursor_column: updated_at}
transform:
  steps:
    - {type: cast, columns: {age: int}}
destination:
  table: main.people
  merge_keys: [id]
"""
ROWS = "id,name,age,updated_at\n1,ann,30,2024-01-01 00:00:00\n2,bob,40,2024-01-02 00:00:00\n"
TABLE = "main.people"


@pytest.fixture
def loaded(project, cli):
    """A recipe run once (the table and state exist), a plan saved, and new rows to load."""
    project.write("base.yaml", PARENT)
    project.write("r.yaml", RECIPE)
    project.write("data/a.csv", ROWS)
    assert cli("run", "r.yaml").code == 0
    assert cli("compile", "r.yaml", "-o", "plan.json").code == 0
    project.write("data/b.csv", "id,name,age,updated_at\n3,cy,50,2024-01-03 00:00:00\n")
    return project


def refused(cli, project, *args: str):
    """Run the saved plan; check it was refused and left table and state alone."""
    before = project.snapshot(TABLE)
    result = cli("run", "--plan", "plan.json", *args)
    assert result.code == 1, (result.out, result.err)
    assert result.out == ""
    assert result.err.startswith("error: the saved plan is stale: ")
    assert project.snapshot(TABLE) == before
    return result.err


# -- (a) recipe files changed -------------------------------------------------------------------


def test_an_unchanged_plan_runs(loaded, cli):
    assert cli("run", "--plan", "plan.json").code == 0
    assert loaded.rows(f"SELECT count(*) FROM {TABLE}") == [(3,)]


def test_a_changed_recipe_is_named_and_nothing_is_written(loaded, cli):
    loaded.write("r.yaml", RECIPE.replace("age: int", "age: str"))
    message = refused(cli, loaded)
    assert "r.yaml changed since the plan was compiled" in message
    assert "base.yaml" not in message
    assert "recipec compile r.yaml -o" in message
    assert loaded.rows(f"SELECT count(*) FROM {TABLE}") == [(2,)]
    assert loaded.state("stale")["cursor"]["watermark"] == "2024-01-02 00:00:00"


def test_a_changed_parent_is_named(loaded, cli):
    loaded.write("base.yaml", PARENT + "# a comment is a change of the file too\n")
    message = refused(cli, loaded)
    assert "base.yaml changed since the plan was compiled" in message
    assert "r.yaml" not in message.split(";")[0].replace("recipec compile r.yaml", "")


def test_a_plan_whose_recipe_files_are_gone_still_runs(loaded, cli):
    (loaded.root / "r.yaml").unlink()
    (loaded.root / "base.yaml").unlink()
    assert cli("run", "--plan", "plan.json").code == 0
    assert loaded.rows(f"SELECT count(*) FROM {TABLE}") == [(3,)]


def test_a_recipe_run_compiles_afresh_and_is_never_stale(loaded, cli):
    loaded.write("r.yaml", RECIPE + "# edited\n")
    assert cli("run", "r.yaml").code == 0


def test_stale_files_lists_changed_files_only(loaded):
    plan = Plan.from_json((loaded.root / "plan.json").read_text())
    assert [f.path for f in plan.files] == ["r.yaml", "base.yaml"]
    assert stale_files(plan) == []
    loaded.write("base.yaml", PARENT.replace("merge", "append"))
    (loaded.root / "r.yaml").unlink()
    assert stale_files(plan) == ["base.yaml"]


# -- (b) the destination table no longer fits ---------------------------------------------------


def save_with_columns(project, columns: list[tuple[str, str]], name: str = "plan.json") -> Plan:
    """Compile the recipe and save its plan as if the compiler knew its output columns."""
    plan = compile_recipe(load_recipe("r.yaml"))
    unit = plan.only
    last = unit.transforms[-1] if unit.transforms else unit.extract
    schema = [Column(name=n, type=t) for n, t in columns]
    steps = [s.model_copy(update={"output_schema": schema}) if s is last else s for s in unit.steps]
    unit = unit.model_copy(update={"steps": steps}).with_fingerprint()
    plan = plan.model_copy(update={"units": [unit]}).with_fingerprint()
    assert plan.only.output_schema == schema
    (project.root / name).write_text(plan.to_json(), encoding="utf-8")
    return plan


def table_columns(project) -> list[tuple[str, str]]:
    return project.columns(TABLE)


def test_a_plan_that_fits_the_table_runs(loaded, cli):
    columns = table_columns(loaded)
    assert columns == [
        ("id", "BIGINT"), ("name", "VARCHAR"), ("age", "BIGINT"), ("updated_at", "TIMESTAMP"),
    ]  # fmt: skip
    save_with_columns(loaded, [(n, t) for n, t in columns if n != "name"])  # an extra column: ok
    assert cli("run", "--plan", "plan.json").code == 0
    assert loaded.rows(f"SELECT count(*) FROM {TABLE}") == [(3,)]


def test_a_column_missing_from_the_table_is_refused(loaded, cli):
    save_with_columns(loaded, [*table_columns(loaded), ("email", "VARCHAR")])
    message = refused(cli, loaded)
    assert f"the destination table {TABLE} in out.duckdb no longer fits what the plan writes" in (
        message
    )
    assert "column 'email' is missing from the table" in message
    assert loaded.state("stale")["cursor"]["watermark"] == "2024-01-02 00:00:00"


def test_a_column_of_another_type_is_refused(loaded, cli):
    columns = [(n, "VARCHAR" if n == "age" else t) for n, t in table_columns(loaded)]
    save_with_columns(loaded, columns)
    message = refused(cli, loaded)
    assert "column 'age' is BIGINT in the table but the plan writes VARCHAR" in message
    assert "--full-refresh" in message


def test_spellings_of_one_type_are_the_same_type(loaded, cli):
    spelled = {"BIGINT": "INT8", "VARCHAR": "TEXT", "TIMESTAMP": "timestamp"}
    save_with_columns(loaded, [(n.upper(), spelled[t]) for n, t in table_columns(loaded)])
    assert cli("run", "--plan", "plan.json").code == 0


def test_a_missing_table_or_a_full_refresh_is_not_refused(loaded, cli):
    save_with_columns(loaded, [*table_columns(loaded), ("email", "VARCHAR")])
    result = cli("run", "--plan", "plan.json", "--full-refresh")  # replaces the table anyway
    assert result.code == 0, result.err
    loaded.write("base.yaml", PARENT.replace("out.duckdb", "fresh.duckdb"))
    save_with_columns(loaded, [*table_columns(loaded), ("email", "VARCHAR")])
    result = cli("run", "--plan", "plan.json")  # no table yet: nothing to be stale about
    assert result.code == 0, result.err
    assert loaded.rows(f"SELECT count(*) FROM {TABLE}", "fresh.duckdb") == [(3,)]


def test_the_api_refuses_only_when_asked(loaded):
    plan = save_with_columns(loaded, [*table_columns(loaded), ("email", "VARCHAR")])
    before = loaded.snapshot(TABLE)
    with pytest.raises(StalePlanError) as refused_error:
        run_plan(plan, LocalStateBackend(".state"), refuse_stale=True)
    assert refused_error.value.exit_code == 1
    assert loaded.snapshot(TABLE) == before
    assert run_plan(plan, LocalStateBackend(".state")).status == "success"


def test_table_mismatches():
    expected = [Column(name="id", type="INTEGER"), Column(name="at", type="TIMESTAMP")]
    assert table_mismatches(expected, [("ID", "INT"), ("at", "TIMESTAMP"), ("x", "DATE")]) == []
    assert table_mismatches(expected, [("id", "BIGINT")]) == [
        "column 'id' is BIGINT in the table but the plan writes INTEGER",
        "column 'at' is missing from the table",
    ]
    zoned = [("id", "INTEGER"), ("at", "TIMESTAMP WITH TIME ZONE")]
    assert table_mismatches(expected, zoned, zone_sensitive=["at"]) == []
    assert len(table_mismatches(expected, zoned)) == 1


# -- Postgres ---------------------------------------------------------------------------------


@pytest.fixture
def postgres() -> Iterator[object]:
    from connectors.conftest import _server

    yield from _server("postgres")


def test_postgres_table_that_no_longer_fits_is_refused(project, cli, postgres):
    pg = postgres
    destination = {
        "type": "postgres",
        "host": pg.url.host,
        "port": pg.url.port,
        "database": pg.url.database,
        "user": pg.url.username,
        "table": f"{pg.namespace}.people",
        "write_mode": "merge",
        "merge_keys": ["id"],
        "state_schema": pg.namespace,
    }
    document = {
        "name": "stale_pg",
        "source": {"type": "csv", "path": "data/*.csv"},
        "transform": {"steps": [{"type": "cast", "columns": {"age": "int"}}]},
        "destination": destination,
        "runtime": {"retries": 0},
    }
    project.write("r.yaml", json.dumps(document))
    project.write("data/a.csv", ROWS)
    assert cli("run", "r.yaml").code == 0, cli("run", "r.yaml").err
    duckdb_types = [
        ("id", "BIGINT"), ("name", "VARCHAR"), ("age", "BIGINT"), ("updated_at", "TIMESTAMP"),
    ]  # fmt: skip
    save_with_columns(project, duckdb_types)
    assert cli("run", "--plan", "plan.json").code == 0  # fits
    rows = pg.rows(f"SELECT id, age FROM {pg.namespace}.people ORDER BY id")
    state = pg.rows(f"SELECT state FROM {pg.namespace}._recipec_state")
    save_with_columns(project, [*duckdb_types[:2], ("age", "DOUBLE"), duckdb_types[3]])
    result = cli("run", "--plan", "plan.json")
    assert result.code == 1
    assert "column 'age' is bigint in the table but the plan writes DOUBLE PRECISION" in result.err
    save_with_columns(project, [*duckdb_types, ("email", "VARCHAR")])
    result = cli("run", "--plan", "plan.json")
    assert result.code == 1 and "column 'email' is missing from the table" in result.err
    assert pg.rows(f"SELECT id, age FROM {pg.namespace}.people ORDER BY id") == rows
    assert pg.rows(f"SELECT state FROM {pg.namespace}._recipec_state") == state
