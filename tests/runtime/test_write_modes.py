"""Write modes, schema handling and file formats, checked on the rows DuckDB holds."""

import datetime as dt
import json
from decimal import Decimal

import duckdb
import pytest

from recipec import run_recipe_from_yaml


def recipe(
    project, *, mode="append", keys=None, source=None, steps=None, incremental=None, name="t"
):
    block = source or {"type": "csv", "path": "data/*.csv"}
    if incremental:
        block = {**block, "incremental": incremental}
    destination = {
        "type": "duckdb",
        "database": "out.duckdb",
        "table": "main.items",
        "write_mode": mode,
    }
    if keys:
        destination["merge_keys"] = keys
    document = {
        "name": name,
        "source": block,
        "transform": {"steps": steps or []},
        "destination": destination,
    }
    return project.write("r.yaml", json.dumps(document))


def test_append_adds_rows_each_run(project):
    project.write("data/a.csv", "id,v\n1,a\n2,b\n")
    recipe(project)
    first = run_recipe_from_yaml("r.yaml")
    assert (first.rows_read, first.rows_written, first.status) == (2, 2, "success")
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, v FROM main.items ORDER BY id") == [
        (1, "a"),
        (1, "a"),
        (2, "b"),
        (2, "b"),
    ]


def test_overwrite_replaces_the_table(project):
    project.write("data/a.csv", "id,v\n1,a\n2,b\n")
    recipe(project, mode="overwrite")
    run_recipe_from_yaml("r.yaml")
    project.write("data/a.csv", "id,v,w\n3,c,x\n")
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.rows_written == 1
    assert project.rows("SELECT * FROM main.items") == [(3, "c", "x")]


def test_merge_updates_matches_and_inserts_new_keys(project):
    project.write("data/a.csv", "id,v,updated\n1,a,2024-01-01\n2,b,2024-01-01\n")
    recipe(project, mode="merge", keys=["id"])
    run_recipe_from_yaml("r.yaml")
    project.write("data/a.csv", "id,v,updated\n2,B,2024-02-01\n3,c,2024-02-01\n")
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, v FROM main.items ORDER BY id") == [
        (1, "a"),
        (2, "B"),
        (3, "c"),
    ]


def test_merge_resolves_duplicate_keys_in_a_batch_to_the_highest_cursor(project):
    project.write(
        "data/a.csv",
        "id,v,updated_at\n1,old,2024-01-01 00:00:00\n"
        "1,newest,2024-03-01 00:00:00\n1,mid,2024-02-01 00:00:00\n",
    )
    recipe(
        project,
        mode="merge",
        keys=["id"],
        incremental={"strategy": "cursor", "cursor_column": "updated_at"},
    )
    # The first load streams into the new table, then finds the duplicate key and dedups it.
    assert run_recipe_from_yaml("r.yaml").rows_written == 1
    assert project.rows("SELECT id, v FROM main.items") == [(1, "newest")]
    project.write(
        "data/a.csv",
        "id,v,updated_at\n1,later,2024-04-01 00:00:00\n1,latest,2024-05-01 00:00:00\n",
    )
    assert run_recipe_from_yaml("r.yaml").rows_written == 1  # staged: dedup, then merge
    assert project.rows("SELECT id, v FROM main.items") == [(1, "latest")]


def test_merge_on_composite_keys_follows_renamed_cursor(project):
    project.write("data/a.csv", "a,b,v,ts\n1,x,first,1\n1,x,second,2\n1,y,other,1\n")
    recipe(
        project,
        mode="merge",
        keys=["a", "bee"],
        steps=[{"type": "rename_columns", "mapping": {"b": "bee", "ts": "version"}}],
        incremental={"strategy": "cursor", "cursor_column": "ts"},
    )
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT a, bee, v FROM main.items ORDER BY bee") == [
        (1, "x", "second"),
        (1, "y", "other"),
    ]


def test_new_source_columns_are_added_to_the_table(project):
    project.write("data/a.csv", "id,v\n1,a\n")
    recipe(project, mode="merge", keys=["id"])
    run_recipe_from_yaml("r.yaml")
    project.write("data/a.csv", "id,v,extra\n1,a2,e1\n2,b,e2\n")
    summary = run_recipe_from_yaml("r.yaml")
    assert any("added column" in note for note in summary.resources[0].notes)
    assert project.rows("SELECT id, v, extra FROM main.items ORDER BY id") == [
        (1, "a2", "e1"),
        (2, "b", "e2"),
    ]
    project.write("data/a.csv", "v,id\nc,3\n")  # columns in another order, one missing
    recipe(project)
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id, v, extra FROM main.items WHERE id = 3") == [(3, "c", None)]


def test_rename_cast_and_add_column_types(project):
    project.write(
        "data/a.csv",
        "id,fname,age,amount,day,seen,flag\n1,Ada,36,12.345,2024-01-02,2024-01-02 03:04:05,true\n",
    )
    recipe(
        project,
        steps=[
            {"type": "rename_columns", "mapping": {"fname": "first_name"}},
            {
                "type": "cast",
                "columns": {
                    "age": "integer",
                    "amount": "decimal(10,2)",
                    "day": "date",
                    "seen": "timestamp",
                    "id": "string",
                    "flag": "str",
                },
            },
            {"type": "add_column", "name": "batch", "value": 7},
            {"type": "add_column", "name": "loaded_on", "value": "2024-05-06", "as": "date"},
        ],
    )
    run_recipe_from_yaml("r.yaml")
    assert project.columns("main.items") == [
        ("id", "VARCHAR"),
        ("first_name", "VARCHAR"),
        ("age", "BIGINT"),
        ("amount", "DECIMAL(10,2)"),
        ("day", "DATE"),
        ("seen", "TIMESTAMP"),
        ("flag", "VARCHAR"),
        ("batch", "INTEGER"),
        ("loaded_on", "DATE"),
    ]
    assert project.rows("SELECT * FROM main.items") == [
        (
            "1",
            "Ada",
            36,
            Decimal("12.35"),
            dt.date(2024, 1, 2),
            dt.datetime(2024, 1, 2, 3, 4, 5),
            "true",
            7,
            dt.date(2024, 5, 6),
        ),
    ]


