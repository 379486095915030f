"""`scd2` and delete flags, on both SQL destinations (DuckDB and a real Postgres)."""

from __future__ import annotations

import json

import duckdb
import pytest

from recipec import run_recipe_from_yaml

DESTINATIONS = ["duckdb", "postgres"]


@pytest.fixture(params=DESTINATIONS)
def target(request, project):
    """A destination block and a way to read its table back."""
    if request.param == "duckdb":
        block = {"type": "duckdb", "database": "out.duckdb", "table": "main.people"}

        def rows(query: str) -> list[tuple]:
            with duckdb.connect("out.duckdb", read_only=True) as connection:
                return connection.execute(query.format(table="main.people")).fetchall()

        yield block, rows
        return
    postgres = request.getfixturevalue("postgres")
    block = {
        "type": "postgres",
        "host": postgres.url.host,
        "port": postgres.url.port,
        "database": postgres.url.database,
        "user": postgres.url.username,
        "table": f"{postgres.namespace}.people",
        "state_schema": postgres.namespace,
    }
    yield block, lambda query: postgres.rows(query.format(table=f"{postgres.namespace}.people"))


def write(project, target, **destination):
    block, _ = target
    document = {
        "name": "people",
        "source": {
            "type": "csv",
            "path": "people.csv",
            "incremental": {"strategy": "cursor", "cursor_column": "updated_at"},
        },
        "destination": {**block, "merge_keys": ["id"], **destination},
    }
    project.write("r.yaml", json.dumps(document))


def test_scd2_closes_changed_versions_opens_new_ones_and_leaves_unchanged_rows(project, target):
    _, rows = target
    project.write(
        "people.csv",
        "id,city,updated_at\n1,Paris,2024-01-01 00:00:00\n2,Rome,2024-01-01 00:00:00\n",
    )
    write(project, target, write_mode="scd2", scd2={"valid_from": "since", "valid_to": "until"})
    first = run_recipe_from_yaml("r.yaml")
    project.write(
        "people.csv",
        "id,city,updated_at\n1,Paris,2024-01-01 00:00:00\n2,Oslo,2024-02-01 00:00:00\n"
        "3,Lima,2024-02-01 00:00:00\n",
    )
    run_recipe_from_yaml("r.yaml")
    history = rows("SELECT id, city, until IS NULL FROM {table} ORDER BY id, since")
    assert history == [(1, "Paris", True), (2, "Rome", False), (2, "Oslo", True), (3, "Lima", True)]
    (closed,) = rows("SELECT until FROM {table} WHERE city = 'Rome'")
    (opened,) = rows("SELECT since FROM {table} WHERE city = 'Oslo'")
    assert closed == opened  # the old version ends where the new one starts
    assert rows("SELECT count(*) FROM {table} WHERE id = 1") == [(1,)]  # unchanged: untouched
    assert first.rows_written == 2


def test_scd2_first_load_keeps_one_version_per_key(project, target):
    _, rows = target
    project.write(
        "people.csv",
        "id,city,updated_at\n1,Paris,2024-01-01 00:00:00\n1,Nice,2024-03-01 00:00:00\n"
        "2,Rome,2024-01-01 00:00:00\n",
    )
    write(project, target, write_mode="scd2")
    assert run_recipe_from_yaml("r.yaml").rows_written == 2
    current = rows("SELECT id, city FROM {table} WHERE valid_to IS NULL ORDER BY id")
    assert current == [(1, "Nice"), (2, "Rome")]
    assert rows("SELECT count(*) FROM {table}") == [(2,)]


def test_scd2_with_a_hard_delete_closes_the_current_version(project, target):
    _, rows = target
    project.write("people.csv", "id,city,gone,updated_at\n1,Paris,false,2024-01-01 00:00:00\n")
    write(project, target, write_mode="scd2", hard_delete_column="gone")
    run_recipe_from_yaml("r.yaml")
    project.write("people.csv", "id,city,gone,updated_at\n1,Paris,true,2024-02-01 00:00:00\n")
    run_recipe_from_yaml("r.yaml")
    assert rows("SELECT id, valid_to IS NULL FROM {table}") == [(1, False)]


@pytest.mark.parametrize("strategy", ["upsert", "delete_insert"])
def test_hard_delete_removes_rows_and_never_inserts_flagged_ones(project, target, strategy):
    _, rows = target
    project.write(
        "people.csv",
        "id,city,gone,updated_at\n1,Paris,false,2024-01-01 00:00:00\n2,Rome,,2024-01-01 00:00:00\n",
    )
    write(project, target, write_mode="merge", merge_strategy=strategy, hard_delete_column="gone")
    run_recipe_from_yaml("r.yaml")
    project.write(
        "people.csv",
        "id,city,gone,updated_at\n1,Paris,true,2024-02-01 00:00:00\n"
        "9,Nowhere,true,2024-02-01 00:00:00\n2,Roma,false,2024-02-01 00:00:00\n",
    )
    run_recipe_from_yaml("r.yaml")
    assert rows("SELECT id, city FROM {table} ORDER BY id") == [(2, "Roma")]


@pytest.mark.parametrize("strategy", ["upsert", "delete_insert"])
def test_soft_delete_only_sets_the_flag(project, target, strategy):
    _, rows = target
    project.write("people.csv", "id,city,gone,updated_at\n1,Paris,false,2024-01-01 00:00:00\n")
    write(project, target, write_mode="merge", merge_strategy=strategy, soft_delete_column="gone")
    run_recipe_from_yaml("r.yaml")
    project.write(
        "people.csv",
        "id,city,gone,updated_at\n1,Changed,true,2024-02-01 00:00:00\n"
        "5,New,true,2024-02-01 00:00:00\n",
    )
    run_recipe_from_yaml("r.yaml")
    assert rows("SELECT id, city, gone FROM {table} ORDER BY id") == [(1, "Paris", True)]
