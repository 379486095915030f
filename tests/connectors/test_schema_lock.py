"""`recipec lock`: the source's columns in a committed file; offline typed compiles; drift."""

from __future__ import annotations

import json

from recipec import compile_recipe, from_yaml


def file_recipe(project):
    project.write("data/a.csv", "id,name,amount\n1,ada,10\n")
    document = {
        "name": "locked",
        "source": {"type": "csv", "path": "data/*.csv"},
        "transform": {"steps": [{"type": "derive", "columns": {"twice": "amount * 2"}}]},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    project.write("r.yaml", json.dumps(document))


def test_lock_writes_a_reviewable_file_that_types_offline_compiles(project, cli):
    file_recipe(project)
    result = cli("lock", "r.yaml")
    assert result.code == 0 and "wrote r.lock.yaml (3 columns)" in result.out
    text = (project.root / "r.lock.yaml").read_text()
    assert "- {name: amount, type: BIGINT}" in text
    (project.root / "data/a.csv").unlink()  # offline: no files, still fully typed
    plan = compile_recipe(from_yaml("r.yaml"))
    assert plan.only.extract.schema_lock == "r.lock.yaml"
    assert [c.name for c in plan.only.output_schema] == ["id", "name", "amount", "twice"]


def test_a_run_stops_on_a_breaking_drift_and_notes_a_new_column(project, cli):
    file_recipe(project)
    cli("lock", "r.yaml")
    project.write("data/a.csv", "id,name,amount,extra\n2,alan,20,x\n")
    result = cli("run", "r.yaml")
    assert result.code == 0
    assert "source drifted from r.lock.yaml: + extra VARCHAR (new in the source)" in result.out
    before = project.rows("SELECT * FROM t ORDER BY id")
    project.write("data/a.csv", "id,name,amount\n3,bob,abc\n")
    result = cli("run", "r.yaml")
    assert result.code == 1
    assert "the source no longer matches r.lock.yaml:\n  ~ amount: BIGINT -> VARCHAR" in result.err
    assert "r.yaml: the source no longer matches" in result.err  # the file, never `<recipe>`
    assert "run `recipec lock r.yaml` to accept the change" in result.err
    assert project.rows("SELECT * FROM t ORDER BY id") == before
    result = cli("lock", "r.yaml")
    assert "updated r.lock.yaml" in result.out and "~ amount: BIGINT -> VARCHAR" in result.out


def test_a_database_lock_and_introspected_drift(project, cli, postgres):
    postgres.run(
        f"CREATE TABLE {postgres.namespace}.people (id bigint PRIMARY KEY, "
        "amount numeric(12,2) NOT NULL, seen timestamptz)"
    )
    document = {
        "name": "db_locked",
        "source": postgres.source("people"),
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "people"},
    }
    project.write("r.yaml", json.dumps(document))
    assert cli("lock", "r.yaml").code == 0
    text = (project.root / "r.lock.yaml").read_text()
    assert "{name: amount, type: 'DECIMAL(12,2)', source_type: 'NUMERIC(12, 2)'" in text
    assert "nullable: false" in text
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("id", "BIGINT"),
        ("amount", "DECIMAL(12,2)"),
        ("seen", "TIMESTAMP WITH TIME ZONE"),
    ]
    postgres.run(f"ALTER TABLE {postgres.namespace}.people ADD COLUMN note text")
    result = cli("compile", "r.yaml", "--introspect")
    assert result.code == 0
    assert "the source drifted from r.lock.yaml: + note VARCHAR (new in the source)" in result.err
    postgres.run(f"ALTER TABLE {postgres.namespace}.people DROP COLUMN seen")
    result = cli("run", "r.yaml")
    assert result.code == 1
    assert "- seen TIMESTAMP WITH TIME ZONE (gone from the source)" in result.err


