"""Ctrl-C and SIGTERM during a run: one place notices them, the run rolls back and says so.

An interruption reaches the code in many shapes: `KeyboardInterrupt`, DuckDB's
`RuntimeError('Query interrupted')`, a driver's cancelled query, click's `Abort`. Whatever shape
it takes, the signal handler has recorded which signal arrived, and `Interruptions.error` turns
the failure into one `Interrupted` error (exit 128 + signal number).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from recipec.errors import Interrupted

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interruptions:
    """The signals received while a run was in progress."""

    def __init__(self) -> None:
        self.received: int | None = None

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        self.received = signal_number
        raise KeyboardInterrupt  # unwinds Python code; DuckDB cancels its query on it

    def error(self, failure: BaseException, committed: list[str]) -> Interrupted | None:
        """`failure` as the interruption it is, if a signal arrived; `committed` says what
        landed."""
        received = self.received
        if received is None and _duckdb_cancelled(failure):
            received = signal.SIGINT
        if received is None:
            return None
        name = signal.Signals(received).name
        landed = (
            f"{', '.join(committed)} committed before it"
            if committed
            else "nothing was committed: the destination and the state are as they were"
        )
        return Interrupted(f"interrupted by {name}: {landed}", signal_number=received)


def _duckdb_cancelled(failure: BaseException) -> bool:
    """DuckDB catches SIGINT itself while a query runs (Python's handler never sees it) and
    cancels the query with a plain RuntimeError: its message is all there is to know it by."""
    return type(failure) is RuntimeError and str(failure).startswith("Query interrupted")


@contextmanager
def interruptible() -> Iterator[Interruptions]:
    """Record SIGINT and SIGTERM while the block runs (signal handlers live in the main thread
    only; elsewhere the caller's own handling stays)."""
    interruptions = Interruptions()
    if threading.current_thread() is not threading.main_thread():
        yield interruptions
        return
    previous: dict[int, Any] = {number: signal.getsignal(number) for number in HANDLED}
    for number in HANDLED:
        signal.signal(number, interruptions._handle)
    try:
        yield interruptions
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)
