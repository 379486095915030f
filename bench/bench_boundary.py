"""Append with a cursor when many rows share the watermark (one bulk `UPDATE ... SET
updated_at = now()` does this): the rerun that skips them, against the first load of the same
rows, at 50,000, 100,000 and 300,000 rows, in one run.

    .venv/bin/python bench/bench_boundary.py

Prints each rerun's time as a ratio to its first load, and the state file's size. Skipping is
one join against hashes stored beside the data, so the ratio should stay flat as rows grow
(the row-by-row check it replaced took 28x at 50,000 rows and 700x at 300,000).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure

SIZES = (50_000, 100_000, 300_000)


def _project(folder: Path, rows: int) -> None:
    duckdb.sql(
        f"COPY (SELECT i AS id, md5(i::VARCHAR) AS payload, TIMESTAMP '2024-05-01' AS "
        f"updated_at FROM range({rows}) t(i)) TO '{folder / 'data.csv'}'"
    )
    recipe = {
        "name": "bulk",
        "source": {
            "type": "csv",
            "path": "data.csv",
            "incremental": {"strategy": "cursor", "cursor_column": "updated_at"},
        },
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "main.bulk"},
    }
    (folder / "r.yaml").write_text(json.dumps(recipe))


def main() -> None:
    command = [sys.executable, "-m", "recipec", "run", "r.yaml"]
    print(f"{'rows':>9}  {'first load':>10}  {'rerun':>8}  {'rerun/first':>11}  state file")
    for rows in SIZES:
        with tempfile.TemporaryDirectory(prefix="recipec-bench-") as scratch:
            folder = Path(scratch)
            _project(folder, rows)
            first = measure(command, folder)
            rerun = measure(command, folder)
            assert "rows written  0" in rerun.stdout, rerun.stdout
            state = (folder / ".state" / "bulk.json").stat().st_size
            print(
                f"{rows:>9,}  {first.wall:>9.2f}s  {rerun.wall:>7.2f}s  "
                f"{rerun.wall / first.wall:>10.2f}x  {state:,} bytes"
            )


if __name__ == "__main__":
    main()
