"""Benchmark: recipec against plain DuckDB, loading the same CSV into a DuckDB table.

Usage (from the repository root): python bench/bench_load.py [--rows N] [--repeat N]

Both sides are whole processes, interpreter start included:

* recipec: `python -m recipec run bench/recipes/bench_load.yaml --format json`
* plain:   `python bench/plain_load.py CSV DB` (one CREATE TABLE AS over read_csv)

Each measured run writes a fresh database file. After one warm-up each, the sides run
alternately; the report shows the median wall time and the median peak RSS of each side (read
with wait4() for exactly that child process), their ratios against the targets, and checks that
both tables hold the same rows, columns and types.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import Sample, measure  # a sibling module: bench/ is on sys.path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "data"
RECIPE = BENCH / "recipes" / "bench_load.yaml"
PLAIN_LOADER = BENCH / "plain_load.py"
WALL_TARGET = 1.25
MEMORY_TARGET = 1.5

GENERATE_SQL = """
COPY (
    SELECT
        i AS id,
        ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara'][i % 5 + 1] AS fname,
        ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Ritchie'][i % 7 + 1]
            AS lname,
        'user' || i || '@example.com' AS email,
        CAST(18 + i % 70 AS VARCHAR) AS age,
        round(((i * 7919) % 1000000) / 100.0, 2) AS amount,
        DATE '2020-01-01' + CAST(i % 1500 AS INTEGER) AS signup_date,
        strftime(TIMESTAMP '2020-01-01' + to_seconds(i * 37), '%Y-%m-%d %H:%M:%S') AS created_at,
        i % 3 = 0 AS is_active,
        CASE WHEN i % 5 = 0 THEN NULL ELSE ['US', 'DE', 'FR', 'JP'][i % 4 + 1] END AS country
    FROM range({rows}) AS t(i)
) TO '{path}' (HEADER)
"""
GENERATE_SCRIPT = (
    "import duckdb, sys; c = duckdb.connect(); "
    "c.execute('SET enable_progress_bar = false'); c.execute(sys.argv[1])"
)


@dataclass(frozen=True)
class Side:
    """One contender: the command it runs and the files a fresh run must not find."""

    name: str
    command: list[str]
    database: Path
    scratch: tuple[Path, ...] = ()

    def reset(self) -> None:
        for path in (self.database, Path(f"{self.database}.wal"), *self.scratch):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="CSV rows (default 2e6)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per side")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per side first")
    return parser.parse_args(argv)


def relative(path: Path) -> str:
    """A path relative to the repository root, where every child process runs."""
    return str(path.relative_to(REPO))


def ensure_csv(rows: int) -> Path:
    """The cached CSV of `rows` rows, generated with DuckDB's COPY when missing."""
    path = DATA / f"bench_{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".csv.partial")
    sql = GENERATE_SQL.format(rows=int(rows), path=str(partial).replace("'", "''"))
    print(f"generating {relative(path)} ({rows:,} rows) ...", flush=True)
    subprocess.run(
        [sys.executable, "-c", GENERATE_SCRIPT, sql],
        check=True,
    )
    os.replace(partial, path)
    return path


def make_sides(csv: Path) -> tuple[Side, Side]:
    plain_db = DATA / "via_plain.duckdb"
    recipec_db = DATA / "via_recipec.duckdb"
    state = DATA / "recipec_state"
    plain = Side(
        "plain DuckDB",
        [sys.executable, relative(PLAIN_LOADER), relative(csv), relative(plain_db)],
        plain_db,
    )
    recipec = Side(
        "recipec",
        [
            *(sys.executable, "-m", "recipec", "run", relative(RECIPE)),
            *("--var", f"db_path={relative(recipec_db)}", "--var", f"csv_path={relative(csv)}"),
            *("--state-dir", relative(state), "--format", "json"),
        ],
        recipec_db,
        (state,),
    )
    return plain, recipec


def run_once(side: Side) -> Sample:
    side.reset()
    return measure(side.command, REPO)


def benchmark(sides: tuple[Side, Side], repeat: int, warmup: int) -> dict[str, list[Sample]]:
    """Warm up each side, then run them alternately (swapping who goes first each round)."""
    for _ in range(warmup):
        for side in sides:
            run_once(side)
    samples: dict[str, list[Sample]] = {side.name: [] for side in sides}
    for round_ in range(repeat):
        for side in sides if round_ % 2 == 0 else reversed(sides):
            sample = run_once(side)
            samples[side.name].append(sample)
            print(
                f"  round {round_ + 1}: {side.name:<13} {sample.wall:6.2f} s wall"
                f" {sample.cpu:6.2f} s CPU {sample.peak_mib:8.1f} MB",
                flush=True,
            )
    return samples


def scalar(connection: Any, query: str) -> Any:
    row = connection.execute(query).fetchone()
    return row[0] if row else None


