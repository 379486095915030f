"""Benchmark: a PostgreSQL table into DuckDB, recipec against plain DuckDB and dlt.

Usage (from the repository root):
    .venv/bin/python bench/bench_postgres.py [--rows N] [--repeat N] [--memory-check] [--keep]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database `test`). The benchmark
creates the schema `recipec_bench`, fills `recipec_bench.items` server-side with
`generate_series` (10 mixed-type columns, an index on `updated_at`) and drops the schema at the
end (unless --keep). Every contender is a whole child process, interpreter start included; its
peak RSS comes from wait4() on exactly that child. After the warm-up runs, the contenders run
alternately, the order rotating every round, and the report shows medians and ratios.

Scenarios:

* full load: recipec (bench/recipes/bench_pg_items.yaml: cursor on `updated_at`, merge on `id`)
  into a fresh DuckDB file, against plain DuckDB's postgres extension doing one CREATE TABLE AS
  (bench/plain_pg_load.py) and dlt's `sql_table` with each fast backend that works
  (bench/dlt_pg_load.py, run by the Python of a separate venv, --dlt-python).
* incremental: 1% of the rows updated and 1% inserted after a full load; recipec's incremental
  run against plain DuckDB merging the rows at or past the previous max `updated_at` by hand.
  Each run starts from a copy of the same loaded DuckDB file (and recipec's state folder).
* memory (--memory-check): recipec's full load at --rows and at --memory-rows (6,000,000).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from measure import Sample, measure  # a sibling module: bench/ is on sys.path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RECIPE = BENCH / "recipes" / "bench_pg_items.yaml"
PLAIN = BENCH / "plain_pg_load.py"
DLT_SCRIPT = BENCH / "dlt_pg_load.py"
DLT_BACKENDS = ("connectorx", "pyarrow")
POSTGRES = {"host": "127.0.0.1", "port": 5432, "dbname": "test", "user": "postgres"}
SCHEMA = "recipec_bench"
TABLE = f"{SCHEMA}.items"

FULL_VS_DUCKDB = 1.2
FULL_DLT_SPEEDUP = 2.0
INCREMENTAL_VS_DUCKDB = 1.5
MEMORY_LIMIT_MIB = 1024.0
OWN_MEMORY_GROWTH_MIB = 64.0
"""recipec's own memory (its peak RSS minus the DuckDB reference's) may grow by at most this
much from --rows to --memory-rows: what recipec adds to DuckDB does not grow with the table.
DuckDB's own peak grows somewhat with the rows it writes (1.2x to 1.5x from 2M to 6M rows in
runs here, with or without a memory_limit), so a plain ratio would measure DuckDB, not us."""

CREATE_SQL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {TABLE} (
    id bigint PRIMARY KEY,
    quantity integer NOT NULL,
    price numeric(12, 2) NOT NULL,
    name text NOT NULL,
    category varchar(16) NOT NULL,
    updated_at timestamptz NOT NULL,
    created_on date NOT NULL,
    is_active boolean NOT NULL,
    note text,
    attrs jsonb NOT NULL
)
"""
INSERT_SQL = f"""
INSERT INTO {TABLE}
SELECT
    i,
    (i * 7919) % 100000,
    round(((i * 7919) % 1000000) / 100.0, 2),
    'item ' || i,
    (ARRAY['red', 'green', 'blue', 'black', 'white'])[i % 5 + 1],
    {{updated_at}},
    date '2020-01-01' + (i % 1500)::int,
    i % 3 = 0,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || (i % 1000) END,
    jsonb_build_object('k', i % 10, 'tag', 't' || (i % 7))
FROM generate_series({{first}}::bigint, {{last}}::bigint) AS i
"""
INITIAL_UPDATED_AT = "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second'"
UPDATE_SQL = f"UPDATE {TABLE} SET updated_at = now(), quantity = quantity + 1 WHERE id % 100 = 0"
SOURCE_TOTALS_SQL = f"""
SELECT count(*), sum(id), sum(quantity), (extract(epoch FROM max(updated_at)) * 1000000)::bigint
FROM {TABLE}
"""
DUCKDB_TOTALS_SQL = (
    "SELECT count(*), sum(id), sum(quantity), epoch_us(max(updated_at)) FROM db.main.items"
)
QUERY_SCRIPT = """
import json, sys
import duckdb
connection = duckdb.connect()
connection.execute("SET enable_progress_bar = false")
for alias, path in json.loads(sys.argv[1]).items():
    connection.execute("ATTACH '" + path.replace("'", "''") + "' AS " + alias + " (READ_ONLY)")
row = connection.execute(sys.argv[2]).fetchone()
print(json.dumps([int(value) for value in row]))
"""


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Side:
    """One contender: how to reset its files before a run, and the command it runs."""

    name: str
    command: list[str]
    prepare: Callable[[], None]
    database: Path
    optional: bool = False
    """A failing optional side (a dlt backend) is dropped and reported, not fatal."""
    samples: list[Sample] = field(default_factory=list)
    failure: str | None = None


