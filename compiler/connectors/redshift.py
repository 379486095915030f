"""The Redshift destination: compiles to Redshift SQL through sqlglot.

Rows are staged as CSV under `staging_location` (S3) and loaded with COPY into a temporary
table, then written like Postgres. Plans compile and can be reviewed; running one needs a
Redshift cluster, which this version of recipec does not drive yet.
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


class RedshiftConfig(TableWriteConfig, ServerConnection):
    type: Literal["redshift"]
    port: int | None = 5439
    staging_location: str
    """`s3://bucket/prefix/` where batches are staged for COPY."""
    iam_role: str
    """The role COPY assumes to read the staged files."""


@register_destination("redshift", config=RedshiftConfig)
class RedshiftDestination:
    """An Amazon Redshift table (compile only in this version)."""

    capabilities = DestinationCapabilities(
        write_modes=frozenset({"append", "overwrite", "merge", "scd2"}),
        holds_state=True,
        dialect="redshift",
    )

    def __init__(self, config: RedshiftConfig) -> None:
        self.config = config

    def statements(self) -> WriteStatements:
        config = self.config
        table = table_expression(config.table)
        schema = sql.create_schema(table)
        copy = exp.Copy(
            this=sql.stage_table(),
            kind=True,
            files=[exp.Literal.string(config.staging_location)],
            params=[
                exp.CopyParameter(
                    this=exp.var("IAM_ROLE"), expression=exp.Literal.string(config.iam_role)
                ),
                exp.CopyParameter(this=exp.var("FORMAT AS CSV")),
            ],
        )
        return WriteStatements(
            setup=[schema] if schema is not None else [],
            create=sql.create_like_stage(table, exists=True),
            write=sql.write_statements(table, config),
            overwrite=sql.replace_like_stage(table),
            load=[copy],
        )
