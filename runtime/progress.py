"""Progress on the terminal: rows and rows per second for long runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class _Task:
    def __init__(self, progress: RichProgress | None, task_id: TaskID | None) -> None:
        self._progress = progress
        self._task_id = task_id
        self.rows = 0
        self.started = time.perf_counter()

    def advance(self, rows: int) -> None:
        self.rows += rows
        if self._progress is not None and self._task_id is not None:
            rate = self.rows / max(time.perf_counter() - self.started, 1e-9)
            self._progress.update(
                self._task_id, advance=rows, status=f"{self.rows:,} rows  {rate:,.0f} rows/s"
            )


class TaskDisplay(Protocol):
    """What a unit shows its work on: the run's `Progress`, or one resource's view of it."""

    enabled: bool

    def task(self, description: str) -> AbstractContextManager[_Task]: ...

    def statement(
        self, description: str, connection: duckdb.DuckDBPyConnection
    ) -> AbstractContextManager[None]: ...


class Progress:
    """A progress display on stderr, one for the whole run (its units add their tasks to it);
    does nothing when disabled (not a terminal, JSON logs)."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console
        """Where the display goes (rich's default: stderr)."""
        self._lock = threading.Lock()
        self._shown: RichProgress | None = None
        self._users = 0

    def named(self, resource: str) -> NamedProgress:
        """The display as one resource's tasks use it: each labelled with the resource."""
        return NamedProgress(self, resource)

    def _display(self) -> RichProgress:
        from rich.progress import (  # only when shown: rich is slow to import
            BarColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        return RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            transient=True,
            console=self.console,
        )

    @contextmanager
    def _shared(
        self, description: str, total: float | None
    ) -> Iterator[tuple[RichProgress, TaskID]]:
        """The run's display (started by its first task, stopped after its last) and a task."""
        with self._lock:
            if self._shown is None:
                self._shown = self._display()
                self._shown.start()
            self._users += 1
            display = self._shown
            task_id = display.add_task(description, total=total, status="")
        try:
            yield display, task_id
        finally:
            with self._lock:
                display.remove_task(task_id)
                self._users -= 1
                if self._users == 0:
                    display.stop()
                    self._shown = None

    @contextmanager
    def task(self, description: str) -> Iterator[_Task]:
        """A task advanced by rows (Python sources)."""
        if not self.enabled:
            yield _Task(None, None)
            return
        with self._shared(description, None) as (display, task_id):
            yield _Task(display, task_id)

    @contextmanager
    def statement(self, description: str, connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """A task following DuckDB's own progress of the statement running on `connection`."""
        if not self.enabled:
            yield
            return
        done = threading.Event()
        with self._shared(description, 100) as (display, task_id):

            def poll() -> None:
                while not done.wait(0.2):
                    percent = connection.query_progress()
                    if percent >= 0:
                        display.update(task_id, completed=percent)

            watcher = threading.Thread(target=poll, daemon=True)
            watcher.start()
            try:
                yield
            finally:
                done.set()
                watcher.join()


class NamedProgress:
    """One resource's view of the run's display: its tasks' descriptions start with its name,
    so concurrent resources' tasks tell themselves apart."""

    def __init__(self, progress: Progress, resource: str) -> None:
        self.progress = progress
        self.resource = resource
        self.enabled = progress.enabled

    def task(self, description: str) -> AbstractContextManager[_Task]:
        return self.progress.task(f"{self.resource}: {description}")

    def statement(
        self, description: str, connection: duckdb.DuckDBPyConnection
    ) -> AbstractContextManager[None]:
        return self.progress.statement(f"{self.resource}: {description}", connection)
