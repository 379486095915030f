"""The plain-DuckDB side of the load benchmark: one CREATE TABLE AS over read_csv.

Usage: python bench/plain_load.py CSV_PATH DB_PATH

It does by hand what bench/recipes/bench_load.yaml declares: the same read_csv options, the same
renames, casts and constant column, in the same column order. It imports nothing from recipec.
"""

from __future__ import annotations

import sys

import duckdb

LOAD_SQL = """
CREATE TABLE main.bench AS
SELECT
    id,
    fname AS first_name,
    lname AS last_name,
    email,
    CAST(age AS BIGINT) AS age,
    CAST(amount AS DECIMAL(12, 2)) AS amount,
    signup_date,
    CAST(created_at AS TIMESTAMP) AS created_at,
    is_active,
    country,
    'bench_load' AS loaded_by
FROM read_csv('{csv}', delim = ',', header = true)
"""


def load(csv_path: str, db_path: str) -> None:
    """Load the CSV into `main.bench` of a new database file."""
    connection = duckdb.connect(db_path)
    try:
        connection.execute(LOAD_SQL.format(csv=csv_path.replace("'", "''")))
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    load(argv[0], argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
