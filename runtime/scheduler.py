"""Run a plan's units: each once the units it depends on have committed, up to
`runtime.parallelism` at once, each in its own transaction.

The units run in worker threads (DuckDB and the database drivers release the GIL while they
work); the main thread only schedules, and handles SIGINT and SIGTERM: it interrupts the units
in flight, which roll back, and reports which units committed before.

A failed unit marks its descendants skipped (with the reason) while independent branches go on;
`fail_fast` starts no new unit after the first failure.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

from recipec import redaction
from recipec._version import __version__
from recipec.compiler.plan import DbtStep, Plan
from recipec.errors import DataLoaderError, RecipeError, RunFailed
from recipec.registry import import_plugins
from recipec.runtime import engine, interrupts, scratch
from recipec.runtime.executor import (
    DbtExecutor,
    ResourceSummary,
    RunContext,
    RunSummary,
    UnitExecutor,
)
from recipec.runtime.progress import Progress
from recipec.runtime.state import StateBackend

log = logging.getLogger("recipec.runtime")

DEFAULT_PARALLELISM = 4
"""Units at once when the recipe does not say: loads mostly wait on I/O."""
FINISHED = ("success", "up_to_date")


def run_plan(
    plan: Plan,
    backend: StateBackend,
    *,
    vars: dict[str, Any] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
    refuse_stale: bool = False,
    selected: Collection[str] | None = None,
    fail_fast: bool = False,
) -> RunSummary:
    """Run the plan's units (those `selected`, all without). Raises the failure of a unit (or
    `RunFailed` naming each, when several failed), with the run's summary as `.summary`."""
    if refuse_stale:
        from recipec.compiler.tools.staleness import check_files

        check_files(plan)
    _import_plugins(plan)
    tasks = [
        _Task(u.name, u.depends_on, u.write.table, functools.partial(UnitExecutor, u))
        for u in plan.units
        if selected is None or u.name in selected
    ]
    units = [t.name for t in tasks]
    dbt = plan.dbt
    if dbt is not None and (selected is None or set(dbt.depends_on) & set(selected)):
        _check_dbt_connection(dbt.step)
        tasks.append(_Task("dbt", dbt.depends_on, "", functools.partial(DbtExecutor, dbt)))
    summary = RunSummary(
        recipe=plan.name,
        status="success",
        run_id=uuid.uuid4().hex,
        plan_fingerprint=plan.fingerprint,
        recipec_version=__version__,
    )
    _event("run started", "run_started", summary, resources=units)
    began = time.perf_counter()
    scheduler: _Scheduler | None = None
    failures: list[tuple[str, BaseException]] = []
    folder = scratch.RunFolder()
    try:  # from here on, a signal or a failure still removes the run's folder
        runtime = plan.runtime
        shared = engine.Engine(
            threads=runtime.get("threads"),
            memory_limit=runtime.get("memory_limit"),
            preserve_order=bool(runtime.get("preserve_order")),
            temp_directory=str(folder.path / "duckdb"),
        )
        try:
            context = RunContext(
                plan=plan,
                backend=backend,
                engine=shared,
                scratch=folder,
                run_id=summary.run_id,
                vars=dict(vars or {}),
                full_refresh=full_refresh,
                refuse_stale=refuse_stale,
                progress=progress or Progress(enabled=False),
            )
            scheduler = _Scheduler(tasks, context, fail_fast)
            failures = scheduler.run()
        finally:
            shared.close()
    finally:
        folder.close()
        if scheduler is not None:
            _finish(summary, scheduler, units, began)
    if failures:
        order = [*units, "dbt"]
        raise _run_error(sorted(failures, key=lambda f: order.index(f[0])), summary)
    return summary


