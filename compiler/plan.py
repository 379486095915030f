"""The plan: an immutable, deterministic, JSON-serialisable description of a recipe's loads.

A plan is what the runtime executes: its units (one per resource) in a deterministic
topological order, grouped in levels, each with its own steps, committed in its own
transaction, and its own fingerprint. A recipe of one load is a plan of one unit. The JSON has
sorted keys, a `format_version` and a `fingerprint` (SHA-256 of the content, excluding the
recipec version that wrote it), so the same recipe and inputs give byte-identical JSON and a
reviewer can diff two plans.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp

from recipec.errors import RecipeError

FORMAT_VERSION = 4
"""4: units (resources) with their dependencies; 3 was one load's steps."""

# Engine tables the plan's statements name and the runtime fills.
READ = "_recipec_read"
"""Append with a cursor: the source's rows with their hashes, staged before the transforms."""
ROW_HASH = "_recipec_row_hash"
LOADED_KEYS = "_recipec_loaded_keys"
STAGE = "_recipec_stage"
"""The batch, read and transformed, that the write step writes."""
"""The hashes of the source rows loaded at the watermark, put in the engine from where they are
stored (`row_hash`)."""
ATTACHED = "_recipec_source_db"
"""The name a source database is attached under in the engine."""
BATCHES = "_recipec_batches"
"""What a Python source or the database driver produced, staged for the read query."""
NEW_KEYS = "_recipec_new_keys"
"""The hashes the run stores for the next one (`row_hash`)."""


def parameter_name(index: int, field: str) -> str:
    """The DuckDB variable a transform step's run-time parameter is bound to (`step_4_salt`)."""
    return f"step_{index}_{field}"


class PlanModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class RecipeFileRef(PlanModel):
    """A recipe file the plan was compiled from, with its content hash."""

    path: str
    sha256: str


class SecretRef(PlanModel):
    """How the runtime resolves a secret again, never its value: its template and the names of
    the environment variables and vars it reads (a run asks for those vars again), or, for a
    value written as it is, the recipe file and key that hold it."""

    template: str | None = None
    env: list[str] = []
    vars: list[str] = []
    file: str | None = None
    key: str | None = None


class IncrementalSpec(PlanModel):
    strategy: Literal["cursor", "modified_time"]
    cursor_column: str | None = None
    """The cursor in the source."""
    cursor_output: str | None = None
    """The cursor's name after the transform steps (where the new watermark is read)."""
    initial_value: str | int | float | None = None
    end_value: str | int | float | None = None
    """Rows before this value only (`$upper_bound`)."""
    backfill_step: str | None = None
    """Windows of this width from the watermark to `end_value`, each committed on its own."""


class Column(PlanModel):
    """A column as the compiler's type checker sees it: its name and DuckDB type."""

    name: str
    type: str


class SourceColumn(PlanModel):
    """A database column as introspected: its type there, in DuckDB and in Arrow."""

    name: str
    source_type: str
    duckdb_type: str
    arrow_type: str
    nullable: bool


class DatabaseRead(PlanModel):
    """What reading a database source needs at run time, filled by its connector
    (`compiler/connectors/databases.py`) and read by its run half (`runtime/databases.py`)."""

    source_query: str
    """The read in the source's dialect, for the driver (`:watermark` bound)."""
    source_dialect: str
    scanner: str
    """The DuckDB extension that can read it ("" when only the driver can)."""
    attached_as: str | None = None
    """Read by a scanner: the name the extract's `query` reads the attached database under."""
    chunk_column: str | None = None
    chunks: int = 1
    """A full read is split into this many ranges of `chunk_column`, read in parallel."""
    source_span_query: str | None = None
    """Chunking, through the driver: the range of `chunk_column`."""
    source_chunk_query: str | None = None
    """Chunking, through the driver: the read of one range (`:chunk_low`, `:chunk_high`)."""
    source_schema: list[SourceColumn] | None = None
    """With `--introspect`: the source's columns and their types."""


