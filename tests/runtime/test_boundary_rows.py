"""Append with a cursor: rows already loaded at the watermark are recognised by what the source
gave (a hash of the source row, stored beside the data), not by the transformed row."""

import json

import duckdb
from helpers import run_subprocess

from recipec import run_recipe_from_yaml


def _recipe(project, destination=None):
    document = {
        "name": "seqs",
        "source": {
            "type": "csv",
            "path": "data.csv",
            "columns": None,
            "incremental": {"strategy": "cursor", "cursor_column": "seq"},
        },
        "transform": {
            "steps": [
                {"type": "cast", "columns": {"seq": "int"}},
                {"type": "add_column", "name": "batch", "value": "{{ var('batch') }}"},
            ]
        },
        "destination": destination
        or {"type": "duckdb", "database": "out.duckdb", "table": "main.seqs"},
    }
    del document["source"]["columns"]
    document["destination"]["write_mode"] = "append"
    project.write("r.yaml", json.dumps(document))


def _csv(project, last):
    project.write("data.csv", "seq,v\n" + "".join(f"{i},v{i}\n" for i in range(1, last + 1)))


def test_a_derived_column_that_changes_does_not_load_boundary_rows_again(project):
    _recipe(project)
    _csv(project, 10)
    assert run_subprocess("run", "r.yaml", "--var", "batch=one", cwd=project.root).code == 0
    _csv(project, 14)
    assert run_subprocess("run", "r.yaml", "--var", "batch=two", cwd=project.root).code == 0
    third = run_subprocess("run", "r.yaml", "--var", "batch=three", cwd=project.root)
    assert third.code == 0, third.err
    rows = project.rows("SELECT seq, batch FROM main.seqs ORDER BY seq")
    assert rows == [(i, "one") for i in range(1, 11)] + [(i, "two") for i in range(11, 15)]


def test_the_same_through_the_api_with_changed_vars(project):
    _recipe(project)
    _csv(project, 10)
    run_recipe_from_yaml("r.yaml", vars={"batch": "one"})
    _csv(project, 14)
    run_recipe_from_yaml("r.yaml", vars={"batch": "two"})
    third = run_recipe_from_yaml("r.yaml", vars={"batch": "three"})
    assert third.rows_written == 0
    assert "skipped 1 row(s) already loaded at the watermark" in third.resources[0].notes
    assert project.rows("SELECT count(*), count(DISTINCT seq) FROM main.seqs") == [(14, 14)]


def test_many_rows_at_one_cursor_value_are_skipped_as_a_set(project):
    rows = 50_000
    project.write(
        "data.csv",
        "id,updated_at\n" + "".join(f"{i},2024-05-01 00:00:00\n" for i in range(rows)),
    )
    document = {
        "name": "bulk",
        "source": {
            "type": "csv",
            "path": "data.csv",
            "incremental": {"strategy": "cursor", "cursor_column": "updated_at"},
        },
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "main.bulk"},
    }
    project.write("r.yaml", json.dumps(document))
    assert run_recipe_from_yaml("r.yaml").rows_written == rows
    again = run_recipe_from_yaml("r.yaml")
    assert again.rows_written == 0
    assert f"skipped {rows} row(s) already loaded at the watermark" in again.resources[0].notes
    # The hashes live beside the data, not in the state file.
    state = (project.root / ".state" / "bulk.json").read_text()
    assert len(state) < 2_000
    stored = project.rows("SELECT count(*) FROM recipec._recipec_boundary_rows")
    assert stored == [(rows,)]
    assert project.rows("SELECT count(*) FROM main.bulk") == [(rows,)]


def test_a_state_of_the_old_format_is_honoured_once(project):
    """A state written by recipec before format 2 kept the hashes of transformed rows; the next
    run skips those rows, then stores source-row hashes."""
    _recipe(project)
    _csv(project, 10)
    run_recipe_from_yaml("r.yaml", vars={"batch": "one"})
    with duckdb.connect(str(project.root / "out.duckdb")) as connection:
        old_hashes = [
            r[0]
            for r in connection.execute(
                "SELECT md5(CAST(t AS VARCHAR)) FROM main.seqs t WHERE seq = 10"
            ).fetchall()
        ]
        (text,) = connection.execute("SELECT state FROM recipec._recipec_state").fetchone()
        state = json.loads(text)
        state["format_version"] = 1
        state["cursor"]["boundary_hashes"] = old_hashes
        del state["cursor"]["boundary_keys"]
        connection.execute("UPDATE recipec._recipec_state SET state = $s", {"s": json.dumps(state)})
        connection.execute("DELETE FROM recipec._recipec_boundary_rows")
    (project.root / ".state" / "seqs.json").unlink()
    assert run_recipe_from_yaml("r.yaml", vars={"batch": "one"}).rows_written == 0
    _csv(project, 12)
    assert run_recipe_from_yaml("r.yaml", vars={"batch": "two"}).rows_written == 2
    assert run_recipe_from_yaml("r.yaml", vars={"batch": "three"}).rows_written == 0
    assert project.rows("SELECT count(*), count(DISTINCT seq) FROM main.seqs") == [(12, 12)]
