"""Two `recipec run` processes of one recipe at the same time: nothing is loaded twice.

The second run waits for the first one's state lock (Postgres) or fails cleanly on the locked
database file (DuckDB), then sees what the first one committed. Each process keeps its own
state folder, as two machines would: only the destination can keep them apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROWS = 60_000
UPDATED = 15_000


def _source(postgres) -> str:
    table = f"{postgres.namespace}.items"
    postgres.run(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, v text, updated_at timestamptz NOT NULL)",
        f"INSERT INTO {table} SELECT i, md5(i::text), timestamptz '2024-01-01' + i * interval "
        f"'1 second' FROM generate_series(1, {ROWS}) i",
    )
    return table


def _recipe(folder: Path, postgres, destination: dict[str, object]) -> None:
    source = postgres.source(
        "items", incremental={"strategy": "cursor", "cursor_column": "updated_at"}
    )
    document = {
        "name": "concurrent",
        "source": source,
        "destination": {**destination, "write_mode": "append"},
    }
    (folder / "r.yaml").write_text(json.dumps(document))


def _run_two_at_once(folder: Path) -> list[subprocess.CompletedProcess[str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "recipec", "run", "r.yaml", "--state-dir", f"state_{n}"],
            cwd=folder,
            env=os.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def _update(postgres, table: str) -> None:
    postgres.run(
        f"UPDATE {table} SET updated_at = timestamptz '2025-01-01' + id * interval '1 second' "
        f"WHERE id <= {UPDATED}"
    )


def _check(results, allowed_failure: str | None) -> None:
    for result in results:
        if result.returncode != 0:
            assert allowed_failure is not None and allowed_failure in result.stderr, result.stderr
            assert result.returncode == 3
        assert "internal error" not in result.stderr
    assert any(r.returncode == 0 for r in results)


@pytest.fixture
def pg_destination(postgres) -> dict[str, object]:
    return postgres.destination(
        f"{postgres.namespace}.target", state_schema=f"{postgres.namespace}_state"
    )


def test_concurrent_runs_into_postgres_load_each_row_once(tmp_path, postgres, pg_destination):
    table = _source(postgres)
    _recipe(tmp_path, postgres, pg_destination)
    try:
        _check(_run_two_at_once(tmp_path), None)  # two first loads: one table, one load
        target = f"{postgres.namespace}.target"
        assert postgres.rows(f"SELECT count(*), count(DISTINCT id) FROM {target}") == [(ROWS, ROWS)]
        _update(postgres, table)
        results = _run_two_at_once(tmp_path)
        _check(results, None)
        written = sorted(
            int(line.split()[2].replace(",", ""))
            for r in results
            for line in r.stdout.splitlines()
            if line.strip().startswith("rows written")
        )
        assert written == [0, UPDATED]
        assert postgres.rows(f"SELECT count(*), count(DISTINCT id) FROM {target}") == [
            (ROWS + UPDATED, ROWS)
        ]
    finally:
        postgres.run(f"DROP SCHEMA IF EXISTS {postgres.namespace}_state CASCADE")


def test_concurrent_runs_into_duckdb_load_each_row_once(tmp_path, postgres):
    table = _source(postgres)
    destination = {"type": "duckdb", "database": "out.duckdb", "table": "main.target"}
    _recipe(tmp_path, postgres, destination)
    busy = "cannot open DuckDB database 'out.duckdb'"
    _check(_run_two_at_once(tmp_path), busy)
    _update(postgres, table)
    _check(_run_two_at_once(tmp_path), busy)
    _check(_run_two_at_once(tmp_path), busy)  # nothing new: whoever runs loads nothing
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as connection:
        counted = connection.execute("SELECT count(*), count(DISTINCT id) FROM main.target")
        assert counted.fetchall() == [(ROWS + UPDATED, ROWS)]


def test_runs_sharing_a_local_state_wait_for_each_other(tmp_path):
    code = (
        "import sys, time; from recipec.runtime.state import LocalStateBackend\n"
        "with LocalStateBackend(sys.argv[1]).lock('r'):\n"
        "    print(time.monotonic(), flush=True); time.sleep(1.0); print(time.monotonic())\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    spans = sorted(tuple(float(x) for x in p.communicate(timeout=30)[0].split()) for p in processes)
    assert spans[0][1] <= spans[1][0]  # one held the lock after the other let go


def test_concurrent_runs_of_a_pipeline_load_each_resources_rows_once(tmp_path, postgres):
    """Each resource holds its own state lock: two runs of a two-resource pipeline interleave
    resource by resource, and every row lands once in each table."""
    table = _source(postgres)
    cursor = {"strategy": "cursor", "cursor_column": "updated_at"}
    state_schema = f"{postgres.namespace}_state"
    document = {
        "name": "concurrent",
        "defaults": {
            "source": postgres.source("items", incremental=cursor),
            "destination": {
                **postgres.destination("unused", state_schema=state_schema),
                "write_mode": "append",
            },
        },
        "runtime": {"parallelism": 2},
        "resources": [
            {"name": "first", "destination": {"table": f"{postgres.namespace}.first"}},
            {
                "name": "second",
                "depends_on": ["first"],
                "destination": {"table": f"{postgres.namespace}.second"},
            },
        ],
    }
    (tmp_path / "r.yaml").write_text(json.dumps(document))
    try:
        _check(_run_two_at_once(tmp_path), None)
        _update(postgres, table)
        _check(_run_two_at_once(tmp_path), None)
        for target in ("first", "second"):
            assert postgres.rows(
                f"SELECT count(*), count(DISTINCT id) FROM {postgres.namespace}.{target}"
            ) == [(ROWS + UPDATED, ROWS)]
        states = postgres.rows(f"SELECT recipe_name FROM {state_schema}._recipec_state ORDER BY 1")
        assert states == [("concurrent.first",), ("concurrent.second",)]
    finally:
        postgres.run(f"DROP SCHEMA IF EXISTS {state_schema} CASCADE")
