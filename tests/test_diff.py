"""`recipec diff`: a semantic diff of two recipes or plans, with the risk of each change."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from recipec.compiler.driver import compile_recipe, load_recipe
from recipec.compiler.plan import Column, Plan
from recipec.compiler.tools.diff import (
    BACKFILL,
    DESTRUCTIVE,
    RISKS,
    RULES,
    SAFE,
    diff_plans,
    same_sql,
    widens,
)
from recipec.compiler.tools.plan_inputs import load_input

RECIPE = """
name: orders
source:
  type: csv
  path: data/*.csv
  incremental: {strategy: cursor, cursor_column: updated_at}
transform:
  steps:
    - {type: rename_columns, mapping: {cust: customer}}
    - {type: cast, columns: {amount: "decimal(10,2)"}}
destination:
  type: duckdb
  database: out.duckdb
  table: main.orders
  write_mode: merge
  merge_keys: [id]
"""


INCREMENTAL = "\n  incremental: {strategy: cursor, cursor_column: updated_at}"
FULL = RECIPE.replace(INCREMENTAL, "")
"""The recipe without incremental loading (overwrite needs a full read)."""


def write_recipe(project, name: str, text: str = RECIPE, **replacements: str) -> str:
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    project.write(name, text)
    return name


def change(old: str, new: str) -> dict[str, str]:
    return {old: new}


def compiled(path: str) -> Plan:
    return compile_recipe(load_recipe(path))


def with_steps(plan: Plan, steps: list) -> Plan:
    unit = plan.only.model_copy(update={"steps": steps}).with_fingerprint()
    return plan.model_copy(update={"units": [unit]}).with_fingerprint()


def with_schema(plan: Plan, columns: list[tuple[str, str]]) -> Plan:
    """The plan as if the compiler knew the output columns of its last step."""
    unit = plan.only
    last = unit.transforms[-1] if unit.transforms else unit.extract
    schema = [Column(name=n, type=t) for n, t in columns]
    return with_steps(
        plan,
        [s.model_copy(update={"output_schema": schema}) if s is last else s for s in unit.steps],
    )


def with_sql(plan: Plan, index: int, sql: str) -> Plan:
    unit = plan.only
    return with_steps(
        plan,
        [
            s.model_copy(update={"sql": sql}) if s is unit.transforms[index] else s
            for s in unit.steps
        ],
    )


def save(project, name: str, plan: Plan) -> str:
    (project.root / name).write_text(plan.to_json(), encoding="utf-8")
    return name


def only(changes, path):
    found = [c for c in changes if c["path"] == path]
    assert len(found) == 1, changes
    return found[0]


# -- risk classes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "path", "kind", "risk"),
    [
        # write modes: a small table of transitions
        ({"write_mode: merge\n  merge_keys: [id]": "write_mode: overwrite", INCREMENTAL: ""},
         "destination.write_mode", "changed", DESTRUCTIVE),
        (change(INCREMENTAL, ""), "source.incremental", "removed", SAFE),  # merge
        (change("write_mode: merge", "write_mode: scd2"),
         "destination.write_mode", "changed", DESTRUCTIVE),
        (change("write_mode: merge\n  merge_keys: [id]", "write_mode: append"),
         "destination.write_mode", "changed", SAFE),
        (change("merge_keys: [id]", "merge_keys: [id, customer]"),
         "destination.merge_keys", "changed", DESTRUCTIVE),
        (change("cursor_column: updated_at", "cursor_column: modified_at"),
         "source.incremental.cursor_column", "changed", DESTRUCTIVE),
        (change("cursor_column: updated_at}", "cursor_column: updated_at, initial_value: 2024}"),
         "source.incremental.initial_value", "changed", BACKFILL),
        (change("amount: \"decimal(10,2)\"", "amount: float"),
         "transform.steps[1]", "changed", BACKFILL),
        (change("{amount: \"decimal(10,2)\"}}", "{amount: \"decimal(10,2)\"}}\n"
                "    - {type: add_column, name: batch, value: x}"),
         "transform.steps[2]", "added", SAFE),
        (change("    - {type: rename_columns, mapping: {cust: customer}}\n", ""),
         "transform.steps[0]", "removed", BACKFILL),
        (change("merge_keys: [id]", "merge_keys: [id]\n  hard_delete_column: gone"),
         "destination.hard_delete_column", "changed", BACKFILL),
        (change("path: data/*.csv", "path: other/*.csv"), "source", "added", BACKFILL),
        (change("merge_keys: [id]", "merge_keys: [id]\n  merge_strategy: delete_insert"),
         "destination.merge_strategy", "changed", DESTRUCTIVE),
    ],
)  # fmt: skip
def test_each_change_gets_its_risk(project, cli, edit, path, kind, risk):
    write_recipe(project, "old.yaml")
    write_recipe(project, "new.yaml", **edit)
    result = cli("diff", "old.yaml", "new.yaml", "--format", "json")
    assert result.code == 1, result.err
    found = [c for c in result.json() if (c["path"], c["kind"]) == (path, kind)]
    assert [c["risk"] for c in found] == [risk], result.json()


def test_append_to_overwrite_is_destructive_and_the_reverse_is_safe(project):
    keys = "merge\n  merge_keys: [id]"
    append = compiled(write_recipe(project, "a.yaml", FULL, **change(keys, "append")))
    overwrite = compiled(write_recipe(project, "o.yaml", FULL, **change(keys, "overwrite")))
    (forward,) = diff_plans(append, overwrite).changes
    (backward,) = diff_plans(overwrite, append).changes
    assert (forward.path, forward.before, forward.after, forward.risk) == (
        "destination.write_mode", "append", "overwrite", DESTRUCTIVE,
    )  # fmt: skip
    assert "rows not in the batch are deleted" in forward.reason
    assert backward.risk == SAFE
    scd2 = compiled(
        write_recipe(project, "s.yaml", FULL, **change("write_mode: merge", "write_mode: scd2"))
    )
    merge = compiled(write_recipe(project, "m.yaml", FULL))
    assert [c.risk for c in diff_plans(scd2, merge).changes] == [DESTRUCTIVE]  # out of scd2
    assert [c.risk for c in diff_plans(append, merge).changes] == [BACKFILL, SAFE]  # keys follow


def test_a_changed_destination_table_abandons_the_old_one(project, cli):
    write_recipe(project, "old.yaml")
    write_recipe(project, "new.yaml", **change("table: main.orders", "table: main.orders_v2"))
    changes = cli("diff", "old.yaml", "new.yaml", "--format", "json").json()
    assert [(c["path"], c["kind"], c["risk"]) for c in changes] == [
        ("destination", "removed", DESTRUCTIVE),
        ("destination", "added", BACKFILL),
    ]
    assert changes[0]["before"] == {
        "type": "duckdb", "database": "out.duckdb", "table": "main.orders",
    }  # fmt: skip
    assert changes[1]["after"]["table"] == "main.orders_v2"


COLUMNS = [("id", "INTEGER"), ("customer", "VARCHAR"), ("amount", "DECIMAL(10,2)")]


@pytest.mark.parametrize(
    ("new_columns", "expected"),
    [
        ([*COLUMNS, ("email", "VARCHAR")], [("columns.email", "added", SAFE)]),
        (COLUMNS[:2], [("columns.amount", "removed", DESTRUCTIVE)]),
        ([("id", "BIGINT"), *COLUMNS[1:]], [("columns.id", "retyped", SAFE)]),
        ([*COLUMNS[:2], ("amount", "DECIMAL(12,2)")], [("columns.amount", "retyped", SAFE)]),
        ([*COLUMNS[:2], ("amount", "DECIMAL(10,4)")], [("columns.amount", "retyped", DESTRUCTIVE)]),
        ([("id", "VARCHAR"), *COLUMNS[1:]], [("columns.id", "retyped", DESTRUCTIVE)]),
        ([("ID", "INT"), ("customer", "TEXT"), COLUMNS[2]], []),  # same names and types
    ],
)
def test_output_columns_added_removed_retyped(project, new_columns, expected):
    plan = compiled(write_recipe(project, "r.yaml"))
    result = diff_plans(with_schema(plan, COLUMNS), with_schema(plan, new_columns))
    assert [(c.path, c.kind, c.risk) for c in result.changes] == expected
    assert result.notes == ()


def test_a_column_added_to_an_scd2_table_rewrites_every_version(project):
    plan = compiled(
        write_recipe(project, "r.yaml", **change("write_mode: merge", "write_mode: scd2"))
    )
    result = diff_plans(with_schema(plan, COLUMNS), with_schema(plan, [*COLUMNS, ("x", "INTEGER")]))
    assert [(c.path, c.risk) for c in result.changes] == [("columns.x", BACKFILL)]


def test_unknown_output_columns_are_not_compared_and_say_so(project, cli):
    write_recipe(project, "r.yaml")
    plan = compiled("r.yaml")
    save(project, "known.json", with_schema(plan, COLUMNS))
    result = cli("diff", "r.yaml", "known.json")
    assert result.code == 0, result.out
    assert "no changes" in result.out
    assert "note: the output columns of OLD are unknown" in result.out


@pytest.mark.parametrize(
    ("before", "after", "wider"),
    [
        ("INTEGER", "BIGINT", True), ("TINYINT", "INTEGER", True), ("BIGINT", "HUGEINT", True),
        ("FLOAT", "DOUBLE", True), ("INTEGER", "DOUBLE", True), ("DATE", "TIMESTAMP", True),
        ("DECIMAL(10,2)", "DECIMAL(18,2)", True), ("DECIMAL(10,2)", "DECIMAL(12,4)", True),
        ("INTEGER", "DECIMAL(12,2)", True), ("UINTEGER", "BIGINT", True),
        ("BIGINT", "INTEGER", False), ("BIGINT", "DOUBLE", False), ("DOUBLE", "FLOAT", False),
        ("DECIMAL(10,2)", "DECIMAL(10,4)", False), ("DECIMAL(12,2)", "DECIMAL(10,2)", False),
        ("INTEGER", "DECIMAL(9,0)", False), ("INTEGER", "VARCHAR", False),
        ("VARCHAR", "INTEGER", False), ("TIMESTAMP", "TIMESTAMPTZ", False),
        ("INTEGER", "UINTEGER", False), ("not a type", "BIGINT", False),
    ],
)  # fmt: skip
def test_widenings(before, after, wider):
    assert widens(before, after) is wider


def test_the_rules_are_a_table_of_known_risks():
    assert {rule.risk for rule in RULES} == set(RISKS)
    assert all(rule.kind in {"added", "removed", "changed", "retyped"} for rule in RULES)


# -- SQL compared as ASTs -----------------------------------------------------------------------


def test_reformatted_sql_is_not_a_change(project, cli):
    plan = compiled(write_recipe(project, "r.yaml"))
    original = plan.only.transforms[1].sql
    assert original.startswith("SELECT\n  *\n  REPLACE (CAST(")
    reformatted = 'select * replace (cast(amount as decimal(10, 2)) as "amount")\n   from input'
    assert same_sql(original, reformatted)
    save(project, "old.json", plan)
    save(project, "same.json", with_sql(plan, 1, reformatted + "  -- a comment"))
    result = cli("diff", "old.json", "same.json")
    assert result.code == 0, result.out
    assert "no changes" in result.out
    other = reformatted.replace("10, 2", "10, 3")
    save(project, "other.json", with_sql(plan, 1, other))
    changes = cli("diff", "old.json", "other.json", "--format", "json").json()
    assert [(c["path"], c["kind"], c["risk"]) for c in changes] == [
        ("transform.steps[1]", "changed", BACKFILL)
    ]
    assert changes[0]["before"] == original and changes[0]["after"] == other


def test_sql_ast_comparison_cases():
    assert same_sql("SELECT a, b FROM t WHERE x = 1", "select a,\n  b\nFROM t where x=1")
    assert same_sql('SELECT "a" FROM "t"', "SELECT a FROM t")
    assert not same_sql("SELECT a FROM t", "SELECT b FROM t")
    assert not same_sql("SELECT 'A' FROM t", "SELECT 'a' FROM t")  # literals keep their case


def test_a_step_that_adds_columns_is_safe_but_one_that_changes_them_needs_a_backfill(project):
    plan = compiled(write_recipe(project, "r.yaml"))
    step = 'SELECT * REPLACE (CAST("amount" AS DECIMAL(10, 2)) AS "amount") FROM "input"'
    adds = step.replace(' FROM "input"', ', 1 AS "one" FROM "input"')
    changed = step.replace("10, 2", "12, 2")

    def risks(old: str, new: str) -> list[str]:
        return [c.risk for c in diff_plans(with_sql(plan, 1, old), with_sql(plan, 1, new)).changes]

    assert risks(step, adds) == [SAFE]
    assert risks(adds, step) == [BACKFILL]
    assert risks(step, changed) == [BACKFILL]


def test_moving_a_step_is_seen_as_steps_removed_and_added(project):
    old = compiled(write_recipe(project, "a.yaml"))
    swapped = RECIPE.replace(
        "    - {type: rename_columns, mapping: {cust: customer}}\n"
        '    - {type: cast, columns: {amount: "decimal(10,2)"}}\n',
        '    - {type: cast, columns: {amount: "decimal(10,2)"}}\n'
        "    - {type: rename_columns, mapping: {cust: customer}}\n",
    )
    new = compiled(write_recipe(project, "b.yaml", swapped))
    kinds = sorted((c.path, c.kind) for c in diff_plans(old, new).changes)
    assert kinds in (
        [("transform.steps[0]", "removed"), ("transform.steps[1]", "added")],
        [("transform.steps[0]", "added"), ("transform.steps[1]", "removed")],
    )


# -- inputs ---------------------------------------------------------------------------------------


def test_recipe_and_its_saved_plan_are_the_same(project, cli):
    write_recipe(project, "r.yaml")
    assert cli("compile", "r.yaml", "-o", "plan.json").code == 0
    assert cli("diff", "r.yaml", "plan.json").code == 0
    assert cli("diff", "plan.json", "r.yaml", "--format", "json").out.strip() == "[]"
    write_recipe(project, "r.yaml", **change("write_mode: merge", "write_mode: scd2"))
    result = cli("diff", "plan.json", "r.yaml")
    assert result.code == 1
    assert "destructive  destination.write_mode  changed: merge -> scd2" in result.out


def test_vars_apply_to_both_recipes(project, cli):
    write_recipe(project, "a.yaml", **change("table: main.orders", "table: \"{{ var('t') }}\""))
    write_recipe(project, "b.yaml", **change("table: main.orders", "table: main.x"))
    assert cli("diff", "a.yaml", "b.yaml", "--var", "t=main.x").code == 0
    assert cli("diff", "a.yaml", "b.yaml", "--var", "t=main.y").code == 1


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


PARENT = """
destination:
  type: duckdb
  database: out.duckdb
  write_mode: append
"""
CHILD = """
name: orders
extends: ../bases/base.yaml
source: {type: csv, path: data/*.csv}
destination:
  table: main.orders
"""


@pytest.fixture
def repo(project):
    """A git repository whose recipe extends a parent that changed between two commits."""
    git(project.root, "init", "-q")
    project.write("bases/base.yaml", PARENT)
    project.write("recipes/orders.yaml", CHILD)
    git(project.root, "add", ".")
    git(project.root, "commit", "-q", "-m", "first")
    project.write("bases/base.yaml", PARENT.replace("append", "overwrite"))
    git(project.root, "commit", "-q", "-am", "parent now overwrites")
    return project


def scratch_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("recipec-diff-")}


def test_git_inputs_read_the_recipe_and_its_parent_at_the_ref(repo, cli):
    before = scratch_dirs()
    result = cli(
        "diff", "git:HEAD~1:recipes/orders.yaml", "git:HEAD:recipes/orders.yaml", "--format", "json"
    )
    assert result.code == 1, result.err
    assert result.json() == [
        {
            "path": "destination.write_mode",
            "kind": "changed",
            "risk": DESTRUCTIVE,
            "before": "append",
            "after": "overwrite",
        }
    ]
    assert scratch_dirs() <= before  # the checkouts are cleaned up
    # the working tree is HEAD: the same plan (paths resolve as from the repository root)
    assert cli("diff", "git:HEAD:recipes/orders.yaml", "recipes/orders.yaml").code == 0
    assert cli("diff", "git:HEAD~1:recipes/orders.yaml", "recipes/orders.yaml").code == 1
    assert (repo.root / "recipes/orders.yaml").exists() and Path.cwd() == repo.root


def test_git_inputs_from_a_subfolder(repo, cli, monkeypatch):
    monkeypatch.chdir(repo.root / "recipes")
    assert cli("diff", "git:HEAD:recipes/orders.yaml", "orders.yaml").code == 0
    assert cli("diff", "git:HEAD:./orders.yaml", "orders.yaml").code == 0
    assert cli("diff", "git:HEAD~1:./orders.yaml", "orders.yaml").code == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("git:nosuchref:recipes/orders.yaml", "'nosuchref' is not a commit"),
        ("git:HEAD:recipes/missing.yaml", "there is no file 'recipes/missing.yaml' at HEAD"),
        ("git:HEAD", "write git:REF:PATH"),
    ],
)
def test_bad_git_inputs_exit_2_naming_the_input(repo, cli, spec, message):
    result = cli("diff", spec, "recipes/orders.yaml")
    assert result.code == 2
    assert result.err.startswith(f"error: cannot read OLD {spec}: ")
    assert message in result.err
    assert "Traceback" not in result.err


def test_a_recipe_that_does_not_compile_at_the_ref_exits_2(repo, cli):
    repo.write("recipes/orders.yaml", CHILD.replace("type: csv", "type: csvv"))
    git(repo.root, "commit", "-q", "-am", "broken")
    result = cli("diff", "git:HEAD:recipes/orders.yaml", "git:HEAD~1:recipes/orders.yaml")
    assert result.code == 2
    assert result.err.startswith("error: cannot compile OLD git:HEAD:recipes/orders.yaml:\n")
    assert "unknown source type 'csvv'" in result.err
    assert "recipec-diff-" not in result.err  # no path of the scratch checkout


def test_git_outside_a_repository_exits_2(project, cli):
    write_recipe(project, "r.yaml")
    result = cli("diff", "git:HEAD:r.yaml", "r.yaml")
    assert result.code == 2 and "cannot read OLD git:HEAD:r.yaml" in result.err


# -- formats and exit codes -------------------------------------------------------------------


@pytest.fixture
def risky(project):
    write_recipe(project, "old.yaml", FULL)
    write_recipe(
        project,
        "new.yaml",
        FULL,
        **change("write_mode: merge\n  merge_keys: [id]", "write_mode: overwrite"),
        **change('amount: "decimal(10,2)"', "amount: float"),
        **change("path: data/*.csv", "path: data/*.csv\n  options: {delimiter: ';'}"),
    )
    return project


def test_json_is_a_list_of_changes(risky, cli):
    result = cli("diff", "old.yaml", "new.yaml", "--format", "json")
    assert result.code == 1
    changes = json.loads(result.out)
    assert isinstance(changes, list) and changes
    for item in changes:
        assert set(item) == {"path", "kind", "risk", "before", "after"}
        assert item["risk"] in RISKS
    assert only(changes, "destination.write_mode") == {
        "path": "destination.write_mode",
        "kind": "changed",
        "risk": "destructive",
        "before": "merge",
        "after": "overwrite",
    }
    assert only(changes, "destination.merge_keys")["after"] == []
    assert only(changes, "source.options.delimiter")["after"] == ";"
    assert only(changes, "transform.steps[1]")["risk"] == "backfill"
    assert "note: the output columns" in result.err  # notes go to stderr with JSON


def test_markdown_is_a_pull_request_comment(risky, cli):
    result = cli("diff", "old.yaml", "new.yaml", "--format", "markdown")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "### recipec diff: `old.yaml` → `new.yaml`"
    assert "**4 changes: 1 destructive, 2 backfill, 1 safe**" in lines
    assert "> [!CAUTION]" in lines
    assert any(line.startswith("> - `destination.write_mode` changed") for line in lines)
    header = lines.index("| risk | path | change | before | after | why |")
    assert lines[header + 1] == "| --- | --- | --- | --- | --- | --- |"
    rows = [line for line in lines[header + 2 :] if line.startswith("| ")]
    assert len(rows) == 4
    assert all(row.count(" | ") == 5 for row in rows)  # SQL cells keep to one line
    mode = next(row for row in rows if "`destination.write_mode`" in row)
    assert mode.startswith("| **DESTRUCTIVE** | `destination.write_mode` | changed | `merge` |")
    step = next(row for row in rows if "`transform.steps[1]`" in row)
    assert step.startswith("| backfill |") and "CAST(amount AS DOUBLE)" in step.replace('"', "")


def test_markdown_and_text_without_changes(project, cli):
    write_recipe(project, "a.yaml")
    markdown = cli("diff", "a.yaml", "a.yaml", "--format", "markdown")
    assert markdown.code == 0 and "No semantic changes." in markdown.out
    text = cli("diff", "a.yaml", "a.yaml")
    assert text.code == 0 and text.out.splitlines()[:2] == [
        "recipec diff a.yaml -> a.yaml",
        "no changes",
    ]


def test_text_lists_each_change_with_its_risk_and_reason(risky, cli):
    out = cli("diff", "old.yaml", "new.yaml").out
    assert "4 changes: 1 destructive, 2 backfill, 1 safe" in out
    assert "destructive  destination.write_mode  changed: merge -> overwrite" in out
    assert "every run replaces the whole table" in out
    assert '-   REPLACE (CAST("amount" AS DECIMAL(10, 2)) AS "amount")' in out
    assert '+   REPLACE (CAST("amount" AS DOUBLE) AS "amount")' in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing.yaml", "r.yaml"), "error: cannot read OLD missing.yaml: no such file"),
        (("r.yaml", "bad.yaml"), "error: cannot compile NEW bad.yaml:\nRecipe error:"),
        (("r.yaml", "broken.json"), "broken.json is not valid JSON"),
        (("r.yaml", "r.yaml", "--var", "novalue"), "--var takes NAME=VALUE"),
        (("r.yaml", "r.yaml", "--format", "xml"), "usage error:"),
    ],
)
def test_errors_exit_2_with_one_message_naming_the_input(project, cli, args, message):
    write_recipe(project, "r.yaml")
    write_recipe(project, "bad.yaml", **change("type: csv", "type: csvv"))
    project.write("broken.json", "{not json")
    result = cli("diff", *args)
    assert result.code == 2
    assert message in result.err
    assert result.out == "" and "Traceback" not in result.err


def test_a_hand_edited_plan_is_an_input_error(project, cli):
    write_recipe(project, "r.yaml")
    cli("compile", "r.yaml", "-o", "plan.json")
    text = (project.root / "plan.json").read_text().replace("main.orders", "main.other")
    project.write("plan.json", text)
    result = cli("diff", "r.yaml", "plan.json")
    assert result.code == 2 and "was edited after it was compiled" in result.err


def test_load_input_compiles_each_kind(project):
    write_recipe(project, "r.yaml")
    plan = load_input("r.yaml")
    save(project, "p.json", plan)
    assert load_input("p.json") == plan
    project.write("p.plan", plan.to_json())  # a plan by its content, whatever its name
    assert load_input("p.plan") == plan


PG_RECIPE = """
name: pg_orders
source:
  type: postgres
  host: 127.0.0.1
  database: test
  user: postgres
  password: "{{ env.DIFF_TEST_PG_PASSWORD }}"
  table: public.orders
destination:
  type: duckdb
  database: out.duckdb
  table: main.orders
"""


def test_diff_compiles_without_secret_environment_variables(project, cli, monkeypatch):
    monkeypatch.delenv("DIFF_TEST_PG_PASSWORD", raising=False)
    project.write("old.yaml", PG_RECIPE)
    project.write("new.yaml", PG_RECIPE.replace("main.orders", "main.orders2"))
    result = cli("diff", "old.yaml", "new.yaml", "--format", "json")
    assert result.code == 1, result.err
    assert any(c["path"].startswith("destination") for c in result.json())
    project.write("bad.yaml", PG_RECIPE.replace("host: 127.0.0.1", "host: '{{ env.NO_HOST }}'"))
    missing = cli("diff", "old.yaml", "bad.yaml")
    assert missing.code == 2 and "NO_HOST" in missing.err  # not a secret: still needed