def run_side(side: Side) -> Sample | None:
    """Prepare and run one side; a failing optional side is marked failed and gives None."""
    side.prepare()
    try:
        return measure(side.command, REPO)
    except RuntimeError as exc:
        if not side.optional:
            raise RuntimeError(f"{side.name}: {exc}") from None
        side.failure = str(exc)
        return None


def benchmark(sides: list[Side], repeat: int, warmup: int) -> None:
    """Warm up each side, then run them alternately, rotating the order every round."""
    for _ in range(warmup):
        for side in active(sides):
            run_side(side)
    for round_ in range(repeat):
        running = active(sides)
        shift = round_ % len(running)
        for side in running[shift:] + running[:shift]:
            sample = run_side(side)
            if sample is None:
                print(f"  round {round_ + 1}: {side.name:<24} FAILED {side.failure}", flush=True)
                continue
            side.samples.append(sample)
            print(
                f"  round {round_ + 1}: {side.name:<24} {sample.wall:7.2f} s wall"
                f" {sample.cpu:7.2f} s CPU {sample.peak_mib:8.1f} MiB",
                flush=True,
            )


def active(sides: list[Side]) -> list[Side]:
    return [side for side in sides if side.failure is None]


def median(side: Side, attribute: str) -> float:
    return statistics.median(getattr(sample, attribute) for sample in side.samples)


