"""Ctrl-C (SIGINT) and SIGTERM during a run, sent to a real `recipec run` process at many
moments: each either finishes, or says it was interrupted, exits 130 (143), commits nothing and
leaves no temporary file; SIGKILL leaves its folder behind and the next run removes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROWS = 1_500_000


@pytest.fixture
def big_csv(tmp_path: Path) -> Path:
    path = tmp_path / "big.csv"
    duckdb.sql(
        f"COPY (SELECT i AS id, 'name' || i AS v, TIMESTAMP '2024-01-01' + to_seconds(i) AS "
        f"updated_at FROM range({ROWS}) t(i)) TO '{path}'"
    )
    return path


def _recipe(folder: Path, destination: dict[str, object]) -> Path:
    recipe = {
        "name": "big",
        "source": {"type": "csv", "path": "big.csv"},
        "destination": {**destination, "table": "main_events", "write_mode": "overwrite"},
    }
    path = folder / "r.yaml"
    path.write_text(json.dumps(recipe))
    return path


def _start(folder: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "TMPDIR": str(folder / "tmp")}
    (folder / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "recipec", "run", "r.yaml", "--full-refresh"],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _leftovers(folder: Path) -> list[str]:
    runs = folder / "tmp" / "recipec-runs"
    leftover = [str(p) for p in runs.rglob("*") if p.is_file()] if runs.exists() else []
    return leftover + [str(p) for p in (folder / "tmp").glob("recipec-*.csv")]


def _interrupt_at_many_moments(folder: Path, count_rows, sig: int, code: int) -> None:
    started = time.perf_counter()  # one whole run, to spread the signals over its length
    assert _start(folder).wait(timeout=120) == 0
    length = time.perf_counter() - started
    interrupted = 0
    for fraction in (0.1, 0.2, 0.3, 0.45, 0.6, 0.7, 0.8, 0.9):
        delay = fraction * length
        before = count_rows()
        process = _start(folder)
        time.sleep(delay)
        process.send_signal(sig)
        _, err = process.communicate(timeout=120)
        assert "internal error" not in err, err
        assert process.returncode in (0, code), (delay, process.returncode, err)
        if process.returncode == code and "committed before it" in err:
            assert err.strip().endswith("main_events committed before it"), err  # a late signal
            assert count_rows() == ROWS
        elif process.returncode == code:
            interrupted += 1
            assert err.strip().endswith(
                "nothing was committed: the destination and the state are as they were"
            ), err
            assert count_rows() == before  # the table as it was
        else:
            assert count_rows() == ROWS
        assert _leftovers(folder) == []
    assert interrupted >= 3  # most moments fall inside the run


def _duckdb_rows(folder: Path):
    def count() -> int | None:
        database = folder / "out.duckdb"
        if not database.exists():
            return None
        with duckdb.connect(str(database), read_only=True) as connection:
            found = connection.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'main_events'"
            ).fetchone()
            if not found or not found[0]:
                return None
            row = connection.execute("SELECT count(*) FROM main_events").fetchone()
            return int(row[0]) if row else None

    return count


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_into_duckdb_rolls_back_and_exits_cleanly(tmp_path, big_csv, sig, code):
    _recipe(tmp_path, {"type": "duckdb", "database": "out.duckdb"})
    _interrupt_at_many_moments(tmp_path, _duckdb_rows(tmp_path), sig, code)


@pytest.mark.slow
def test_ctrl_c_into_postgres_rolls_back_and_leaves_no_export(tmp_path, big_csv, postgres):
    recipe = _recipe(tmp_path, postgres.destination("main_events"))
    document = json.loads(recipe.read_text())
    document["destination"]["table"] = f"{postgres.namespace}.main_events"
    recipe.write_text(json.dumps(document))

    def count() -> int | None:
        found = postgres.rows(f"SELECT to_regclass('{postgres.namespace}.main_events')")
        if found[0][0] is None:
            return None
        return int(postgres.rows(f"SELECT count(*) FROM {postgres.namespace}.main_events")[0][0])

    _interrupt_at_many_moments(tmp_path, count, signal.SIGINT, 130)


def test_a_killed_runs_scratch_folder_is_removed_by_the_next_run(tmp_path, big_csv):
    _recipe(tmp_path, {"type": "duckdb", "database": "out.duckdb"})
    process = _start(tmp_path)
    runs = tmp_path / "tmp" / "recipec-runs"
    deadline = time.monotonic() + 60
    while not (runs.exists() and any(runs.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()
    process.communicate(timeout=60)
    assert [p.name for p in runs.iterdir()] != []  # SIGKILL cannot clean up
    again = _start(tmp_path)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert list(runs.iterdir()) == []
