"""Exactly-once, proven: kill `recipec run` with SIGKILL at random moments while the source keeps
changing; after a final run the destination equals the source.

A 200,000-row Postgres table is loaded incrementally (merge on id, cursor updated_at, a safety
margin for transactions in flight) into each destination. Between and during runs a writer
inserts and updates rows. Each round kills a run at a random moment (extraction, staging,
loading or commit), or at a named point just before or after the commit, then runs again.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

ROWS = 200_000
KILLS = 20
MARGIN_SECONDS = 2


def _source_table(postgres) -> str:
    table = f"{postgres.namespace}.items"
    postgres.run(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, v int NOT NULL, payload text, "
        "updated_at timestamptz NOT NULL)",
        f"INSERT INTO {table} SELECT i, i % 97, md5(i::text), "
        "clock_timestamp() - interval '1 hour' FROM generate_series(1, {ROWS}) i".replace(
            "{ROWS}", str(ROWS)
        ),
        f"CREATE INDEX ON {table} (updated_at)",
    )
    return table


class Writer:
    """Inserts and updates source rows in short transactions until stopped."""

    def __init__(self, postgres, table: str) -> None:
        self.postgres, self.table = postgres, table
        self.next_id = ROWS + 1
        self.stop = threading.Event()
        self.lock = threading.Lock()  # one writer at a time: two would deadlock each other
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def change(self, inserts: int = 300, updates: int = 300) -> None:
        with self.lock:
            self._change(inserts, updates)

    def _change(self, inserts: int, updates: int) -> None:
        first = self.next_id
        self.next_id += inserts
        self.postgres.run(
            f"INSERT INTO {self.table} SELECT i, i % 97, md5(i::text), clock_timestamp() "
            f"FROM generate_series({first}, {self.next_id - 1}) i",
            f"UPDATE {self.table} SET v = v + 1, payload = md5(payload), "
            "updated_at = clock_timestamp() WHERE id IN "
            f"(SELECT (random() * {first - 1})::bigint + 1 FROM generate_series(1, {updates}))",
        )

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.change(inserts=50, updates=50)
            time.sleep(0.05)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def _destination(kind: str, postgres, root: Path) -> dict[str, object]:
    if kind == "duckdb":
        return {"type": "duckdb", "database": str(root / "out.duckdb"), "table": "main.items"}
    schema = f"{postgres.namespace}_dest"
    return postgres.destination(f"{schema}.items", state_schema=schema)


def _run(root: Path, kill_after: float | None = None, crash_at: str | None = None) -> int:
    env = {**os.environ, "RECIPEC_CRASH_AT": crash_at or ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "recipec", "run", "r.yaml", "--format", "json"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=300)
    if process.returncode not in (0, -signal.SIGKILL, 70):
        raise AssertionError(f"recipec run failed ({process.returncode}): {err.decode()[-2000:]}")
    return process.returncode


def _source_totals(postgres, table: str) -> tuple:
    return postgres.rows(
        f"SELECT count(*), sum(id), sum(v), sum(length(payload)), "
        f"sum((extract(epoch from updated_at) * 1000000)::bigint), max(updated_at) FROM {table}"
    )[0]


def _destination_totals(kind: str, postgres, root: Path) -> tuple:
    query = (
        "SELECT count(*), count(DISTINCT id), sum(id), sum(v), sum(length(payload)), "
        "sum(epoch_us(updated_at)) FROM {t}"
    )
    if kind == "duckdb":
        with duckdb.connect(str(root / "out.duckdb"), read_only=True) as connection:
            return connection.execute(query.format(t="main.items")).fetchone()
    pg_query = query.replace(
        "epoch_us(updated_at)", "(extract(epoch from updated_at) * 1000000)::bigint"
    )
    return postgres.rows(pg_query.format(t=f"{postgres.namespace}_dest.items"))[0]


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(project, postgres, kind, request):
    table = _source_table(postgres)
    if kind == "postgres":  # the fixture drops the source's schema; this drops the destination's
        drop = f"DROP SCHEMA IF EXISTS {postgres.namespace}_dest CASCADE"
        request.addfinalizer(lambda: postgres.run(drop))
    recipe = {
        "name": "exactly_once",
        "source": postgres.source(
            "items",
            incremental={
                "strategy": "cursor",
                "cursor_column": "updated_at",
                "safety_margin": f"{MARGIN_SECONDS} seconds",
            },
        ),
        "destination": {
            **_destination(kind, postgres, project.root),
            "write_mode": "merge",
            "merge_keys": ["id"],
        },
        "runtime": {"retries": 0},
    }
    project.write("r.yaml", json.dumps(recipe))
    assert _run(project.root) == 0  # the first full load
    rng = random.Random(20261126)
    outcomes = []
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "recipec", "--version"], check=True, capture_output=True)
    startup = time.perf_counter() - started  # kills before this would only hit the imports
    with Writer(postgres, table) as writer:
        writer.change(inserts=20_000, updates=20_000)
        started = time.perf_counter()
        assert _run(project.root) == 0  # how long an incremental run of a round takes
        typical = time.perf_counter() - started
        for _ in range(KILLS):
            writer.change(inserts=20_000, updates=20_000)
            kill_after = rng.uniform(min(startup, 0.5 * typical), 0.95 * typical)
            outcomes.append(_run(project.root, kill_after=kill_after))
            outcomes.append(_run(project.root))  # rerun after each kill
        for point in ("before_commit", "after_commit"):
            writer.change()
            assert _run(project.root, crash_at=point) == 70
            outcomes.append(_run(project.root))
    time.sleep(MARGIN_SECONDS + 1)  # let the last changes age past the safety margin
    assert _run(project.root) == 0
    killed = sum(1 for code in outcomes if code == -signal.SIGKILL)
    assert killed >= KILLS // 2, f"only {killed} runs were killed mid-way: {outcomes}"

    source = _source_totals(postgres, table)
    destination = _destination_totals(kind, postgres, project.root)
    count, distinct, *sums = destination
    assert count == distinct, "duplicate keys in the destination"
    assert (count, *sums) == source[:5]
    state = project.state("exactly_once")
    with duckdb.connect() as scratch:
        same = scratch.execute(
            "SELECT CAST($w AS TIMESTAMPTZ) = CAST($m AS TIMESTAMPTZ)",
            {"w": state["cursor"]["watermark"], "m": str(source[5])},
        ).fetchone()[0]
    assert same, (state["cursor"]["watermark"], source[5])
