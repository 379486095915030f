"""Bad input at run time: one clear message, exit code 3, and nothing lost."""

import json

import pytest

RECIPE = {
    "name": "guarded",
    "source": {
        "type": "csv",
        "path": "data/*.csv",
        "incremental": {"strategy": "cursor", "cursor_column": "updated_at"},
    },
    "transform": {"steps": [{"type": "cast", "columns": {"age": "int"}}]},
    "destination": {
        "type": "duckdb",
        "database": "out.duckdb",
        "table": "main.people",
        "write_mode": "merge",
        "merge_keys": ["id"],
    },
}


@pytest.fixture
def loaded(project, cli):
    """A project with one good run behind it."""
    project.write("data/a.csv", "id,age,updated_at\n1,30,2024-01-01 00:00:00\n")
    project.write("r.yaml", json.dumps(RECIPE))
    assert cli("run", "r.yaml").code == 0
    return project


def test_a_value_that_does_not_fit_a_cast_names_step_column_value_and_row(loaded, cli):
    before = loaded.snapshot("main.people")
    loaded.write(
        "data/b.csv", "id,age,updated_at\n2,31,2024-01-02 00:00:00\n3,thirty,2024-01-03 00:00:00\n"
    )
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert result.err.strip() == (
        "error: transform[0] cast (r.yaml:1): value 'thirty' in column 'age' "
        "(data/b.csv, data row 2) "
        "does not fit int"
    )
    assert "Traceback" not in result.err
    assert loaded.snapshot("main.people") == before


def test_a_missing_input_file(loaded, cli):
    before = loaded.snapshot("main.people")
    recipe = {**RECIPE, "source": {**RECIPE["source"], "path": "nowhere/*.csv"}}
    loaded.write("r.yaml", json.dumps(recipe))
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "no input file matches source.path 'nowhere/*.csv'" in result.err
    assert loaded.snapshot("main.people") == before


@pytest.mark.parametrize("database", ["/proc/recipec/out.duckdb", "a_directory"])
def test_a_destination_that_cannot_be_written(loaded, cli, database):
    (loaded.root / "a_directory").mkdir()
    before = loaded.snapshot("main.people")
    recipe = {**RECIPE, "destination": {**RECIPE["destination"], "database": database}}
    loaded.write("r.yaml", json.dumps(recipe))
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert f"DuckDB database '{database}'" in result.err
    assert loaded.snapshot("main.people") == before


def test_a_renamed_column_that_does_not_exist(loaded, cli):
    before = loaded.snapshot("main.people")
    recipe = {
        **RECIPE,
        "transform": {"steps": [{"type": "rename_columns", "mapping": {"nope": "x"}}]},
    }
    loaded.write("r.yaml", json.dumps(recipe))
    # The CSV header is known when compiling, so this is a recipe error before any run.
    result = cli("run", "r.yaml")
    assert result.code == 1
    assert (
        "transform.steps[0].mapping.nope: rename_columns: no column 'nope' in its input "
        "(columns: id, age, updated_at)" in result.err
    )
    assert loaded.snapshot("main.people") == before
    # A plan compiled before its files existed: the same check runs before any data moves.
    recipe["source"] = {**RECIPE["source"], "path": "later/*.csv"}
    loaded.write("r.yaml", json.dumps(recipe))
    assert cli("compile", "r.yaml", "-o", "plan.json").code == 0
    loaded.write("later/a.csv", "id,age,updated_at\n1,2,2024-01-01 00:00:00\n")
    result = cli("run", "--plan", "plan.json")
    assert result.code == 3
    assert result.err == (
        "error: transform[0] rename_columns (r.yaml:1): no column 'nope' in its input "
        "(columns: id, age, updated_at)\n"
    )
    assert loaded.snapshot("main.people") == before


def test_a_type_change_that_the_table_cannot_take(loaded, cli):
    before = loaded.snapshot("main.people")
    recipe = {**RECIPE, "transform": {"steps": []}}
    loaded.write("r.yaml", json.dumps(recipe))
    loaded.write("data/a.csv", "id,age,updated_at\nabc,30,2024-01-05 00:00:00\n")
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "abc" in result.err
    assert loaded.snapshot("main.people") == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nsource: [\n", "malformed YAML"),
        ('{"name": "guarded", "extends": "missing.yaml"}', "not found"),
        (
            '{"name": "guarded", "source": {"type": "csv", "path": "x", "bogus": 1}}',
            "unknown key 'bogus'",
        ),
        (
            '{"name": "guarded", "source": {"type": "csv", "path": "{{ env_var(\'NOPE_ZZ\') }}"}}',
            "NOPE_ZZ",
        ),
    ],
)
def test_recipe_errors_exit_1_and_touch_nothing(loaded, cli, text, expected):
    before = loaded.snapshot("main.people")
    loaded.write("r.yaml", text)
    result = cli("run", "r.yaml")
    assert result.code == 1
    assert expected in result.err
    assert loaded.snapshot("main.people") == before


def test_an_extends_cycle_exits_1(project, cli):
    project.write("a.yaml", "name: a\nextends: b.yaml\n")
    project.write("b.yaml", "extends: a.yaml\n")
    result = cli("run", "a.yaml")
    assert result.code == 1 and "extends cycle: a.yaml -> b.yaml -> a.yaml" in result.err


def test_a_misspelled_column_gets_a_suggestion(loaded, cli):
    recipe = {**RECIPE, "transform": {"steps": [{"type": "cast", "columns": {"agee": "int"}}]}}
    loaded.write("r.yaml", json.dumps(recipe))
    result = cli("run", "r.yaml")
    assert result.code == 1
    assert "cast: no column 'agee' in its input; did you mean 'age'?" in result.err


def test_cast_errors_name_the_file_row_even_with_a_filename_column_and_a_watermark(project, cli):
    project.write(
        "data/a.csv",
        "id,filename,age,updated_at\n1,y.txt,old,2019-01-01 00:00:00\n"
        "2,z.txt,30,2024-01-01 00:00:00\n3,w.txt,thirty,2024-01-03 00:00:00\n",
    )
    source = {
        **RECIPE["source"],
        "incremental": {**RECIPE["source"]["incremental"], "initial_value": "2020-01-01"},
    }
    project.write("r.yaml", json.dumps({**RECIPE, "source": source}))
    result = cli("run", "r.yaml")
    assert result.code == 3
    assert "value 'thirty' in column 'age' (data/a.csv, data row 3)" in result.err
