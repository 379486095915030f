"""Running a recipe's resources: in dependency order, independent ones at once, each in its own
transaction with its own state; a failure skips its descendants only; `--select`, `--exclude`
and `--fail-fast`; a signal stops the run with what committed kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import Project, run_subprocess


def _recipe(project: Project, resources: list[dict[str, Any]], **top: Any) -> None:
    """Resources reading CSV files into w.duckdb (each into the table named after it)."""
    for resource in resources:
        resource.setdefault("source", {"path": f"data/{resource['name']}.csv"})
        resource.setdefault("destination", {"table": f"main.{resource['name']}"})
    recipe = {
        "name": "shop",
        "defaults": {
            "source": {"type": "csv"},
            "destination": {"type": "duckdb", "database": "w.duckdb", "write_mode": "append"},
        },
        **top,
        "resources": resources,
    }
    project.write("shop.yaml", yaml.safe_dump(recipe, sort_keys=False))


def _tables(project: Project) -> set[str]:
    if not (project.root / "w.duckdb").exists():
        return set()
    rows = project.rows(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'", "w.duckdb"
    )
    return {row[0] for row in rows}


BAD_CAST = {"transform": {"steps": [{"type": "cast", "columns": {"v": "int"}}]}}


@pytest.fixture
def shop(project: Project) -> Project:
    for name in ("customers", "orders", "items", "payments"):
        project.write(f"data/{name}.csv", "id,v,updated_at\n1,a,2024-01-01\n2,b,2024-01-02\n")
    return project


def test_independent_resources_load_at_the_same_time(project: Project, postgres):
    """Four reads of 2.5 s each, parallelism 4: all four are in flight at once. (Long enough
    for DuckDB's own progress bar, which must not print into the JSON on stdout.)"""
    postgres.run(
        f"CREATE VIEW {postgres.namespace}.slow AS "
        "SELECT i AS id FROM generate_series(1, 3) AS i, pg_sleep(2.5)"
    )
    resources = [
        {"name": f"r{i}", "source": postgres.source("slow"), "destination": {"table": f"main.r{i}"}}
        for i in range(4)
    ]
    _recipe(project, resources, runtime={"parallelism": 4})
    result = run_subprocess("run", "shop.yaml", "--format", "json", cwd=project.root)
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert [(r["resource"], r["rows_written"]) for r in summary["resources"]] == [
        (f"r{i}", 3) for i in range(4)
    ]
    started = [datetime.fromisoformat(r["started_at"]) for r in summary["resources"]]
    finished = [datetime.fromisoformat(r["finished_at"]) for r in summary["resources"]]
    assert max(started) < min(finished)  # every load was running while the others were


def test_a_failure_skips_its_descendants_while_independent_branches_finish(shop: Project, cli):
    _recipe(
        shop,
        [
            {"name": "customers", **BAD_CAST},
            {"name": "orders", "depends_on": ["customers"]},
            {"name": "items", "depends_on": ["orders"]},
            {"name": "payments"},
        ],
    )
    result = cli("run", "shop.yaml", "--format", "json")
    assert result.code == 3
    summary = result.json()
    assert summary["status"] == "failed"
    statuses = [(r["resource"], r["status"], r["error"]) for r in summary["resources"]]
    assert statuses[1:] == [  # in the plan's order: level by level
        ("payments", "success", None),
        ("orders", "skipped", "depends on customers, which failed"),
        ("items", "skipped", "depends on orders, which skipped"),
    ]
    assert "does not fit" in summary["resources"][0]["error"]
    assert result.err.startswith("error: resource customers: ")
    assert "skipped orders: depends on customers, which failed" in result.err
    assert _tables(shop) == {"payments"}
    assert shop.state("shop.payments") is not None
    assert shop.state("shop.customers") is None and shop.state("shop.orders") is None


def test_fail_fast_starts_nothing_after_the_first_failure(shop: Project, cli):
    _recipe(
        shop,
        [{"name": "customers", **BAD_CAST}, {"name": "payments"}],
        runtime={"parallelism": 1},
    )
    result = cli("run", "shop.yaml", "--fail-fast", "--format", "json")
    assert result.code == 3
    statuses = [(r["resource"], r["status"], r["error"]) for r in result.json()["resources"]]
    assert statuses[1] == (
        "payments",
        "skipped",
        "the run stopped at the first failure (--fail-fast)",
    )
    assert _tables(shop) == set()


def test_several_failures_are_listed_together(shop: Project, cli):
    _recipe(shop, [{"name": "customers", **BAD_CAST}, {"name": "payments", **BAD_CAST}])
    result = cli("run", "shop.yaml")
    assert result.code == 3
    lines = result.err.splitlines()
    assert lines[0] == "error: 2 of 2 resources failed:"
    assert lines[1].startswith("  customers: transform[0] cast") and "payments: " in result.err


def test_select_and_exclude_load_only_what_they_name(shop: Project, cli):
    _recipe(
        shop,
        [
            {"name": "customers"},
            {"name": "orders", "depends_on": ["customers"]},
            {"name": "items", "depends_on": ["orders"]},
            {"name": "payments", "depends_on": ["customers"]},
        ],
    )
    ran = cli("run", "shop.yaml", "--select", "orders+", "--exclude", "items", "--format", "json")
    assert ran.code == 0, ran.err
    assert [r["resource"] for r in ran.json()["resources"]] == ["orders"]
    assert _tables(shop) == {"orders"}
    assert shop.state("shop.customers") is None and shop.state("shop.items") is None

    both = cli("run", "shop.yaml", "--select", "+items", "--select", "payments", "--format", "json")
    assert [r["resource"] for r in both.json()["resources"]] == [
        "customers",
        "orders",
        "payments",
        "items",
    ]
    before = shop.rows("SELECT count(*) FROM main.orders", "w.duckdb")
    unknown = cli("run", "shop.yaml", "--select", "ordrs+")
    assert unknown.code == 2
    assert "ordrs" in unknown.err and "orders" in unknown.err  # what it is, and a suggestion
    assert shop.rows("SELECT count(*) FROM main.orders", "w.duckdb") == before


def test_each_resource_keeps_its_own_state(shop: Project, cli):
    cursor = {"strategy": "cursor", "cursor_column": "updated_at"}
    _recipe(
        shop,
        [
            {"name": "customers", "source": {"path": "data/customers.csv", "incremental": cursor}},
            {"name": "orders", "source": {"path": "data/orders.csv", "incremental": cursor}},
        ],
    )
    assert cli("run", "shop.yaml").code == 0
    shop.write("data/orders.csv", "id,v,updated_at\n2,b,2024-01-02\n3,c,2024-01-05\n")
    second = cli("run", "shop.yaml", "--format", "json").json()
    assert [(r["resource"], r["rows_written"], r["watermark"]) for r in second["resources"]] == [
        ("customers", 0, "2024-01-02"),
        ("orders", 1, "2024-01-05"),
    ]
    states = shop.rows("SELECT recipe_name FROM recipec._recipec_state ORDER BY 1", "w.duckdb")
    assert states == [("shop.customers",), ("shop.orders",)]
    assert shop.state("shop.orders")["cursor"]["watermark"] == "2024-01-05"
    shown = cli("show-state", "shop.yaml", "--resource", "orders")
    assert shown.code == 0 and json.loads(shown.out)["cursor"]["watermark"] == "2024-01-05"
    missing = cli("show-state", "shop", "--resource", "refunds")
    assert missing.code == 3 and "no saved state for recipe 'shop.refunds'" in missing.err


def test_a_recipe_that_gains_a_second_resource_keeps_the_first_ones_watermark(shop: Project, cli):
    one_load = {
        "name": "shop",
        "source": {
            "type": "csv",
            "path": "data/customers.csv",
            "incremental": {"strategy": "cursor", "cursor_column": "updated_at"},
        },
        "destination": {"type": "duckdb", "database": "w.duckdb", "table": "main.customers"},
    }
    shop.write("shop.yaml", yaml.safe_dump(one_load))
    assert cli("run", "shop.yaml").code == 0
    shop.write("data/customers.csv", "id,v,updated_at\n2,b,2024-01-02\n3,c,2024-01-03\n")
    pipeline = {
        "name": "shop",
        "defaults": {"destination": {"type": "duckdb", "database": "w.duckdb"}},
        "resources": [
            {
                "name": "customers",
                "source": one_load["source"],
                "destination": one_load["destination"],
            },
            {
                "name": "orders",
                "source": {"type": "csv", "path": "data/orders.csv"},
                "destination": {"table": "main.orders"},
            },
        ],
    }
    shop.write("shop.yaml", yaml.safe_dump(pipeline))
    result = cli("run", "shop.yaml", "--format", "json")
    assert result.code == 0, result.err
    customers = result.json()["resources"][0]
    assert (customers["rows_written"], customers["watermark"]) == (1, "2024-01-03")  # only id 3
    assert shop.rows("SELECT id FROM main.customers ORDER BY id", "w.duckdb") == [(1,), (2,), (3,)]
    assert shop.state("shop.customers")["cursor"]["watermark"] == "2024-01-03"


def test_summary_text_lists_every_resource(shop: Project, cli):
    _recipe(shop, [{"name": "customers"}, {"name": "orders", "depends_on": ["customers"]}])
    result = cli("run", "shop.yaml")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("shop: success  2 success  in ")
    assert lines[1] == "  rows read 4, written 4"
    assert "customers: success" in lines and "orders: success" in lines


def test_json_logs_carry_the_run_and_the_resource(shop: Project, cli):
    _recipe(shop, [{"name": "customers"}, {"name": "orders", "depends_on": ["customers"]}])
    result = cli("run", "shop.yaml", "--log-format", "json", "--format", "json")
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.err.splitlines()]
    run_id = result.json()["run_id"]
    assert {e["run_id"] for e in events} == {run_id}
    kinds = [(e["event"], e.get("resource")) for e in events if e["event"] != "step_finished"]
    assert kinds == [
        ("run_started", None),
        ("resource_started", "customers"),
        ("resource_finished", "customers"),
        ("resource_started", "orders"),
        ("resource_finished", "orders"),
        ("run_finished", None),
    ]
    steps = [e for e in events if e["event"] == "step_finished"]
    assert {e["resource"] for e in steps} == {"customers", "orders"}
    assert all("rows" in e and "seconds" in e for e in steps)


