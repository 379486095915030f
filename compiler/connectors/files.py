"""File sources DuckDB reads itself: `csv`, `parquet` and `jsonl` (local paths and globs)."""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from recipec.compiler.connectors.base import FileSourceConfig
from recipec.compiler.frontend.models import Incremental, StrictModel
from recipec.registry import register_source


def _call(function: str, path: exp.Expression, **options: exp.Expression | None) -> exp.Expression:
    """`function(path, key = value, ...)`, skipping options left unset."""
    args: list[exp.Expression] = [path]
    args += [
        exp.EQ(this=exp.column(key), expression=value)
        for key, value in sorted(options.items())
        if value is not None
    ]
    return exp.Anonymous(this=function, expressions=args)


def _literal(value: str | int | bool | list[str] | None) -> exp.Expression | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, list):
        return exp.Array(expressions=[exp.Literal.string(v) for v in value])
    return exp.Literal.string(value)


class CsvOptions(StrictModel):
    delimiter: str | None = None
    """Field separator; sniffed when unset."""
    header: bool | None = None
    """Whether the first line names the columns; sniffed when unset."""
    quote: str | None = None
    escape: str | None = None
    null_values: list[str] = []
    """Extra markers read as NULL (an empty field is always NULL)."""
    skip_rows: int | None = None
    encoding: Literal["utf-8", "utf-16", "latin-1"] | None = None
    date_format: str | None = None
    timestamp_format: str | None = None
    all_varchar: bool | None = None
    """Read every column as text (then cast what you need)."""
    sample_size: int | None = None
    """Rows sampled to detect types; -1 reads the whole file first."""
    union_by_name: bool | None = None
    """Match columns by name across files whose headers differ (a file may add columns)."""


class CsvConfig(FileSourceConfig):
    type: Literal["csv"]
    options: CsvOptions = CsvOptions()
    incremental: Incremental | None = None


@register_source("csv", config=CsvConfig)
class CsvSource:
    """CSV files, read by DuckDB's read_csv (types sniffed, globs allowed)."""

    def __init__(self, config: CsvConfig) -> None:
        self.options = config.options

    def relation(self, path: exp.Expression) -> exp.Expression:
        o = self.options
        return _call(
            "read_csv",
            path,
            delim=_literal(o.delimiter),
            header=_literal(o.header),
            quote=_literal(o.quote),
            escape=_literal(o.escape),
            nullstr=_literal(["", *o.null_values]) if o.null_values else None,
            skip=_literal(o.skip_rows),
            encoding=_literal(o.encoding),
            dateformat=_literal(o.date_format),
            timestampformat=_literal(o.timestamp_format),
            all_varchar=_literal(o.all_varchar),
            sample_size=_literal(o.sample_size),
            union_by_name=_literal(o.union_by_name),
        )


class ParquetOptions(StrictModel):
    hive_partitioning: bool | None = None
    union_by_name: bool | None = None
    """Match columns by name across files whose schemas differ."""


class ParquetConfig(FileSourceConfig):
    type: Literal["parquet"]
    options: ParquetOptions = ParquetOptions()
    incremental: Incremental | None = None


@register_source("parquet", config=ParquetConfig)
class ParquetSource:
    """Parquet files, read by DuckDB's read_parquet."""

    def __init__(self, config: ParquetConfig) -> None:
        self.options = config.options

    def relation(self, path: exp.Expression) -> exp.Expression:
        o = self.options
        return _call(
            "read_parquet",
            path,
            hive_partitioning=_literal(o.hive_partitioning),
            union_by_name=_literal(o.union_by_name),
        )


class JsonlOptions(StrictModel):
    date_format: str | None = None
    timestamp_format: str | None = None
    sample_size: int | None = None


class JsonlConfig(FileSourceConfig):
    type: Literal["jsonl"]
    options: JsonlOptions = JsonlOptions()
    incremental: Incremental | None = None


@register_source("jsonl", config=JsonlConfig)
class JsonlSource:
    """JSON Lines files (one object per line), read by DuckDB's read_json."""

    def __init__(self, config: JsonlConfig) -> None:
        self.options = config.options

    def relation(self, path: exp.Expression) -> exp.Expression:
        o = self.options
        return _call(
            "read_json",
            path,
            format=_literal("newline_delimited"),
            dateformat=_literal(o.date_format),
            timestampformat=_literal(o.timestamp_format),
            sample_size=_literal(o.sample_size),
        )
