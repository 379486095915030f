"""The command line: every command, its output and its exit codes."""

import json
import multiprocessing
import time

import duckdb
import pytest
from helpers import REPO, run_subprocess

RECIPE = """
name: cli_demo
source:
  type: csv
  path: data/*.csv
  incremental: {strategy: cursor, cursor_column: updated_at}
destination:
  type: duckdb
  database: "{{ var('db', 'out.duckdb') }}"
  table: main.things
  write_mode: merge
  merge_keys: [id]
"""


@pytest.fixture
def demo(project):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01 00:00:00\n2,2024-01-02 00:00:00\n")
    project.write("r.yaml", RECIPE)
    return project


def test_run_prints_a_summary_and_json_on_request(demo, cli):
    text = cli("run", "r.yaml")
    assert text.code == 0
    assert "cli_demo: success" in text.out and "rows written  2" in text.out
    result = cli("run", "r.yaml", "--format", "json")
    summary = result.json()
    assert result.code == 0
    assert summary["status"] == "success"
    assert summary["rows_read"] == 1 and summary["rows_written"] == 1
    assert summary["resources"][0]["watermark"] == "2024-01-02 00:00:00"
    assert {"duration_seconds", "resources", "run_id", "plan_fingerprint"} <= set(summary)
    assert {"steps", "rows_written", "status", "started_at"} <= set(summary["resources"][0])


def test_compile_prints_a_readable_plan_json_or_a_file(demo, cli):
    text = cli("compile", "r.yaml")
    assert text.code == 0 and text.out.startswith("Plan for recipe 'cli_demo'")
    assert '"updated_at" >= $watermark' in text.out
    assert json.loads(cli("compile", "r.yaml", "--format", "json").out)["name"] == "cli_demo"
    written = cli("compile", "r.yaml", "-o", "plan.json")
    assert written.code == 0 and written.out == ""
    assert json.loads((demo.root / "plan.json").read_text())["format_version"] == 4


def test_a_saved_plan_runs_without_its_recipe(demo, cli):
    assert cli("compile", "r.yaml", "--var", "db=saved.duckdb", "-o", "plan.json").code == 0
    (demo.root / "r.yaml").unlink()
    assert cli("run", "--plan", "plan.json").code == 0
    assert demo.rows("SELECT count(*) FROM main.things", "saved.duckdb") == [(2,)]


def test_a_saved_plan_of_the_format_before_resources_is_refused(demo, cli):
    """Format 3 held one list of steps; read as today's graph it would be misread."""
    assert cli("compile", "r.yaml", "--var", "db=saved.duckdb", "-o", "plan.json").code == 0
    plan = json.loads((demo.root / "plan.json").read_text())
    unit = plan.pop("units")[0]
    for key in ("levels", "skipped", "dbt"):
        plan.pop(key, None)
    old = {**plan, "format_version": 3, "steps": unit["steps"], "secrets": unit["secrets"]}
    (demo.root / "plan.json").write_text(json.dumps(old))
    result = cli("run", "--plan", "plan.json")
    assert result.code == 1
    assert result.err.strip() == (
        "Recipe error:\nplan.json has plan format_version 3; this recipec reads format 4: "
        "compile the recipe again"
    )
    assert not (demo.root / "saved.duckdb").exists()


def test_full_refresh_and_state_dir(demo, cli):
    assert cli("run", "r.yaml", "--state-dir", "st").code == 0
    demo.write("data/a.csv", "id,updated_at\n9,2023-01-01 00:00:00\n")
    refreshed = cli("run", "r.yaml", "--state-dir", "st", "--full-refresh")
    assert refreshed.code == 0 and "overwrite (full refresh)" in refreshed.out
    assert demo.rows("SELECT id FROM main.things") == [(9,)]
    shown = cli("show-state", "cli_demo", "--state-dir", "st")
    assert json.loads(shown.out)["cursor"]["watermark"] == "2023-01-01 00:00:00"


