"""Python transforms: user functions over pyarrow Tables, by name or registered with @transform."""

from __future__ import annotations

import json
import textwrap

import pyarrow as pa
import pytest

from recipec import RecipeError, TransformError, compile_recipe, from_yaml, run_recipe_from_yaml
from recipec.testing import run_transform

MODULE = textwrap.dedent(
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import recipec

    CALLS = []

    def add_gross(table, rate=1.0):
        CALLS.append(table.num_rows)
        return table.append_column("gross", pc.multiply(table["amount"], rate))

    def not_a_table(table):
        return [1, 2]

    def fails(table):
        raise ValueError("boom")

    @recipec.transform("shout", columns={"id": "int", "name": "str"})
    def shout(table, suffix="!"):
        names = pc.binary_join_element_wise(table["name"], pa.scalar(suffix), "")
        return pa.table({"id": table["id"], "name": names})
    """
)


def write(project, steps, *, batch_size=None, name="py"):
    project.write("steps_mod.py", MODULE)
    project.write("data/a.csv", "id,name,amount\n1,ada,10\n2,alan,20\n3,bob,\n")
    document = {
        "name": name,
        "plugins": ["steps_mod"],
        "source": {"type": "csv", "path": "data/*.csv"},
        "transform": {"steps": steps},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t"},
    }
    if batch_size:
        document["runtime"] = {"batch_size": batch_size}
    project.write("r.yaml", json.dumps(document))


def test_a_function_by_name_then_sql_steps_then_a_registered_transform(project):
    write(
        project,
        [
            {
                "type": "python",
                "function": "steps_mod.add_gross",
                "params": {"rate": 1.5},
                "columns": {"id": "int", "name": "str", "amount": "int", "gross": "float"},
            },
            {"type": "filter", "where": "gross > 10"},
            {"type": "shout", "params": {"suffix": "?"}},
        ],
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    assert [t.runs_in_python for t in plan.only.transforms] == [True, False, True]
    assert [(c.name, c.type) for c in plan.only.output_schema] == [
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
    ]
    summary = run_recipe_from_yaml("r.yaml")
    assert summary.rows_written == 2
    assert project.rows("SELECT id, name FROM t ORDER BY id") == [(1, "ada?"), (2, "alan?")]


def test_the_function_is_called_per_batch_or_once(project):
    import steps_mod  # noqa: F401  (the test module, imported from the project folder)

    step = {"type": "python", "function": "steps_mod.add_gross"}
    write(project, [step], batch_size=2)
    import sys

    calls = sys.modules["steps_mod"].CALLS
    calls.clear()
    run_recipe_from_yaml("r.yaml")
    assert sum(calls) == 3 and len(calls) == 2
    calls.clear()
    write(project, [{**step, "whole_table": True}], batch_size=2, name="py2")
    run_recipe_from_yaml("r.yaml")
    assert calls == [3]


@pytest.mark.parametrize(
    ("function", "columns", "message"),
    [
        ("steps_mod.not_a_table", None, "returned list, not a pyarrow Table"),
        ("steps_mod.fails", None, "the function failed: ValueError('boom')"),
        (
            "steps_mod.add_gross",
            {"id": "int", "gross": "float"},
            "the function's output does not match its declared columns",
        ),
    ],
)
def test_a_misbehaving_function_fails_the_run_and_writes_nothing(
    project, function, columns, message
):
    step = {"type": "python", "function": function}
    if columns:
        step["columns"] = columns
    write(project, [step])
    with pytest.raises(TransformError, match="transform\\[0\\] python") as caught:
        run_recipe_from_yaml("r.yaml")
    assert message in str(caught.value)
    assert not (project.root / "out.duckdb").exists() or project.rows(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'"
    ) == [(0,)]


def test_a_function_that_cannot_be_imported_is_a_recipe_error(project):
    write(project, [{"type": "python", "function": "steps_mod.nope"}])
    with pytest.raises(RecipeError) as caught:
        from_yaml("r.yaml")
    (problem,) = caught.value.problems
    assert problem.path == "transform.steps[0].function"
    assert "module 'steps_mod' has no function 'nope'" in problem.message


def test_the_testing_helper_runs_functions_and_any_transform(project):
    write(project, [])
    import steps_mod

    table = pa.table({"id": [1, 2], "name": ["a", "b"], "amount": [1, 2]})
    assert run_transform(steps_mod.add_gross, table, rate=2)["gross"].to_pylist() == [2, 4]
    assert run_transform("shout", table, params={"suffix": "!"})["name"].to_pylist() == [
        "a!",
        "b!",
    ]
    assert run_transform("filter", table, where="amount > 1")["id"].to_pylist() == [2]
    with pytest.raises(TransformError, match="declared columns"):
        run_transform(
            "python",
            table,
            function="steps_mod.add_gross",
            columns={"id": "int"},
        )
