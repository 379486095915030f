"""Backfill: a range split into windows, each committed with its own watermark."""

from __future__ import annotations

import json

import pytest
from helpers import run_subprocess


@pytest.fixture
def events(postgres):
    postgres.run(
        f"CREATE TABLE {postgres.namespace}.events (id bigint PRIMARY KEY, at timestamptz)",
        f"INSERT INTO {postgres.namespace}.events "
        "SELECT i, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour' "
        "FROM generate_series(0, 239) i",  # ten days, hourly
    )
    return postgres


def write(project, postgres, path="duckdb"):
    source = postgres.source(
        "events",
        extract_with=path,
        incremental={
            "strategy": "cursor",
            "cursor_column": "at",
            "initial_value": "2024-01-01 00:00:00+00",
            "end_value": "2024-01-08 00:00:00+00",
            "backfill": {"step": "3 days"},
        },
    )
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "backfill",
                "source": source,
                "destination": {
                    "type": "duckdb",
                    "database": "out.duckdb",
                    "table": "main.events",
                    "write_mode": "merge",
                    "merge_keys": ["id"],
                },
            }
        ),
    )


@pytest.mark.parametrize("path", ["duckdb", "driver"])
def test_each_window_commits_with_its_own_watermark(project, events, path):
    write(project, events, path)
    result = run_subprocess("run", "r.yaml", "--format", "json", cwd=project.root)
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["resources"][0]["windows"] == 3 and summary["rows_written"] == 7 * 24
    assert project.rows('SELECT count(*), max("at") FROM main.events')[0][0] == 7 * 24
    loads = project.rows("SELECT watermark FROM recipec._recipec_runs ORDER BY finished_at")
    assert [w for (w,) in loads] == [
        "2024-01-03 23:00:00+00",
        "2024-01-06 23:00:00+00",
        "2024-01-07 23:00:00+00",
    ]


def test_a_failed_backfill_resumes_from_the_last_committed_window(project, events):
    write(project, events)
    crashed = run_subprocess(
        "run", "r.yaml", cwd=project.root, env={"RECIPEC_CRASH_AT": "before_commit:2"}
    )
    assert crashed.code == 70
    assert project.rows("SELECT count(*) FROM main.events") == [(3 * 24,)]  # window 1 only
    resumed = run_subprocess("run", "r.yaml", "--format", "json", cwd=project.root)
    assert resumed.code == 0, resumed.err
    summary = json.loads(resumed.out)
    assert summary["rows_read"] < 7 * 24  # the first window was not read again
    assert project.rows("SELECT count(*), count(DISTINCT id) FROM main.events") == [(168, 168)]


def test_backfill_needs_a_range(project, postgres):
    from recipec import RecipeError, from_yaml

    source = postgres.source(
        "events",
        incremental={"strategy": "cursor", "cursor_column": "at", "backfill": {"step": "1 day"}},
    )
    project.write(
        "r.yaml",
        json.dumps(
            {
                "name": "b",
                "source": source,
                "destination": {"type": "duckdb", "database": "o.duckdb", "table": "t"},
            }
        ),
    )
    with pytest.raises(RecipeError, match="backfill needs initial_value and end_value"):
        from_yaml("r.yaml")


def test_a_full_refresh_backfill_rebuilds_once_and_keeps_every_window(project, events):
    write(project, events)
    source = json.loads((project.root / "r.yaml").read_text())
    source["source"]["incremental"]["end_value"] = "2024-01-04"  # a date: no extra window
    project.write("r.yaml", json.dumps(source))
    assert run_subprocess("run", "r.yaml", cwd=project.root).code == 0
    result = run_subprocess("run", "r.yaml", "--full-refresh", "--format", "json", cwd=project.root)
    assert result.code == 0, result.err
    assert json.loads(result.out)["resources"][0]["windows"] == 1
    assert project.rows("SELECT count(*) FROM main.events") == [(72,)]
