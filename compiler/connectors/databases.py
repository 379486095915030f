"""Database sources: `postgres`, `mysql` (read by DuckDB's scanner extensions, or through a
driver into Arrow) and `sql` (any SQLAlchemy URL, through the driver).

Compiling never connects. The plan carries two forms of the read: a DuckDB query over the
attached database (`$watermark` bound by DuckDB, filters pushed down by the scanner) and the same
query in the source's own dialect (`:watermark` bound by the driver) for the library path.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

import sqlglot
from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlglot import exp

from recipec.compiler.connectors.base import ServerConnection
from recipec.compiler.frontend.models import (
    Checks,
    ColumnName,
    CursorIncremental,
    CursorValue,
    SecretSetting,
    StrictModel,
    TableName,
    parse_table_name,
)
from recipec.compiler.plan import ATTACHED, BATCHES, DatabaseRead
from recipec.registry import register_source

_DURATION = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)


def _duration(value: str) -> str:
    match = _DURATION.match(str(value))
    if not match:
        raise PydanticCustomError(
            "duration", "not a duration: '{value}'", {"value": value, "hint": "e.g. '5 minutes'"}
        )
    count = int(match.group(1))
    return f"{count} {match.group(2).lower()}{'' if count == 1 else 's'}"


Duration = Annotated[str, AfterValidator(_duration)]


def _interval(duration: str) -> exp.Interval:
    """`5 minutes` as an interval every dialect prints its own way (MySQL: INTERVAL 5 MINUTE)."""
    count, unit = duration.split()
    return exp.Interval(this=exp.Literal.number(int(count)), unit=exp.var(unit.rstrip("s").upper()))


"""A span of time such as `5 minutes`, `2 hours` or `7 days`."""


class Backfill(StrictModel):
    step: Duration
    """Each window of this width commits on its own, so a long load resumes where it stopped."""


class DatabaseIncremental(CursorIncremental):
    """Rows whose cursor is at or past the last watermark, read in cursor order."""

    end_value: CursorValue | None = None
    """Read only rows before this value (every run, until it is removed)."""
    backfill: Backfill | None = None
    """Split the range from the watermark (or `initial_value`) to `end_value` into windows."""

    lookback: Duration | None = None
    """Re-read this window before the watermark (late-arriving rows); merge deduplicates."""
    safety_margin: Duration | None = None
    """Read only rows older than `now() - margin`, so rows of transactions still in flight are
    not skipped."""

    @model_validator(mode="after")
    def _backfill_needs_a_range(self) -> DatabaseIncremental:
        if self.backfill is not None and (self.initial_value is None or self.end_value is None):
            checks = Checks()
            checks.add(
                "backfill", "backfill needs initial_value and end_value (the range to split)"
            )
            checks.raise_found()
        return self


class Chunking(StrictModel):
    """Split a full load into key ranges read in parallel."""

    column: ColumnName
    """A numeric column (usually the primary key)."""
    chunks: int = Field(ge=2, le=64)


class DatabaseSourceConfig(ServerConnection):
    table: TableName | None = None
    """`[schema.]table` to read; or give `query`."""
    query: str | None = None
    """One SELECT in the source's dialect; or give `table`."""
    columns: list[ColumnName] | None = None
    """A projection pushed into the read."""
    incremental: DatabaseIncremental | None = None
    chunking: Chunking | None = None
    extract_with: Literal["auto", "duckdb", "driver"] = "auto"
    """`duckdb`: DuckDB's scanner extension; `driver`: the Python driver into Arrow; `auto`: the
    extension when it is installed."""

    @model_validator(mode="after")
    def _table_or_query(self) -> DatabaseSourceConfig:
        dialect = "mysql" if getattr(self, "type", "") == "mysql" else "postgres"
        _table_or_query(self.table, self.query, dialect)
        return self


