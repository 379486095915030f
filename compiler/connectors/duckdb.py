"""The DuckDB destination: config and capabilities (statements in `statements.py`).

Data is staged in the destination database itself (a temp table or view named `STAGE`), so a
write is one set-based statement, committed in the same transaction as the state row.
"""

from __future__ import annotations

from typing import Literal

from recipec.compiler.connectors import statements as sql
from recipec.compiler.connectors.base import (
    DestinationCapabilities,
    TableWriteConfig,
    WriteStatements,
)
from recipec.compiler.frontend.models import LocalPath
from recipec.compiler.plan import table_expression
from recipec.registry import register_destination

WriteMode = Literal["append", "overwrite", "merge"]
MergeStrategy = Literal["upsert", "delete_insert"]


class DuckDBConfig(TableWriteConfig):
    type: Literal["duckdb"]
    database: LocalPath
    """A database file (relative to the recipe that wrote it) or `:memory:`."""


@register_destination("duckdb", config=DuckDBConfig)
class DuckDBDestination:
    """An embedded DuckDB database file; holds the watermark in the data's transaction."""

    capabilities = DestinationCapabilities(
        write_modes=frozenset({"append", "overwrite", "merge", "scd2"}),
        holds_state=True,
        dialect="duckdb",
        in_engine=True,
    )

    def __init__(self, config: DuckDBConfig) -> None:
        self.config = config

    def statements(self) -> WriteStatements:
        table = table_expression(self.config.table)
        schema = sql.create_schema(table)
        return WriteStatements(
            setup=[schema] if schema is not None else [],
            create=sql.create_table(table),
            write=sql.write_statements(table, self.config),
            overwrite=[sql.overwrite(table)],
        )
