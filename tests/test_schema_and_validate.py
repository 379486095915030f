"""`recipec schema` (the JSON Schema generated from the models) and `validate --format github`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from sqlglot import exp

from recipec.cli import _github_annotation
from recipec.compiler.frontend.models import StrictModel
from recipec.compiler.tools.json_schema import recipe_json_schema
from recipec.registry import REGISTRY, Registration, import_plugins

EXAMPLES = sorted((REPO / "recipes").glob("*.yaml"))
STDLIB = sorted((REPO / "stdlib").rglob("*.yaml"))

RECIPE = """
name: demo
source:
  type: csv
  path: data/*.csv
  options: {delimiter: ",", header: true}
  incremental: {strategy: cursor, cursor_column: updated_at, initial_value: 2024-01-01}
transform:
  steps:
    - type: rename_columns
      mapping: {a: b}
    - type: cast
      columns: {b: int, c: "decimal(12,2)", d: TIMESTAMP}
destination:
  type: duckdb
  database: out.duckdb
  table: main.things
  write_mode: merge
  merge_keys: [id]
runtime: {retries: 5}
"""


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as editors read it (1.2 core schema): `2024-01-01` stays a string."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader subclass


def errors(validator: Draft202012Validator, text: str) -> list[Any]:
    return list(validator.iter_errors(load(text)))


def flat(errors_: list[Any]) -> list[tuple[list[Any], str]]:
    """Every error with its sub-errors (those of `oneOf`/`anyOf` branches), as (path, message)."""
    out = []
    stack = list(errors_)
    while stack:
        error = stack.pop()
        out.append((list(error.absolute_path), error.message))
        stack.extend(error.context or [])
    return out


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    import_plugins(["example_plugins"], search_paths=[REPO / "recipes"])  # users_from_python
    schema = recipe_json_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


# --- the schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES + STDLIB, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_example_and_stdlib_recipe_fits_the_schema(validator, path: Path):
    assert EXAMPLES and STDLIB
    assert errors(validator, path.read_text(encoding="utf-8")) == []


def test_a_complete_recipe_fits(validator):
    assert errors(validator, RECIPE) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("runtime: {retries: 5}", "runtime: {retries: 5}\nbogus: 1"), []),
        (("merge_keys: [id]", "merge_keyz: [id]"), ["destination"]),
        (("runtime: {retries: 5}", "runtime: {retries: many}"), ["runtime", "retries"]),
        (("runtime: {retries: 5}", "runtime: {retries: [1]}"), ["runtime", "retries"]),
        (("header: true", "header: [true]"), ["source", "options", "header"]),
        (("write_mode: merge", "write_mode: upsert"), ["destination", "write_mode"]),
        (('c: "decimal(12,2)"', "c: integr"), ["transform", "steps", 1, "columns", "c"]),
        (("mapping: {a: b}", "mappings: {a: b}"), ["transform", "steps", 0]),
        (("name: demo", "name: 'two words'"), ["name"]),
    ],
    ids=[
        "unknown top-level key",
        "unknown destination key",
        "string for an integer",
        "list for an integer",
        "list for a boolean",
        "value not in a literal",
        "unknown type name",
        "unknown step key",
        "invalid recipe name",
    ],
)
def test_wrong_recipes_fail(validator, change, where):
    text = RECIPE.replace(*change)
    assert text != RECIPE
    found = errors(validator, text)
    assert found, "the schema accepted a wrong recipe"
    assert any(path[: len(where)] == where for path, _ in flat(found))


def test_an_unknown_source_type_fails_and_lists_the_types(validator):
    found = flat(errors(validator, RECIPE.replace("type: csv", "type: csvv")))
    assert (["source", "type"], f"'csvv' is not one of {REGISTRY.names('source')}") in found


def test_a_block_needs_its_type_and_a_step_needs_its_keys(validator):
    assert errors(validator, RECIPE.replace("  type: duckdb\n", ""))
    assert errors(validator, RECIPE.replace("      mapping: {a: b}\n", ""))


def test_a_partial_extending_recipe_passes(validator):
    child = """
    name: child
    extends: ../bases/warehouse.yaml
    delete:
      - runtime.retries
      - transform.steps[0]
    source:
      incremental: {cursor_column: changed_at}
    destination:
      table: main.customers
      merge_keys: [id]
    """
    assert errors(validator, child) == []
    assert errors(validator, "extends: stdlib:bases/duckdb_default.yaml\n") == []
    # Without `extends:` the same file is a recipe of its own, missing source and types.
    assert errors(validator, child.replace("extends:", "description:"))


def test_a_partial_recipe_is_still_checked(validator):
    base = "extends: base.yaml\n"
    assert errors(validator, base + "destination: {type: duckdb, table: t, bogus: 1}\n")
    assert errors(validator, base + "destination: {type: duckdb, write_mode: sometimes}\n")
    assert errors(validator, base + "delete: destination.table\n")
    assert errors(validator, base + "bogus: 1\n")
    # Steps are concatenated onto the parent's, never merged: each one is complete.
    assert errors(validator, base + "transform: {steps: [{type: cast}]}\n")


def test_a_base_without_name_is_partial(validator):
    assert errors(validator, "destination: {type: duckdb, write_mode: merge}\n") == []
    assert errors(validator, "destination: {type: duckdb, write_modes: merge}\n")


def test_templates_stand_for_any_scalar(validator):
    templated = (
        RECIPE.replace("retries: 5", "retries: \"{{ env_var('RETRIES', 3) }}\"")
        .replace("header: true", "header: \"{{ var('header') }}\"")
        .replace("write_mode: merge", "write_mode: \"{{ var('mode', 'merge') }}\"")
        .replace('c: "decimal(12,2)"', "c: \"{{ var('money') }}\"")
        .replace("name: demo", "name: \"{{ var('name') }}\"")
        .replace("type: duckdb", "type: postgres\n  port: \"{{ env_var('PORT') }}\"")
        .replace("database: out.duckdb", 'database: "{% if true %}db{% endif %}"')
    )
    assert errors(validator, templated) == []
    assert errors(validator, RECIPE.replace("retries: 5", "retries: '{ env_var }'"))


def test_every_registered_type_is_a_branch(monkeypatch):
    class Shout(StrictModel):
        type: str
        column: str
        times: int = 1
        """How loud."""

    def shout(step: Any, relation: exp.Expression) -> exp.Select:
        """Upper-case a column."""
        return exp.select("*").from_(relation)

    for name, config in (("shout", Shout), ("anything_goes", None)):
        REGISTRY.register("transform", name, shout, config)
        registration = REGISTRY._entries["transform"].pop(name)
        monkeypatch.setitem(REGISTRY._entries["transform"], name, registration)

    schema = recipe_json_schema()
    validator = Draft202012Validator(schema)
    defs = schema["$defs"]
    branches = [b["$ref"].rsplit("/", 1)[1] for b in defs["transform_step"]["oneOf"]]
    registered = [f"transform.{name}" for name in REGISTRY.names("transform")]
    assert branches == [*registered, "transform.dbt"]  # and the dbt step, which is no transform
    assert {"transform.shout", "transform.anything_goes"} <= set(branches)
    shout_schema = defs["transform.shout"]
    assert shout_schema["properties"]["type"]["const"] == "shout"
    assert shout_schema["description"] == "Upper-case a column."
    assert shout_schema["properties"]["times"]["description"] == "How loud."

    def step(text: str) -> str:
        return RECIPE.replace(
            "    - type: rename_columns\n", f"    - {text}\n    - type: rename_columns\n"
        )

    assert errors(validator, step("{type: shout, column: a, times: 3}")) == []
    assert errors(validator, step("{type: shout, column: a, times: loud}"))
    assert errors(validator, step("{type: shout}"))
    assert errors(validator, step("{type: anything_goes, any: [key]}")) == []


def test_source_and_destination_branches_cover_the_registry():
    defs = recipe_json_schema()["$defs"]
    for kind in ("source", "destination"):
        assert defs[kind]["properties"]["type"]["enum"] == REGISTRY.names(kind)
        for name, ref in zip(REGISTRY.names(kind), defs[kind]["oneOf"], strict=True):
            branch = defs[ref["$ref"].rsplit("/", 1)[1]]
            assert branch["properties"]["type"]["const"] == name
            assert branch["required"][0] == "type"
            registration: Registration[Any] | None = REGISTRY.get(kind, name)
            assert registration is not None
            model: type[BaseModel] = registration.config_model
            keys = {f.alias or n for n, f in model.model_fields.items()}
            extra = model.model_config.get("extra") == "allow"
            assert keys <= set(branch["properties"]) or extra


# --- `recipec schema` ----------------------------------------------------------------------------


def test_schema_command_prints_a_draft_2020_12_schema(project, cli):
    result = cli("schema")
    assert result.code == 0, result.err
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert errors(validator, RECIPE) == []
    assert errors(validator, RECIPE.replace("type: csv", "type: csvv"))


def test_schema_command_writes_a_file(project, cli):
    result = cli("schema", "-o", "recipec.schema.json")
    assert result.code == 0 and result.out == ""
    assert "wrote schema to recipec.schema.json" in result.err
    written = json.loads((project.root / "recipec.schema.json").read_text(encoding="utf-8"))
    assert written == json.loads(cli("schema").out)


def test_schema_command_imports_plugin_modules(project, cli):
    project.write("my_plugins.py", (REPO / "recipes" / "example_plugins.py").read_text())
    result = cli("schema", "--plugin", "my_plugins")
    assert result.code == 0, result.err
    assert "source.fake_users" in json.loads(result.out)["$defs"]
    missing = cli("schema", "--plugin", "no_such_module_here")
    assert missing.code == 2
    assert "cannot import plug-in module 'no_such_module_here'" in missing.err


# --- `recipec validate --format github` ----------------------------------------------------------

CLI_RECIPE = """
name: cli_demo
source:
  type: csv
  path: data/*.csv
destination:
  type: duckdb
  database: out.duckdb
  table: main.things
  write_mode: merge
  merge_keys: [id]
"""


def test_annotation_escaping():
    problem = {
        "message": "100% wrong: a, b\r\nnext line",
        "path": "destination.table",
        "file": None,
        "line": None,
        "column": None,
        "expected": "one of: x, y",
        "hint": None,
    }
    assert _github_annotation("dir,1/a:b%.yaml", problem) == (
        "::error file=dir%2C1/a%3Ab%25.yaml,title=recipec::destination.table: "
        "100%25 wrong: a, b%0D%0Anext line%0Aexpected: one of: x, y"
    )


def test_validate_github_annotations(project, cli):
    project.write("recipes/good.yaml", CLI_RECIPE)
    project.write("recipes/odd,name:v1.yaml", CLI_RECIPE.replace("merge_keys", "merge_keyz"))
    result = cli("validate", "recipes/*.yaml", "--format", "github")
    assert result.code == 1
    lines = result.out.splitlines()
    assert len(lines) == 1, result.out
    line = lines[0]
    prefix = (
        "::error file=recipes/odd%2Cname%3Av1.yaml,line=10,col=3,title=recipec::"
        "destination.merge_keyz: unknown key 'merge_keyz'%0Aexpected: one of: "
    )
    assert line.startswith(prefix)
    assert ", merge_keys, " in line  # the expected keys: commas are not escaped in a message
    assert line.endswith("%0Ahint: did you mean 'merge_keys'?")
    assert "1 valid, 1 with errors" in result.err

    ok = cli("validate", "recipes/good.yaml", "--format", "github")
    assert (ok.code, ok.out) == (0, "")


def test_validate_github_paths_as_given_and_in_parents(project, cli):
    project.write("bases/base.yaml", "destination:\n  type: duckdb\n  write_mod: merge\n")
    project.write(
        "recipes/child.yaml",
        "name: child\nextends: ../bases/base.yaml\nsource: {type: csv, path: a.csv}\n"
        "destination: {database: out.duckdb, table: t}\n",
    )
    result = cli("validate", "./recipes/child.yaml", "missing.yaml", "--format", "github")
    assert result.code == 1
    parent, missing = result.out.splitlines()
    # A problem in a parent names the parent, where the line and column are.
    assert parent.startswith(
        "::error file=bases/base.yaml,line=3,col=3,title=recipec::"
        "destination.write_mod: unknown key 'write_mod'%0Aexpected: one of: "
    )
    assert parent.endswith("%0Ahint: did you mean 'write_mode'?")
    # A problem in no file (here: no file at all) has no line or column.
    assert missing == "::error file=missing.yaml,title=recipec::recipe file not found: missing.yaml"
    assert "0 valid, 2 with errors" in result.err
    # A problem in the recipe itself names it exactly as given on the command line.
    project.write("recipes/child.yaml", CLI_RECIPE.replace("type: csv", "type: csvv"))
    again = cli("validate", "./recipes/child.yaml", "--format", "github")
    assert again.code == 1
    assert again.out.startswith(
        "::error file=./recipes/child.yaml,line=3,col=3,title=recipec::"
        "source.type: unknown source type 'csvv'%0Aexpected: one of: "
    )
    assert again.out.endswith("%0Ahint: did you mean 'csv'?\n")
    assert len(again.out.splitlines()) == 1


def test_validate_text_and_json_still_work(project, cli):
    project.write("recipes/good.yaml", CLI_RECIPE)
    text = cli("validate", "recipes/good.yaml")
    assert text.code == 0 and "1 valid, 0 with errors" in text.out
    report = cli("validate", "recipes/good.yaml", "--format", "json").json()
    assert report == [{"file": "recipes/good.yaml", "ok": True, "problems": []}]