def _finish(summary: RunSummary, scheduler: _Scheduler, units: list[str], began: float) -> None:
    """The summary of what the units did, and the run's last event."""
    summary.resources = [scheduler.results[name] for name in units if name in scheduler.results]
    summary.dbt = scheduler.results.get("dbt")
    summary.rows_read = sum(r.rows_read for r in summary.resources)
    summary.rows_written = sum(r.rows_written for r in summary.resources)
    summary.duration_seconds = round(time.perf_counter() - began, 4)
    every = [*summary.resources, *([summary.dbt] if summary.dbt else [])]
    summary.status = scheduler.stopped or _status(every)
    _event(
        "run finished",
        "run_finished",
        summary,
        status=summary.status,
        rows_read=summary.rows_read,
        rows_written=summary.rows_written,
        seconds=summary.duration_seconds,
    )


def _check_dbt_connection(step: DbtStep) -> None:
    from recipec.runtime.dbt import check_connection

    check_connection(step)


class _Executor(Protocol):
    name: str
    committed: list[str]
    stopping: bool

    def run(self) -> ResourceSummary: ...

    def interrupt(self) -> None: ...


@dataclass(frozen=True)
class _Task:
    """What the scheduler runs: a unit, or the dbt node."""

    name: str
    depends_on: list[str]
    table: str
    executor: Callable[[RunContext], _Executor]


def _status(resources: list[ResourceSummary]) -> str:
    if any(r.status not in FINISHED for r in resources):
        return "failed"
    if resources and all(r.status == "up_to_date" for r in resources):
        return "up_to_date"
    return "success"


def _import_plugins(plan: Plan) -> None:
    """Before any unit starts: importing is not for worker threads to race over."""
    try:
        import_plugins(plan.plugins, search_paths=[*plan.plugin_paths, "."])
    except ImportError as exc:
        raise RecipeError(
            f"cannot import plug-in module of the plan: {exc} (plug-ins are imported from "
            f"{', '.join([*plan.plugin_paths, '.'])} and the installed packages)"
        ) from None


class _Scheduler:
    def __init__(self, tasks: list[_Task], context: RunContext, fail_fast: bool) -> None:
        self.tasks = tasks
        self.names = {t.name for t in tasks}
        """A dependency not among them (not selected) counts as loaded."""
        self.context = context
        self.fail_fast = fail_fast
        self.results: dict[str, ResourceSummary] = {}
        self.failures: list[tuple[str, BaseException]] = []
        self.running: dict[concurrent.futures.Future[ResourceSummary], tuple[_Task, _Executor]] = {}
        self.committed: list[str] = []
        """What the units committed, in the order they did, for an interruption's message."""
        self.stopped: str | None = None
        """`interrupted` once a signal stopped the run."""
        runtime = context.plan.runtime
        self.parallelism = max(1, int(runtime.get("parallelism") or DEFAULT_PARALLELISM))

    def run(self) -> list[tuple[str, BaseException]]:
        pending = list(self.tasks)
        with (
            interrupts.interruptible() as interruptions,
            concurrent.futures.ThreadPoolExecutor(self.parallelism) as pool,
        ):
            try:
                while pending or self.running:
                    pending = self._start_ready(pending, pool)
                    self._wait()
            except KeyboardInterrupt:
                self._interrupt(pending, interruptions)
        return self.failures

    def _start_ready(
        self, pending: list[_Task], pool: concurrent.futures.ThreadPoolExecutor
    ) -> list[_Task]:
        waiting = []
        for unit in pending:
            blocked = [d for d in unit.depends_on if d in self.results and self._failed(d)]
            if blocked or (self.fail_fast and self.failures):
                reason = (
                    f"depends on {blocked[0]}, which {self.results[blocked[0]].status}"
                    if blocked
                    else "the run stopped at the first failure (--fail-fast)"
                )
                self._skip(unit, reason)
                continue
            ready = all(d in self.results or d not in self.names for d in unit.depends_on)
            if not ready or len(self.running) >= self.parallelism:
                waiting.append(unit)
                continue
            executor = unit.executor(self.context)
            self.running[pool.submit(executor.run)] = (unit, executor)
        return waiting

    def _failed(self, name: str) -> bool:
        return self.results[name].status not in FINISHED

    def _wait(self) -> None:
        if not self.running:
            return
        done, _ = concurrent.futures.wait(
            self.running, timeout=0.2, return_when=concurrent.futures.FIRST_COMPLETED
        )
        for future in done:
            unit, executor = self.running.pop(future)
            self._finished(unit, executor, future)

    def _finished(
        self,
        unit: _Task,
        executor: _Executor,
        future: concurrent.futures.Future[ResourceSummary],
    ) -> None:
        self.committed += executor.committed
        failure = future.exception()
        if failure is None:
            result = future.result()
        else:
            result = getattr(executor, "summary", None) or ResourceSummary(
                resource=unit.name, status="failed", table=unit.table
            )
            result.status = "interrupted" if executor.stopping else "failed"
            result.error = redaction.redact(str(getattr(failure, "message", failure)))
            if not executor.stopping:
                self.failures.append((unit.name, failure))
        self.results[unit.name] = result
        _event(
            "resource finished",
            "resource_finished",
            self.context,
            resource=unit.name,
            status=result.status,
            rows_read=result.rows_read,
            rows_written=result.rows_written,
            seconds=result.duration_seconds,
            **({"error": result.error} if result.error else {}),
        )

    def _skip(self, unit: _Task, reason: str) -> None:
        self.results[unit.name] = ResourceSummary(
            resource=unit.name, status="skipped", table=unit.table, error=reason
        )
        _event(
            "resource skipped", "resource_skipped", self.context, resource=unit.name, reason=reason
        )

    def _interrupt(self, pending: list[_Task], interruptions: interrupts.Interruptions) -> None:
        """Roll back the units in flight; what committed stays. Raises `Interrupted`."""
        self.stopped = "interrupted"
        for _, executor in self.running.values():
            executor.interrupt()
        while self.running:
            try:
                self._wait()
            except KeyboardInterrupt:  # a second Ctrl-C: still let them roll back
                continue
        for unit in pending:
            self._skip(unit, "the run was interrupted before it started")
        error = interruptions.error(KeyboardInterrupt(), self.committed)
        assert error is not None
        raise error


