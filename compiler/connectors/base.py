"""What the compiler needs to know about a connector."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlglot import exp

from recipec.compiler.models import LocalPath, StrictModel


@dataclass(frozen=True)
class DestinationCapabilities:
    """What a destination supports; the compiler checks recipes against it before any run."""

    write_modes: frozenset[str]
    holds_state: bool
    """Whether the watermark commits inside the destination, in the data's transaction."""
    dialect: str
    """The sqlglot dialect of the statements it runs."""
    transactional_ddl: bool = True


@dataclass(frozen=True)
class WriteStatements:
    """What a SQL destination runs to write a batch, in its own dialect."""

    setup: list[exp.Expr]
    """Run first (schemas)."""
    create: exp.Expr
    """Creates the table from the staged columns when it is missing."""
    write: list[exp.Expr]
    """Write the batch (append, merge...)."""
    overwrite: list[exp.Expr]
    """Replace the table with the batch (`write_mode: overwrite`, `--full-refresh`)."""
    load: list[exp.Expr] = field(default_factory=list)
    """Move the staged rows to the destination's side first (when it is not DuckDB)."""
    fallback_write: list[exp.Expr] = field(default_factory=list)
    """`write` for servers too old for it (Postgres before 15 has no MERGE)."""


@runtime_checkable
class SqlSource(Protocol):
    """A source DuckDB reads itself: it lowers to a relation (a table function call)."""

    def relation(self, path: exp.Expression) -> exp.Expression:
        """The relation reading `path` (a string literal, or a `$files` placeholder)."""
        ...


class FileSourceConfig(StrictModel):
    """Keys shared by the file sources."""

    path: LocalPath
    """A file path or glob, relative to the recipe file that wrote it."""
