"""The DuckDB destination: config and capabilities (statements in `statements.py`).

Data is staged in the destination database itself (a temp table or view named `STAGE`), so a
write is one set-based statement, committed in the same transaction as the state row.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from recipec.compiler.connectors import statements as sql
from recipec.compiler.connectors.base import DestinationCapabilities, WriteStatements
from recipec.compiler.models import LocalPath, StrictModel, TableName, parse_table_name
from recipec.registry import register_destination

WriteMode = Literal["append", "overwrite", "merge"]
MergeStrategy = Literal["upsert", "delete_insert"]


class DuckDBConfig(StrictModel):
    type: Literal["duckdb"]
    database: LocalPath
    """A database file (relative to the recipe that wrote it) or `:memory:`."""
    table: TableName
    """`[schema.]table`; quote odd names: `main."o'brien orders"`."""
    write_mode: WriteMode = "append"
    merge_keys: list[str] = []
    """Columns identifying a row, for `write_mode: merge`."""
    merge_strategy: MergeStrategy = "upsert"
    """`upsert`: update matched rows, insert new ones; `delete_insert`: delete the batch's keys,
    then insert the batch."""
    state_schema: str = "recipec"
    """Schema of the `_recipec_state` and `_recipec_loads` tables."""

    @model_validator(mode="after")
    def _schema_and_table_only(self) -> DuckDBConfig:
        if len(parse_table_name(self.table)) > 2:
            raise ValueError(
                "table: write [schema.]table; the database is the `database` key, not a catalog"
            )
        return self

    @model_validator(mode="after")
    def _merge_needs_keys(self) -> DuckDBConfig:
        if self.write_mode == "merge" and not self.merge_keys:
            raise ValueError("write_mode 'merge' needs merge_keys (the columns identifying a row)")
        return self


@register_destination("duckdb", config=DuckDBConfig)
class DuckDBDestination:
    """An embedded DuckDB database file; holds the watermark in the data's transaction."""

    capabilities = DestinationCapabilities(
        write_modes=frozenset({"append", "overwrite", "merge"}), holds_state=True, dialect="duckdb"
    )

    def __init__(self, config: DuckDBConfig) -> None:
        self.config = config

    def statements(self) -> WriteStatements:
        table = sql.table_expression(self.config.table)
        schema = sql.create_schema(table)
        return WriteStatements(
            setup=[schema] if schema is not None else [],
            create=sql.create_table(table),
            write=sql.write_statements(
                table, self.config.write_mode, self.config.merge_keys, self.config.merge_strategy
            ),
            overwrite=[sql.overwrite(table)],
        )
