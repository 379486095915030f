"""`recipec runs`: a recipe's runs, resource by resource, newest first, as its destination
recorded them in `_recipec_runs` (failed attempts too)."""

from __future__ import annotations

import yaml
from helpers import Project

RECIPE = {
    "name": "counted",
    "source": {
        "type": "csv",
        "path": "in.csv",
        "incremental": {"strategy": "cursor", "cursor_column": "id"},
    },
    "destination": {"type": "duckdb", "database": "out.duckdb", "table": "main.t"},
}


def _write(project: Project, **destination: object) -> None:
    recipe = {**RECIPE, "destination": {**RECIPE["destination"], **destination}}
    project.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))


def test_runs_lists_the_loads_newest_first(project: Project, cli):
    project.write("in.csv", "id\n1\n2\n")
    _write(project)
    assert cli("runs", "r.yaml").out == "no runs of counted into main.t yet\n"
    first = cli("run", "r.yaml", "--format", "json").json()
    project.write("in.csv", "id\n1\n2\n3\n")
    second = cli("run", "r.yaml", "--format", "json").json()

    loads = cli("runs", "r.yaml", "--format", "json").json()
    assert [(load["run_id"], load["rows_written"], load["watermark"]) for load in loads] == [
        (second["run_id"], 1, "3"),
        (first["run_id"], 2, "2"),
    ]
    assert [
        load["run_id"] for load in cli("runs", "r.yaml", "--limit", "1", "--format", "json").json()
    ] == [second["run_id"]]
    text = cli("runs", "r.yaml").out.splitlines()
    assert text[0].split() == [
        "finished",
        "at",
        "resource",
        "run",
        "id",
        "status",
        "rows",
        "mode",
        "watermark",
    ]
    assert second["run_id"] in text[1] and text[1].split()[-1] == "3"


def test_runs_reads_a_postgres_destination(project: Project, cli, postgres):
    project.write("in.csv", "id\n1\n2\n")
    _write(
        project, **postgres.destination(f"{postgres.namespace}.t"), state_schema=postgres.namespace
    )
    assert cli("runs", "r.yaml", "--format", "json").json() == []
    ran = cli("run", "r.yaml", "--format", "json").json()
    (load,) = cli("runs", "r.yaml", "--format", "json").json()
    assert load["run_id"] == ran["run_id"] and load["rows_written"] == 2
    assert (load["status"], load["rows_read"], load["error"]) == ("success", 2, None)
    project.write("in.csv", "id\n1\n2\nthree\n")
    failed = cli("run", "r.yaml")
    assert failed.code != 0
    newest = cli("runs", "r.yaml", "--format", "json").json()[0]
    assert newest["status"] == "failed" and "cannot write to postgres" in newest["error"]
    assert postgres.rows(f"SELECT count(*) FROM {postgres.namespace}.t") == [(2,)]


def test_a_failed_attempt_is_recorded_after_its_rollback(project: Project, cli):
    project.write("in.csv", "id\n1\n2\n")
    _write(project)
    assert cli("run", "r.yaml").code == 0
    project.write("in.csv", "id\n1\n2\nthree\n")  # the cursor column no longer casts
    failed = cli("run", "r.yaml", "--format", "json")
    assert failed.code != 0
    runs = cli("runs", "r.yaml", "--format", "json").json()
    assert [(r["status"], r["rows_written"]) for r in runs] == [("failed", 0), ("success", 2)]
    assert [r["bytes_read"] for r in runs] == [len("id\n1\n2\nthree\n"), len("id\n1\n2\n")]
    assert "three" in runs[0]["error"] and runs[0]["started_at"] <= runs[0]["finished_at"]
    assert project.rows("SELECT count(*) FROM main.t") == [(2,)]  # the data as it was
    text = cli("runs", "r.yaml").out.splitlines()
    assert text[1].split()[4] == "failed" and "three" in text[2]


def test_runs_lists_each_resource_of_a_pipeline(project: Project, cli):
    project.write("in.csv", "id\n1\n2\n")
    pipeline = {
        "name": "counted",
        "defaults": {"source": RECIPE["source"], "destination": RECIPE["destination"]},
        "resources": [
            {"name": "a", "destination": {"table": "main.a"}},
            {"name": "b", "depends_on": ["a"], "destination": {"table": "main.b"}},
        ],
    }
    project.write("r.yaml", yaml.safe_dump(pipeline, sort_keys=False))
    ran = cli("run", "r.yaml", "--format", "json").json()
    runs = cli("runs", "r.yaml", "--format", "json").json()
    assert sorted((r["resource"], r["run_id"], r["status"]) for r in runs) == [
        ("a", ran["run_id"], "success"),
        ("b", ran["run_id"], "success"),
    ]


def test_a_destination_without_history_says_so(project: Project, cli):
    project.write("in.csv", "id\n1\n")
    project.write(
        "sink.py",
        """
        from recipec import register_destination

        @register_destination("null_sink")
        class NullSink:
            def __init__(self, config):
                pass

            def write(self, reader, context):
                return sum(batch.num_rows for batch in reader)
        """,
    )
    recipe = {**RECIPE, "plugins": ["sink"], "destination": {"type": "null_sink", "table": "t"}}
    project.write("r.yaml", yaml.safe_dump(recipe, sort_keys=False))
    result = cli("runs", "r.yaml")
    assert result.code == 2
    assert "keeps no load history" in result.err and "show-state" in result.err