def _table_or_query(table: str | None, query: str | None, dialect: str) -> None:
    checks = Checks()
    if table is not None and query is not None:
        checks.add("query", "give exactly one of `table` and `query`, not both")
    elif table is None and query is None:
        checks.add((), "give exactly one of `table` and `query`")
    if table is not None and len(parse_table_name(table)) > 2:
        checks.add("table", "write [schema.]table (the database is the `database` key)")
    if query is not None:
        try:
            _one_select(query, dialect)
        except ValueError as exc:
            checks.add("query", str(exc))
    checks.raise_found()


def _url_dialect(url: str) -> str:
    """The sqlglot dialect of a SQLAlchemy URL (`dialect+driver://...`)."""
    backend = url.split("://", 1)[0].split("+", 1)[0]
    return {"postgresql": "postgres", "mssql": "tsql"}.get(backend, backend)


def _one_select(query: str, dialect: str) -> None:
    """A source query is one SELECT, parsed in the source's dialect."""
    try:
        statements = sqlglot.parse(query, read=dialect)
    except sqlglot.errors.SqlglotError as exc:  # a parse or a token error (an unclosed quote)
        raise ValueError(f"query is not valid {dialect} SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ValueError("query: give exactly one SELECT")


class PostgresConfig(DatabaseSourceConfig):
    type: Literal["postgres"]


class MySQLConfig(DatabaseSourceConfig):
    type: Literal["mysql"]


class SqlConfig(StrictModel):
    type: Literal["sql"]
    url: SecretSetting
    """A SQLAlchemy URL, e.g. `mssql+pyodbc://user:pw@host/db` (the whole URL is a secret
    when it comes from the environment)."""
    table: TableName | None = None
    query: str | None = None
    columns: list[ColumnName] | None = None
    incremental: DatabaseIncremental | None = None

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlConfig:
        _table_or_query(self.table, self.query, _url_dialect(self.url))
        return self


class DatabaseSource:
    """What every database source lowers to."""

    dialect = "postgres"
    scanner = "postgres"
    """DuckDB extension that reads this database, or "" when only the driver can."""
    default_port = 5432

    def __init__(self, config: DatabaseSourceConfig | SqlConfig) -> None:
        self.config = config

    def _projection(self) -> list[exp.Expr]:
        return [exp.column(c, quoted=True) for c in self.config.columns or []] or [exp.Star()]

    def _table(self, catalog: str | None) -> exp.Table:
        parts = parse_table_name(self.config.table or "")
        return exp.Table(
            this=exp.to_identifier(parts[-1], quoted=True),
            db=exp.to_identifier(parts[-2], quoted=True) if len(parts) > 1 else None,
            catalog=exp.to_identifier(catalog, quoted=True) if catalog else None,
        )

    def _user_query(self) -> exp.Query:
        query = sqlglot.parse_one(self.config.query or "", read=self.dialect)
        if not isinstance(query, exp.Query):
            raise ValueError("query: give one SELECT")
        return query

    @property
    def attached_as(self) -> str:
        """The name the run attaches the source database under: one per database, so units
        reading the same one share it and units reading others do not collide."""
        where = [getattr(self.config, key, None) for key in ("type", "host", "port", "database")]
        where.append(getattr(self.config, "user", None))
        digest = hashlib.sha256(json.dumps(where, default=str).encode()).hexdigest()
        return f"{ATTACHED}_{digest[:12]}"

    def read_spec(self) -> DatabaseRead:
        """What the run needs to read this source (the plan's `extract.database`)."""
        chunking = getattr(self.config, "chunking", None)
        span, chunk = self.span_query(), self.chunk_query()
        return DatabaseRead(
            source_query=driver_sql(self.source_query(), self.dialect),
            source_dialect=self.dialect,
            scanner=self.scanner,
            attached_as=self.attached_as if self.scanner else None,
            chunk_column=chunking.column if chunking else None,
            chunks=chunking.chunks if chunking else 1,
            source_span_query=driver_sql(span, self.dialect) if span is not None else None,
            source_chunk_query=driver_sql(chunk, self.dialect) if chunk is not None else None,
        )

    def read_query(self) -> exp.Select:
        """The read as DuckDB runs it over the attached database (or, for a source only a
        driver reads, over the batches the driver staged)."""
        if not self.scanner:
            return exp.select(exp.Star()).from_(exp.to_identifier(BATCHES, quoted=True))
        if self.config.table is not None:
            relation: exp.Expr = self._table(self.attached_as)
        else:
            relation = exp.func(
                f"{self.scanner}_query",
                exp.Literal.string(self.attached_as),
                exp.Literal.string(self.config.query or ""),
            )
        return self._filtered(exp.select(*self._projection()).from_(relation), "duckdb")

    def _source_relation(self) -> exp.Expr:
        if self.config.table is not None:
            return self._table(None)
        return self._user_query().subquery("_recipec_query")

    def span_query(self) -> exp.Select | None:
        """`SELECT MIN(key), MAX(key)` for a chunked full read, in the source's dialect."""
        chunking = getattr(self.config, "chunking", None)
        if chunking is None:
            return None
        key = exp.column(chunking.column, quoted=True)
        return exp.select(exp.Min(this=key), exp.Max(this=key)).from_(self._source_relation())

    def chunk_query(self) -> exp.Select | None:
        """The read of one key range, `:chunk_low <= key < :chunk_high`."""
        chunking = getattr(self.config, "chunking", None)
        if chunking is None:
            return None
        key = exp.column(chunking.column, quoted=True)
        in_range = exp.and_(
            key >= exp.Placeholder(this="chunk_low"), key < exp.Placeholder(this="chunk_high")
        )
        return self.source_query().where(in_range)

    def source_query(self) -> exp.Select:
        """The read in the source's own dialect, for the driver."""
        relation = self._source_relation()
        query = self._filtered(exp.select(*self._projection()).from_(relation), self.dialect)
        incremental = self.config.incremental
        if incremental is not None:
            query = query.order_by(exp.column(incremental.cursor_column, quoted=True))
        return query

    def _filtered(self, query: exp.Select, dialect: str) -> exp.Select:
        incremental = self.config.incremental
        if incremental is None:
            return query
        cursor = exp.column(incremental.cursor_column, quoted=True)
        watermark: exp.Expr = exp.Placeholder(this="watermark")
        if incremental.lookback:
            watermark = exp.Sub(
                this=exp.cast(watermark, "TIMESTAMPTZ"), expression=_interval(incremental.lookback)
            )
        predicate: exp.Expr = cursor >= watermark
        if incremental.initial_value is None:
            predicate = exp.or_(exp.Placeholder(this="watermark").is_(exp.null()), predicate)
        if incremental.end_value is not None:
            predicate = exp.and_(predicate, cursor < exp.Placeholder(this="upper_bound"))
        if incremental.safety_margin:
            upper = exp.Sub(
                this=exp.CurrentTimestamp(), expression=_interval(incremental.safety_margin)
            )
            predicate = exp.and_(predicate, cursor < upper)
        return query.where(predicate)


@register_source("postgres", config=PostgresConfig)
class PostgresSource(DatabaseSource):
    """A PostgreSQL table or query (DuckDB's postgres extension, or psycopg2)."""


@register_source("mysql", config=MySQLConfig)
class MySQLSource(DatabaseSource):
    """A MySQL or MariaDB table or query (DuckDB's mysql extension, or PyMySQL)."""

    dialect = "mysql"
    scanner = "mysql"
    default_port = 3306


@register_source("sql", config=SqlConfig)
class SqlAlchemySource(DatabaseSource):
    """Any database SQLAlchemy reaches, through its driver."""

    scanner = ""

    def __init__(self, config: SqlConfig) -> None:  # type: ignore[override]
        self.config = config
        self.dialect = _url_dialect(config.url)


def driver_sql(query: exp.Select, dialect: str) -> str:
    """SQL for a driver through SQLAlchemy: parameters as `:name`, bound by the driver."""
    named = query.transform(
        lambda node: exp.var(f":{node.name}") if isinstance(node, exp.Placeholder) else node
    )
    return named.sql(dialect=dialect, pretty=True)
