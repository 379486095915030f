"""The plain-DuckDB side of the Postgres benchmark: DuckDB's postgres extension, by hand.

Usage:
    python bench/plain_pg_load.py full DB_PATH EXTENSION_DIR
    python bench/plain_pg_load.py incremental DB_PATH EXTENSION_DIR

`full` creates `main.items` in a new database file with one CREATE TABLE AS over the attached
Postgres table. `incremental` works on a database that already holds `main.items`: it reads the
rows whose `updated_at` is at or past the table's max `updated_at` into a temp table, then merges
them into `main.items` by `id` (update the matches, insert the rest) in one transaction.

The extension is loaded the way recipec loads it: the file the `duckdb_extension_postgres`
package ships is copied as `postgres_scanner.duckdb_extension` (DuckDB derives the entry point
from the file name) into EXTENSION_DIR when missing, then loaded with `LOAD '<path>'`. It
imports nothing from recipec and prints one JSON line: the rows it read.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import duckdb
import duckdb_extension_postgres

POSTGRES = "host=127.0.0.1 port=5432 dbname=test user=postgres"
SOURCE = "pg.recipec_bench.items"

MERGE_SQL = """
MERGE INTO main.items AS target
USING changes AS source
ON target.id = source.id
WHEN MATCHED THEN UPDATE SET *
WHEN NOT MATCHED THEN INSERT *
"""


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def extension_file(cache: Path) -> Path:
    """The shipped extension, copied under the name DuckDB needs (once per cache folder)."""
    shipped = (
        Path(duckdb_extension_postgres.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "postgres.duckdb_extension"
    )
    target = cache / "postgres_scanner.duckdb_extension"
    if not target.exists() or target.stat().st_size != shipped.stat().st_size:
        cache.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(shipped, partial)
        partial.replace(target)
    return target


def connect(db_path: str, cache: Path) -> duckdb.DuckDBPyConnection:
    """The destination database with Postgres attached read-only as `pg`."""
    connection = duckdb.connect(db_path)
    connection.execute("SET enable_progress_bar = false")
    connection.execute(f"LOAD {quote(str(extension_file(cache)))}")
    connection.execute(f"ATTACH {quote(POSTGRES)} AS pg (TYPE postgres, READ_ONLY)")
    return connection


def full_load(connection: duckdb.DuckDBPyConnection) -> int:
    connection.execute(f"CREATE TABLE main.items AS SELECT * FROM {SOURCE}")
    return count(connection, "main.items")


def incremental_load(connection: duckdb.DuckDBPyConnection) -> int:
    row = connection.execute("SELECT CAST(max(updated_at) AS VARCHAR) FROM main.items").fetchone()
    watermark = row[0] if row else None
    if watermark is None:
        raise SystemExit("main.items is empty: run `full` first")
    connection.execute("BEGIN TRANSACTION")
    connection.execute(
        f"CREATE TEMP TABLE changes AS SELECT * FROM {SOURCE}"
        f" WHERE updated_at >= CAST({quote(watermark)} AS TIMESTAMPTZ)"
    )
    connection.execute(MERGE_SQL)
    connection.execute("COMMIT")
    return count(connection, "changes")


def count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("full", "incremental"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, db_path, cache = argv
    connection = connect(db_path, Path(cache))
    try:
        rows = full_load(connection) if mode == "full" else incremental_load(connection)
    finally:
        connection.close()
    print(json.dumps({"rows_read": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
