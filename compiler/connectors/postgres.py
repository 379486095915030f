"""The Postgres destination: config, capabilities and its statements in Postgres SQL.

The staged rows are copied into a temporary table `_recipec_stage` on the server (COPY), then
written with one set-based statement; the state row commits in the same transaction.
"""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from recipec.compiler.connectors import statements as sql
from recipec.compiler.connectors.base import (
    DestinationCapabilities,
    ServerConnection,
    TableWriteConfig,
    WriteStatements,
)
from recipec.compiler.plan import table_expression
from recipec.registry import register_destination


class PostgresDestinationConfig(TableWriteConfig, ServerConnection):
    type: Literal["postgres"]


def _upsert_on_conflict(table: exp.Table, keys: list[str], where: exp.Expr | None) -> exp.Insert:
    insert = sql.append(table, where)
    insert.set(
        "conflict",
        exp.OnConflict(
            conflict_keys=[exp.to_identifier(k, quoted=True) for k in keys],
            action=exp.var("DO UPDATE"),
            expressions=[exp.Star()],
        ),
    )
    return insert


def _key_index(table: exp.Table, keys: list[str]) -> exp.Create:
    """A unique index on the merge keys: ON CONFLICT needs it, MERGE is faster with it."""
    name = exp.to_identifier(f"{table.name}_recipec_keys", quoted=True)
    return exp.Create(
        this=exp.Index(
            this=name,
            table=table.copy(),
            params=exp.IndexParameters(columns=[exp.column(k, quoted=True) for k in keys]),
        ),
        kind="INDEX",
        exists=True,
        unique=True,
    )


@register_destination("postgres", config=PostgresDestinationConfig)
class PostgresDestination:
    """A PostgreSQL table, written with COPY and one set-based statement per batch."""

    capabilities = DestinationCapabilities(
        write_modes=frozenset({"append", "overwrite", "merge", "scd2"}),
        holds_state=True,
        dialect="postgres",
    )

    def __init__(self, config: PostgresDestinationConfig) -> None:
        self.config = config

    def statements(self) -> WriteStatements:
        config = self.config
        table = table_expression(config.table)
        schema = sql.create_schema(table)
        merging = config.write_mode == "merge"
        setup: list[exp.Expr] = [schema] if schema is not None else []
        write = sql.write_statements(table, config)
        fallback = []
        if merging and config.merge_strategy == "upsert":
            fallback = [
                *sql.delete_flagged(table, config),
                _upsert_on_conflict(table, config.merge_keys, sql.kept_rows(config)),
            ]
        create: exp.Expr = sql.create_like_stage(table, exists=True)
        return WriteStatements(
            setup=setup,
            create=create,
            write=([_key_index(table, config.merge_keys)] if merging else []) + write,
            overwrite=sql.replace_like_stage(table),
            load=[
                exp.Copy(
                    this=sql.stage_table(),
                    kind=True,
                    files=[exp.var("STDIN")],
                    params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("csv"))],
                )
            ],
            fallback_write=fallback,
        )
