"""The one place secret values are kept out of output.

Whoever learns a secret's value (rendering a recipe, resolving a plan's secrets) registers it
here; the CLI sends stdout and stderr through `RedactingStream`, so every line it prints (results,
logs, errors, tracebacks with --debug) has each registered value replaced by `***`. Plans and state
never hold a secret's value in the first place (a plan keeps how to resolve it again).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

REDACTED = "***"

_values: set[str] = set()


def register(value: object) -> None:
    """Keep `value` out of every output from now on."""
    if isinstance(value, str) and value and value != REDACTED:
        _values.add(value)


def redact(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):  # longest first: no partial leftovers
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written through it before passing it on."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")


@contextmanager
def scope() -> Iterator[None]:
    """Redact only the secrets registered inside, and forget them after it (a process, such as
    a test session, may run many commands)."""
    saved = set(_values)
    _values.clear()
    try:
        yield
    finally:
        _values.clear()
        _values.update(saved)


@contextmanager
def redacted_output() -> Iterator[None]:
    """Send stdout and stderr through redaction for one command."""
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(saved[0])  # type: ignore[assignment]
    sys.stderr = RedactingStream(saved[1])  # type: ignore[assignment]
    try:
        with scope():
            yield
    finally:
        saved[0].flush()
        saved[1].flush()
        sys.stdout, sys.stderr = saved