def test_a_validate_glob_skips_schema_locks(project, cli):
    file_recipe(project)
    cli("lock", "r.yaml")
    result = cli("validate", "*.yaml")
    assert result.code == 0
    assert "1 valid, 0 with errors" in result.out + result.err


NINE = (
    "id bigint PRIMARY KEY, customer text, email text, amount numeric(12,2), qty int, "
    "status text, ordered_at timestamp, updated_at timestamp, note text"
)


def nine_column_recipe(project, postgres, **source):
    postgres.run(
        f"CREATE TABLE {postgres.namespace}.orders ({NINE})",
        f"INSERT INTO {postgres.namespace}.orders VALUES "
        "(1, 'ada', 'a@x', 10.50, 1, 'new', '2024-01-01', '2024-01-02', 'n')",
    )
    document = {
        "name": "orders",
        "source": postgres.source("orders", **source),
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "orders"},
    }
    project.write("r.yaml", json.dumps(document, indent=2))
    return document


def test_a_lock_is_narrowed_to_the_selected_columns(project, cli, postgres):
    document = nine_column_recipe(project, postgres)
    assert "wrote r.lock.yaml (9 columns)" in cli("lock", "r.yaml").out
    assert cli("compile", "r.yaml", "-o", "before.json").code == 0
    document["source"]["columns"] = ["updated_at", "id", "amount"]
    project.write("r.yaml", json.dumps(document, indent=2))
    assert cli("validate", "r.yaml").code == 0
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("updated_at", "TIMESTAMP"),
        ("id", "BIGINT"),
        ("amount", "DECIMAL(12,2)"),
    ]
    diff = cli("diff", "before.json", "r.yaml", "--format", "json")
    removed = {c["path"] for c in diff.json() if c["kind"] == "removed"}
    assert removed == {f"columns.{n}" for n in ("customer", "email", "qty", "status")} | {
        "columns.ordered_at",
        "columns.note",
    }
    result = cli("run", "r.yaml")
    assert result.code == 0, result.err
    assert project.rows("SELECT * FROM orders") == [
        (__import__("datetime").datetime(2024, 1, 2), 1, __import__("decimal").Decimal("10.50"))
    ]
    postgres.run(f"ALTER TABLE {postgres.namespace}.orders DROP COLUMN email")
    assert cli("run", "r.yaml").code == 0  # not selected: no drift
    postgres.run(f"ALTER TABLE {postgres.namespace}.orders DROP COLUMN amount")
    result = cli("run", "r.yaml")
    assert result.code == 1
    assert "r.yaml: the source no longer matches r.lock.yaml:" in result.err
    assert "- amount DECIMAL(12,2) (gone from the source)" in result.err


def test_a_selected_column_the_lock_lacks_is_located_with_the_re_lock_hint(project, cli, postgres):
    document = nine_column_recipe(project, postgres)
    assert cli("lock", "r.yaml").code == 0
    document["source"]["columns"] = ["id", "amount", "updated_att", "added_later"]
    project.write("r.yaml", json.dumps(document, indent=2))
    result = cli("validate", "r.yaml", "--format", "json")
    assert result.code == 1
    problems = result.json()[0]["problems"]
    text = (project.root / "r.yaml").read_text().splitlines()
    assert [(p["path"], text[p["line"] - 1].strip()) for p in problems] == [
        ("source.columns[2]", '"updated_att",'),
        ("source.columns[3]", '"added_later"'),
    ]
    assert problems[0]["message"] == "column 'updated_att' is not in the schema lock r.lock.yaml"
    assert problems[0]["hint"].startswith("did you mean 'updated_at'? If the source has it now")
    assert "run `recipec lock r.yaml` again" in problems[1]["hint"]


def test_lock_records_the_whole_table_whatever_the_recipe_selects(project, cli, postgres):
    nine_column_recipe(project, postgres, columns=["id", "amount"])
    assert "wrote r.lock.yaml (9 columns)" in cli("lock", "r.yaml").out
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [c.name for c in plan.only.output_schema] == ["id", "amount"]