def median_run(side: Side) -> Sample:
    return sorted(side.samples, key=lambda sample: sample.wall)[len(side.samples) // 2]


# -- the source ------------------------------------------------------------------------------


def postgres(statements: Sequence[str]) -> list[Any]:
    """Run statements in autocommit mode; the last one's rows (if it returns any)."""
    connection = psycopg2.connect(**POSTGRES)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def insert_rows(first: int, last: int, updated_at: str) -> str:
    """Rows `first`..`last` (ids), generated server-side."""
    return INSERT_SQL.format(first=int(first), last=int(last), updated_at=updated_at)


def create_source(rows: int) -> float:
    """(Re)create recipec_bench.items with `rows` rows; returns the seconds it took."""
    started = time.perf_counter()
    postgres([CREATE_SQL, insert_rows(1, rows, INITIAL_UPDATED_AT)])
    postgres([f"CREATE INDEX ON {TABLE} (updated_at)", f"VACUUM ANALYZE {TABLE}"])
    return time.perf_counter() - started


def change_source(rows: int) -> int:
    """Update 1% of the rows (updated_at = now(), quantity + 1), insert 1% new rows."""
    new = rows // 100
    postgres([UPDATE_SQL, insert_rows(rows + 1, rows + new, "now()")])
    postgres([f"VACUUM ANALYZE {TABLE}"])
    return rows // 100 + new


def source_totals() -> tuple[int, ...]:
    row = postgres([SOURCE_TOTALS_SQL])[0]
    return tuple(int(value) for value in row)


def drop_source() -> None:
    postgres([f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"])


# -- the contenders --------------------------------------------------------------------------


def remove(*paths: Path) -> None:
    for path in paths:
        for item in (path, Path(f"{path}.wal")):
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink(missing_ok=True)


def copy_database(source: Path, target: Path) -> None:
    remove(target)
    shutil.copyfile(source, target)
    if Path(f"{source}.wal").exists():
        shutil.copyfile(f"{source}.wal", f"{target}.wal")


def recipec_command(database: Path, state: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "recipec", "run", str(RECIPE)),
        *("--var", f"db_path={database}", "--state-dir", str(state), "--format", "json"),
    ]


def plain_command(mode: str, database: Path, work: Path) -> list[str]:
    return [sys.executable, str(PLAIN), mode, str(database), str(work / "extensions")]


def full_load_sides(work: Path, dlt_python: Path | None) -> list[Side]:
    plain_db, recipec_db, state = work / "plain.duckdb", work / "recipec.duckdb", work / "state"
    plain = Side(
        "DuckDB reference",
        plain_command("full", plain_db, work),
        lambda: remove(plain_db),
        plain_db,
    )
    recipec = Side(
        "recipec",
        recipec_command(recipec_db, state),
        lambda: remove(recipec_db, state),
        recipec_db,
    )
    dlts = [dlt_side(backend, work, dlt_python) for backend in DLT_BACKENDS] if dlt_python else []
    return [plain, recipec, *dlts]


def dlt_side(backend: str, work: Path, dlt_python: Path) -> Side:
    database, pipelines = work / f"dlt_{backend}.duckdb", work / f"dlt_{backend}_pipelines"
    command = [str(dlt_python), str(DLT_SCRIPT), "load", backend, str(database), str(pipelines)]
    return Side(
        f"dlt ({backend})", command, lambda: remove(database, pipelines), database, optional=True
    )


def incremental_sides(work: Path, base_db: Path, base_state: Path) -> list[Side]:
    plain_db, recipec_db = work / "plain_incremental.duckdb", work / "recipec_incremental.duckdb"
    state = work / "state_incremental"

    def prepare_recipec() -> None:
        # the state as the full load left it, but the plans recipec compiled stay: a scheduled
        # incremental run reuses the plan of the run before it
        copy_database(base_db, recipec_db)
        plans = state / "plans"
        if state.exists():
            for item in state.iterdir():
                if item != plans:
                    remove(item)
        shutil.copytree(
            base_state, state, dirs_exist_ok=True, ignore=shutil.ignore_patterns("plans")
        )

    return [
        Side(
            "DuckDB reference merge",
            plain_command("incremental", plain_db, work),
            lambda: copy_database(base_db, plain_db),
            plain_db,
        ),
        Side("recipec", recipec_command(recipec_db, state), prepare_recipec, recipec_db),
    ]


# -- checks ----------------------------------------------------------------------------------


def duckdb_row(query: str, **databases: Path) -> tuple[int, ...]:
    """One row of integers from DuckDB, with `databases` attached read-only by alias.

    It runs in a child process: this process must stay small, because Linux counts the parent's
    peak RSS in the peak of a child it forks (the child starts as a copy of it).
    """
    attach = json.dumps({alias: str(path) for alias, path in databases.items()})
    done = subprocess.run(
        [sys.executable, "-c", QUERY_SCRIPT, attach, query],
        check=True,
        capture_output=True,
        text=True,
    )
    return tuple(json.loads(done.stdout))


def duckdb_totals(database: Path) -> tuple[int, ...]:
    return duckdb_row(DUCKDB_TOTALS_SQL, db=database)


def same_rows(left: Path, right: Path) -> int:
    """Rows in one table and not the other (EXCEPT ALL both ways)."""
    return duckdb_row(
        "SELECT (SELECT count(*) FROM (FROM a.main.items EXCEPT ALL FROM b.main.items))"
        " + (SELECT count(*) FROM (FROM b.main.items EXCEPT ALL FROM a.main.items))",
        a=left,
        b=right,
    )[0]


def dlt_totals(dlt_python: Path, database: Path) -> dict[str, int]:
    done = subprocess.run(
        [str(dlt_python), str(DLT_SCRIPT), "count", str(database)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def full_load_checks(sides: list[Side], dlt_python: Path | None) -> list[tuple[str, bool]]:
    expected = source_totals()
    plain, recipec = duckdb_totals(sides[0].database), duckdb_totals(sides[1].database)
    different = same_rows(sides[0].database, sides[1].database)
    checks = [
        (
            f"recipec: {recipec[0]:,} rows; count, sum(id), sum(quantity), max(updated_at)"
            " = source",
            recipec == expected,
        ),
        (f"DuckDB reference: {plain[0]:,} rows; same totals as the source", plain == expected),
        (f"recipec = DuckDB reference row for row ({different:,} differing)", different == 0),
    ]
    for side in active(sides[2:]):
        found = dlt_totals(dlt_python, side.database)  # type: ignore[arg-type]
        ok = (found["rows"], found["ids"]) == expected[:2]
        checks.append((f"{side.name}: {found['rows']:,} rows; count, sum(id) = source", ok))
    return checks


def incremental_checks(sides: list[Side], changed: int) -> list[tuple[str, bool]]:
    expected = source_totals()
    plain, recipec = duckdb_totals(sides[0].database), duckdb_totals(sides[1].database)
    read = {side.name: json_rows_read(median_run(side).stdout) for side in sides}
    reads = ", ".join(f"{name} {count:,}" for name, count in read.items())
    return [
        (
            f"recipec table = source after the incremental: {recipec[0]:,} rows, same count,"
            " sum(id), sum(quantity), max(updated_at)",
            recipec == expected,
        ),
        (f"DuckDB reference table = source after its merge ({plain[0]:,} rows)", plain == expected),
        (
            f"both read the changed rows ({changed:,} changed; read: {reads})",
            len(set(read.values())) == 1 and min(read.values()) >= changed,
        ),
    ]


def json_rows_read(stdout: str) -> int:
    """`rows_read` from recipec's --format json summary or the reference's JSON line."""
    start = stdout.index("{")
    summary, _ = json.JSONDecoder().raw_decode(stdout, start)
    return int(summary["rows_read"])


# -- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    value: float
    goal: float
    at_least: bool = False
    unit: str = "x"

    def line(self) -> str:
        ok = self.value >= self.goal if self.at_least else self.value <= self.goal
        sign = ">=" if self.at_least else "<="
        value = f"{self.value:.2f}{self.unit}"
        goal = f"{sign} {self.goal:.2f}{self.unit}"
        return f"  {self.label:<46}{value:>12}{goal:>16}  {'PASS' if ok else 'MISS'}"


def side_table(sides: list[Side], base: Side) -> list[str]:
    header = f"  {'tool':<26}{'wall (s)':>10}{'CPU (s)':>10}{'peak RSS (MiB)':>16}"
    lines = [header + f"  wall vs {base.name}"]
    for side in sides:
        if side.failure is not None:
            lines.append(f"  {side.name:<26}  failed: {side.failure}")
            continue
        ratio = median(side, "wall") / median(base, "wall")
        lines.append(
            f"  {side.name:<26}{median(side, 'wall'):>10.2f}{median(side, 'cpu'):>10.2f}"
            f"{median(side, 'peak_mib'):>16.1f}{ratio:>12.2f}x"
        )
    return lines


def recipec_steps(side: Side) -> str:
    """recipec's own step timings (--format json) for its median-wall run."""
    run = median_run(side)
    start = run.stdout.index("{")
    summary, _ = json.JSONDecoder().raw_decode(run.stdout, start)
    inside = float(summary["duration_seconds"])
    steps = ", ".join(f"{s['step']} {s['seconds']:.2f}" for s in summary["steps"])
    return (
        f"  recipec median run: wall {run.wall:.2f} s = {inside:.2f} s inside the run"
        f" ({steps}) + {run.wall - inside:.2f} s outside it (interpreter, imports, compile, exit)"
    )


def print_checks(checks: list[tuple[str, bool]]) -> bool:
    for text, ok in checks:
        print(f"  check {'OK  ' if ok else 'FAIL'} {text}")
    return all(ok for _, ok in checks)


def full_load_targets(sides: list[Side]) -> list[Target]:
    plain, recipec, dlts = sides[0], sides[1], [s for s in active(sides) if s.optional]
    ratio = median(recipec, "wall") / median(plain, "wall")
    targets = [Target("recipec / DuckDB reference (wall)", ratio, FULL_VS_DUCKDB)]
    if dlts:
        fastest = min(dlts, key=lambda side: median(side, "wall"))
        speedup = median(fastest, "wall") / median(recipec, "wall")
        targets.append(Target(f"{fastest.name} / recipec (wall)", speedup, FULL_DLT_SPEEDUP, True))
    return targets


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPU(s)"


# -- scenarios -------------------------------------------------------------------------------


def full_load_scenario(args: argparse.Namespace, work: Path) -> tuple[list[Side], bool]:
    dlt_python = find_dlt(args.dlt_python)
    sides = full_load_sides(work, dlt_python)
    print(f"\n== full load: {args.rows:,} rows, Postgres -> fresh DuckDB file ==", flush=True)
    benchmark(sides, args.repeat, args.warmup)
    print(f"\n  median of {args.repeat} run(s) per tool (whole processes); {load_note()}")
    print("\n".join(side_table(sides, sides[0])))
    print(recipec_steps(sides[1]))
    print("  targets:")
    print("\n".join(target.line() for target in full_load_targets(sides)))
    return sides, print_checks(full_load_checks(sides, dlt_python))


def find_dlt(path: str) -> Path | None:
    """dlt's Python, or None (and why) when dlt is skipped."""
    if path.lower() in ("", "none"):
        print("dlt: skipped (--dlt-python none)")
        return None
    if not Path(path).exists():
        print(f"dlt: skipped, {path} not found (see bench/dlt_pg_load.py for the setup)")
        return None
    return Path(path)


def incremental_scenario(args: argparse.Namespace, work: Path) -> bool:
    base_db, base_state = work / "base.duckdb", work / "base_state"
    remove(base_db, base_state)
    measure(recipec_command(base_db, base_state), REPO)
    changed = change_source(args.rows)
    sides = incremental_sides(work, base_db, base_state)
    print(
        f"\n== incremental: {args.rows // 100:,} rows updated + {args.rows // 100:,} inserted"
        f" after a full load of {args.rows:,} ==",
        flush=True,
    )
    benchmark(sides, args.repeat, args.warmup)
    print(f"\n  median of {args.repeat} run(s) per tool (whole processes); {load_note()}")
    print("\n".join(side_table(sides, sides[0])))
    print(recipec_steps(sides[1]))
    ratio = median(sides[1], "wall") / median(sides[0], "wall")
    print("  targets:")
    print(Target("recipec / DuckDB reference merge (wall)", ratio, INCREMENTAL_VS_DUCKDB).line())
    return print_checks(incremental_checks(sides, changed))


STARTUP_CSV = "seq,name,amount\n" + "".join(f"{i},name {i},{i * 3}\n" for i in range(1, 1001))
STARTUP_RECIPE = """
name: startup
source:
  type: csv
  path: items.csv
  incremental: {strategy: cursor, cursor_column: seq}
destination: {type: duckdb, database: startup.duckdb, table: main.items, write_mode: append}
"""


def startup_scenario(args: argparse.Namespace, work: Path) -> bool:
    """A run with nothing to load (a CSV recipe rerun) against starting Python and DuckDB."""
    folder = work / "startup"
    folder.mkdir()
    (folder / "items.csv").write_text(STARTUP_CSV)
    (folder / "startup.yaml").write_text(STARTUP_RECIPE)
    command = [sys.executable, "-m", "recipec", "run", str(folder / "startup.yaml")]
    command += ["--state-dir", str(folder / "state"), "--format", "json"]
    measure(command, folder)  # loads the 1,000 rows; every later run has nothing to load
    sides = [
        Side(
            "python -c 'import duckdb'",
            [sys.executable, "-c", "import duckdb"],
            lambda: None,
            folder / "none",
        ),
        Side("recipec, nothing to load", command, lambda: None, folder / "startup.duckdb"),
    ]
    print("\n== start-up: a run with nothing to load (1,000-row CSV, cursor) ==", flush=True)
    benchmark(sides, max(args.repeat, 5), args.warmup)
    print(f"\n  median of {max(args.repeat, 5)} run(s) per side (whole processes); {load_note()}")
    print("\n".join(side_table(sides, sides[0])))
    print(recipec_steps(sides[1]))
    ratio = median(sides[1], "wall") / median(sides[0], "wall")
    print(
        f"  start-up ratio: recipec with nothing to load / python -c 'import duckdb' = {ratio:.2f}x"
    )
    written = [json.loads(sample.stdout)["rows_written"] for sample in sides[1].samples]
    return print_checks([("nothing loaded twice", set(written) == {0})])


def memory_scenario(args: argparse.Namespace, work: Path, at_rows: list[Side]) -> bool:
    """recipec's (and, for scale, the reference's) full load again at --memory-rows."""
    print(f"\n== memory: full load at {args.rows:,} and at {args.memory_rows:,} rows ==")
    seconds = create_source(args.memory_rows)
    print(f"  source recreated with {args.memory_rows:,} rows in {seconds:.1f} s", flush=True)
    sides = full_load_sides(work / "memory", None)
    (work / "memory").mkdir()
    benchmark(sides, args.memory_repeat, 0)
    sizes = f"{args.rows:>14,} rows{args.memory_rows:>14,} rows"
    print(f"\n  peak RSS (MiB)\n  {'tool':<26}{sizes}{'growth':>10}")
    for before, after in zip(at_rows, sides, strict=True):
        peaks = median(before, "peak_mib"), median(after, "peak_mib")
        print(f"  {before.name:<26}{peaks[0]:>19.1f}{peaks[1]:>19.1f}{peaks[1] / peaks[0]:>9.2f}x")
    small, large = median(at_rows[1], "peak_mib"), median(sides[1], "peak_mib")
    own_small = small - median(at_rows[0], "peak_mib")
    own_large = large - median(sides[0], "peak_mib")
    print(
        f"  recipec's own memory (peak minus the reference's): {own_small:.1f} MiB at "
        f"{args.rows:,} rows, {own_large:.1f} MiB at {args.memory_rows:,} rows"
    )
    print("  targets (recipec):")
    for target in (
        Target(f"peak RSS at {args.rows:,} rows", small, MEMORY_LIMIT_MIB, unit=" MiB"),
        Target(f"peak RSS at {args.memory_rows:,} rows", large, MEMORY_LIMIT_MIB, unit=" MiB"),
        Target(
            "growth of recipec's own memory",
            own_large - own_small,
            OWN_MEMORY_GROWTH_MIB,
            unit=" MiB",
        ),
    ):
        print(target.line())
    rows = duckdb_totals(sides[1].database)[0]
    return print_checks([(f"recipec loaded {rows:,} rows", rows == args.memory_rows)])


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="source rows (default 2e6)")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per tool")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per tool first")
    parser.add_argument("--memory-check", action="store_true", help="also load --memory-rows")
    parser.add_argument("--memory-rows", type=int, default=6_000_000)
    parser.add_argument("--memory-repeat", type=int, default=3, help="runs at --memory-rows")
    parser.add_argument(
        "--dlt-python",
        default="/tmp/dltvenv/bin/python",
        help="Python of a venv with dlt; 'none' skips dlt",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema and the files")
    parser.add_argument(
        "--startup-only", action="store_true", help="only the start-up scenario (no Postgres)"
    )
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.repeat < 1 or args.warmup < 0:
        parser.error("--rows must be >= 1000, --repeat >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="recipec-bench-pg-"))
    print(f"recipec vs plain DuckDB vs dlt: {TABLE} (PostgreSQL) -> DuckDB; files in {work}")
    ok = False
    if args.startup_only:
        try:
            return 0 if startup_scenario(args, work) else 1
        finally:
            shutil.rmtree(work, ignore_errors=True)
    try:
        seconds = create_source(args.rows)
        print(f"source {TABLE}: {args.rows:,} rows generated in {seconds:.1f} s", flush=True)
        full, full_ok = full_load_scenario(args, work)
        incremental_ok = incremental_scenario(args, work)
        startup_ok = startup_scenario(args, work)
        memory_ok = memory_scenario(args, work, full[:2]) if args.memory_check else True
        ok = full_ok and incremental_ok and startup_ok and memory_ok
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nthis process's own peak RSS: {own:.1f} MiB (a floor under every child's peak)")
    finally:
        if args.keep:
            print(f"\nkept: schema {SCHEMA} and {work}")
        else:
            drop_source()
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