def columns(connection: Any, database: str) -> list[tuple[str, str]]:
    rows = connection.execute(f"DESCRIBE {database}.main.bench").fetchall()
    return [(row[0], row[1]) for row in rows]


def verify(plain: Path, recipec: Path, rows: int) -> list[tuple[str, bool]]:
    """Row counts, column names and types, and row-for-row equality of the two tables."""
    import duckdb  # only now: keep this process small while it spawns the measured ones

    with duckdb.connect() as connection:
        connection.execute(f"ATTACH '{plain}' AS plain (READ_ONLY)")
        connection.execute(f"ATTACH '{recipec}' AS rc (READ_ONLY)")
        counts = [
            scalar(connection, f"SELECT count(*) FROM {db}.main.bench") for db in ("plain", "rc")
        ]
        schemas = columns(connection, "plain"), columns(connection, "rc")
        different = scalar(
            connection,
            "SELECT (SELECT count(*) FROM (FROM plain.main.bench EXCEPT ALL FROM rc.main.bench))"
            " + (SELECT count(*) FROM (FROM rc.main.bench EXCEPT ALL FROM plain.main.bench))",
        )
    described = ", ".join(f"{name} {kind}" for name, kind in schemas[0])
    return [
        (
            f"both tables have {rows:,} rows (plain {counts[0]:,}, recipec {counts[1]:,})",
            counts == [rows, rows],
        ),
        (
            f"same column names and types ({len(schemas[0])} columns: {described})",
            schemas[0] == schemas[1],
        ),
        (f"same rows (EXCEPT ALL both ways: {different:,} differing)", different == 0),
    ]


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


def results_table(samples: dict[str, list[Sample]], plain: str, recipec: str) -> list[str]:
    def median(name: str, field: str) -> float:
        return statistics.median(getattr(s, field) for s in samples[name])

    header = f"{'metric':<16}{'plain DuckDB':>14}{'recipec':>10}{'ratio':>9}{'target':>10}"
    lines = [header + f"{'result':>8}"]
    for label, field, target in (
        ("wall time (s)", "wall", WALL_TARGET),
        ("peak RSS (MB)", "peak_mib", MEMORY_TARGET),
        ("CPU time (s)", "cpu", None),
    ):
        base, ours = median(plain, field), median(recipec, field)
        ratio = ours / base
        goal = "(info)" if target is None else f"<= {target:.2f}x"
        result = "" if target is None else verdict(ratio, target)
        lines.append(f"{label:<16}{base:>14.2f}{ours:>10.2f}{ratio:>8.2f}x{goal:>10}{result:>8}")
    return lines


def parse_summary(stdout: str) -> tuple[dict[str, Any], int]:
    """recipec's JSON summary, and how many bytes of other output came before it.

    DuckDB's progress bar (on by default) writes to stdout during long statements, so recipec's
    `--format json` output can start with progress-bar text.
    """
    start = stdout.index("{")
    summary, _ = json.JSONDecoder().raw_decode(stdout, start)
    return summary, len(stdout[:start].strip())


def phases(samples: list[Sample]) -> list[str]:
    """recipec's own step timings (from --format json) for its median-wall run."""
    run = sorted(samples, key=lambda s: s.wall)[len(samples) // 2]
    summary, noise = parse_summary(run.stdout)
    inside = float(summary["duration_seconds"])
    steps = ", ".join(f"{s['step']} {s['seconds']:.2f}" for s in summary["steps"])
    lines = [
        f"recipec median run: wall {run.wall:.2f} s = {inside:.2f} s inside the run "
        f"+ {run.wall - inside:.2f} s outside it (interpreter, imports, compile, exit)",
        f"  steps (s): {steps}",
    ]
    if noise:
        lines.append(
            f"  note: recipec's --format json stdout began with {noise:,} bytes of DuckDB"
            " progress-bar output (not valid JSON as printed)"
        )
    return lines


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPU(s)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    csv = ensure_csv(args.rows)
    plain, recipec = make_sides(csv)
    size_mb = csv.stat().st_size / 1e6
    print(
        f"recipec vs plain DuckDB: {args.rows:,}-row CSV ({size_mb:.0f} MB) -> DuckDB table;"
        f" {args.warmup} warm-up + {args.repeat} measured run(s) per side",
        flush=True,
    )
    samples = benchmark((plain, recipec), args.repeat, args.warmup)
    print(f"\nmedian of {args.repeat} run(s) per side (whole processes); {load_note()}")
    print("\n".join(results_table(samples, plain.name, recipec.name)))
    print()
    print("\n".join(phases(samples[recipec.name])))
    print()
    checks = verify(plain.database, recipec.database, args.rows)
    for text, ok in checks:
        print(f"check {'OK  ' if ok else 'FAIL'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
