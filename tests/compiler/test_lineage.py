"""Column lineage: each output column's source columns, recorded in the plan."""

from __future__ import annotations

import json

from recipec import compile_recipe, from_yaml


def write(project, steps):
    project.write("data/a.csv", "id,first,last,amount,note\n1,a,b,2.5,x\n")
    document = {
        "name": "lineage",
        "source": {"type": "csv", "path": "data/*.csv"},
        "transform": {"steps": steps},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    project.write("r.yaml", json.dumps(document))


STEPS = [
    {"type": "rename_columns", "mapping": {"amount": "total"}},
    {"type": "derive", "columns": {"name": "concat(first, ' ', last)", "big": "total > 2"}},
    {"type": "sql", "query": "SELECT id, name, big, total * 2 AS twice FROM {input}"},
]


def test_the_plan_records_each_output_columns_sources(project):
    write(project, STEPS)
    plan = compile_recipe(from_yaml("r.yaml"))
    assert plan.only.lineage == {
        "id": ["id"],
        "name": ["first", "last"],
        "big": ["amount"],
        "twice": ["amount"],
    }


def test_compile_lineage_prints_the_steps_that_compute_a_column(project, cli):
    write(project, STEPS)
    result = cli("compile", "r.yaml", "--lineage", "twice")
    assert result.code == 0
    assert result.out.splitlines() == [
        "twice <- amount",
        '  transform[2] sql: "total" * 2',
    ]
    result = cli("compile", "r.yaml", "--lineage", "name")
    assert result.out.splitlines()[0] == "name <- first, last"
    assert "transform[1] derive: COALESCE(CAST(\"first\" AS TEXT), '') || ' ' ||" in result.out


def test_an_unknown_column_gets_a_suggestion(project, cli):
    write(project, STEPS)
    result = cli("compile", "r.yaml", "--lineage", "twise")
    assert result.code == 2
    assert "'twise' is not an output column; did you mean 'twice'?" in result.err


def test_without_a_known_schema_there_is_no_lineage(project, cli):
    write(project, STEPS)
    document = json.loads((project.root / "r.yaml").read_text())
    document["source"]["path"] = "later/*.csv"
    project.write("r.yaml", json.dumps(document))
    assert compile_recipe(from_yaml("r.yaml")).only.lineage is None
    result = cli("compile", "r.yaml", "--lineage", "id")
    assert result.code == 2 and "lineage needs the source's columns" in result.err