class ExtractStep(PlanModel):
    """Read the source: DuckDB reads it itself, or Python batches are staged first."""

    kind: Literal["extract"] = "extract"
    source: str
    reader: Literal["duckdb", "database", "python"]
    config: dict[str, Any]
    """The validated source block; secrets show as `***` (see `Plan.secrets`)."""
    path: str | None = None
    """Portable file path or glob (relative to the working directory it was compiled in)."""
    query: str
    """The read query; `$watermark` and `$files` are bound parameters."""
    database: DatabaseRead | None = None
    """A database source's read (`reader: database`)."""
    output_schema: list[Column] | None = None
    """The source's columns as read, when known (declared, locked, from file metadata or
    introspected); None when only the data will tell."""
    schema_lock: str | None = None
    """The schema lock `output_schema` comes from; a run first checks the source against it."""
    incremental: IncrementalSpec | None = None

    @property
    def database_read(self) -> DatabaseRead:
        """The database read of a `reader: database` extract."""
        if self.database is None:
            raise ValueError(f"the {self.source} source is not read as a database")
        return self.database

    @property
    def label(self) -> str:
        """What is read, for progress, plans and summaries: `postgres public.orders in test on
        127.0.0.1:5432` for a database (never a password), `csv source data/*.csv` for files."""
        config = self.config
        if self.reader != "database":
            return f"{self.source} source" + (f" {self.path}" if self.path else "")
        if "url" in config:
            url = str(config["url"])
            where = url.rsplit("@", 1)[-1] if "@" in url else url
        else:
            port = config.get("port") or (3306 if self.source == "mysql" else 5432)
            where = f"{config.get('database')} on {config.get('host')}:{port}"
        return f"{self.source} {config.get('table') or 'query'} in {where}"


class TransformStep(PlanModel):
    """One transform, as a SELECT over its input relation."""

    kind: Literal["transform"] = "transform"
    index: int
    type: str
    config: dict[str, Any]
    sql: str
    origin: str
    """Where the step was written (file:line)."""
    zone_sensitive: list[str] = []
    """Columns cast to `datetime`: TIMESTAMP, or TIMESTAMPTZ when the input carries a zone."""
    output_schema: list[Column] | None = None
    """The step's output columns, when the source's are known."""
    runs_in_python: bool = False
    """A Python function: the runtime stages its output, which `sql` reads."""
    parameters: list[str] = []
    """Config fields the SQL reads at run time as the DuckDB variable `step_<index>_<field>`
    (e.g. a secret salt), never written into it."""


class StageStep(PlanModel):
    """Run the read and every transform as one statement inside DuckDB."""

    kind: Literal["stage"] = "stage"
    materialize: bool
    reason: str
    sql: str
    read_sql: str | None = None
    """Append with a cursor: the source's rows with the hash of each (`_recipec_row_hash`)
    staged as `_recipec_read` before the transforms, which read them from there. Its
    `"_recipec_source"` stands for the stage's read, bound at run time."""
    skip_sql: str | None = None
    """Drop the rows of `_recipec_read` loaded at the watermark before (a join against the
    stored hashes, `_recipec_loaded_keys`)."""
    legacy_boundary_sql: str | None = None
    """A state written before row hashes were stored beside the data (`boundary_hashes`, over
    the transformed rows): drop the staged rows it names, once."""
    source_keys: list[str] | None = None
    """Merge and scd2: the merge keys as the source columns they pass through unchanged, when
    they do. A source table whose primary key they cover needs no deduplication."""


class SqlWrite(PlanModel):
    """What a SQL destination runs to write a batch, in its own dialect: filled from its
    connector's statements (`compiler/connectors/<name>.py`), run by its session."""

    dialect: str
    setup_sql: list[str] = []
    load_sql: list[str] = []
    """Move the staged rows to the destination's side (COPY), when it is not DuckDB."""
    create_sql: str
    write_sql: list[str] = []
    fallback_write_sql: list[str] = []
    """`write_sql` for servers that lack it (MERGE before Postgres 15)."""
    full_refresh_sql: list[str] = []


class WriteStep(PlanModel):
    """Write the staged rows to the destination."""

    kind: Literal["write"] = "write"
    destination: str
    config: dict[str, Any]
    database: str | None = None
    table: str
    write_mode: str
    merge_keys: list[str] = []
    in_engine: bool = False
    """The destination is a DuckDB database the run's engine attaches (`database`)."""
    sql: SqlWrite | None = None
    """A SQL destination's statements; None for a plug-in (handed Arrow batches)."""
    schema_evolution: Literal["add_columns"] = "add_columns"

    @property
    def sql_write(self) -> SqlWrite:
        """The statements of a SQL destination's write."""
        if self.sql is None:
            raise ValueError(f"the {self.destination} destination writes no SQL")
        return self.sql


