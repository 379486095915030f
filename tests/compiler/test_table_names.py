"""Any string in a table field is a table name or a located recipe error, never a crash."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recipec
from recipec.errors import RecipeError


def _compile(project, table: str) -> None:
    document = {
        "name": "names",
        "source": {"type": "csv", "path": "data.csv"},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": table},
    }
    project.write("r.yaml", json.dumps(document, ensure_ascii=False))
    recipec.compile_recipe(recipec.from_yaml("r.yaml"))


def test_an_unclosed_quote_is_a_recipe_error_with_the_quoting(project):
    project.write("data.csv", "id\n1\n")
    try:
        _compile(project, "main.o'brien orders")
    except RecipeError as exc:
        assert "destination.table" in exc.render()
        assert 'main."o\'brien orders"' in exc.render()
    else:
        raise AssertionError("accepted an unreadable table name")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=30))
def test_any_string_is_a_name_or_a_located_recipe_error(project, table):
    project.write("data.csv", "id\n1\n")
    try:
        _compile(project, table)
    except RecipeError as exc:
        assert "destination.table" in exc.render() or "destination" in exc.render()
