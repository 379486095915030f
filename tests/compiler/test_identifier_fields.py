"""Every field that names a column (or a schema) reads any string as that name, or is a located
recipe error (exit code 1) with a hint: never an internal error (exit code 3). Accepted names are
quoted in the SQL, so a column literally named `o'brien x` loads end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Recipe = dict[str, Any]


def _recipe(**destination: Any) -> Recipe:
    return {
        "name": "names",
        "source": {"type": "csv", "path": "data.csv"},
        "transform": {"steps": []},
        "destination": {"type": "duckdb", "database": "out.duckdb", "table": "t", **destination},
    }


def _named(value: Any, name: str) -> Any:
    """`value` with every "NAME" (a key or a value) replaced by `name`."""
    if isinstance(value, dict):
        return {_named(k, name): _named(v, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, name) for v in value]
    return name if value == "NAME" else value


def _step(step: Recipe) -> Callable[[str], Recipe]:
    def build(name: str) -> Recipe:
        recipe = _recipe()
        recipe["transform"]["steps"].append(_named(step, name))
        return recipe

    return build


def _with(path: str, value: Callable[[str], Any], **destination: Any) -> Callable[[str], Recipe]:
    def build(name: str) -> Recipe:
        recipe = _recipe(**destination)
        *parents, last = path.split(".")
        target = recipe
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value(name)
        return recipe

    return build


def _postgres(**source: Any) -> Callable[[str], Recipe]:
    def build(name: str) -> Recipe:
        recipe = _recipe()
        recipe["source"] = {"type": "postgres", "database": "test", "table": "t"}
        for key, value in source.items():
            recipe["source"][key] = _named(value, name)
        return recipe

    return build


def _schema(name: str) -> Recipe:
    recipe = _recipe()
    recipe["schema"] = {"columns": [{"name": name, "type": "int"}]}
    return recipe


FIELDS: dict[str, Callable[[str], Recipe]] = {
    "source.table": _postgres(table="NAME"),
    "source.columns": _postgres(columns=["NAME"]),
    "source.chunking.column": _postgres(chunking={"column": "NAME", "chunks": 2}),
    "source.incremental.cursor_column (database)": _postgres(
        incremental={"strategy": "cursor", "cursor_column": "NAME"}
    ),
    "source.incremental.cursor_column": _with(
        "source.incremental", lambda n: {"strategy": "cursor", "cursor_column": n}
    ),
    "schema.columns[].name": _schema,
    "destination.merge_keys": _with("destination.merge_keys", lambda n: [n], write_mode="merge"),
    "destination.hard_delete_column": _with(
        "destination.hard_delete_column", str, write_mode="merge", merge_keys=["id"]
    ),
    "destination.soft_delete_column": _with(
        "destination.soft_delete_column", str, write_mode="merge", merge_keys=["id"]
    ),
    "destination.scd2.valid_from": _with(
        "destination.scd2", lambda n: {"valid_from": n}, write_mode="scd2", merge_keys=["id"]
    ),
    "destination.scd2.valid_to": _with(
        "destination.scd2", lambda n: {"valid_to": n}, write_mode="scd2", merge_keys=["id"]
    ),
    "destination.state_schema": _with("destination.state_schema", str),
    "rename_columns old": _step({"type": "rename_columns", "mapping": {"NAME": "x"}}),
    "rename_columns new": _step({"type": "rename_columns", "mapping": {"id": "NAME"}}),
    "cast": _step({"type": "cast", "columns": {"NAME": "int"}}),
    "add_column": _step({"type": "add_column", "name": "NAME", "value": 1}),
    "derive": _step({"type": "derive", "columns": {"NAME": "id + 1"}}),
    "drop_columns": _step({"type": "drop_columns", "columns": ["NAME"]}),
    "select_columns": _step({"type": "select_columns", "columns": ["NAME"]}),
    "deduplicate": _step({"type": "deduplicate", "keys": ["NAME"]}),
    "hash_columns": _step({"type": "hash_columns", "columns": ["NAME"]}),
    "sql columns": _step(
        {"type": "sql", "query": "SELECT * FROM {input}", "columns": {"NAME": "int"}}
    ),
}

NAMES = st.one_of(
    st.text(max_size=24),
    st.text(alphabet=st.sampled_from("'\"`.[]{}$* \t\\é😀0aA_-"), max_size=12),
    st.sampled_from(["", " ", "o'brien x", 'a"b', "a.b", "\x00", "main.o'brien orders"]),
)


def _check(project, cli, build: Callable[[str], Recipe], name: str, data: bool) -> None:
    # JSON is YAML; its escapes (surrogate pairs for astral characters) carry any character
    text = json.dumps(build(name), ensure_ascii=True)
    project.write("r.yaml", text)
    if data:
        project.write("data.csv", "id,val\n1,2\n")
    else:
        (project.root / "data.csv").unlink(missing_ok=True)  # the schema is unknown at compile
    result = cli("compile", "r.yaml", "--format", "json")
    assert result.code in (0, 1), result.err
    if result.code == 1:
        assert "internal error" not in result.err
        assert "r.yaml:" in result.err, result.err  # located
    else:
        json.loads(result.out)


@pytest.mark.parametrize("field", list(FIELDS))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAMES, data=st.booleans())
def test_any_string_is_a_name_or_a_located_recipe_error(project, cli, field, name, data):
    _check(project, cli, FIELDS[field], name, data)


@pytest.mark.parametrize("bad", ["", "\x00", "a\x00b"], ids=["empty", "nul", "inner-nul"])
def test_a_name_no_database_can_hold_is_located_with_a_hint(project, cli, bad):
    project.write("data.csv", "id,val\n1,2\n")
    project.write("r.yaml", json.dumps(FIELDS["select_columns"](bad)))
    result = cli("validate", "r.yaml", "--format", "json")
    assert result.code == 1
    (problem,) = result.json()[0]["problems"]
    assert problem["path"] == "transform.steps[0].columns[0]"
    assert problem["line"] == 1 and problem["hint"]


ODD = "o'brien x"


def test_a_column_named_o_brien_x_loads_end_to_end(project, cli):
    project.write("data.csv", f'id,"{ODD}",when\n1,a,2024-01-01\n2,b,2024-01-02\n')
    recipe = {
        "name": "odd",
        "source": {
            "type": "csv",
            "path": "data.csv",
            "incremental": {"strategy": "cursor", "cursor_column": "when"},
        },
        "transform": {
            "steps": [
                {"type": "rename_columns", "mapping": {ODD: 'a"b c'}},
                {"type": "cast", "columns": {'a"b c': "str"}},
                {"type": "add_column", "name": "x.y`z", "value": 1},
                {"type": "hash_columns", "columns": ["x.y`z"]},
                {"type": "deduplicate", "keys": ['a"b c']},
                {"type": "select_columns", "columns": ["id", 'a"b c', "when", "x.y`z"]},
            ]
        },
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": f'main."{ODD}s"',
            "write_mode": "merge",
            "merge_keys": ['a"b c'],
            "state_schema": "st'ate",
        },
    }
    project.write("r.yaml", json.dumps(recipe))
    result = cli("run", "r.yaml")
    assert result.code == 0, result.err
    rows = project.rows(f'SELECT id, "a""b c" FROM "{ODD}s" ORDER BY id')
    assert rows == [(1, "a"), (2, "b")]
    assert [name for name, _ in project.columns(f'"{ODD}s"')] == ["id", 'a"b c', "when", "x.y`z"]


def test_odd_scd2_delete_and_state_schema_names_run_end_to_end(project, cli):
    recipe = {
        "name": "odd_scd2",
        "source": {"type": "csv", "path": "d.csv"},
        "destination": {
            "type": "duckdb",
            "database": "out.duckdb",
            "table": '"s\'cd"',
            "write_mode": "scd2",
            "merge_keys": ["id"],
            "hard_delete_column": "gone it",
            "scd2": {"valid_from": "from'x", "valid_to": 'to"y'},
            "state_schema": "st.ate",
        },
    }
    project.write("r.yaml", json.dumps(recipe))
    project.write("d.csv", 'id,"gone it",v\n1,false,a\n2,false,b\n')
    assert cli("run", "r.yaml").code == 0
    project.write("d.csv", 'id,"gone it",v\n1,true,a\n2,false,c\n')
    result = cli("run", "r.yaml")
    assert result.code == 0, result.err
    rows = project.rows("""SELECT id, v, "to""y" IS NULL FROM "s'cd" ORDER BY ALL""")
    assert rows == [(1, "a", False), (2, "b", False), (2, "c", True)]
