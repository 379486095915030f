"""Plug-ins: Python sources and destinations, SQL transforms; by module or entry point."""

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import REPO, run_subprocess
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

from recipec import (
    DictBatch,
    RecipeError,
    compile_recipe,
    from_yaml,
    get_source,
    register_destination,
    register_source,
    register_transform,
    run_recipe,
    run_recipe_from_yaml,
)
from recipec.registry import REGISTRY


@pytest.fixture
def example(project, monkeypatch):
    """The example recipe with its plug-in module, copied into a scratch project."""
    for name in ("users_from_python.yaml", "example_plugins.py"):
        project.write(f"recipes/{name}", (REPO / "recipes" / name).read_text())
    return project


def test_a_python_source_in_the_users_module_works_from_the_api(example):
    first = run_recipe_from_yaml("recipes/users_from_python.yaml", vars={"db_path": "out.duckdb"})
    assert (first.rows_read, first.rows_written) == (200, 200)
    assert example.rows("SELECT count(*), max(id), min(username) FROM main.users") == [
        (200, 200, "user1")
    ]
    second = run_recipe_from_yaml("recipes/users_from_python.yaml", vars={"db_path": "out.duckdb"})
    assert second.rows_read == 1  # the source started from the watermark it was handed
    assert example.rows("SELECT count(*) FROM main.users") == [(200,)]


