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
    assert plan.extract.schema_lock == "r.lock.yaml"
    assert [c.name for c in plan.output_schema] == ["id", "name", "amount", "twice"]


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
    assert [(c.name, c.type) for c in plan.output_schema] == [
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
