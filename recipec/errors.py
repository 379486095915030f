"""Exceptions and the structured problems they carry.

Every error says what is wrong and where. A `RecipeError` collects all `Problem`s found in a
recipe and renders each with a numbered frame of the YAML around the offending line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Location:
    """A place in a recipe file: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe."""

    message: str
    path: str = ""
    """Dot path of the key, e.g. `transform.steps[1].columns.age`."""
    location: Location | None = None
    expected: str | None = None
    hint: str | None = None
    """A suggestion, usually "did you mean ...?"."""
    file: str | None = None
    """The file the problem is in when no line of it is: a recipe a run of its plan found
    wrong, a schema lock. `location.file` when there is a location."""

    def render(self, *, frame: bool = True) -> str:
        where = str(self.location) if self.location else self.file
        head = f"{self.path + ': ' if self.path else ''}{self.message}"
        head = f"{where}: {head}" if where else head
        lines = [head]
        if self.expected:
            lines.append(f"  expected: {self.expected}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        if frame and self.location:
            lines.extend("  " + line for line in code_frame(self.location))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        loc = self.location
        return {
            "message": self.message,
            "path": self.path,
            "file": loc.file if loc else self.file,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "expected": self.expected,
            "hint": self.hint,
        }


def code_frame(location: Location, context: int = 1) -> list[str]:
    """The lines around `location`, numbered, with a caret under the column."""
    try:
        text = Path(location.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    first = max(1, location.line - context)
    last = min(len(text), location.line + context)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        marker = ">" if number == location.line else " "
        out.append(f"{marker} {number:>{width}} | {text[number - 1]}")
        if number == location.line:
            out.append(f"  {' ' * width} | {' ' * (location.column - 1)}^")
    return out


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """In file order (line, then column); problems without a place last."""
    return sorted(
        problems,
        key=lambda p: (
            p.location is None,
            p.location.file if p.location else "",
            p.location.line if p.location else 0,
            p.location.column if p.location else 0,
        ),
    )


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A "did you mean" hint for a misspelled key or name, or None when nothing is close."""
    matches = difflib.get_close_matches(str(word), sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


class DataLoaderError(Exception):
    """Base of all recipec errors. `context` holds structured facts (never secrets)."""

    exit_code = 3

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context
        self.summary: Any = None
        """A run's error: the run's summary (what committed, failed and was skipped)."""

    def render(self) -> str:
        return self.message


class RecipeError(DataLoaderError):
    """Something is wrong in the recipe files or their templates; found before data moves."""

    exit_code = 1

    def __init__(
        self, problems: Sequence[Problem] | str, *, file: str | None = None, **context: Any
    ) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, file=file)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        summary = "\n".join(p.render(frame=False) for p in self.problems)
        super().__init__(summary, problems=[p.to_dict() for p in self.problems], **context)

    def render(self) -> str:
        count = len(self.problems)
        title = "Recipe error" if count == 1 else f"Recipe has {count} errors"
        body = "\n\n".join(p.render() for p in self.problems)
        return f"{title}:\n{body}"


class ConnectorError(DataLoaderError):
    """A source or destination could not be read or written."""


class TransientError(ConnectorError):
    """A failure the next attempt may not meet (a lost connection, a deadlock, a database file
    another run holds): the run retries it, per `runtime.retries`. Every other error is final.
    `recipec.runtime.transient` decides which a driver's error is."""


class TransformError(DataLoaderError):
    """A transform failed on the data (for example a value that does not fit a cast)."""


class StateError(DataLoaderError):
    """Saved state could not be read or written."""


class StateConflict(StateError):
    """Another run wrote a state key after this run read it (a compare-and-swap failed)."""


class EngineError(DataLoaderError):
    """The execution engine failed."""


class Interrupted(DataLoaderError):
    """The run was stopped by a signal (Ctrl-C, SIGTERM): what was not committed rolled back."""

    def __init__(self, message: str, *, signal_number: int, **context: Any) -> None:
        super().__init__(message, signal=signal_number, **context)
        self.exit_code = 128 + signal_number
        """130 for SIGINT, 143 for SIGTERM, as shells report them."""


class RunFailed(DataLoaderError):
    """Several resources of a run failed: each is named, with its error."""


class UsageError(DataLoaderError):
    """The command line was used wrongly."""

    exit_code = 2


class MissingExtraError(DataLoaderError):
    """An optional dependency is not installed."""

    exit_code = 2

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the Python package '{package}', which is not installed. "
            f"Install it with: pip install 'recipec[{extra}]'",
            package=package,
            extra=extra,
        )
