"""What the compiler needs to know about a connector."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from pydantic import model_validator
from sqlglot import exp

from recipec.compiler.frontend.models import (
    Checks,
    ColumnName,
    LocalPath,
    SchemaName,
    SecretSetting,
    StrictModel,
    TableName,
    parse_table_name,
)


@dataclass(frozen=True)
class DestinationCapabilities:
    """What a destination supports; the compiler checks recipes against it before any run."""

    write_modes: frozenset[str]
    holds_state: bool
    """Whether the watermark commits inside the destination, in the data's transaction."""
    dialect: str
    """The sqlglot dialect of the statements it runs."""
    transactional_ddl: bool = True
    in_engine: bool = False
    """The destination is a database attached to the run's DuckDB engine, so its statements
    read the engine's temporary tables directly (others are sent rows by COPY)."""


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


class ServerConnection(StrictModel):
    """Where a database server is and who connects (the password is a secret setting)."""

    host: str = "localhost"
    port: int | None = None
    """The server's usual port when unset."""
    database: str
    user: str | None = None
    password: SecretSetting | None = None


class Scd2Columns(StrictModel):
    """Names of the validity columns of `write_mode: scd2`."""

    valid_from: ColumnName = "valid_from"
    valid_to: ColumnName = "valid_to"
    """NULL while the version is current."""


class TableWriteConfig(StrictModel):
    """How a SQL destination writes a table; shared by DuckDB and Postgres."""

    table: TableName
    """`[schema.]table`; the schema is created when missing."""
    write_mode: Literal["append", "overwrite", "merge", "scd2"] = "append"
    merge_keys: list[ColumnName] = []
    """Columns identifying a row, for `merge` and `scd2`."""
    merge_strategy: Literal["upsert", "delete_insert"] = "upsert"
    """`upsert`: update matched rows, insert new ones; `delete_insert`: delete the batch's keys,
    then insert the batch."""
    scd2: Scd2Columns = Scd2Columns()
    hard_delete_column: ColumnName | None = None
    """A source flag: a row with it true deletes the destination row (closes it in scd2)."""
    soft_delete_column: ColumnName | None = None
    """A source flag: a row with it true only sets that flag on the destination row."""
    state_schema: SchemaName = "recipec"
    """Schema of the `_recipec_state` and `_recipec_runs` tables."""

    @model_validator(mode="after")
    def _consistent(self) -> TableWriteConfig:
        checks = Checks()
        if len(parse_table_name(self.table)) > 2:
            checks.add(
                "table",
                "write [schema.]table; the database is the `database` key, not a catalog",
            )
        if self.write_mode in ("merge", "scd2") and not self.merge_keys:
            checks.add(
                "merge_keys" if "merge_keys" in self.model_fields_set else "write_mode",
                f"write_mode '{self.write_mode}' needs merge_keys (the columns identifying a row)",
            )
        deletes = [
            field
            for field in ("hard_delete_column", "soft_delete_column")
            if getattr(self, field) is not None
        ]
        if len(deletes) > 1:
            checks.add(deletes[-1], "give hard_delete_column or soft_delete_column, not both")
        elif deletes and self.write_mode not in ("merge", "scd2"):
            checks.add(deletes[0], "delete columns need write_mode merge or scd2 (rows need keys)")
        elif self.soft_delete_column and self.write_mode == "scd2":
            checks.add(
                "soft_delete_column", "scd2 closes deleted rows: use hard_delete_column with scd2"
            )
        checks.raise_found()
        return self
