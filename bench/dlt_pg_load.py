"""The dlt side of the Postgres benchmark (run it with the Python of a venv that has dlt).

Usage:
    DLT_PYTHON bench/dlt_pg_load.py load BACKEND DB_PATH PIPELINES_DIR
    DLT_PYTHON bench/dlt_pg_load.py count DB_PATH

`load` runs one dlt pipeline: `dlt.sources.sql_database.sql_table` over recipec_bench.items with
the given backend (`connectorx`, `pyarrow`, ...), an incremental cursor on `updated_at` and
`write_disposition="merge"` with `primary_key="id"`, into a duckdb destination file (dataset
`main`), with dlt's defaults otherwise. PIPELINES_DIR holds dlt's local pipeline state: a fresh
folder makes a full load. Telemetry is off (there is no network here).

`count` prints `{"rows": N, "ids": SUM}` for `main.items` of DB_PATH: dlt's venv has its own
duckdb, whose files an older duckdb may not open.

Setup: python3 -m venv /tmp/dltvenv && /tmp/dltvenv/bin/pip install "dlt[duckdb]"
psycopg2-binary sqlalchemy connectorx pyarrow
"""

from __future__ import annotations

import json
import os
import sys

CREDENTIALS = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def load(backend: str, db_path: str, pipelines_dir: str) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.sources.sql_database import sql_table

    table = sql_table(
        credentials=CREDENTIALS,
        schema="recipec_bench",
        table="items",
        backend=backend,
        incremental=dlt.sources.incremental("updated_at"),
    )
    table.apply_hints(primary_key="id", write_disposition="merge")
    pipeline = dlt.pipeline(
        pipeline_name="bench_pg_items",
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.duckdb(db_path),
        dataset_name="main",
    )
    info = pipeline.run(table)
    info.raise_on_failed_jobs()
    print(json.dumps({"backend": backend, "dlt": dlt.__version__}))


def count(db_path: str) -> None:
    import duckdb

    with duckdb.connect(db_path, read_only=True) as connection:
        row = connection.execute("SELECT count(*), sum(id) FROM main.items").fetchone()
    rows, ids = row if row else (0, 0)
    print(json.dumps({"rows": int(rows), "ids": int(ids or 0)}))


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "load":
        load(*argv[1:])
    elif len(argv) == 2 and argv[0] == "count":
        count(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