def test_introspection_locates_a_selected_column_the_table_lacks(project, cli, postgres):
    nine_column_recipe(project, postgres, columns=["id", "amout"])
    result = cli("compile", "r.yaml", "--introspect")
    assert result.code == 1
    assert "source.columns[1]: column 'amout' is not in the table" in result.err
    assert "did you mean 'amount'?" in result.err


def test_a_broken_lock_is_named_as_the_file_of_the_error(project, cli):
    file_recipe(project)
    project.write("r.lock.yaml", "columns: 3\n")
    result = cli("validate", "r.yaml")
    assert result.code == 1
    assert "r.lock.yaml: not a recipec schema lock" in result.err
    assert "run `recipec lock r.yaml` again" in result.err


def test_a_cursor_the_selection_leaves_out_says_to_select_it(project, cli, postgres):
    nine_column_recipe(
        project,
        postgres,
        columns=["id", "amount"],
        incremental={"strategy": "cursor", "cursor_column": "updated_at"},
    )
    assert cli("lock", "r.yaml").code == 0
    result = cli("validate", "r.yaml", "--format", "json")
    (problem,) = result.json()[0]["problems"]
    assert problem["path"] == "source.incremental.cursor_column"
    assert problem["message"] == "cursor column 'updated_at' is not one of source.columns"
    assert problem["hint"].startswith("add it to source.columns")


def pipeline_recipe(project):
    project.write("data/c.csv", "id,name\n1,ada\n")
    project.write("data/o.csv", "id,customer_id,amount\n10,1,2.5\n")
    document = {
        "name": "shop",
        "defaults": {
            "source": {"type": "csv"},
            "destination": {"type": "duckdb", "database": "out.duckdb"},
        },
        "resources": [
            {"name": "customers", "source": {"path": "data/c.csv"}, "destination": {"table": "c"}},
            {
                "name": "orders",
                "depends_on": ["customers"],
                "source": {"path": "data/o.csv"},
                "destination": {"table": "o"},
            },
        ],
    }
    project.write("shop.yaml", json.dumps(document))


def test_a_recipe_with_resources_keeps_each_resources_lock_in_one_file(project, cli):
    from recipec.api import compile_file

    pipeline_recipe(project)
    result = cli("lock", "shop.yaml")
    assert result.code == 0, result.err
    assert result.out == "wrote shop.lock.yaml\n  customers: 2 columns\n  orders: 3 columns\n"
    text = (project.root / "shop.lock.yaml").read_text()
    assert "resources:\n  customers:\n    source: csv" in text
    for name in ("c", "o"):
        (project.root / f"data/{name}.csv").unlink()  # offline: still fully typed
    plan = compile_file("shop.yaml", {})
    assert [c.name for c in plan.unit("orders").output_schema] == ["id", "customer_id", "amount"]
    assert plan.unit("customers").extract.schema_lock == "shop.lock.yaml"

    project.write("data/c.csv", "id,name\n1,ada\n")
    project.write("data/o.csv", "id,customer_id,amount\n10,1,abc\n")  # amount retyped
    ran = cli("run", "shop.yaml")
    assert ran.code == 3
    assert "resource orders: the source no longer matches shop.lock.yaml" in ran.err
    assert "run `recipec lock shop.yaml --resource orders` to accept the change" in ran.err
    relocked = cli("lock", "shop.yaml", "--resource", "orders")
    assert relocked.out == (
        "updated shop.lock.yaml\n  orders: 3 columns\n    ~ amount: DOUBLE -> VARCHAR\n"
    )
    assert "customers:" in (project.root / "shop.lock.yaml").read_text()  # kept
    assert cli("run", "shop.yaml").code == 0
    unknown = cli("lock", "shop.yaml", "--resource", "ordrs")
    assert unknown.code == 2 and "did you mean 'orders'" in unknown.err