class CommitStateStep(PlanModel):
    """Commit the new watermark; in the destination, in the same transaction as the data."""

    kind: Literal["commit_state"] = "commit_state"
    in_destination: bool
    setup_sql: list[str] = []
    read_sql: str | None = None
    commit_sql: list[str] = []
    watermark_sql: str | None = None
    keys_sql: str | None = None
    """Append with a cursor: `_recipec_new_keys`, the hashes of the rows at the new watermark."""
    keys_read_sql: str | None = None
    """The stored hashes (`$recipe_name`), read into `_recipec_loaded_keys`."""
    keys_commit_sql: list[str] = []
    """Replace the stored hashes with `_recipec_new_keys`, in the data's transaction (a server
    destination takes them by COPY)."""
    run_record_sql: str | None = None
    """The resource's row in `_recipec_runs` (`$status`, `$error`...): part of `commit_sql`,
    and run alone after a failure rolled back."""
    history_sql: str | None = None
    """The resource's runs, newest first (`$recipe_name`, `$limit`): `recipec runs`."""


class DbtStep(PlanModel):
    """Run dbt-core (its Python runner) after the load commits, against the database it
    loaded: with the project's own profiles, or a profile recipec writes for the destination."""

    kind: Literal["dbt"] = "dbt"
    command: Literal["build", "run", "test"]
    project_dir: str
    profiles_dir: str | None = None
    target: str | None = None
    select: list[str] = []
    exclude: list[str] = []
    vars: dict[str, Any] = {}
    profile: dict[str, Any] | None = None
    """The profile output recipec writes (without profiles_dir): the destination's adapter and
    where it is; its secrets come from the destination's, resolved at run time."""

    @property
    def arguments(self) -> list[str]:
        """dbt's command line (before the profile recipec writes, if any)."""
        args = [self.command, "--project-dir", self.project_dir]
        if self.profiles_dir:
            args += ["--profiles-dir", self.profiles_dir]
        if self.target:
            args += ["--target", self.target]
        for flag, names in (("--select", self.select), ("--exclude", self.exclude)):
            if names:
                args += [flag, *names]
        if self.vars:
            args += ["--vars", json.dumps(self.vars, sort_keys=True)]
        return args


Step = Annotated[
    ExtractStep | TransformStep | StageStep | WriteStep | CommitStateStep | DbtStep,
    Field(discriminator="kind"),
]


class Unit(PlanModel):
    """One resource's load: read, transform, write and commit its watermark, all in one
    transaction (then dbt, if the resource asks for it)."""

    name: str
    """The resource's name (a recipe of one load: the recipe's)."""
    depends_on: list[str] = []
    """Units that commit before this one starts."""
    state_key: str
    """What its state is stored under: the recipe's name for the resource named after it,
    `recipe.resource` for the others."""
    former_state_key: str | None = None
    """A resource of a recipe that had one load before it had resources: the key that load's
    state was kept under, which the resource writing the same table continues from."""
    fingerprint: str = ""
    runtime: dict[str, Any]
    secrets: dict[str, SecretRef] = {}
    warnings: list[str] = []
    """Things the compiler noticed that do not stop a run (e.g. a nullable cursor)."""
    lineage: dict[str, list[str]] | None = None
    """Output column -> the source columns its values come from, when the schema is known. An
    annotation derived from the rest, so not part of the fingerprint."""
    steps: list[Step]

    @property
    def output_schema(self) -> list[Column] | None:
        """The columns the unit writes (before scd2's validity columns), when known."""
        transforms = self.transforms
        return transforms[-1].output_schema if transforms else self.extract.output_schema

    @property
    def extract(self) -> ExtractStep:
        return self._one(ExtractStep)

    @property
    def transforms(self) -> list[TransformStep]:
        return [s for s in self.steps if isinstance(s, TransformStep)]

    @property
    def stage(self) -> StageStep:
        return self._one(StageStep)

    @property
    def write(self) -> WriteStep:
        return self._one(WriteStep)

    @property
    def commit(self) -> CommitStateStep:
        return self._one(CommitStateStep)

    @property
    def dbt(self) -> DbtStep | None:
        return next((s for s in self.steps if isinstance(s, DbtStep)), None)

    def _one(self, kind: type[Any]) -> Any:
        return next(s for s in self.steps if isinstance(s, kind))

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"fingerprint", "lineage"})

    def with_fingerprint(self) -> Unit:
        return self.model_copy(update={"fingerprint": _hash(self.content())})


