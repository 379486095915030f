"""No name in a recipe resolves to a Python object (DuckDB's replacement scans are off)."""

import json
import re
from pathlib import Path

import pytest
from helpers import REPO

from recipec import run_recipe_from_yaml


@pytest.mark.parametrize("table", ["target", "table", "row", "connection", "step", "self"])
@pytest.mark.parametrize("mode", ["append", "merge"])
def test_a_table_named_like_a_local_variable_is_created(project, table, mode):
    project.write("data.csv", "id,v\n1,a\n2,b\n")
    destination = {"type": "duckdb", "database": "out.duckdb", "table": f"main.{table}"}
    destination |= {"write_mode": mode, **({"merge_keys": ["id"]} if mode == "merge" else {})}
    recipe = {"name": "names", "source": {"type": "csv", "path": "data.csv"}}
    project.write("r.yaml", json.dumps({**recipe, "destination": destination}))
    assert run_recipe_from_yaml("r.yaml").rows_written == 2
    assert run_recipe_from_yaml("r.yaml").status == "success"  # the table exists now
    assert project.rows(f'SELECT count(*) FROM main."{table}"') == [(4 if mode == "append" else 2,)]


def test_every_duckdb_connection_is_opened_in_one_place():
    opened = re.compile(r"\bduckdb\.connect\(")
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("recipec", "compiler", "runtime")
        for path in (REPO / folder).rglob("*.py")
        if opened.search(path.read_text()) and path != REPO / "recipec/duckdb_connection.py"
    ]
    assert offenders == [], "open DuckDB through recipec.duckdb_connection.connect"
    assert Path(REPO / "recipec/duckdb_connection.py").exists()