def _run_error(failures: list[tuple[str, BaseException]], summary: RunSummary) -> BaseException:
    """The run's error: the one failure (named by its resource when the plan has several, and
    then exit code 3 whatever its kind, as other resources may have committed), or one listing
    each; either way carrying the summary, and redacted."""
    several = len(summary.resources) > 1
    nodes = [*summary.resources, *([summary.dbt] if summary.dbt else [])]
    skipped = [r for r in nodes if r.status == "skipped"]
    tail = "".join(f"\n  skipped {r.resource}: {r.error}" for r in skipped)
    if len(failures) == 1:
        name, failure = failures[0]
        if not isinstance(failure, DataLoaderError):
            return failure  # not ours: a bug, with its traceback
        if isinstance(failure, RecipeError) and (several or tail):  # rendered from its problems
            *problems, last = failure.problems
            named = [
                dataclasses.replace(p, message=f"resource {name}: {p.message}") for p in problems
            ]
            last = dataclasses.replace(last, message=f"resource {name}: {last.message}{tail}")
            failure = RecipeError([*named, last])
        elif several or tail:
            failure.message = f"resource {name}: {failure.message}{tail}"
        if several or tail:
            failure.exit_code = RunFailed.exit_code  # a resource failed: whatever its kind
        failure.message = redaction.redact(failure.message)
        failure.args = (failure.message,)
        failure.summary = summary
        return failure
    lines = [f"{len(failures)} of {len(summary.resources)} resources failed:"]
    for name, failure in failures:
        message = getattr(failure, "message", None) or f"{type(failure).__name__}: {failure}"
        lines.append(f"  {name}: " + message.replace("\n", "\n    "))
    error = RunFailed(redaction.redact("\n".join(lines) + tail))
    error.summary = summary
    return error


def _event(message: str, event: str, where: RunSummary | RunContext, **fields: Any) -> None:
    recipe = where.recipe if isinstance(where, RunSummary) else where.plan.name
    log.info(
        message,
        extra={"fields": {"event": event, "run_id": where.run_id, "recipe": recipe, **fields}},
    )
