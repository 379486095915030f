"""Execute one unit of a plan: one visitor method per step, all data work in one transaction.

    prepare (files, secrets) -> connect -> load state -> BEGIN
      -> extract -> transform -> stage -> write -> commit_state (state row, COMMIT)
      -> save the state backend's copy -> dbt (if the unit asks for it)

A failure before COMMIT rolls everything back: the destination table and the saved state are as
they were. A crash after COMMIT but before the backend is saved is repaired by the next run,
which trusts the state in the destination. `scheduler` runs a plan's units.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import glob
import itertools
import logging
import os
import queue
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from recipec import duckdb_connection, redaction
from recipec._version import __version__
from recipec.batch import to_arrow
from recipec.compiler.plan import (
    BATCHES,
    CommitStateStep,
    DbtNode,
    DbtStep,
    ExtractStep,
    Plan,
    StageStep,
    TransformStep,
    Unit,
    WriteStep,
    table_expression,
)
from recipec.errors import (
    ConnectorError,
    DataLoaderError,
    EngineError,
    RecipeError,
    StateError,
    TransformError,
    TransientError,
)
from recipec.registry import (
    get_source,
)
from recipec.runtime import (
    binding,
    databases,
    destinations,
    diagnose,
    engine,
    scratch,
    source_types,
)
from recipec.runtime.progress import Progress, TaskDisplay
from recipec.runtime.protocols import ReadContext
from recipec.runtime.python_steps import run_python_steps
from recipec.runtime.secrets import resolve_secrets, transform_parameters
from recipec.runtime.state import CursorState, FileState, State, StateBackend, StateMetadata

log = logging.getLogger("recipec.runtime")
STAGE = '"_recipec_stage"'


@dataclass
class StepTiming:
    step: str
    seconds: float
    rows: int | None = None


@dataclass
class ResourceSummary:
    """What a run did with one resource (one unit of the plan)."""

    resource: str
    status: str
    """`success`, `up_to_date` (nothing new to load), `failed`, `skipped` (a dependency
    failed, or the run stopped first) or `interrupted`."""
    table: str
    rows_read: int = 0
    rows_written: int = 0
    bytes_read: int | None = None
    """The size of the local files read; unknown (None) for other sources."""
    duration_seconds: float = 0.0
    watermark: str | None = None
    full_refresh: bool = False
    files_loaded: list[str] = field(default_factory=list)
    windows: int = 1
    """Backfill windows committed (each in its own transaction)."""
    steps: list[StepTiming] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dbt: list[dict[str, Any]] = field(default_factory=list)
    """What dbt ran after the load: each model's and test's name, type, status, seconds."""
    error: str | None = None
    """Why it failed, or why it was skipped."""
    started_at: str | None = None
    finished_at: str | None = None


@dataclass
class RunSummary:
    """What a run did; returned by the API, printed by the CLI."""

    recipe: str
    status: str
    """`success` (every resource loaded, or had nothing new: `up_to_date`), `failed` or
    `interrupted`."""
    run_id: str
    plan_fingerprint: str
    recipec_version: str
    resources: list[ResourceSummary] = field(default_factory=list)
    """In the plan's order."""
    dbt: ResourceSummary | None = None
    """The plan's dbt node, after the resources (`dbt` lists what dbt ran)."""
    rows_read: int = 0
    rows_written: int = 0
    duration_seconds: float = 0.0

    def resource(self, name: str) -> ResourceSummary:
        return next(r for r in self.resources if r.resource == name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _combined(summaries: list[ResourceSummary]) -> ResourceSummary:
    """One summary for a load made of backfill windows."""
    last = summaries[-1]
    total = ResourceSummary(
        resource=last.resource,
        status="success" if any(s.status == "success" for s in summaries) else last.status,
        table=last.table,
        rows_read=sum(s.rows_read for s in summaries),
        rows_written=sum(s.rows_written for s in summaries),
        duration_seconds=round(sum(s.duration_seconds for s in summaries), 4),
        watermark=next((s.watermark for s in reversed(summaries) if s.watermark), None),
        full_refresh=last.full_refresh,
        windows=len(summaries),
        started_at=summaries[0].started_at,
    )
    for summary in summaries:
        total.steps.extend(summary.steps)
        total.notes.extend(summary.notes)
    return total


@dataclass
class RunContext:
    """What every unit of one run shares: the engine, the state, the options."""

    plan: Plan
    backend: StateBackend
    engine: engine.Engine
    scratch: scratch.RunFolder
    run_id: str
    vars: dict[str, Any] = field(default_factory=dict)
    """The vars the plan's secrets read (a plan keeps only their names)."""
    full_refresh: bool = False
    refuse_stale: bool = False
    """A saved plan: refuse it when its recipe files or destination table changed since."""
    progress: Progress = field(default_factory=lambda: Progress(enabled=False))


_CRASH_COUNTS: dict[str, int] = {}


def _crash_point(name: str) -> None:
    """Let the crash-consistency tests kill the process at a named point: RECIPEC_CRASH_AT=NAME,
    or NAME:N for the N-th time the run passes it."""
    wanted, _, nth = os.environ.get("RECIPEC_CRASH_AT", "").partition(":")
    if wanted != name:
        return
    _CRASH_COUNTS[name] = _CRASH_COUNTS.get(name, 0) + 1
    if _CRASH_COUNTS[name] >= int(nth or 1):
        os._exit(70)


def engine_file(unit: Unit) -> str | None:
    """The DuckDB file a unit's engine connection works in: a DuckDB destination's."""
    write = unit.write
    return write.database if write.in_engine else None


def run_dbt_after(
    step: DbtStep, unit: Unit, context: RunContext
) -> tuple[list[dict[str, Any]], float]:
    """dbt against the database `unit` loaded, once its load committed: what dbt ran, and the
    seconds it took. A DuckDB file is dbt's alone meanwhile (DuckDB opens a file once per
    process), so units writing to it wait."""
    from recipec.runtime.dbt import run_dbt

    _, destination = resolve_secrets(context.plan, unit, context.vars)
    began = time.perf_counter()
    file = engine_file(unit)
    with context.engine.released(file) if file else contextlib.nullcontext():
        nodes = run_dbt(step, destination, context.scratch.path)
    return [node.to_dict() for node in nodes], round(time.perf_counter() - began, 4)


class DbtExecutor:
    """Runs a plan's dbt node, once the units it depends on committed."""

    def __init__(self, node: DbtNode, context: RunContext) -> None:
        self.node = node
        self.context = context
        self.committed: list[str] = []
        self.stopping = False

    @property
    def name(self) -> str:
        return "dbt"

    def interrupt(self) -> None:
        """dbt's runner cannot be cancelled from another thread: it finishes its invocation
        (each model commits on its own), and the run stops after it."""
        self.stopping = True

    def run(self) -> ResourceSummary:
        step = self.node.step
        started = datetime.now(timezone.utc).isoformat()
        nodes, seconds = run_dbt_after(
            step, self.context.plan.unit(self.node.profile_of), self.context
        )
        self.committed.append(f"dbt {step.command}")
        return ResourceSummary(
            resource=self.name,
            status="success",
            table="",
            duration_seconds=seconds,
            steps=[StepTiming("dbt", seconds, len(nodes))],
            dbt=nodes,
            started_at=started,
            finished_at=datetime.now(timezone.utc).isoformat(),
        )


class UnitExecutor:
    """Runs one unit of a plan once (retrying transient failures per `runtime.retries`)."""

    def __init__(self, unit: Unit, context: RunContext) -> None:
        self.unit = unit
        self.context = context
        self.plan = context.plan
        self.backend = context.backend
        self.vars = context.vars
        self.full_refresh = context.full_refresh
        self.refuse_stale = context.refuse_stale
        self.progress: TaskDisplay = (  # concurrent units: each task says whose it is
            context.progress.named(unit.name) if len(context.plan.units) > 1 else context.progress
        )
        self.scratch = context.scratch
        self.window: tuple[str, str] | None = None
        """The backfill window this attempt reads, if any."""
        self.committed: list[str] = []
        """What this unit has committed so far (a table, or backfill windows), for messages."""
        self.live: duckdb.DuckDBPyConnection | None = None
        """The engine connection while an attempt runs (what `interrupt` interrupts)."""
        self.stopping = False

    @property
    def name(self) -> str:
        return self.unit.name

    def interrupt(self) -> None:
        """Stop the run (from another thread): cancel the statement in flight; what is not
        committed rolls back."""
        self.stopping = True
        connection = self.live
        if connection is not None:
            with contextlib.suppress(duckdb.Error):
                connection.interrupt()
        session = getattr(self, "session", None)
        if session is not None:
            session.cancel()

    def run(self) -> ResourceSummary:
        import tenacity

        retries = int(self.unit.runtime.get("retries", 0))
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(retries + 1),
            wait=tenacity.wait_exponential(multiplier=0.5, max=10) + tenacity.wait_random(0, 0.5),
            retry=tenacity.retry_if_exception_type(TransientError),
            before_sleep=self._log_retry,
            reraise=True,
        )
        self._log_event("resource started", "resource_started")
        if self.unit.dbt is not None:  # a profile that cannot connect: load nothing
            from recipec.runtime.dbt import check_connection

            check_connection(self.unit.dbt)
        summary = self._run_windows(retrying)
        if self.unit.dbt is not None:
            self._run_dbt(self.unit.dbt, summary)
        return summary

    @property
    def _engine_file(self) -> str | None:
        return engine_file(self.unit)

    def _run_dbt(self, step: DbtStep, summary: ResourceSummary) -> None:
        nodes, seconds = run_dbt_after(step, self.unit, self.context)
        summary.dbt = nodes
        summary.steps.append(StepTiming("dbt", seconds, len(nodes)))
        summary.duration_seconds = round(summary.duration_seconds + seconds, 4)
        self._log_event(
            "step finished", "step_finished", step="dbt", rows=len(nodes), seconds=seconds
        )

    def _run_windows(self, retrying: Any) -> ResourceSummary:
        windows = self._backfill_windows()
        if not windows:
            return retrying(self._attempt)  # type: ignore[no-any-return]
        summaries = []
        rebuild = self.full_refresh
        for window in windows:  # each window commits on its own: a failure resumes here
            self.window = window
            summaries.append(retrying(self._attempt))
            self.full_refresh = False  # --full-refresh rebuilds with the first window only
        self.full_refresh = rebuild
        return _combined(summaries)

    def _backfill_windows(self) -> list[tuple[str, str]]:
        """[start, end) windows of `backfill.step` from `initial_value` to `end_value`."""
        spec = self.unit.extract.incremental
        if spec is None or not spec.backfill_step:
            return []
        with duckdb_connection.connect() as scratch:
            scratch.execute("SET TimeZone = 'UTC'")
            bounds = [
                str(row[0])
                for row in scratch.execute(
                    "SELECT CAST(unnest(generate_series(CAST($start AS TIMESTAMPTZ), "
                    "CAST($end AS TIMESTAMPTZ), CAST($step AS INTERVAL))) AS VARCHAR)",
                    {
                        "start": spec.initial_value,
                        "end": spec.end_value,
                        "step": spec.backfill_step,
                    },
                ).fetchall()
            ]
            end_row = scratch.execute(
                "SELECT CAST(CAST($end AS TIMESTAMPTZ) AS VARCHAR)", {"end": spec.end_value}
            ).fetchone()
        end = str(end_row[0]) if end_row else str(spec.end_value)
        if not bounds or bounds[-1] != end:
            bounds.append(end)
        return list(itertools.pairwise(bounds))

    # -- one attempt --------------------------------------------------------------------------

    def _attempt(self) -> ResourceSummary:
        self.started = time.perf_counter()
        self.summary = ResourceSummary(
            resource=self.unit.name,
            status="success",
            table=self.unit.write.table,
            full_refresh=self.full_refresh,
            started_at=datetime.now(timezone.utc).isoformat(),
        )
        self.values: dict[str, Any] = {"run_at": datetime.now(timezone.utc).isoformat()}
        self.next_state: State | None = None
        self.stage_statement: str | None = None
        self.streamed_query: binding.StreamedQuery | None = None
        """Set when the batch streams straight into a new table instead of being staged."""
        self.read_from_batches = False
        self.driver_types: list[tuple[str, str]] = []
        """The DuckDB types of the driver's columns (from the result's description)."""
        self.source_attached = False
        self.stage_rows = 0
        self.nothing_to_load = False
        self.held = contextlib.ExitStack()
        """Locks held until the attempt ends."""
        self.extract_config, self.write_config = resolve_secrets(self.plan, self.unit, self.vars)
        self.current_files: dict[str, os.stat_result] = {}
        parameters = transform_parameters(self.plan, self.unit, self.vars)
        self._prepare_files(self.unit.extract)

        write = self.unit.write
        holds_state = self.unit.commit.in_destination
        self.connection = self.context.engine.connect(self._engine_file)
        self.live = self.connection
        for name, value in parameters.items():  # read by the SQL as getvariable(name)
            self.connection.execute(f"SET VARIABLE {name} = $value", {"value": value})
        try:
            self.session = self._open_session(write)
        except BaseException:
            self.context.engine.disconnect(self.connection)
            raise
        try:
            if self.refuse_stale:
                self._refuse_stale_table()
            if not holds_state:  # the backend is the only copy: hold it for the run
                self.held.enter_context(self.backend.lock(self.unit.state_key))
            with self.context.engine.setup_lock:  # what units share, created one at a time
                self.session.prepare(write, self.unit.commit)
            self.previous = self._load_state(holds_state)
            self._bind_incremental(self.unit.extract)
            self._check_schema_lock(self.unit.extract)
            self._open_database_source(self.unit.extract)
            self.connection.execute("BEGIN TRANSACTION")
            for step in self.unit.steps:
                if self.stopping:
                    raise KeyboardInterrupt  # the run was interrupted: roll back
                if isinstance(step, DbtStep):
                    continue  # after the commit (see `_run_dbt`)
                if self.nothing_to_load and not isinstance(step, CommitStateStep):
                    continue
                began = time.perf_counter()
                rows = getattr(self, f"visit_{step.kind}", self._unexpected)(step)
                timing = StepTiming(
                    self._step_label(step), round(time.perf_counter() - began, 4), rows
                )
                self.summary.steps.append(timing)
                self._log_event(
                    "step finished",
                    "step_finished",
                    step=timing.step,
                    rows=rows,
                    seconds=timing.seconds,
                )
        except duckdb.ConversionException as exc:
            self.session.rollback()
            failure: BaseException = self._cast_failure(exc)
            self._record_failure(failure)
            raise failure from None
        except duckdb.Error as exc:
            self.session.rollback()
            failure = engine.translate(exc, doing="the run failed", recipe=self.plan.name)
            self._record_failure(failure)
            raise failure from None
        except BaseException as exc:
            self.session.rollback()
            self._record_failure(exc)
            raise
        finally:
            self.session.close()
            self.context.engine.disconnect(self.connection)
            self.live = None
            self.held.close()
        self.summary.duration_seconds = round(time.perf_counter() - self.started, 4)
        self.summary.finished_at = datetime.now(timezone.utc).isoformat()
        return self.summary

    def _run_values(self, status: str, error: str | None) -> dict[str, Any]:
        """The attempt's row in `_recipec_runs`."""
        state = self.next_state
        return {
            "run_id": self.context.run_id,
            "recipe_name": self.unit.state_key,
            "resource": self.unit.name,
            "status": status,
            "plan_fingerprint": self.context.plan.fingerprint,
            "recipec_version": __version__,
            "table_name": self.unit.write.table,
            "write_mode": "overwrite" if self.full_refresh else self.unit.write.write_mode,
            "rows_read": self.summary.rows_read,
            "rows_written": self.summary.rows_written,
            "bytes_read": self.summary.bytes_read,
            "watermark": state.cursor.watermark if state and state.cursor else None,
            "error": error,
            "started_at": self.summary.started_at,
        }

    def _record_failure(self, failure: BaseException) -> None:
        """Best effort, after the rollback: a destination that cannot be written to now is
        often why the attempt failed."""
        step = self.unit.commit
        if not step.in_destination or step.run_record_sql is None:
            return
        interrupted = self.stopping or isinstance(failure, KeyboardInterrupt)
        error = redaction.redact(str(getattr(failure, "message", None) or failure))
        status = "interrupted" if interrupted else "failed"
        try:
            self.session.record_run(step, self._run_values(status, error or type(failure).__name__))
        except Exception as exc:
            log.debug("could not record the failed attempt in _recipec_runs: %s", exc)

    def _event(self, event: str, **fields: Any) -> dict[str, Any]:
        """A structured event's fields (a JSON line with --log-format json): the run's id too."""
        return {
            "event": event,
            "run_id": self.context.run_id,
            "recipe": self.plan.name,
            "resource": self.unit.name,
            **fields,
        }

    def _log_event(self, message: str, event: str, **fields: Any) -> None:
        log.info(message, extra={"fields": self._event(event, **fields)})

    def _log_retry(self, state: Any) -> None:
        error = redaction.redact(str(state.outcome.exception() if state.outcome else ""))
        log.warning(
            "retrying after a transient failure (attempt %d): %s",
            state.attempt_number,
            error,
            extra={"fields": self._event("retry", attempt=state.attempt_number)},
        )

    def _cast_failure(self, exc: duckdb.ConversionException) -> TransformError:
        """Name the step, column, value and file row that did not fit (the stage is a view
        when streaming, so this can surface while writing)."""
        detail = self.stage_statement and diagnose.explain_cast_failure(
            self.connection, self.unit, self.stage_statement, self.values
        )
        return TransformError(
            detail or f"a value does not fit its column: {engine.first_line(exc)}",
            recipe=self.plan.name,
        )

    def _open_session(self, write: WriteStep) -> destinations.DestinationSession:
        inputs = destinations.SessionInputs(
            engine=self.connection,
            progress=self.progress,
            config=self.write_config,
            scratch=self.scratch,
            recipe=self.plan.name,
            batch_size=int(self.unit.runtime.get("batch_size", 50_000)),
        )
        return destinations.session_for(write)(inputs)

    def _refuse_stale_table(self) -> None:
        """Refuse a saved plan when the destination table lacks a column the plan writes, or
        holds it with another type (extra columns are fine). Not when the run replaces it."""
        from recipec.compiler.tools.staleness import check_table, table_mismatches

        write, expected = self.unit.write, self.unit.output_schema
        if expected is None or self.full_refresh or write.write_mode == "overwrite":
            return
        target = table_expression(write.table)
        zones = [name for step in self.unit.transforms for name in step.zone_sensitive]
        found = self.session.table_columns(target, expected)
        if found is None:
            return  # a plug-in destination: its tables are its own business
        if found.actual:  # a missing table is created by the run
            problems = table_mismatches(found.written, found.actual, found.dialect, zones)
            check_table(write.table, problems, f" in {found.where or write.database}")

    def _unexpected(self, step: Any) -> None:
        raise EngineError(f"unexpected plan step {step.kind!r}: this recipec cannot run it")

    @staticmethod
    def _step_label(step: Any) -> str:
        return (
            f"transform[{step.index}] {step.type}" if isinstance(step, TransformStep) else step.kind
        )

    # -- state ---------------------------------------------------------------------------------

    def _load_state(self, holds_state: bool) -> State | None:
        """The state the unit continues from (none with --full-refresh). A recipe that gained
        resources: the resource writing the table its one load wrote continues from that
        load's state. Sets `previous_version`: the version of the unit's own key it read,
        which its commit swaps."""
        self.state_read_from = self.unit.state_key
        state = self._stored_state(self.unit.state_key, holds_state)
        former = self.unit.former_state_key
        earlier = None
        if state is None and former is not None and not self.full_refresh:
            earlier = self._stored_state(former, holds_state, quiet=True)
            # Reading another key ended the transaction that held this unit's state lock: take
            # it again, and with it what a concurrent run may have committed meanwhile.
            state = self._stored_state(self.unit.state_key, holds_state, quiet=True)
        self.previous_version = state.version if state is not None else 0
        if self.full_refresh:
            return None
        if (
            state is None
            and earlier is not None
            and earlier.metadata
            and earlier.metadata.table == self.unit.write.table
        ):
            log.info("%s continues from the state saved as %s", self.unit.state_key, former)
            self.state_read_from = str(former)
            return earlier.model_copy(update={"recipe_name": self.unit.state_key})
        return state

    def _stored_state(self, key: str, holds_state: bool, quiet: bool = False) -> State | None:
        if not holds_state:
            return self.backend.load(key)
        try:
            backend_state = self.backend.load(key)
        except StateError as exc:  # only a copy: the destination holds the truth
            log.warning("%s; it will be rewritten from the destination's state", exc.message)
            backend_state = None
        stored = self.session.read_state(self.unit.commit, key)
        if quiet:
            return stored
        if stored is not None and not stored.same_data(backend_state):
            log.warning(
                "the saved state of %s differs from the state committed in the destination; "
                "trusting the destination and refreshing the saved copy",
                key,
            )
            self.backend.save(stored)
        if stored is None and backend_state is not None:
            log.warning(
                "the destination holds no state for %s (was it rebuilt?); ignoring the saved "
                "copy and loading from the start",
                key,
            )
        return stored

    def _bind_window(self, watermark: Any) -> None:
        """Read [max(window start, watermark), window end); skip a window already committed."""
        assert self.window is not None
        start, end = self.window
        row = self.connection.execute(
            "SELECT CAST(greatest(CAST($start AS TIMESTAMPTZ), CAST(coalesce($watermark, $start) "
            "AS TIMESTAMPTZ)) AS VARCHAR), CAST(coalesce($watermark, $start) AS TIMESTAMPTZ) "
            ">= CAST($end AS TIMESTAMPTZ)",
            {"start": start, "end": end, "watermark": watermark},
        ).fetchone()
        assert row is not None
        self.values["watermark"], self.values["upper_bound"] = row[0], end
        if row[1]:
            self.nothing_to_load = True
            self.summary.status = "up_to_date"

    def _bind_incremental(self, step: ExtractStep) -> None:
        spec = step.incremental
        if spec is None or spec.strategy != "cursor":
            return
        previous = self.previous.cursor if self.previous and self.previous.cursor else None
        if previous and previous.column == spec.cursor_column and previous.watermark is not None:
            watermark: Any = previous.watermark
        else:
            watermark = spec.initial_value
        self.values["watermark"] = watermark
        self.values["upper_bound"] = spec.end_value
        self.values["legacy_hashes"] = list(previous.boundary_hashes) if previous else []
        if self.window is not None:
            self._bind_window(watermark)
        self.summary.watermark = None if watermark is None else str(watermark)

    # -- extract -------------------------------------------------------------------------------

    def _prepare_files(self, step: ExtractStep) -> None:
        """Check a file source's files exist; pick new or changed files for `modified_time`."""
        if step.path is None or "://" in step.path:
            return
        files = sorted(glob.glob(step.path, recursive=True))
        if not files:
            raise ConnectorError(
                f"no input file matches source.path '{step.path}' (relative to {Path.cwd()})",
                path=step.path,
            )
        self.current_files = {f: os.stat(f) for f in files}

    def visit_extract(self, step: ExtractStep) -> int | None:
        changed_only = step.incremental is not None and step.incremental.strategy == "modified_time"
        if changed_only:
            self._select_changed_files()
        if self.current_files:  # local files: what the read goes through
            read = self.summary.files_loaded if changed_only else list(self.current_files)
            self.summary.bytes_read = sum(self.current_files[f].st_size for f in read)
        if step.reader == "python":
            return self._ingest_batches(step)
        if step.reader == "database" and not self.source_attached:
            return self._ingest_driver_rows(step)
        return None

    def _check_schema_lock(self, step: ExtractStep) -> None:
        """A plan typed from a schema lock runs only on a source that still matches it: a
        removed or retyped column stops the run; a new one is noted (and loaded)."""
        if step.schema_lock is None or step.output_schema is None:
            return
        from recipec.compiler.semantic.types import duckdb_spelling
        from recipec.compiler.tools.lock import drift

        if step.reader == "database":
            from recipec.compiler.semantic.introspect import introspect

            registration = get_source(step.source)
            assert registration is not None
            config = registration.validate_config(self.extract_config, "source")
            found = introspect(step.source, config)
            live = [(c.name, duckdb_spelling(c.duckdb_type)) for c in found]
        else:
            live = binding.describe(self.connection, step.query, self.values)
        changes = drift([(c.name, c.type) for c in step.output_schema], live)
        if changes.breaking:
            recipe = self.plan.files[0].path if self.plan.files else None
            command = f"recipec lock {recipe or 'RECIPE'}"
            if self.unit.state_key != self.plan.name:  # a resource of a recipe with several
                command += f" --resource {self.unit.name}"
            raise RecipeError(
                f"the source no longer matches {step.schema_lock}:\n  "
                + "\n  ".join(changes.lines())
                + f"\nrun `{command}` to accept the change",
                file=recipe,
            )
        for line in changes.lines():
            self.summary.notes.append(f"source drifted from {step.schema_lock}: {line}")

    def _open_database_source(self, step: ExtractStep) -> None:
        """Attach the source through DuckDB's scanner, unless the recipe asks for the driver or
        the scanner is not installed (then `visit_extract` streams the driver's rows)."""
        self.source_attached = False
        if step.reader != "database":
            return
        mode = self.extract_config.get("extract_with", "auto")
        if mode == "driver":
            return
        scanner = step.database_read.scanner
        if not databases.load_scanner(self.connection, scanner):
            if mode == "duckdb":
                raise ConnectorError(
                    f"extract_with: duckdb needs DuckDB's {scanner} extension: install "
                    f"'recipec[{step.source}]' (or run INSTALL {scanner} where there is "
                    "internet)",
                    source=step.source,
                )
            log.info("DuckDB's %s extension is not installed: reading through the driver", scanner)
            return
        bounded = self.values.get("watermark") is not None or bool(self.values.get("upper_bound"))
        databases.attach(self.connection, step, self.extract_config, cursor_range=bounded)
        self.source_attached = True

    def _chunk_bounds(self, low_high: Any) -> list[tuple[int, int]]:
        read = self.unit.extract.database_read
        bounds = databases.chunk_bounds(*(low_high or (None, None)), read.chunks)
        if bounds:
            self.summary.notes.append(f"read in {len(bounds)} ranges of {read.chunk_column}")
        return bounds

    def _chunking(self) -> bool:
        """Chunk a full read only: an incremental read is small, and ordered by the cursor."""
        read = self.unit.extract.database
        if read is None or read.chunks <= 1 or not read.chunk_column:
            return False
        return self.values.get("watermark") is None

    def _chunked(self, stage_sql: str) -> str:
        if not self._chunking() or not self.source_attached:
            return stage_sql
        column = self.unit.extract.database_read.chunk_column or ""
        # The key range of the whole relation (a superset of what the read returns), asked of
        # the relation itself: DuckDB's mysql scanner cannot aggregate over a subquery.
        relation = binding.source_select(stage_sql).find(exp.From).this  # type: ignore[union-attr]
        key = exp.column(column, quoted=True)
        span = exp.select(exp.Min(this=key), exp.Max(this=key)).from_(relation)
        low_high = self.connection.execute(span.sql("duckdb")).fetchone()
        bounds = self._chunk_bounds(low_high)
        return binding.chunked(stage_sql, column, bounds) if bounds else stage_sql

    def _driver_batches(self, step: ExtractStep, batch_size: int) -> Iterator[Any]:
        """The driver's rows; a chunked full read streams its ranges from parallel threads."""
        config, values = self.extract_config, self.values
        if not self._chunking():
            yield from databases.read_with_driver(step, config, values, batch_size)
            return
        bounds = self._chunk_bounds(databases.min_max_driver(step, config))
        if not bounds:  # an empty table, or a key that is not an integer: one plain read
            yield from databases.read_with_driver(step, config, values, batch_size)
            return
        text = step.database_read.source_chunk_query or ""
        tables: queue.Queue[Any] = queue.Queue(maxsize=4)  # bounded: memory stays bounded

        def read(low: int, high: int) -> None:
            chunk_values = {**values, "chunk_low": low, "chunk_high": high}
            for table in databases.read_with_driver(step, config, chunk_values, batch_size, text):
                tables.put(table)

        workers = min(len(bounds), int(self.unit.runtime.get("parallelism") or 4))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(read, low, high) for low, high in bounds]
            pending = set(futures)
            while pending or not tables.empty():
                try:
                    yield tables.get(timeout=0.05)
                except queue.Empty:
                    pending = {f for f in pending if not f.done()}
            for future in futures:
                future.result()  # a reader's error

    def _ingest_driver_rows(self, step: ExtractStep) -> int:
        rows = 0
        batch_size = int(self.unit.runtime.get("batch_size", 50_000))
        with self.progress.task(f"extract {step.label}") as task:
            for table in self._driver_batches(step, batch_size):
                if not self.driver_types:
                    self.driver_types = source_types.declared_types(table.schema)
                self._append_batch(table, first=rows == 0 and not self._batches_exist())
                rows += table.num_rows
                task.advance(table.num_rows)
        if not self._batches_exist():
            self.nothing_to_load = True
            self.summary.status = "up_to_date"
        self.read_from_batches = True
        return rows

    def _select_changed_files(self) -> None:
        known = {} if self.previous is None else self.previous.files
        changed = [
            path
            for path, info in self.current_files.items()
            if (known.get(path) is None)
            or (known[path].size, known[path].mtime_ns) != (info.st_size, info.st_mtime_ns)
        ]
        self.summary.files_loaded = changed
        if not changed:
            self.nothing_to_load = True
            self.summary.status = "up_to_date"
        self.values["files"] = [os.path.abspath(p) for p in changed]

    def _ingest_batches(self, step: ExtractStep) -> int:
        registration = get_source(step.source)
        if registration is None:
            raise ConnectorError(
                f"source type '{step.source}' is not registered: is its plug-in module "
                "importable (the recipe's plugins: list, or an installed package)?",
                source=step.source,
            )
        config = registration.validate_config(self.extract_config, "source block")
        spec = step.incremental
        context = ReadContext(
            recipe_name=self.plan.name,
            batch_size=int(self.unit.runtime.get("batch_size", 50_000)),
            cursor_column=spec.cursor_column if spec else None,
            watermark=self.values.get("watermark"),
        )
        rows = 0
        try:
            produced = registration.create(config, context=context)
            batches: Iterable[Any] = (
                produced.read(context) if hasattr(produced, "read") else produced
            )
            with self.progress.task(f"extract {step.label}") as task:
                for batch in batches:
                    table = to_arrow(batch)
                    self._append_batch(table, first=rows == 0 and not self._batches_exist())
                    rows += table.num_rows
                    task.advance(table.num_rows)
        except DataLoaderError:
            raise
        except duckdb.Error as exc:
            raise engine.translate(
                exc, doing=f"staging batches of source '{step.source}'"
            ) from None
        except Exception as exc:
            raise ConnectorError(
                f"source '{step.source}' failed: {type(exc).__name__}: {exc}", source=step.source
            ) from exc
        if not self._batches_exist():
            self.nothing_to_load = True
            self.summary.status = "up_to_date"
        return rows

    def _batches_exist(self) -> bool:
        batches = exp.table_(BATCHES, db="main", catalog="temp", quoted=True)
        return engine.table_exists(self.connection, batches)

    def _append_batch(self, table: Any, *, first: bool) -> None:
        if table.num_rows == 0 and not first:
            return
        self.connection.register("_recipec_incoming", table)
        try:
            if first:
                self.connection.execute(
                    f'CREATE TEMP TABLE "{BATCHES}" AS SELECT * FROM "_recipec_incoming"'
                )
            else:
                for alter in binding.new_columns(
                    self.connection, f'"{BATCHES}"', self._columns('"_recipec_incoming"')
                ):
                    self.connection.execute(alter)
                self.connection.execute(
                    f'INSERT INTO "{BATCHES}" BY NAME SELECT * FROM "_recipec_incoming"'
                )
        finally:
            self.connection.unregister("_recipec_incoming")

    # -- transform & stage ---------------------------------------------------------------------

    def visit_transform(self, step: TransformStep) -> None:
        """Transforms run inside the stage statement; nothing to do on their own."""
        log.debug("transform[%d] %s:\n%s", step.index, step.type, step.sql)

    def _typed_source(self, stage_sql: str) -> str:
        """The stage reading a database source with the types both paths give its columns: the
        driver's batches cast to the types of its result's description (or the introspected
        ones), the scanner's read cast where it reads a type its own way (`source_types`)."""
        if self.read_from_batches:
            found = {name.lower() for name, _ in self.driver_types}
            introspected = [
                (c.name, c.duckdb_type)
                for c in self.unit.extract.database_read.source_schema or []
                if c.name.lower() not in found
            ]
            present = [name for name, _ in self._columns(f'"{BATCHES}"')]
            declared = self.driver_types + introspected
            return binding.read_from(stage_sql, BATCHES, declared, present)
        if self.source_attached:
            casts = databases.scanner_casts(self.connection, self.unit.extract, self.values)
            return binding.cast_source(stage_sql, casts)
        return stage_sql

    def visit_stage(self, step: StageStep) -> int | None:
        stage_sql = self._typed_source(self._chunked(step.sql))
        try:
            bound = binding.bind_stage(
                self.connection,
                stage_sql,
                self.unit.transforms,
                self.values,
                self._file_columns(step)
                if self.unit.transforms and not self.read_from_batches
                else None,
            )
        except (duckdb.CatalogException, duckdb.IOException, duckdb.BinderException) as exc:
            if self.unit.extract.reader != "database":
                raise
            raise databases.connector_error(exc, self.unit.extract) from None
        statement = bound.sql
        if step.read_sql:
            statement = self._read_with_keys(step, statement)
        batch_size = int(self.unit.runtime.get("batch_size", 50_000))
        run_python_steps(
            self.connection,
            statement,
            self.unit.transforms,
            self.values,
            batch_size,
        )
        for column in bound.widened:
            self.summary.notes.append(f"{column}: values carry a zone, cast to TIMESTAMPTZ")
        log.debug("stage:\n%s", statement)
        self.stage_statement = statement
        if step.materialize and self._writes_whole_table(step):
            # The batch becomes the whole table: one pass from the source into it, no copy.
            streamed = binding.stage_query(statement)
            if streamed.dedup is not None and self._source_key_is_unique(step):
                streamed = replace(streamed, dedup=None)
            self.streamed_query = streamed
            return None
        with self.progress.statement("stage", self.connection):
            try:
                engine.execute(self.connection, statement, self.values)
            except (duckdb.CatalogException, duckdb.IOException, duckdb.BinderException) as exc:
                if self.unit.extract.reader != "database":
                    raise
                raise databases.connector_error(exc, self.unit.extract) from None
        if not step.materialize:
            return None
        self.stage_rows = self._count(STAGE)
        self.summary.rows_read = self.stage_rows
        if step.legacy_boundary_sql and self.values.get("legacy_hashes"):
            engine.execute(self.connection, step.legacy_boundary_sql, self.values)
            skipped = self.stage_rows - self._count(STAGE)
            self._note_skipped(skipped)
            self.stage_rows -= skipped
        return self.summary.rows_read

    def _read_with_keys(self, step: StageStep, stage_sql: str) -> str:
        """Stage the source's rows with their hashes, drop those loaded at the watermark before
        (one join against the stored hashes); the stage then reads what is left."""
        read_sql, stage_sql = binding.split_read(stage_sql, step.read_sql or "")
        try:
            engine.execute(self.connection, read_sql, self.values)
        except (duckdb.CatalogException, duckdb.IOException, duckdb.BinderException) as exc:
            if self.unit.extract.reader != "database":
                raise
            raise databases.connector_error(exc, self.unit.extract) from None
        if self.unit.commit.in_destination:
            known = self.session.load_keys(self.unit.commit, self.state_read_from)
        else:
            cursor = self.previous.cursor if self.previous else None
            known = engine.keys_table(self.connection, cursor.boundary_keys if cursor else [])
        if known and step.skip_sql and self.values.get("watermark") is not None:
            row = engine.execute(self.connection, step.skip_sql, self.values).fetchone()
            self._note_skipped(int(row[0]) if row else 0)
        return stage_sql

    def _note_skipped(self, skipped: int) -> None:
        if skipped:
            self.summary.notes.append(f"skipped {skipped} row(s) already loaded at the watermark")

    def _file_columns(self, step: StageStep) -> list[tuple[str, str]] | None:
        """The source files' columns, when the compile in this process sniffed these very files
        (so the run does not sniff them again)."""
        extract = self.unit.extract
        if not self.unit.transforms or self.read_from_batches:
            return None  # only the transforms' checks need them
        if extract.reader != "duckdb" or not extract.path:
            return None
        from recipec.compiler.semantic.types import described_files

        relation = binding.source_select(step.sql).find(exp.From).this  # type: ignore[union-attr]
        found = described_files(relation.sql("duckdb"), extract.path)
        return list(found) if found is not None else None

    def _source_key_is_unique(self, step: StageStep) -> bool:
        """Whether the source table's primary key covers the merge keys (the stage passes them
        through unchanged), so a read cannot hold one key twice. Chunks are separate reads: a
        row can move between them unless they split the key."""
        if not self.source_attached or step.source_keys is None:
            return False
        chunk = self.unit.extract.database_read.chunk_column
        if self._chunking() and chunk not in step.source_keys:
            return False
        relation = binding.source_select(step.sql).find(exp.From).this  # type: ignore[union-attr]
        if not isinstance(relation, exp.Table):
            return False  # a query
        primary_key = databases.primary_key(self.connection, relation)
        if not primary_key or not set(primary_key) <= set(step.source_keys):
            return False
        log.debug("the source's primary key %s covers the merge keys: no dedup", primary_key)
        return True

    def _writes_whole_table(self, step: StageStep) -> bool:
        """A full refresh, or a first write into a missing table, into DuckDB."""
        if not self.unit.write.in_engine:
            return False
        if step.legacy_boundary_sql and self.values.get("legacy_hashes"):
            return False
        write = self.unit.write
        if not destinations.first_write(write):
            return False
        return self.full_refresh or self.session.writes_whole_table(write)

    def _count(self, relation: str) -> int:
        row = self.connection.execute(f"SELECT count(*) FROM {relation}").fetchone()
        return int(row[0]) if row else 0

    def _columns(self, relation: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.connection.execute(f"DESCRIBE {relation}").fetchall()]

    # -- write ---------------------------------------------------------------------------------

    def visit_write(self, step: WriteStep) -> int:
        if self.streamed_query is not None:
            try:
                result = self.session.write(
                    destinations.WriteRequest(
                        step, True, [], self.values, streamed_query=self.streamed_query
                    )
                )
            except (duckdb.CatalogException, duckdb.IOException, duckdb.BinderException) as exc:
                if self.unit.extract.reader != "database":
                    raise
                raise databases.connector_error(exc, self.unit.extract) from None
            self.stage_rows = result.rows
            self.summary.rows_read = result.rows
        else:
            result = self.session.write(
                destinations.WriteRequest(
                    step, self.full_refresh, self._columns(STAGE), self.values
                )
            )
        written = result.rows if result.rows or self.unit.stage.materialize else self.stage_rows
        self.summary.notes.extend(result.notes)
        self.summary.rows_written = written
        if not self.unit.stage.materialize:
            self.summary.rows_read = written
        return written

    # -- state commit --------------------------------------------------------------------------

    def visit_commit_state(self, step: CommitStateStep) -> None:
        state = self._next_state(step)
        if step.in_destination:
            self.next_state = state
            values = {**self._run_values("success", None), "state": state.to_json()}
            self.session.commit_state(step, values)
        _crash_point("before_commit")
        self.session.commit()
        self.committed.append(
            f"{self.unit.write.table} (window {' to '.join(self.window)})"
            if self.window
            else self.unit.write.table
        )
        _crash_point("after_commit")
        if step.in_destination:
            self.backend.save(state)  # a copy: the destination holds the truth
        else:
            self.backend.swap(state, self.previous_version)

    def _next_state(self, step: CommitStateStep) -> State:
        previous = self.previous
        spec = self.unit.extract.incremental
        cursor = previous.cursor if previous else None
        if spec is not None and spec.strategy == "cursor" and spec.cursor_column:
            cursor = self._next_cursor(step, spec.cursor_column, cursor)
            self.summary.watermark = cursor.watermark
        files = dict(previous.files) if previous else {}
        if spec is not None and spec.strategy == "modified_time":
            files = {p: v for p, v in files.items() if p in self.current_files}
            for path in self.summary.files_loaded:
                info = self.current_files[path]
                files[path] = FileState(size=info.st_size, mtime_ns=info.st_mtime_ns)
        return State(
            recipe_name=self.unit.state_key,
            version=self.previous_version + 1,
            cursor=cursor,
            files=files,
            checkpoints=previous.checkpoints if previous else {},
            metadata=StateMetadata(
                plan_fingerprint=self.context.plan.fingerprint,
                recipec_version=__version__,
                run_id=self.context.run_id,
                updated_at=datetime.now(timezone.utc).isoformat(),
                table=self.unit.write.table,
            ),
        )

    def _over_batch(self, statement: str) -> str:
        """A statement over the staged batch; when it streamed into a new table, that table is
        the batch."""
        if self.streamed_query is None:
            return statement
        target = self.unit.write.table
        tree = sqlglot.parse_one(statement, read="duckdb")
        for table in list(tree.find_all(exp.Table)):
            if table.name == "_recipec_stage" and not table.db:
                replacement = sqlglot.parse_one(target, into=exp.Table, dialect="duckdb")
                replacement.set(
                    "alias", exp.TableAlias(this=exp.to_identifier(STAGE.strip('"'), quoted=True))
                )
                table.replace(replacement)
        return tree.sql(dialect="duckdb")

    def _next_cursor(
        self, step: CommitStateStep, column: str, previous: CursorState | None
    ) -> CursorState:
        old = previous if previous and previous.column == column else None
        if self.nothing_to_load or step.watermark_sql is None or self.stage_rows == 0:
            if old is not None and old.boundary_hashes and not self.nothing_to_load:
                # A state of format 1 (transformed-row hashes) skipped every row: store the
                # source rows' hashes at its watermark, so its hashes are needed no more.
                keys = self._store_keys(step, old.watermark, same=True)
                return CursorState(column=column, watermark=old.watermark, boundary_keys=keys)
            return old or CursorState(column=column)
        row = self.connection.execute(self._over_batch(step.watermark_sql)).fetchone()
        new = row[0] if row else None
        if new is None:  # only NULL cursors in this batch
            if old is None or old.watermark is None:
                self.summary.notes.append(
                    f"no row had a value in cursor column '{column}', so there is no watermark "
                    "yet: the next run reads the whole source again"
                )
            return old or CursorState(column=column)
        keys = self._store_keys(step, new, same=old is not None and old.watermark == new)
        return CursorState(column=column, watermark=new, boundary_keys=keys)

    def _store_keys(self, step: CommitStateStep, watermark: Any, *, same: bool) -> list[str]:
        """Store the hashes of the source rows at `watermark` (and, when it did not move, those
        stored before) beside the data; for the state file where the destination holds none."""
        if not step.keys_sql:
            return []
        values = {"new_watermark": watermark, "same_watermark": same}
        engine.execute(self.connection, step.keys_sql, values)
        if not step.in_destination:
            return engine.keys_of(self.connection)
        self.session.save_keys(step, {"recipe_name": self.unit.state_key})  # in its transaction
        return []
