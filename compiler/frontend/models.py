"""Stage 4 vocabulary: the Pydantic models a rendered recipe is validated against.

Blocks whose shape depends on a registered name (`source`, `destination`, each transform step)
are validated in a second round against the model that name registered (see `validate.py`).
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import sqlglot
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PositiveInt,
)
from pydantic_core import PydanticCustomError
from sqlglot import exp

from recipec.compiler.semantic.types import LogicalType, TypeNameError, parse_type
from recipec.transform_hooks import TransformHooks


class StrictModel(BaseModel):
    """Base of every recipe model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StepConfig(StrictModel, TransformHooks):
    """Base of a built-in transform step's model: it answers the transform hooks it knows."""


def _type_name(value: Any) -> LogicalType:
    if isinstance(value, LogicalType):
        return value
    try:
        return parse_type(str(value))
    except TypeNameError as exc:
        raise PydanticCustomError("type_name", str(exc), {"hint": exc.hint}) from None


TypeName = Annotated[
    LogicalType, BeforeValidator(_type_name), PlainSerializer(str, return_type=str)
]
"""A type named in a recipe (`int`, `timestamp`, `decimal(12,2)`...)."""


def parse_table_name(text: str) -> tuple[str, ...]:
    """`main."o'brien orders"` -> ("main", "o'brien orders"). Only identifiers are allowed."""
    try:
        table = sqlglot.parse_one(text, into=exp.Table, dialect="duckdb")
    except sqlglot.errors.SqlglotError:  # a parse or a token error (an unclosed quote)
        table = None
    parts = table.parts if isinstance(table, exp.Table) else []
    if not parts or len(parts) > 3 or not all(isinstance(p, exp.Identifier) for p in parts):
        raise PydanticCustomError(
            "table_name",
            "not a table name",
            {"hint": f"write [catalog.][schema.]table; quote odd names: {_quoted_hint(text)}"},
        )
    return tuple(p.name for p in parts)


def _quoted_hint(text: str) -> str:
    """`main.o'brien orders` -> `main."o'brien orders"`: each dotted part quoted where needed."""
    schema, dot, name = text.rpartition(".")
    quoted = exp.to_identifier(name or text, quoted=True).sql("duckdb")
    plain = schema.isidentifier() if schema else True
    return f"{schema}{dot}{quoted}" if plain else exp.to_identifier(text, quoted=True).sql("duckdb")


TableName = Annotated[str, AfterValidator(lambda v: (parse_table_name(v), v)[1])]


def _name(kind: str) -> AfterValidator:
    """A validator of names taken literally (quoted in every statement): any text a database can
    hold as an identifier, which is any but the empty one and those with a NUL character."""

    def check(text: str) -> str:
        if text and "\x00" not in text:
            return text
        problem = "is empty" if not text else "contains a NUL character"
        raise PydanticCustomError(
            f"{kind}_name",
            f"not a {kind} name: it {problem}",
            {
                "hint": f"write the {kind}'s name as it is, in YAML quotes when it has odd "
                'characters (`"o\'brien x"`); recipec quotes it in the SQL'
            },
        )

    return AfterValidator(check)


ColumnName = Annotated[str, _name("column")]
"""A column, named literally: `o'brien x` is the column of that name (never SQL to parse)."""
SchemaName = Annotated[str, _name("schema")]