def test_show_state_of_an_unknown_recipe(project, cli):
    result = cli("show-state", "nothing_here")
    assert result.code == 3 and "no saved state for recipe 'nothing_here'" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "r.yaml", "--var", "novalue"), "--var takes NAME=VALUE, got 'novalue'"),
        (("run",), "give a RECIPE or --plan FILE"),
        (("run", "r.yaml", "--plan", "p.json"), "give a RECIPE or --plan FILE"),
        (("run", "r.yaml", "--bogus"), "No such option '--bogus'"),
        (("frobnicate",), "No such command 'frobnicate'"),
        (("run", "--plan", "missing.json"), "cannot read plan file missing.json"),
    ],
)
def test_usage_errors_exit_2(demo, cli, args, message):
    result = cli(*args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_validate_many_recipes_expanding_globs(project, cli):
    project.write("data/a.csv", "id,updated_at\n1,2024-01-01\n")
    project.write("recipes/good.yaml", RECIPE)
    project.write("recipes/nested/bad.yaml", RECIPE.replace("merge_keys: [id]", "merge_keyz: [id]"))
    result = cli("validate", "recipes/**/*.yaml")
    assert result.code == 1
    assert "ok      recipes/good.yaml" in result.out
    assert "1 valid, 1 with errors" in result.out
    assert "recipes/nested/bad.yaml:11:3: destination.merge_keyz: unknown key" in result.err
    report = cli("validate", "recipes/**/*.yaml", "--format", "json").json()
    assert [(r["file"], r["ok"]) for r in report] == [
        ("recipes/good.yaml", True),
        ("recipes/nested/bad.yaml", False),
    ]
    assert report[1]["problems"][0]["line"] == 11
    assert cli("validate", "recipes/good.yaml").code == 0


def test_init_scaffolds_a_project_that_runs(project, cli):
    created = cli("init", "starter")
    assert created.code == 0
    result = run_subprocess(
        "run", "recipes/orders.yaml", "--preview", "2", cwd=project.root / "starter"
    )
    assert result.code == 0, result.err
    assert "main.orders: 3 rows in all" in result.out
    again = cli("init", "starter")
    assert again.code == 2 and "not overwriting" in again.err


def test_explain_prints_value_origin_and_overrides(project, cli):
    project.write("data/a.csv", "id\n1\n")
    project.write(
        "r.yaml",
        "name: e\nextends: stdlib:bases/duckdb_default.yaml\n"
        "source: {type: csv, path: data/a.csv}\n"
        "destination:\n  table: t\n  write_mode: overwrite\n",
    )
    out = cli("explain", "r.yaml", "destination.write_mode").out
    assert out.splitlines() == [
        'destination.write_mode = "overwrite"',
        "  set at r.yaml:6",
        "  overriding, oldest first:",
        '    stdlib:bases/duckdb_default.yaml:7: "append"',
    ]


def test_explain_of_a_missing_key_names_the_file_and_its_nearest_parent(project, cli):
    project.write("data/a.csv", "id\n1\n")
    project.write(
        "r.yaml",
        "name: e\nsource: {type: csv, path: data/a.csv}\n"
        "destination:\n  type: duckdb\n  database: o.duckdb\n  table: t\n",
    )
    result = cli("explain", "r.yaml", "destination.tabel")
    assert result.code == 1
    assert "<recipe>" not in result.err
    assert "r.yaml:3:1: the resolved recipe has no key 'destination.tabel'" in result.err
    assert "did you mean 'table'?" in result.err


def test_logs_as_json_lines_with_debug(demo, cli):
    result = cli("--log-format", "json", "run", "r.yaml", "--debug")
    assert result.code == 0
    lines = [json.loads(line) for line in result.err.splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["message"].startswith("stage:") for line in lines)


def test_failures_print_one_message_and_a_traceback_only_with_debug(demo, cli):
    demo.write("data/a.csv", "id,updated_at\n1,not a time\n")
    demo.write(
        "r.yaml",
        RECIPE.replace("updated_at}", "updated_at}\n  options: {all_varchar: true}").replace(
            "destination:",
            "transform:\n  steps: [{type: cast, columns: {updated_at: datetime}}]\ndestination:",
        ),
    )
    quiet = cli("run", "r.yaml")
    assert quiet.code == 3 and quiet.err.count("\n") == 1 and "'not a time'" in quiet.err
    loud = cli("run", "r.yaml", "--debug")
    assert loud.code == 3 and "Traceback" in loud.err


def _hold_lock(path: str, seconds: float, ready) -> None:
    connection = duckdb.connect(path)
    ready.set()
    time.sleep(seconds)
    connection.close()


def test_a_locked_database_is_retried_until_it_is_free(demo, cli):
    duckdb.connect("out.duckdb").close()
    ready = multiprocessing.get_context("spawn").Event()
    holder = multiprocessing.get_context("spawn").Process(
        target=_hold_lock, args=("out.duckdb", 1.5, ready)
    )
    holder.start()
    try:
        assert ready.wait(30)
        result = cli("run", "r.yaml")
    finally:
        holder.join(30)
    assert result.code == 0, result.err
    assert demo.rows("SELECT count(*) FROM main.things") == [(2,)]


def test_the_readme_quick_start_recipe_runs(tmp_path):
    result = run_subprocess(
        "run",
        str(REPO / "recipes" / "customers.yaml"),
        "--var",
        f"db_path={tmp_path}/c.duckdb",
        "--state-dir",
        str(tmp_path / "state"),
        cwd=tmp_path,
    )
    assert result.code == 0, result.err
    assert "rows written  7" in result.out


def test_log_format_json_prints_run_started_and_finished_as_json_lines(demo, cli):
    result = cli("run", "r.yaml", "--log-format", "json")
    assert result.code == 0
    lines = [json.loads(line) for line in result.err.splitlines()]
    events = {line.get("event"): line for line in lines}
    started, finished = events["run_started"], events["run_finished"]
    assert started["recipe"] == "cli_demo" and started["run_id"] == finished["run_id"]
    assert finished["status"] == "success"
    assert finished["rows_read"] == 2 and finished["rows_written"] == 2
    assert isinstance(finished["seconds"], float)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    steps = [line for line in lines if line.get("event") == "step_finished"]
    assert [s["step"] for s in steps] == ["extract", "stage", "write", "commit_state"]
    assert all(s["run_id"] == started["run_id"] and s["seconds"] >= 0 for s in steps)
    assert next(s for s in steps if s["step"] == "write")["rows"] == 2


def test_log_format_json_prints_the_final_error_as_json(demo, cli):
    demo.write("data/a.csv", "id,updated_at\n1,not a time\n")
    demo.write(
        "r.yaml",
        RECIPE.replace("updated_at}", "updated_at}\n  options: {all_varchar: true}").replace(
            "destination:",
            "transform:\n  steps: [{type: cast, columns: {updated_at: datetime}}]\ndestination:",
        ),
    )
    result = cli("--log-format", "json", "run", "r.yaml")
    assert result.code == 3
    lines = [json.loads(line) for line in result.err.splitlines()]
    error = lines[-1]
    assert error["event"] == "error" and error["level"] == "error"
    assert error["exit_code"] == 3 and error["error_class"] == "TransformError"
    assert "'not a time'" in error["message"]
    usage = cli("--log-format", "json", "run")
    assert usage.code == 2
    assert json.loads(usage.err.strip())["exit_code"] == 2


def test_show_state_accepts_a_recipe_path_as_well_as_a_name(demo, cli):
    assert cli("run", "r.yaml").code == 0
    by_name = cli("show-state", "cli_demo")
    by_path = cli("show-state", "r.yaml")
    assert by_name.code == 0 and by_path.code == 0
    assert by_path.out == by_name.out and "2024-01-02" in by_path.out
