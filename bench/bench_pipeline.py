"""Benchmark: running a recipe's resources in parallel.

Usage (from the repository root):
    .venv/bin/python bench/bench_pipeline.py [--rows 250000] [--repeat 3] [--skip-postgres]

1. Slow source: eight independent resources, each reading a Postgres view whose rows arrive
   over about 2 s (`pg_sleep` per row), loaded with `runtime.parallelism` 1 and 4 in the same
   run. Target: at least 3.5x faster at 4. Needs the Postgres server of the test setup
   (127.0.0.1:5432, user postgres, database test; RECIPEC_BENCH_PG_URL to change it).
2. CSV files: eight independent resources of `--rows` rows each into one DuckDB file, with
   parallelism 1 and 2 (printed as a ratio: this machine has 2 cores), and the whole pipeline
   against the same eight loads as plain DuckDB statements in one process (target: at most
   1.3x).

Every side is a whole `python -m recipec run` process (interpreter start included) on a fresh
destination and state; each recipe runs in a folder of its own, so after the warm-up its plan
comes from the plan cache, as for a recipe run again and again. Sides alternate, the order
swapped every round, and the medians are compared. The slow-source figures are also given for
the run alone (the summary's `duration_seconds`), which leaves out the process start that no
parallelism can shorten.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure

RESOURCES = 8
SLOW_SPEEDUP_TARGET = 3.5
CSV_OVERHEAD_TARGET = 1.3
PG_URL = os.environ.get(
    "RECIPEC_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def pipeline(name: str, resources: list[dict[str, object]], parallelism: int, db: str) -> str:
    recipe = {
        "name": name,
        "defaults": {
            "destination": {"type": "duckdb", "database": db, "write_mode": "overwrite"},
        },
        "runtime": {"parallelism": parallelism},
        "resources": resources,
    }
    return json.dumps(recipe)


def side_folder(folder: Path, recipe: str) -> Path:
    """Each recipe runs in a folder of its own, so that its plan cache stays valid from run to
    run, as for a recipe a scheduler runs again and again."""
    side = folder / f"side_{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"
    side.mkdir(exist_ok=True)
    return side


def run_recipec(folder: Path, recipe: str) -> tuple[float, float]:
    """(wall seconds of the process, seconds of the run itself)."""
    folder = side_folder(folder, recipe)
    path = folder / "r.yaml"
    path.write_text(recipe)
    for leftover in folder.glob("*.duckdb*"):
        leftover.unlink()
    state = folder / ".state"
    for saved in state.glob("*.json") if state.exists() else []:
        saved.unlink()
    sample = measure([sys.executable, "-m", "recipec", "run", "r.yaml", "--format", "json"], folder)
    summary = json.loads(sample.stdout)
    assert summary["status"] == "success", summary
    return sample.wall, float(summary["duration_seconds"])


def alternate(sides: dict[str, object], repeat: int, run) -> dict[str, list[tuple[float, float]]]:
    names = list(sides)
    for name in names:
        run(sides[name])  # warm-up
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_ in range(repeat):
        for name in names if round_ % 2 == 0 else list(reversed(names)):
            times[name].append(run(sides[name]))
    return times


def median(samples: list[tuple[float, float]], index: int) -> float:
    return statistics.median(sample[index] for sample in samples)


def slow_postgres(folder: Path, repeat: int) -> bool:
    import sqlalchemy

    schema = "recipec_bench_slow"
    engine = sqlalchemy.create_engine(PG_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        connection.exec_driver_sql(
            f"CREATE FUNCTION {schema}.slow_row(i int) RETURNS int LANGUAGE sql VOLATILE AS "
            "$$ SELECT pg_sleep(0.25); SELECT i $$"
        )
        connection.exec_driver_sql(
            f"CREATE VIEW {schema}.slow AS SELECT {schema}.slow_row(i) AS id "
            "FROM generate_series(1, 8) AS i"
        )  # eight rows, a quarter of a second apart: about 2 s a read
    url = engine.url
    source = {
        "type": "postgres",
        "host": url.host,
        "port": url.port or 5432,
        "database": url.database,
        "user": url.username,
        "table": f"{schema}.slow",
    }
    resources = [
        {"name": f"r{i}", "source": source, "destination": {"table": f"main.r{i}"}}
        for i in range(RESOURCES)
    ]
    sides = {p: pipeline("slow", resources, p, "slow.duckdb") for p in (1, 4)}
    try:
        times = alternate(sides, repeat, lambda recipe: run_recipec(folder, recipe))
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    print(f"1. slow Postgres source: {RESOURCES} resources of ~2 s each, median of {repeat}")
    for p in (1, 4):
        wall, run = median(times[p], 0), median(times[p], 1)
        print(f"   parallelism {p}:  process {wall:6.2f} s   run {run:6.2f} s")
    process_ratio = median(times[1], 0) / median(times[4], 0)
    run_ratio = median(times[1], 1) / median(times[4], 1)
    verdict = "PASS" if process_ratio >= SLOW_SPEEDUP_TARGET else "MISS"
    print(
        f"   speed-up 1 -> 4: process {process_ratio:.2f}x, run {run_ratio:.2f}x  "
        f"(target >= {SLOW_SPEEDUP_TARGET}x)  {verdict}"
    )
    return process_ratio >= SLOW_SPEEDUP_TARGET


def csv_files(folder: Path, rows: int, repeat: int) -> bool:
    import duckdb

    data = folder / "data"
    data.mkdir(exist_ok=True)
    for i in range(RESOURCES):
        path = data / f"f{i}.csv"
        if not path.exists():
            duckdb.sql(
                f"COPY (SELECT r AS id, 'name ' || r AS name, r * 0.5 + {i} AS amount, "
                "DATE '2024-01-01' + CAST(r % 365 AS INTEGER) AS day, r % 2 = 0 AS flag "
                f"FROM range({rows}) t(r)) TO '{path}' (HEADER)"
            )
    resources = [
        {
            "name": f"f{i}",
            "source": {"type": "csv", "path": str(data / f"f{i}.csv")},
            "destination": {"table": f"main.f{i}"},
        }
        for i in range(RESOURCES)
    ]
    plain = folder / "plain.py"
    plain.write_text(
        "import duckdb, sys\n"
        "connection = duckdb.connect(sys.argv[1])\n"
        f"for i in range({RESOURCES}):\n"
        '    connection.execute(f"CREATE OR REPLACE TABLE main.f{i} AS SELECT * FROM '
        "read_csv('data/f{i}.csv')\")\n"
        "connection.close()\n"
    )

    def run(side: object) -> tuple[float, float]:
        if side == "plain":
            for leftover in folder.glob("plain.duckdb*"):
                leftover.unlink()
            sample = measure([sys.executable, "plain.py", "plain.duckdb"], folder)
            return sample.wall, sample.wall
        return run_recipec(folder, str(side))

    sides: dict[str, object] = {
        "parallelism 1": pipeline("files", resources, 1, "files.duckdb"),
        "parallelism 2": pipeline("files", resources, 2, "files.duckdb"),
        "plain": "plain",
    }
    times = alternate(sides, repeat, run)
    written = side_folder(folder, str(sides["parallelism 2"])) / "files.duckdb"
    with duckdb.connect(str(written), read_only=True) as connection:
        counts = [
            connection.execute(f"SELECT count(*) FROM main.f{i}").fetchone()
            for i in range(RESOURCES)
        ]
    assert all(count == (rows,) for count in counts), counts
    print(f"2. {RESOURCES} CSV resources of {rows:,} rows into one DuckDB file, median of {repeat}")
    for name in sides:
        print(f"   {name:<14} process {median(times[name], 0):6.2f} s")
    one, two, plain_wall = (median(times[n], 0) for n in sides)
    best = min(one, two)
    verdict = "PASS" if best / plain_wall <= CSV_OVERHEAD_TARGET else "MISS"
    print(f"   parallelism 2 against 1: {one / two:.2f}x faster")
    print(
        f"   recipec (best of the two) / plain DuckDB: {best / plain_wall:.2f}x  "
        f"(target <= {CSV_OVERHEAD_TARGET}x)  {verdict}"
    )
    return best / plain_wall <= CSV_OVERHEAD_TARGET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="recipec-bench-pipeline-"))
    passed = True
    if not args.skip_postgres:
        passed &= slow_postgres(folder, args.repeat)
    passed &= csv_files(folder, args.rows, args.repeat)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