class Checks:
    """Problems a model's validator found, each at a key of the model, raised together (the
    reporter locates each at its key, not at the block)."""

    def __init__(self) -> None:
        self.found: list[tuple[tuple[str | int, ...], str, str | None]] = []

    def add(self, key: str | tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.found.append(((key,) if isinstance(key, str) else key, message, hint))

    def raise_found(self) -> None:
        if self.found:
            raise PydanticCustomError(
                "checks",
                "{summary}",
                {"summary": "; ".join(m for _, m, _ in self.found), "problems": tuple(self.found)},
            )


class SecretField:
    """Marks a config field of a SQL connector that may hold a secret: a connection setting
    (a password, a token) that is never written into the plan's SQL."""


class SecretText(str):
    """The value of a `SecretSetting`: a plain string to every use, `'***'` in reprs (of a
    config model, in a message or a traceback)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


SecretSetting = Annotated[str, SecretField(), AfterValidator(SecretText)]


def holds_secret(annotation: Any, metadata: Iterable[Any] = ()) -> bool:
    """Whether a field's type carries `SecretField`, also inside `SecretSetting | None`."""
    if any(isinstance(m, SecretField) for m in metadata):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return any(isinstance(m, SecretField) for m in typing.get_args(annotation)[1:])
    return any(holds_secret(arg) for arg in typing.get_args(annotation))


class PathField:
    """Marks a config field as a local file path (resolved against the file that wrote it)."""


LocalPath = Annotated[str, PathField()]
"""A file path or glob: relative to the recipe that wrote it, or to the working directory when a
template produced it."""


def _scalar_text(value: Any) -> Any:
    """YAML reads `2020-01-01` as a date; cursor bounds are kept as canonical text."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


CursorValue = Annotated[str | int | float, BeforeValidator(_scalar_text)]


class CursorIncremental(StrictModel):
    """Load only rows whose cursor is at or past the last committed watermark."""

    strategy: Literal["cursor"]
    cursor_column: ColumnName
    initial_value: CursorValue | None = None
    """Lower bound of the first run; without it the first run reads everything."""


class ModifiedTimeIncremental(StrictModel):
    """Load only files that are new or changed (size or modification time) since the last run."""

    strategy: Literal["modified_time"]


Incremental = Annotated[
    CursorIncremental | ModifiedTimeIncremental, Field(discriminator="strategy")
]


class RuntimeSettings(StrictModel):
    batch_size: PositiveInt = 50_000
    """Rows per batch for sources and destinations that move Arrow batches."""
    parallelism: PositiveInt | None = None
    """Resources loaded at once (4 when unset), and the threads of a chunked driver read."""
    threads: PositiveInt | None = None
    """Threads DuckDB may use (shared by the resources running at once); all cores when unset."""
    retries: Annotated[int, Field(ge=0, le=100)] = 3
    """How often a transient failure (a lost connection, a locked file) is retried."""
    memory_limit: str | None = None
    """The engine's memory limit, for example '4GB'."""
    preserve_order: bool = False
    """Write rows in the source's order. Off by default: a table has no row order, and DuckDB
    loads faster and in less memory when its threads need not keep one."""


class TransformBlock(StrictModel):
    steps: list[dict[str, Any]] = []


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _recipe_name(value: str) -> str:
    if not _NAME.match(value):
        raise PydanticCustomError(
            "recipe_name",
            "invalid recipe name '{name}'",
            {"name": value, "hint": "use letters, digits, '_', '-' and '.'"},
        )
    return value


class DeclaredColumn(StrictModel):
    name: ColumnName
    type: TypeName


class DeclaredSchema(StrictModel):
    """The source's columns, declared in the recipe so compiles are fully typed offline."""

    columns: list[DeclaredColumn] = Field(min_length=1)


class DbtSettings(StrictModel):
    """dbt run after the load commits, against the database it loaded (`dbt:`)."""

    project_dir: LocalPath
    """The dbt project (the folder of its dbt_project.yml), relative to the recipe."""
    profiles_dir: LocalPath | None = None
    """The folder of a profiles.yml; without it recipec writes a profile for the destination."""
    target: str | None = None
    """The profile's target (with profiles_dir); the profile's default without it."""
    command: Literal["build", "run", "test"] = "build"
    """`build` runs the models and their tests (and seeds, snapshots)."""
    select: list[str] = []
    """dbt's node selection (`customer_metrics+`); everything without it."""
    exclude: list[str] = []
    vars: dict[str, Any] = {}
    """Passed to dbt as `--vars` (they may be templates of recipec's vars)."""


class PipelineDbtSettings(DbtSettings):
    """A recipe with resources: dbt after the resources it depends on (all, without
    `depends_on`), against the database they loaded."""

    depends_on: list[str] | None = None


class RecipeModel(StrictModel):
    """The top level of a recipe, after `extends:` and templates are resolved."""

    name: Annotated[str, AfterValidator(_recipe_name)]
    description: str | None = None
    plugins: list[str] = []
    """Python modules imported before validation (they register plug-ins)."""
    source: dict[str, Any]
    transform: TransformBlock = TransformBlock()
    destination: dict[str, Any]
    runtime: RuntimeSettings = RuntimeSettings()
    declared_schema: DeclaredSchema | None = Field(default=None, alias="schema")
    dbt: DbtSettings | None = None
    """dbt models (and their tests) built after the load commits."""