def test_datetime_values_with_a_zone_become_timestamptz_in_utc(project):
    project.write(
        "data/a.csv",
        "id,at\n1,2024-01-01 10:00:00+02:00\n2,2024-01-01T10:00:00Z\n",
    )
    recipe(
        project,
        steps=[{"type": "cast", "columns": {"at": "datetime"}}],
        source={"type": "csv", "path": "data/*.csv", "options": {"all_varchar": True}},
    )
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.resources[0].notes == ["at: values carry a zone, cast to TIMESTAMPTZ"]
    assert project.columns("main.items")[1] == ("at", "TIMESTAMP WITH TIME ZONE")
    with duckdb.connect("out.duckdb", read_only=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        assert connection.execute(
            'SELECT id, CAST("at" AS VARCHAR) FROM main.items ORDER BY id'
        ).fetchall() == [
            ("1", "2024-01-01 08:00:00+00"),
            ("2", "2024-01-01 10:00:00+00"),
        ]


def test_datetime_without_a_zone_stays_timestamp(project):
    project.write("data/a.csv", "id,at\n1,2024-01-01 10:00:00\n")
    recipe(
        project,
        steps=[{"type": "cast", "columns": {"at": "datetime"}}],
        source={"type": "csv", "path": "data/*.csv", "options": {"all_varchar": True}},
    )
    run_recipe_from_yaml("r.yaml")
    assert project.columns("main.items")[1] == ("at", "TIMESTAMP")


def test_csv_empty_fields_and_extra_null_markers_are_null(project):
    project.write("data/a.csv", "id,v,w\n1,,NA\n2,x,n/a\n")
    recipe(
        project,
        source={"type": "csv", "path": "data/*.csv", "options": {"null_values": ["NA", "n/a"]}},
    )
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT * FROM main.items ORDER BY id") == [(1, None, None), (2, "x", None)]


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_parquet_and_jsonl_sources(project, kind):
    project.root.joinpath("data").mkdir()
    with duckdb.connect() as connection:
        query = "SELECT range AS id, 'v' || range AS v FROM range(3)"
        fmt = "PARQUET" if kind == "parquet" else "JSON"
        connection.execute(f"COPY ({query}) TO 'data/part.{kind}' (FORMAT {fmt})")
    recipe(
        project,
        source={"type": kind, "path": f"data/*.{kind}"},
        steps=[{"type": "rename_columns", "mapping": {"v": "value"}}],
    )
    assert run_recipe_from_yaml("r.yaml").rows_written == 3
    assert project.rows("SELECT id, value FROM main.items ORDER BY id") == [
        (0, "v0"),
        (1, "v1"),
        (2, "v2"),
    ]


def test_glob_reads_every_matching_file(project):
    project.write("data/2024/a.csv", "id\n1\n")
    project.write("data/2025/b.csv", "id\n2\n")
    recipe(project, source={"type": "csv", "path": "data/**/*.csv"})
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id FROM main.items ORDER BY id") == [(1,), (2,)]


def test_run_summary_and_load_history_carry_fingerprint_and_version(project):
    project.write("data/a.csv", "id\n1\n")
    recipe(project)
    summary = run_recipe_from_yaml("r.yaml")
    loads = project.rows(
        "SELECT run_id, plan_fingerprint, recipec_version, rows_written FROM recipec._recipec_runs"
    )
    assert loads == [(summary.run_id, summary.plan_fingerprint, summary.recipec_version, 1)]
    state = project.state("t")
    assert state["metadata"]["plan_fingerprint"] == summary.plan_fingerprint
    assert {s.step for s in summary.resources[0].steps} == {
        "extract",
        "stage",
        "write",
        "commit_state",
    }


@pytest.mark.parametrize("database", ["recipec.duckdb", "main.duckdb", "dir with space/x.duckdb"])
def test_any_database_file_name_works(project, database):
    """DuckDB names a catalog after its file; `recipec.duckdb` must not clash with our schema."""
    project.write("data/a.csv", "id\n1\n")
    document = {
        "name": "n",
        "source": {"type": "csv", "path": "data/a.csv"},
        "destination": {"type": "duckdb", "database": database, "table": "main.items"},
    }
    project.write("r.yaml", json.dumps(document))
    run_recipe_from_yaml("r.yaml")
    assert project.rows("SELECT id FROM main.items", database) == [(1,)]


def test_a_run_with_the_progress_display_on(project):
    """The progress display follows DuckDB's statements and Python batches without side effects."""
    from recipec import from_yaml, run_plan
    from recipec.compiler.driver import compile_recipe

    project.write("data/a.csv", "id,v\n" + "".join(f"{i},x{i}\n" for i in range(5000)))
    recipe(project, mode="merge", keys=["id"])
    summary = run_plan(compile_recipe(from_yaml("r.yaml")), progress=True)
    assert summary.rows_written == 5000
