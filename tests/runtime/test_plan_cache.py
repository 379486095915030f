"""`recipec run RECIPE` reuses the plan compiled before while nothing it was compiled from
changed, and compiles again as soon as anything did."""

from __future__ import annotations

import os
import uuid

import pytest
from helpers import Project

import recipec.compiler.driver as driver

RECIPE = """
name: cached
plugins: [MODULE]
source:
  type: csv
  path: data/*.csv
  incremental: {strategy: cursor, cursor_column: seq}
transform:
  steps:
    - {type: add_column, name: batch, value: "{{ var('batch', 'none') }}"}
    - {type: add_column, name: region, value: "{{ env_var('RECIPEC_TEST_REGION', 'eu') }}"}
    - {type: hash_columns, columns: [v], salt: "{{ env_var('RECIPEC_TEST_SALT', 'x') }}"}
destination: {type: duckdb, database: out.duckdb, table: main.t, write_mode: append}
"""


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the compiles that really happen."""
    calls: list[str] = []
    real = driver.compile_pipeline

    def counted(pipeline, **options):
        calls.append(pipeline.name)
        return real(pipeline, **options)

    monkeypatch.setattr(driver, "compile_pipeline", counted)
    return calls


@pytest.fixture
def cached_project(project: Project) -> Project:
    module = f"local_steps_{uuid.uuid4().hex[:8]}"  # a fresh plug-in: tests share sys.modules
    project.write("data/a.csv", "seq,v\n1,a\n2,b\n")
    project.write(f"{module}.py", "X = 1\n")
    project.write("r.yaml", RECIPE.replace("MODULE", module))
    project.module = module  # type: ignore[attr-defined]
    return project


def _touch_later(path: os.PathLike[str]) -> None:
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_a_run_with_nothing_changed_reuses_the_plan(cached_project, cli, compiles):
    assert cli("run", "r.yaml").code == 0
    assert cli("run", "r.yaml").code == 0
    assert cli("run", "r.yaml", "--full-refresh").code == 0
    assert compiles == ["cached"]
    assert cached_project.rows("SELECT count(*) FROM main.t") == [(2,)]


@pytest.mark.parametrize(
    "change",
    [
        "recipe",
        "var given",
        "var value",
        "env read",
        "data file added",
        "data file changed",
        "plugin module",
        "schema lock",
        "working directory",
    ],
)
def test_any_input_of_the_compile_that_changes_compiles_again(
    change, cached_project, cli, compiles, monkeypatch
):
    args = ["run", "r.yaml"]
    if change == "var value":
        args += ["--var", "batch=one"]
    assert cli(*args).code == 0
    root = cached_project.root
    if change == "recipe":
        recipe = (root / "r.yaml").read_text()
        cached_project.write("r.yaml", recipe.replace("main.t", "main.t2"))
    elif change == "var given":
        args += ["--var", "batch=two"]
    elif change == "var value":
        args[-1] = "batch=two"
    elif change == "env read":
        monkeypatch.setenv("RECIPEC_TEST_REGION", "us")
    elif change == "data file added":
        cached_project.write("data/b.csv", "seq,v,extra\n3,c,1\n")
    elif change == "data file changed":
        cached_project.write("data/a.csv", "seq,v\n1,a\n2,b\n3,c\n")
        _touch_later(root / "data/a.csv")
    elif change == "plugin module":
        cached_project.write(f"{cached_project.module}.py", "X = 2\n")
    elif change == "schema lock":
        cached_project.write("r.lock.yaml", "columns: [{name: seq, type: BIGINT}]\n")
    elif change == "working directory":
        (root / "sub").mkdir()
        cached_project.write("sub/data/a.csv", "seq,v\n1,a\n")
        monkeypatch.chdir(root / "sub")
        args = ["run", "../r.yaml", "--state-dir", "../.state"]
    result = cli(*args)
    assert len(compiles) == 2, f"{change}: the plan was reused"
    if change != "schema lock":
        assert result.code == 0, result.err


def test_a_secret_changing_reuses_the_plan_and_the_run_reads_the_new_value(
    cached_project, cli, compiles, monkeypatch
):
    monkeypatch.setenv("RECIPEC_TEST_SALT", "first-salt")
    assert cli("run", "r.yaml").code == 0
    monkeypatch.setenv("RECIPEC_TEST_SALT", "second-salt")
    assert cli("run", "r.yaml", "--full-refresh").code == 0
    assert compiles == ["cached"]  # a secret never changes a plan
    import duckdb

    expected = duckdb.sql("SELECT sha256('second-salt' || 'a')").fetchone()
    assert cached_project.rows("SELECT v FROM main.t WHERE seq = 1") == [expected]
    for entry in (cached_project.root / ".state" / "plans").iterdir():
        text = entry.read_text()
        assert "first-salt" not in text and "second-salt" not in text


def test_a_plan_that_cannot_be_cached_still_runs(cached_project, cli, compiles):
    plans = cached_project.root / ".state" / "plans"
    plans.parent.mkdir(parents=True, exist_ok=True)
    plans.write_text("not a folder")  # the cache cannot be written
    assert cli("run", "r.yaml").code == 0
    assert cli("run", "r.yaml").code == 0
    assert compiles == ["cached", "cached"]
