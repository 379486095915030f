"""Incremental loads: watermarks, boundary rows, full refresh, modified files, state agreement."""

import json
import os

from helpers import run_subprocess

from recipec import run_recipe_from_yaml

CURSOR = {"strategy": "cursor", "cursor_column": "updated_at"}


def recipe(project, *, mode="append", keys=None, incremental=None, name="inc"):
    source = {"type": "csv", "path": "data/*.csv", "incremental": incremental or CURSOR}
    destination = {
        "type": "duckdb",
        "database": "out.duckdb",
        "table": "main.events",
        "write_mode": mode,
    }
    if keys:
        destination["merge_keys"] = keys
    document = {"name": name, "source": source, "destination": destination}
    return project.write("r.yaml", json.dumps(document))


def ids(project):
    return [row[0] for row in project.rows("SELECT id FROM main.events ORDER BY id, updated_at")]


def stored_keys(project, recipe="inc"):
    """The hashes of source rows at the watermark, kept beside the data."""
    query = f"SELECT count(*) FROM recipec._recipec_boundary_rows WHERE recipe_name = '{recipe}'"
    return project.rows(query)[0][0]


def test_initial_value_bounds_the_first_run(project):
    project.write(
        "data/a.csv",
        "id,updated_at\n1,2019-12-31 23:59:59\n2,2020-01-01 00:00:00\n3,2021-06-01 00:00:00\n",
    )
    recipe(project, incremental={**CURSOR, "initial_value": "2020-01-01"})
    summary = run_recipe_from_yaml("r.yaml")
    assert ids(project) == [2, 3]
    assert summary.resources[0].watermark == "2021-06-01 00:00:00"


def test_later_runs_read_only_rows_at_or_past_the_watermark(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n")
    recipe(project, mode="merge", keys=["id"])
    assert run_recipe_from_yaml("r.yaml").rows_read == 2
    project.write(
        "data/a.csv",
        "id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n3,2024-01-03 00:00:00\n",
    )
    second = run_recipe_from_yaml("r.yaml")
    assert second.rows_read == 2  # the row at the watermark is re-read; merge dedups it
    assert ids(project) == [1, 2, 3]
    assert project.state("inc")["cursor"]["watermark"] == "2024-01-03 00:00:00"


def test_append_neither_loses_nor_duplicates_rows_at_the_boundary(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n")
    recipe(project)
    run_recipe_from_yaml("r.yaml")
    state = project.state("inc")["cursor"]
    assert state["watermark"] == "2024-01-02 00:00:00" and stored_keys(project) == 1
    # A row arrives late with the same cursor as the watermark: loaded once, not lost.
    project.write(
        "data/a.csv",
        "id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n22,2024-01-02 00:00:00\n",
    )
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.rows_written == 1
    assert ids(project) == [1, 2, 22]
    assert stored_keys(project) == 2
    # Nothing new: nothing loaded twice.
    assert run_recipe_from_yaml("r.yaml").rows_written == 0
    assert ids(project) == [1, 2, 22]
    project.write("data/b.csv", "id,updated_at\n3,2024-01-03 00:00:00\n")
    run_recipe_from_yaml("r.yaml")
    assert ids(project) == [1, 2, 3, 22]
    assert stored_keys(project) == 1


def test_full_refresh_rebuilds_from_the_whole_source(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n")
    recipe(
        project, mode="merge", keys=["id"], incremental={**CURSOR, "initial_value": "2024-01-02"}
    )
    run_recipe_from_yaml("r.yaml")
    assert ids(project) == [2]
    project.write("data/a.csv", "id,updated_at\n3,2024-01-05 00:00:00\n1,2024-01-01 00:00:00\n")
    summary = run_recipe_from_yaml("r.yaml", full_refresh=True)
    assert summary.resources[0].full_refresh and ids(project) == [
        3
    ]  # row 2 left the source; 1 is before initial
    assert project.state("inc")["cursor"]["watermark"] == "2024-01-05 00:00:00"


def test_modified_time_loads_only_new_or_changed_files(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01\n")
    recipe(project, incremental={"strategy": "modified_time"})
    first = run_recipe_from_yaml("r.yaml")
    assert first.resources[0].files_loaded == ["data/a.csv"] and ids(project) == [1]
    unchanged = run_recipe_from_yaml("r.yaml")
    assert unchanged.status == "up_to_date" and unchanged.rows_written == 0
    project.write("data/b.csv", "id,updated_at\n2,2024-01-02\n")
    assert run_recipe_from_yaml("r.yaml").resources[0].files_loaded == ["data/b.csv"]
    assert ids(project) == [1, 2]
    # A rewritten file is loaded again: in append mode its rows are appended again.
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01\n4,2024-01-04\n")
    os.utime("data/a.csv", ns=(1, 10**18))
    assert run_recipe_from_yaml("r.yaml").resources[0].files_loaded == ["data/a.csv"]
    assert ids(project) == [1, 1, 2, 4]
    assert sorted(project.state("inc")["files"]) == ["data/a.csv", "data/b.csv"]


def test_destination_state_is_the_truth_and_refreshes_a_stale_copy(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n")
    recipe(project)
    run_recipe_from_yaml("r.yaml")
    committed = project.rows("SELECT state FROM recipec._recipec_state WHERE recipe_name = 'inc'")
    assert json.loads(committed[0][0]) == project.state("inc")
    (project.root / ".state" / "inc.json").write_text("{corrupt")
    project.write("data/b.csv", "id,updated_at\n2,2024-01-02 00:00:00\n")
    run_recipe_from_yaml("r.yaml")
    assert ids(project) == [1, 2]
    assert project.state("inc")["cursor"]["watermark"] == "2024-01-02 00:00:00"


def test_crash_after_commit_before_saving_the_copy_loads_nothing_twice(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n")
    recipe(project)
    assert run_subprocess("run", "r.yaml", cwd=project.root).code == 0
    project.write("data/b.csv", "id,updated_at\n2,2024-01-02 00:00:00\n")
    crashed = run_subprocess(
        "run", "r.yaml", cwd=project.root, env={"RECIPEC_CRASH_AT": "after_commit"}
    )
    assert crashed.code == 70
    assert ids(project) == [1, 2]  # committed with its watermark
    assert project.state("inc")["cursor"]["watermark"] == "2024-01-01 00:00:00"  # stale copy
    rerun = run_subprocess("run", "r.yaml", "--format", "json", cwd=project.root)
    assert rerun.code == 0, rerun.err
    assert "trusting the destination" in rerun.err
    assert json.loads(rerun.out)["rows_written"] == 0
    assert ids(project) == [1, 2]
    assert project.state("inc")["cursor"]["watermark"] == "2024-01-02 00:00:00"


def test_crash_before_commit_leaves_data_and_state_as_they_were(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n")
    recipe(project, mode="merge", keys=["id"])
    assert run_subprocess("run", "r.yaml", cwd=project.root).code == 0
    before = project.snapshot("main.events")
    project.write("data/b.csv", "id,updated_at\n2,2024-01-02 00:00:00\n")
    crashed = run_subprocess(
        "run", "r.yaml", cwd=project.root, env={"RECIPEC_CRASH_AT": "before_commit"}
    )
    assert crashed.code == 70
    assert project.snapshot("main.events") == before
    assert run_subprocess("run", "r.yaml", cwd=project.root).code == 0
    assert ids(project) == [1, 2]