class DbtNode(PlanModel):
    """A recipe with resources: dbt after the units it depends on committed, against the
    database they loaded."""

    depends_on: list[str]
    profile_of: str
    """The unit whose destination the profile recipec writes reaches (its secrets, resolved at
    run time, are the profile's)."""
    step: DbtStep


def table_expression(name: str) -> exp.Table:
    """A table name of the plan (validated when the recipe was: `[catalog.][schema.]table`)
    as a sqlglot table, each part quoted."""
    parsed = sqlglot.parse_one(name, into=exp.Table, dialect="duckdb")
    parts = [exp.to_identifier(part.name, quoted=True) for part in parsed.parts]
    return exp.Table(
        this=parts[-1],
        db=parts[-2] if len(parts) > 1 else None,
        catalog=parts[-3] if len(parts) > 2 else None,
    )


def python_output_table(index: int) -> str:
    """Where a Python step's output (step `index`) is staged for the steps after it."""
    return f"_recipec_python_{index}"


HISTORY_COLUMNS = (
    "run_id",
    "status",
    "table_name",
    "write_mode",
    "rows_read",
    "rows_written",
    "bytes_read",
    "watermark",
    "error",
    "started_at",
    "finished_at",
)
"""What `CommitStateStep.history_sql` selects, in this order."""


def state_key(recipe: str, resource: str) -> str:
    """Where a resource's state is kept: a recipe's one load (the resource named after the
    recipe) keeps the key it always had, so today's state needs no migration."""
    return recipe if resource == recipe else f"{recipe}.{resource}"


class Plan(PlanModel):
    format_version: int = FORMAT_VERSION
    recipec_version: str
    fingerprint: str = ""
    name: str
    files: list[RecipeFileRef]
    runtime: dict[str, Any]
    """The recipe's runtime settings (`parallelism`: how many units run at once)."""
    plugins: list[str] = []
    """Modules imported before running (the recipe's `plugins:`)."""
    plugin_paths: list[str] = []
    """Folders those modules are imported from (relative to the working directory)."""
    units: list[Unit]
    """In topological order: each unit after the units it depends on."""
    levels: list[list[str]]
    """Units by level: each level's depend only on earlier levels'."""
    skipped: list[str] = []
    """Resources whose `when:` is false: not in the plan."""
    dbt: DbtNode | None = None
    """dbt after the load (a recipe of one load has it in its unit's steps)."""

    def unit(self, name: str) -> Unit:
        return next(u for u in self.units if u.name == name)

    @property
    def only(self) -> Unit:
        """The unit of a plan of one load (tools that read one load: `lineage`, `runs`)."""
        if len(self.units) != 1:
            raise RecipeError(
                f"the plan of {self.name} has {len(self.units)} units "
                f"({', '.join(u.name for u in self.units)}): name one with --resource"
            )
        return self.units[0]

    @property
    def warnings(self) -> list[str]:
        """Every unit's warnings (named by resource when there are several)."""
        several = len(self.units) > 1
        return [
            f"{unit.name}: {warning}" if several else warning
            for unit in self.units
            for warning in unit.warnings
        ]

    def content(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"fingerprint", "recipec_version"})
        for unit in data["units"]:
            unit.pop("lineage", None)
        return data

    def compute_fingerprint(self) -> str:
        return _hash(self.content())

    def with_fingerprint(self) -> Plan:
        return self.model_copy(update={"fingerprint": self.compute_fingerprint()})

    def to_json(self) -> str:
        return _canonical(self.model_dump(mode="json"), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "plan") -> Plan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecipeError(f"{source} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RecipeError(f"{source} is not a recipec plan")
        if data.get("format_version") != FORMAT_VERSION:
            raise RecipeError(
                f"{source} has plan format_version {data.get('format_version')!r}; this recipec "
                f"reads format {FORMAT_VERSION}: compile the recipe again"
            )
        try:
            plan = cls.model_validate(data)
        except ValidationError as exc:
            raise RecipeError(f"{source} is not a valid recipec plan: {exc}") from None
        if plan.compute_fingerprint() != plan.fingerprint:
            raise RecipeError(
                f"{source} was edited after it was compiled (its fingerprint does not match its "
                "content): compile the recipe again"
            )
        return plan


def _hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(content).encode()).hexdigest()


def _canonical(data: Any, indent: int | None = None) -> str:
    return json.dumps(
        data,
        sort_keys=True,
        indent=indent,
        ensure_ascii=False,
        separators=None if indent else (",", ":"),
    )
