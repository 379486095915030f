"""The one way recipec opens a DuckDB connection.

DuckDB's Python client resolves an unknown table name against the caller's local variables
(replacement scans): a recipe's `table: main.target` would read a Python object named `target`.
Every connection recipec opens has them off, so no name in a recipe resolves to Python.
"""

from __future__ import annotations

import duckdb


def connect(database: str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        database, read_only=read_only, config={"python_enable_replacements": False}
    )
