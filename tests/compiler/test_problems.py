"""A recipe's independent problems are reported together, each at the key path it is about;
a problem that makes later checks meaningless stops only those checks."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict

from recipec import RecipeError, compile_recipe, from_yaml, register_destination
from recipec.compiler.connectors.base import DestinationCapabilities
from recipec.compiler.frontend.yaml_loader import load_yaml_text, nearest_location

ORDERS = "id,amount,updated_at\n1,2.5,2024-01-01\n"

# The recipe of the issue: a misspelled cursor (line 8) and overwrite with it (line 17).
TWO_PROBLEMS = """\
name: orders
description: two independent problems
source:
  type: csv
  path: orders.csv
  incremental:
    strategy: cursor
    cursor_column: updated_att
transform:
  steps:
    - type: rename_columns
      mapping: {amount: total}
destination:
  type: duckdb
  database: out.duckdb
  table: orders
  write_mode: overwrite
"""


def _problems(project, text: str, name: str = "r.yaml") -> list[tuple[str, int, int]]:
    project.write("orders.csv", ORDERS)
    project.write(name, text)
    with pytest.raises(RecipeError) as caught:
        compile_recipe(from_yaml(name))
    return [(p.path, p.location.line, p.location.column) for p in caught.value.problems]


def test_validate_reports_both_problems_of_the_issue_each_at_its_line(project, cli):
    project.write("orders.csv", ORDERS)
    project.write("r.yaml", TWO_PROBLEMS)
    result = cli("validate", "r.yaml")
    assert result.code == 1
    assert "Recipe has 2 errors:" in result.err
    cursor, overwrite = result.err.split("\n\n")[:2]
    assert cursor.splitlines()[2].startswith(
        "r.yaml:8:5: source.incremental.cursor_column: cursor column 'updated_att'"
    )
    assert "did you mean 'updated_at'?" in cursor
    assert "> 8 |     cursor_column: updated_att" in cursor
    assert overwrite.startswith("r.yaml:17:3: destination.write_mode: write_mode 'overwrite'")
    assert "> 17 |   write_mode: overwrite" in overwrite

    problems = cli("validate", "r.yaml", "--format", "json").json()[0]["problems"]
    assert [(p["path"], p["line"], p["column"]) for p in problems] == [
        ("source.incremental.cursor_column", 8, 5),
        ("destination.write_mode", 17, 3),
    ]
    github = cli("validate", "r.yaml", "--format", "github").out.splitlines()
    assert [line.split("::")[1] for line in github] == [
        "error file=r.yaml,line=8,col=5,title=recipec",
        "error file=r.yaml,line=17,col=3,title=recipec",
    ]


def test_compile_exits_1_with_both_problems_and_lists_them_in_its_json_log(project, cli):
    project.write("orders.csv", ORDERS)
    project.write("r.yaml", TWO_PROBLEMS)
    result = cli("compile", "r.yaml")
    assert result.code == 1
    assert "r.yaml:8:5:" in result.err and "r.yaml:17:3:" in result.err
    logged = cli("--log-format", "json", "compile", "r.yaml")
    error = json.loads(logged.err.strip().splitlines()[-1])
    assert error["exit_code"] == 1 and error["error_class"] == "RecipeError"
    assert [(p["path"], p["line"]) for p in error["problems"]] == [
        ("source.incremental.cursor_column", 8),
        ("destination.write_mode", 17),
    ]


def test_each_missing_column_of_a_step_is_at_the_item_naming_it(project):
    text = TWO_PROBLEMS.replace("write_mode: overwrite", "write_mode: append").replace(
        "      mapping: {amount: total}",
        "      mapping: {amount: total}\n    - type: select_columns\n"
        "      columns:\n        - id\n        - totl\n        - updated\n",
    )
    assert _problems(project, text) == [
        ("source.incremental.cursor_column", 8, 5),
        ("transform.steps[1].columns[1]", 16, 11),
        ("transform.steps[1].columns[2]", 17, 11),
    ]


def test_a_failed_step_stops_the_checks_that_read_its_output_only(project):
    text = """\
        name: orders
        source:
          type: csv
          path: orders.csv
          incremental: {strategy: cursor, cursor_column: updatedat}
        transform:
          steps:
            - type: rename_columns
              mapping: {amout: total}
            - type: drop_columns
              columns: [nothing_here]
        destination:
          type: duckdb
          database: out.duckdb
          table: orders
          write_mode: merge
          merge_keys: [not_a_column]
        """
    # the drop and the merge key read the rename's output, which is unknown: not reported
    assert _problems(project, text) == [
        ("source.incremental.cursor_column", 5, 35),
        ("transform.steps[0].mapping.amout", 9, 17),
    ]


def test_every_missing_merge_key_and_the_delete_flag_are_located(project):
    text = """\
        name: orders
        source: {type: csv, path: orders.csv}
        destination:
          type: duckdb
          database: out.duckdb
          table: orders
          write_mode: merge
          merge_keys:
            - id
            - ID2
            - other
          hard_delete_column: deleted
        """
    assert _problems(project, text) == [
        ("destination.merge_keys[1]", 10, 7),
        ("destination.merge_keys[2]", 11, 7),
        ("destination.hard_delete_column", 12, 3),
    ]


def test_a_model_validators_problems_are_each_at_their_key(project):
    text = """\
        name: orders
        source: {type: csv, path: orders.csv}
        destination:
          type: duckdb
          database: out.duckdb
          table: db.main.orders
          write_mode: scd2
          merge_keys: []
          soft_delete_column: gone
        """
    assert _problems(project, text) == [
        ("destination.table", 6, 3),
        ("destination.merge_keys", 8, 3),
        ("destination.soft_delete_column", 9, 3),
    ]


def test_a_problem_with_an_inherited_value_is_located_in_the_parent(project):
    project.write(
        "base.yaml",
        """\
        destination:
          type: duckdb
          database: out.duckdb
          table: orders
          write_mode: overwrite
        """,
    )
    text = """\
        name: orders
        extends: base.yaml
        source:
          type: csv
          path: orders.csv
          incremental: {strategy: cursor, cursor_column: updated_at}
        """
    project.write("orders.csv", ORDERS)
    project.write("r.yaml", text)
    with pytest.raises(RecipeError) as caught:
        compile_recipe(from_yaml("r.yaml"))
    (problem,) = caught.value.problems
    assert problem.path == "destination.write_mode"
    assert (problem.location.file, problem.location.line) == ("base.yaml", 5)


def test_any_key_path_is_located_at_its_key_or_its_nearest_written_parent():
    tree = load_yaml_text(
        "a:\n  steps:\n    - type: x\n      columns: [p, q]\n  flow: {k: v}\n", "r.yaml"
    )

    def at(*path):
        location = nearest_location(tree, path)
        return location.line, location.column

    assert at("a", "steps", 0, "columns", 1) == (4, 20)  # a list item
    assert at("a", "flow", "k") == (5, 10)  # a key in a flow mapping
    assert at("a", "steps", 0, "missing", 3) == (3, 7)  # the nearest parent written
    assert at("a", "steps", 5) == (2, 3)
    assert at("nowhere") == (1, 1)


def test_a_problem_in_no_line_names_its_file_or_nothing_never_a_placeholder():
    from recipec.errors import Problem

    assert RecipeError("x", file="r.yaml").render() == "Recipe error:\nr.yaml: x"
    assert RecipeError("x").render() == "Recipe error:\nx"
    assert Problem("x", file="r.yaml").to_dict()["file"] == "r.yaml"


class _AppendOnlyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    table: str
    write_mode: str = "append"


@register_destination("append_only_sink", config=_AppendOnlyConfig)
class _AppendOnlySink:
    """Appends only (a destination that declares its capabilities)."""

    capabilities = DestinationCapabilities(
        write_modes=frozenset({"append"}), holds_state=False, dialect="python"
    )

    def __init__(self, config: _AppendOnlyConfig) -> None:
        self.config = config

    def write(self, data, context) -> int:
        return 0


def test_an_unsupported_write_mode_is_one_problem_not_two(project):
    text = TWO_PROBLEMS.replace("cursor_column: updated_att", "cursor_column: updated_at")
    text = text.replace("  type: duckdb\n  database: out.duckdb\n", "  type: append_only_sink\n")
    # overwrite is unsupported: saying also that it loses rows with a cursor would only repeat
    assert _problems(project, text) == [("destination.write_mode", 16, 3)]