def test_a_python_source_in_the_users_module_works_from_the_cli(example):
    result = run_subprocess(
        "run",
        "recipes/users_from_python.yaml",
        "--var",
        "db_path=out.duckdb",
        "--format",
        "json",
        cwd=example.root,
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["rows_written"] == 200


def test_a_plugin_config_model_rejects_unknown_keys(example):
    text = (example.root / "recipes/users_from_python.yaml").read_text()
    example.write("recipes/bad.yaml", text.replace("page_size: 50", "page_sise: 50"))
    with pytest.raises(RecipeError) as info:
        from_yaml("recipes/bad.yaml")
    (problem,) = info.value.problems
    assert problem.path == "source.page_sise" and problem.hint == "did you mean 'page_size'?"


def test_a_missing_plugin_module_is_a_recipe_error(project):
    project.write(
        "r.yaml",
        "name: x\nplugins: [no_such_module_zz]\nsource: {type: x}\n"
        "destination: {type: duckdb, database: o.duckdb, table: t}\n",
    )
    with pytest.raises(RecipeError, match="cannot import plug-in module 'no_such_module_zz'"):
        from_yaml("r.yaml")


@register_source("arrow_pages")
def arrow_pages(config, context):
    """Yields a RecordBatch, a Table and a DictBatch with a new column."""
    yield pa.RecordBatch.from_pydict({"id": [1, 2], "v": ["a", "b"]})
    yield pa.table({"id": [3], "v": ["c"]})
    yield DictBatch(columns=["id", "v", "extra"], rows=[[4, "d", True]], metadata={"page": 3})


class ParquetSinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    folder: str
    table: str
    write_mode: str = "append"


@register_destination("parquet_sink", config=ParquetSinkConfig)
class ParquetSink:
    """Writes the rows it is given to one Parquet file per table."""

    def __init__(self, config: ParquetSinkConfig) -> None:
        self.config = config

    def write(self, data: pa.RecordBatchReader, context) -> int:
        table = data.read_all()
        os.makedirs(self.config.folder, exist_ok=True)
        pq.write_table(table, os.path.join(self.config.folder, f"{context.table}.parquet"))
        return table.num_rows


class UppercaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    columns: list[str]


@register_transform("uppercase", config=UppercaseConfig)
def uppercase(step: UppercaseConfig, relation: exp.Expression) -> exp.Select:
    """Upper-case text columns."""
    replace = [
        exp.alias_(exp.Upper(this=exp.column(c, quoted=True)), exp.to_identifier(c, quoted=True))
        for c in step.columns
    ]
    return exp.select(exp.Star(replace=replace)).from_(relation)


def test_plugin_source_transform_and_destination_work_together(project):
    project.write(
        "r.yaml",
        """
        name: all_plugins
        source: {type: arrow_pages}
        transform:
          steps:
            - {type: uppercase, columns: [v]}
        destination: {type: parquet_sink, folder: out, table: letters}
        """,
    )
    plan = compile_recipe(from_yaml("r.yaml"))
    assert 'UPPER("v") AS "v"' in plan.only.transforms[0].sql
    assert plan.only.extract.reader == "python" and not plan.only.commit.in_destination
    summary = run_recipe(from_yaml("r.yaml"))
    assert (summary.rows_read, summary.rows_written) == (4, 4)
    written = pq.read_table("out/letters.parquet").to_pylist()
    assert written == [
        {"id": 1, "v": "A", "extra": None},
        {"id": 2, "v": "B", "extra": None},
        {"id": 3, "v": "C", "extra": None},
        {"id": 4, "v": "D", "extra": True},
    ]


def test_plugins_register_through_the_entry_point_group(project, monkeypatch):
    site = project.root / "site"
    project.write(
        "site/ep_plugin_zz.py",
        (
            "from recipec import DictBatch, register_source\n"
            "@register_source('from_entry_point')\n"
            "def source(config):\n"
            "    yield DictBatch(columns=['n'], rows=[[1], [2]])\n"
        ),
    )
    project.write(
        "site/ep_plugin_zz-1.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: ep-plugin-zz\nVersion: 1.0\n",
    )
    project.write(
        "site/ep_plugin_zz-1.0.dist-info/entry_points.txt", "[recipec.plugins]\nzz = ep_plugin_zz\n"
    )
    project.write(
        "r.yaml",
        "name: ep\nsource: {type: from_entry_point}\n"
        "destination: {type: duckdb, database: out.duckdb, table: t}\n",
    )
    result = run_subprocess("run", "r.yaml", cwd=project.root, env={"PYTHONPATH": str(site)})
    assert result.code == 0, result.err
    assert project.rows("SELECT n FROM t ORDER BY n") == [(1,), (2,)]

    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(REGISTRY, "_entry_points_loaded", False)
    assert get_source("from_entry_point") is not None


def test_list_connectors_shows_builtins_and_plugins(cli):
    out = cli("list-connectors").out
    assert "csv" in out and "duckdb" in out and "rename_columns" in out
    assert "arrow_pages      plug-in" in out


def test_a_saved_plan_imports_plugins_from_the_recipes_folder(example, tmp_path):
    compiled = run_subprocess(
        "compile",
        "recipes/users_from_python.yaml",
        "--var",
        "db_path=out.duckdb",
        "-o",
        "plan.json",
        cwd=example.root,
    )
    assert compiled.code == 0, compiled.err
    assert json.loads((example.root / "plan.json").read_text())["plugin_paths"] == ["recipes"]
    ran = run_subprocess("run", "--plan", "plan.json", cwd=example.root)
    assert ran.code == 0, ran.err
    assert example.rows("SELECT count(*) FROM main.users") == [(200,)]


class UntypedConfig(BaseModel):
    type: str
    incremental: dict | None = None


@register_source("untyped_incremental", config=UntypedConfig)
def untyped(config):
    yield DictBatch(columns=["a"], rows=[[1]])


def test_a_plugin_must_type_incremental_as_recipecs(project):
    project.write(
        "r.yaml",
        "name: u\nsource:\n  type: untyped_incremental\n"
        "  incremental: {strategy: cursor, cursor_column: a}\n"
        "destination: {type: duckdb, database: o.duckdb, table: t}\n",
    )
    with pytest.raises(RecipeError, match="does not type 'incremental'") as info:
        compile_recipe(from_yaml("r.yaml"))
    assert info.value.problems[0].location.line == 4


def test_a_missing_extra_names_the_extra_to_install():
    from recipec.registry import require

    with pytest.raises(Exception, match=r"pip install 'recipec\[postgres\]'") as info:
        require("surely_not_installed_pkg_zz", extra="postgres", feature="the postgres source")
    assert info.value.exit_code == 2


@register_destination("silent_sink")
class SilentSink:
    """Consumes its rows and does not say how many."""

    def __init__(self, config) -> None:
        pass

    def write(self, data, context):
        for _ in data:
            pass


def test_rows_a_destination_does_not_count_are_counted_for_it(project):
    project.write("d.csv", "id\n1\n2\n3\n")
    project.write(
        "r.yaml", "name: s\nsource: {type: csv, path: d.csv}\ndestination: {type: silent_sink}\n"
    )
    summary = run_recipe(from_yaml("r.yaml"))
    assert (summary.rows_read, summary.rows_written) == (3, 3)


def test_plugins_next_to_the_recipe_win_over_the_working_directory(project):
    project.write("shadow_mod_zz.py", "raise ImportError('the wrong one')\n")
    project.write(
        "recipes/shadow_mod_zz.py",
        "from recipec import DictBatch, register_source\n"
        "@register_source('shadowed')\n"
        "def s(config):\n    yield DictBatch(columns=['n'], rows=[[1]])\n",
    )
    project.write(
        "recipes/r.yaml",
        "name: sh\nplugins: [shadow_mod_zz]\nsource: {type: shadowed}\n"
        "destination: {type: duckdb, database: out.duckdb, table: t}\n",
    )
    assert run_recipe(from_yaml("recipes/r.yaml")).rows_written == 1


def test_a_plugin_transform_answers_the_hooks_it_defines_and_the_defaults_for_the_rest():
    from recipec.compiler.frontend.models import StrictModel
    from recipec.registry import get_transform, register_transform
    from recipec.transform_hooks import TransformHooks, hooks

    class KeepsColumns(StrictModel):
        type: str

        def output_columns(self, columns):
            return list(columns)

    register_transform("keeps_columns_zz", config=KeepsColumns)(lambda step, relation: relation)
    registration = get_transform("keeps_columns_zz")
    assert registration is not None
    config = registration.config_model.model_validate({"type": "keeps_columns_zz"})
    assert isinstance(config, KeepsColumns) and isinstance(config, TransformHooks)
    answers = hooks(config)
    assert answers.output_columns([("a", "INTEGER")]) == [("a", "INTEGER")]  # its own
    assert answers.output_name("a") == "a" and answers.carried_from("a") is None  # defaults
    assert answers.expressions() == {} and not answers.runs_in_python
