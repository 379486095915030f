"""dbt after the load: dbt-core's Python runner (`dbtRunner`), not a shell-out, against the
database the load wrote, with the project's profiles or one written for the destination."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipec.compiler.plan import DbtStep
from recipec.errors import DataLoaderError
from recipec.registry import require

_INVOKING = threading.Lock()

PROFILE_TARGET = "recipec"
"""The target of the profile recipec writes."""
PASSWORD_VARIABLE = "RECIPEC_DBT_PASSWORD"
"""Where the profile recipec writes reads the destination's password, while dbt runs."""


class DbtError(DataLoaderError):
    """dbt failed after the load committed: a model or test, or dbt itself."""


@dataclass(frozen=True)
class DbtNode:
    """One node dbt ran: a model, a test, a seed or a snapshot."""

    name: str
    resource_type: str
    status: str
    seconds: float
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("error", "fail", "runtime error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resource_type": self.resource_type,
            "status": self.status,
            "seconds": self.seconds,
            "message": self.message,
        }


def run_dbt(step: DbtStep, destination: dict[str, Any], folder: Path) -> list[DbtNode]:
    """Run `step`; a profile it needs is written in `folder` (the run's scratch folder), with
    the destination's resolved secrets. Raises `DbtError` naming what failed."""
    require("dbt.cli.main", extra="dbt", feature="dbt after the load")
    from dbt.cli.main import dbtRunner

    args = step.arguments
    if step.profile is not None:
        args += ["--profiles-dir", str(_write_profile(step, folder))]
        args += ["--target", PROFILE_TARGET]
    args += ["--no-use-colors", "--no-send-anonymous-usage-stats", "--quiet"]
    password = destination.get("password") or ""
    os.environ[PASSWORD_VARIABLE] = password  # the profile reads it: no file holds it
    try:
        with _INVOKING:  # dbt's runner keeps process-wide state: one invocation at a time
            outcome = dbtRunner().invoke(args)
    finally:
        os.environ.pop(PASSWORD_VARIABLE, None)
        _release_duckdb()
    nodes = [_node(result) for result in getattr(outcome.result, "results", None) or []]
    failed = [node for node in nodes if node.failed]
    if failed or not outcome.success:
        what = "; ".join(
            f"{node.resource_type} {node.name} {node.status}: {node.message}" for node in failed
        ) or str(outcome.exception or "dbt reported a failure")
        raise DbtError(f"dbt {step.command} failed after the load committed: {what}")
    return nodes


def check_connection(step: DbtStep) -> None:
    """Before anything is loaded: the project's own profile reaches its database (`dbt debug
    --connection`), so a profile that cannot connect fails the run with nothing written. (The
    profile recipec writes reaches the destination the load itself opens.)"""
    if step.profile is not None:
        return
    require("dbt.cli.main", extra="dbt", feature="dbt after the load")
    from dbt.cli.main import dbtRunner

    args = ["debug", "--connection", "--project-dir", step.project_dir]
    if step.profiles_dir:
        args += ["--profiles-dir", step.profiles_dir]
    if step.target:
        args += ["--target", step.target]
    said: list[str] = []
    runner = dbtRunner(callbacks=[lambda event: said.append(_debug_result(event))])
    with _INVOKING:
        outcome = runner.invoke([*args, "--no-send-anonymous-usage-stats", "--quiet"])
        _release_duckdb()
    if not outcome.success:
        where = f"{step.profiles_dir}/profiles.yml" if step.profiles_dir else "the profile"
        where += f", target {step.target}" if step.target else ""
        why = next((text for text in said if text), "`dbt debug` in the project tells why")
        raise DbtError(f"dbt cannot connect with {where}, so nothing was loaded: {why}")


def _debug_result(event: Any) -> str:
    """The database's error in a `dbt debug` result event ("" for any other event)."""
    message = str(event.info.msg) if event.info.name == "DebugCmdResult" else ""
    _, found, error = message.partition("returned the following error:")
    lines = [line.strip().lstrip(">").strip() for line in error.splitlines()] if found else []
    return " ".join(line for line in lines if line)


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open for the life of the process: close it, so that the
    next load (or a reader) in this process can open the file again."""
    import sys

    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    manager = getattr(connections, "DuckDBConnectionManager", None)
    environment = getattr(manager, "_ENV", None)
    if manager is not None and environment is not None:
        environment.close()
        manager._ENV = None


def _write_profile(step: DbtStep, folder: Path) -> Path:
    """profiles.yml with the project's profile reaching the destination."""
    import yaml

    assert step.profile is not None
    project = yaml.safe_load((Path(step.project_dir) / "dbt_project.yml").read_text()) or {}
    output = dict(step.profile, threads=1)
    if output["type"] == "duckdb":
        output["path"] = os.path.abspath(output["path"])
    if "password" in output:  # the plan holds `***`; dbt reads the resolved one at run time
        output["password"] = "{{ env_var('" + PASSWORD_VARIABLE + "') }}"
    name = str(project.get("profile", "default"))
    profile = {name: {"target": PROFILE_TARGET, "outputs": {PROFILE_TARGET: output}}}
    directory = folder / "dbt_profile"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "profiles.yml").write_text(json.dumps(profile))  # JSON is YAML
    return directory


def _node(result: Any) -> DbtNode:
    node = result.node
    status = str(getattr(result.status, "value", result.status))
    return DbtNode(
        name=str(node.name),
        resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
        status=status,
        seconds=round(float(result.execution_time or 0.0), 3),
        message=str(result.message) if result.message else None,
    )