# -- signals, against real processes -----------------------------------------------------------


def _start(folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "recipec", "run", "shop.yaml"],
        cwd=folder,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_pipeline_keeping_what_committed_and_the_next_run_resumes(
    shop: Project, postgres, sig, code
):
    """`first` commits, then `slow` (after it) is reading when the signal arrives: it rolls
    back, `first` keeps its data and state, and the next run loads `slow` alone."""
    postgres.run(
        f"CREATE VIEW {postgres.namespace}.slow AS "
        "SELECT i AS id FROM generate_series(1, 3) AS i, pg_sleep(3)"
    )
    cursor = {"strategy": "cursor", "cursor_column": "updated_at"}
    _recipe(
        shop,
        [
            {"name": "first", "source": {"path": "data/customers.csv", "incremental": cursor}},
            {"name": "slow", "depends_on": ["first"], "source": postgres.source("slow")},
        ],
    )
    process = _start(shop.root)
    deadline = time.monotonic() + 60
    while shop.state("shop.first") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # `slow` is reading now
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert "internal error" not in err
    assert err.strip().endswith("main.first committed before it"), err
    assert _tables(shop) == {"first"}
    assert shop.state("shop.slow") is None

    again = _start(shop.root)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "slow: success" in out and "rows written  3" in out
    assert shop.rows("SELECT count(*) FROM main.first", "w.duckdb") == [(2,)]  # not twice
    assert shop.rows("SELECT count(*) FROM main.slow", "w.duckdb") == [(3,)]
