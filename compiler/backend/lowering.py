"""Stage 7: lower the IR into a plan of SQL built with sqlglot.

One function per plan step. The stage statement composes the read query and every transform as
CTEs, so the whole batch is produced by one statement inside DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlglot import exp

from recipec._version import __version__
from recipec.compiler.connectors import statements
from recipec.compiler.frontend.inheritance import portable_name
from recipec.compiler.frontend.models import (
    CursorIncremental,
    ModifiedTimeIncremental,
    parse_table_name,
)
from recipec.compiler.frontend.yaml_loader import format_path
from recipec.compiler.plan import (
    BATCHES,
    LOADED_KEYS,
    NEW_KEYS,
    READ,
    ROW_HASH,
    Column,
    CommitStateStep,
    DbtNode,
    DbtStep,
    ExtractStep,
    IncrementalSpec,
    Plan,
    RecipeFileRef,
    SecretRef,
    SqlWrite,
    StageStep,
    TransformStep,
    Unit,
    WriteStep,
    parameter_name,
    python_output_table,
    state_key,
)
from recipec.compiler.semantic.ir import LoadIR, SourceIR
from recipec.transform_hooks import hooks

SOURCE = "_recipec_source"
"""Where Python sources' batches are staged before the read query runs."""
REDACTED = "***"


def sql(expression: exp.Expression, pretty: bool = False) -> str:
    return expression.sql(dialect="duckdb", pretty=pretty)


def _table(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _step_name(index: int) -> str:
    return f"_recipec_step_{index}"


def lower(
    ir: LoadIR, resource: str, depends_on: tuple[str, ...] = (), *, lineage: bool = True
) -> Unit:
    """The unit of one resource's load."""
    read = read_query(ir)
    transforms = [lower_transform(ir, i) for i in range(len(ir.transforms))]
    unit = Unit(
        name=resource,
        depends_on=list(depends_on),
        state_key=state_key(ir.name, resource),
        former_state_key=ir.name if state_key(ir.name, resource) != ir.name else None,
        runtime=ir.runtime.model_dump(mode="json"),
        warnings=list(ir.warnings),
        secrets={
            path: SecretRef(
                template=ref.template,
                env=list(ref.env_vars),
                vars=list(ref.var_names),
                file=ref.file,
                key=format_path(ref.key) if ref.file else None,
            )
            for path, ref in sorted(ir.secrets.items())
        },
        steps=[
            lower_extract(ir, read),
            *transforms,
            lower_stage(ir, read),
            lower_write(ir),
            lower_commit(ir),
            *([lower_dbt(ir)] if ir.dbt is not None else []),
        ],
    )
    if lineage:
        unit = unit.model_copy(update={"lineage": _lineage(ir, unit)})
    return unit.with_fingerprint()


def assemble(
    name: str,
    irs: list[LoadIR],
    units: list[Unit],
    levels: list[list[str]],
    skipped: Sequence[str] = (),
    dbt: DbtNode | None = None,
) -> Plan:
    """The plan of a recipe's units (in topological order): its files, runtime and plug-ins
    are the union of its loads'."""
    files = {p: h for ir in irs for p, h in ir.files}
    plugin_paths = dict.fromkeys(path for ir in irs for path in ir.plugin_paths)
    return Plan(
        recipec_version=__version__,
        name=name,
        files=[RecipeFileRef(path=p, sha256=h) for p, h in files.items()],
        runtime=units[0].runtime if units else {},
        plugins=list(dict.fromkeys(m for ir in irs for m in ir.plugins)),
        plugin_paths=list(plugin_paths),
        units=units,
        levels=levels,
        skipped=list(skipped),
        dbt=dbt,
    ).with_fingerprint()


def _lineage(ir: LoadIR, unit: Unit) -> dict[str, list[str]] | None:
    """Each output column's source columns, when every step's output is known."""
    output = unit.output_schema
    if ir.columns is None or output is None or any(t.runs_in_python for t in unit.transforms):
        return None
    from recipec.compiler.tools.lineage import (
        column_lineage,  # sqlglot's optimizer: only when known
    )

    return column_lineage(unit.stage.sql, ir.columns, [c.name for c in output])


def _config(config: BaseModel, prefix: str, secrets: dict[str, Any]) -> dict[str, Any]:
    """A config as plan JSON, with secret values replaced by `***`."""
    data = config.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    for path in secrets:
        if not path.startswith(prefix + "."):
            continue
        keys = path[len(prefix) + 1 :].split(".")
        target = data
        for key in keys[:-1]:
            target = target.get(key, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict) and keys[-1] in target:
            target[keys[-1]] = REDACTED
    return data


def source_relation(source: SourceIR) -> exp.Expression:
    if not source.read_by_duckdb:
        return _table(BATCHES)
    if isinstance(source.incremental, ModifiedTimeIncremental):
        path: exp.Expression = exp.Placeholder(this="files")
    else:
        path = exp.Literal.string(source.path or "")
    return source.registration.create(source.config).relation(path)


def read_query(ir: LoadIR) -> exp.Select:
    """The source read, with the incremental predicate pushed into it."""
    if ir.source.reader == "database":
        return ir.source.registration.create(ir.source.config).read_query()
    query = exp.select(exp.Star()).from_(source_relation(ir.source))
    incremental = ir.source.incremental
    if isinstance(incremental, CursorIncremental):
        at_or_past: exp.Expr = exp.column(
            incremental.cursor_column, quoted=True
        ) >= exp.Placeholder(this="watermark")
        if incremental.initial_value is None:
            # The first run has no watermark and reads everything.
            at_or_past = exp.or_(exp.Placeholder(this="watermark").is_(exp.null()), at_or_past)
        query = query.where(at_or_past)
    return query


def lower_extract(ir: LoadIR, read: exp.Select) -> ExtractStep:
    source = ir.source
    incremental = source.incremental
    spec = None
    if isinstance(incremental, CursorIncremental):
        backfill = getattr(incremental, "backfill", None)
        spec = IncrementalSpec(
            strategy="cursor",
            cursor_column=incremental.cursor_column,
            cursor_output=ir.cursor_output,
            initial_value=incremental.initial_value,
            end_value=getattr(incremental, "end_value", None),
            backfill_step=backfill.step if backfill else None,
        )
    elif isinstance(incremental, ModifiedTimeIncremental):
        spec = IncrementalSpec(strategy="modified_time")
    database = None
    if source.reader == "database":
        database = source.registration.create(source.config).read_spec()
        if ir.source_schema is not None:
            database = database.model_copy(update={"source_schema": list(ir.source_schema)})
    return ExtractStep(
        source=source.type,
        reader=source.reader,  # type: ignore[arg-type]
        database=database,
        output_schema=_schema(ir.columns),
        schema_lock=ir.schema_lock,
        config=_config(source.config, "source", ir.secrets),
        path=source.path,
        query=sql(read, pretty=True),
        incremental=spec,
    )


def transform_select(ir: LoadIR, index: int, relation: exp.Expression) -> exp.Select:
    step = ir.transforms[index]
    lowered = step.registration.factory(step.config, relation)
    if hooks(step.config).runs_in_python:  # reads where the runtime stages it
        lowered = exp.select(exp.Star()).from_(_table(python_output_table(index)))
    if not isinstance(lowered, exp.Query):
        raise TypeError(f"transform '{step.type}' did not lower to a query")
    if bound_parameters(step.config):
        lowered = read_parameters(lowered, step.config, index)
    return lowered  # type: ignore[return-value]


def read_parameters(lowered: exp.Query, config: Any, index: int) -> exp.Query:
    """`$salt` of step 2 reads the DuckDB variable `step_2_salt`, which the runtime sets: the
    value stays out of the SQL, and a variable (unlike a parameter) works in a view."""
    bound = bound_parameters(config)
    return lowered.transform(  # type: ignore[return-value]
        lambda node: (
            exp.Anonymous(
                this="getvariable",
                expressions=[exp.Literal.string(parameter_name(index, node.name))],
            )
            if isinstance(node, exp.Placeholder) and node.name in bound
            else node
        )
    )


def bound_parameters(config: Any) -> tuple[str, ...]:
    """A transform's fields passed to its SQL as run-time parameters (never written into it,
    so they may be secrets)."""
    return hooks(config).bound_parameters


def lower_transform(ir: LoadIR, index: int) -> TransformStep:
    step = ir.transforms[index]
    answers = hooks(step.config)
    return TransformStep(
        index=index,
        type=step.type,
        sql=sql(transform_select(ir, index, _table("input")), pretty=True),
        config=_config(step.config, f"transform.steps[{index}]", ir.secrets),
        parameters=[f for f in bound_parameters(step.config) if getattr(step.config, f, None)],
        runs_in_python=answers.runs_in_python,
        origin=f"{portable_name(Path(step.location.file))}:{step.location.line}",
        zone_sensitive=answers.zone_sensitive(),
        output_schema=_schema(ir.step_columns[index] if index < len(ir.step_columns) else None),
    )


def _schema(columns: Any) -> list[Column] | None:
    return None if columns is None else [Column(name=n, type=t) for n, t in columns]


def stage_query(ir: LoadIR, read: exp.Select) -> exp.Select:
    """WITH source AS (read), step_0 AS (...), ... SELECT * FROM the last step."""
    ctes: list[tuple[str, exp.Query]] = [(SOURCE, read)]
    for index in range(len(ir.transforms)):
        ctes.append((_step_name(index), transform_select(ir, index, _table(ctes[-1][0]))))
    query = exp.select(exp.Star()).from_(_table(ctes[-1][0]))
    for name, cte in ctes:
        query = query.with_(exp.to_identifier(name, quoted=True), as_=cte)
    if ir.destination.write_mode in ("merge", "scd2"):
        query = query.qualify(_latest_per_key(ir).eq(1))
    if ir.destination.write_mode == "scd2":
        query = _with_versions(query, ctes[-1][0], ir.destination.config)
    return query


def _with_versions(query: exp.Select, last_step: str, config: Any) -> exp.Select:
    """scd2: each staged row with its hash and the validity of the version it opens."""
    validity = config.scd2
    return query.select(
        exp.alias_(
            exp.func("md5", exp.cast(exp.column(last_step, quoted=True), "VARCHAR")),
            exp.to_identifier(statements.HASH, quoted=True),
        ),
        exp.alias_(
            exp.cast(exp.Placeholder(this="run_at"), "TIMESTAMPTZ"),
            exp.to_identifier(validity.valid_from, quoted=True),
        ),
        exp.alias_(
            exp.cast(exp.null(), "TIMESTAMPTZ"), exp.to_identifier(validity.valid_to, quoted=True)
        ),
        copy=False,
    )


def _latest_per_key(ir: LoadIR) -> exp.Expression:
    """Within one batch, the row with the highest cursor wins for each merge key."""
    window = exp.Window(
        this=exp.RowNumber(),
        partition_by=[exp.column(k, quoted=True) for k in ir.destination.merge_keys],
    )
    if ir.cursor_output:
        window.set(
            "order",
            exp.Order(
                expressions=[
                    exp.Ordered(
                        this=exp.column(ir.cursor_output, quoted=True), desc=True, nulls_first=False
                    )
                ]
            ),
        )
    return window


def lower_stage(ir: LoadIR, read: exp.Select) -> StageStep:
    create = exp.Create(
        this=_table(statements.STAGE),
        kind="TABLE" if ir.materialize_stage else "VIEW",
        replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        expression=stage_query(ir, read),
    )
    appends_at_cursor = ir.destination.write_mode == "append" and isinstance(
        ir.source.incremental, CursorIncremental
    )
    hashed_read = skip = legacy = None
    if appends_at_cursor and ir.cursor_output:
        hashed_read, skip = _read_with_keys(ir.source.incremental.cursor_column)  # type: ignore[union-attr]
        legacy = exp.delete(_table(statements.STAGE)).where(
            exp.and_(
                exp.column(ir.cursor_output, quoted=True).eq(exp.Placeholder(this="watermark")),
                exp.func("list_contains", exp.Placeholder(this="legacy_hashes"), row_hash()),
            )
        )
    return StageStep(
        materialize=ir.materialize_stage,
        reason=ir.stage_reason,
        sql=sql(create, pretty=True),
        read_sql=sql(hashed_read, pretty=True) if hashed_read is not None else None,
        skip_sql=sql(skip) if skip is not None else None,
        legacy_boundary_sql=sql(legacy) if legacy is not None else None,
        source_keys=_source_keys(ir),
    )


def _read_with_keys(cursor_column: str) -> tuple[exp.Create, exp.Delete]:
    """Append with a cursor: the source's rows, each with the hash of the row as the source gave
    it, staged before the transforms; then the rows at the watermark that an earlier run loaded
    are dropped, by a join against their stored hashes (so a value the recipe derives, such as a
    var or a load time, never makes a loaded row look new)."""
    row = "_recipec_row"
    hashed = exp.func("md5", exp.cast(exp.column(row, quoted=True), "VARCHAR"))
    source = _table(SOURCE)
    source.set("alias", exp.TableAlias(this=exp.to_identifier(row, quoted=True)))
    read = exp.Create(
        this=_table(READ),
        kind="TABLE",
        replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        expression=exp.select(
            exp.Star(), exp.alias_(hashed, exp.to_identifier(ROW_HASH, quoted=True))
        ).from_(source),
    )
    loaded = exp.select(exp.column("row_hash", quoted=True)).from_(_table(LOADED_KEYS))
    skip = exp.delete(_table(READ)).where(
        exp.and_(
            exp.column(cursor_column, quoted=True).eq(exp.Placeholder(this="watermark")),
            exp.In(this=exp.column(ROW_HASH, quoted=True), query=exp.Subquery(this=loaded)),
        )
    )
    return read, skip


def _source_keys(ir: LoadIR) -> list[str] | None:
    """The merge keys as the source columns they carry unchanged through every step, if they
    do: a source whose primary key they cover cannot send one key twice in a read."""
    if ir.destination.write_mode not in ("merge", "scd2"):
        return None
    keys: list[str] = list(ir.destination.merge_keys)
    for step in reversed(ir.transforms):
        sources = [hooks(step.config).carried_from(key) for key in keys]
        carried = [source for source in sources if source is not None]
        if len(carried) < len(sources):  # a step that changes a key, or does not say
            return None
        keys = carried
    return keys


def row_hash() -> exp.Expr:
    """MD5 of a staged row (DuckDB reads a table name as a struct of the row)."""
    return exp.func("md5", exp.cast(exp.column(statements.STAGE, quoted=True), "VARCHAR"))


def lower_write(ir: LoadIR) -> WriteStep:
    destination = ir.destination
    step = WriteStep(
        destination=destination.type,
        config=_config(destination.config, "destination", ir.secrets),
        database=destination.database,
        table=destination.table,
        write_mode=destination.write_mode,
        merge_keys=list(destination.merge_keys),
        in_engine=destination.capabilities.in_engine,
    )
    factory = destination.registration.factory
    if not hasattr(factory, "statements"):
        return step  # a plug-in destination: it is handed Arrow batches
    dialect = destination.capabilities.dialect
    statements = factory(destination.config).statements()

    def render(expressions: list[Any]) -> list[str]:
        return [e.sql(dialect=dialect) for e in expressions]

    written = statements.overwrite if destination.write_mode == "overwrite" else statements.write
    sql_write = SqlWrite(
        dialect=dialect,
        setup_sql=render(statements.setup),
        load_sql=render(statements.load),
        create_sql=statements.create.sql(dialect=dialect),
        write_sql=render(written),
        fallback_write_sql=render(statements.fallback_write),
        full_refresh_sql=render(statements.overwrite),
    )
    return step.model_copy(update={"sql": sql_write})


def lower_dbt(ir: LoadIR) -> DbtStep:
    """dbt after the commit; without profiles_dir, the profile recipec writes reaches the
    destination (a DuckDB file by its path, Postgres by its server and the table's schema)."""
    dbt, destination = ir.dbt, ir.destination
    profile = None
    if dbt.profiles_dir is None:
        config = _config(destination.config, "destination", ir.secrets)
        if destination.type == "duckdb":
            profile = {"type": "duckdb", "path": destination.database}
        else:
            schema = (parse_table_name(destination.table)[:-1] or ("public",))[-1]
            profile = {
                "type": "postgres",
                "host": config.get("host"),
                "port": config.get("port") or 5432,
                "dbname": config.get("database"),
                "user": config.get("user"),
                "password": config.get("password"),
                "schema": schema,
            }
    return DbtStep(
        command=dbt.command,
        project_dir=dbt.project_dir,
        profiles_dir=dbt.profiles_dir,
        target=dbt.target,
        select=list(dbt.select),
        exclude=list(dbt.exclude),
        vars=dict(dbt.vars),
        profile=profile,
    )


def lower_commit(ir: LoadIR) -> CommitStateStep:
    stage = _table(statements.STAGE)
    watermark = keys = None
    if ir.cursor_output:
        cursor = exp.column(ir.cursor_output, quoted=True)
        watermark = exp.select(exp.cast(exp.Max(this=cursor), "VARCHAR")).from_(stage)
        if ir.destination.write_mode == "append" and isinstance(
            ir.source.incremental, CursorIncremental
        ):
            keys = _new_keys(ir.source.incremental.cursor_column)
    step = CommitStateStep(
        in_destination=ir.destination.capabilities.holds_state,
        watermark_sql=sql(watermark) if watermark is not None else None,
        keys_sql=sql(keys, pretty=True) if keys is not None else None,
    )
    if not step.in_destination:
        return step
    schema = getattr(ir.destination.config, "state_schema", "recipec")
    dialect = ir.destination.capabilities.dialect

    def render(expressions: list[exp.Expr]) -> list[str]:
        return [e.sql(dialect=dialect) for e in expressions]

    update: dict[str, Any] = {
        "setup_sql": render(statements.state_setup(schema)),
        "read_sql": statements.state_read(schema).sql(dialect=dialect),
        "commit_sql": render(statements.state_commit(schema)),
        "run_record_sql": statements.run_record(schema).sql(dialect=dialect),
        "history_sql": statements.load_history(schema).sql(dialect=dialect),
    }
    if keys is not None:
        update |= {
            "keys_read_sql": statements.keys_read(schema).sql(dialect=dialect),
            "keys_commit_sql": render(
                statements.keys_commit(schema, _table(NEW_KEYS), ir.destination.capabilities)
            ),
        }
    return step.model_copy(update=update)


def _new_keys(cursor_column: str) -> exp.Create:
    """The hashes of the source rows at the new watermark, and those stored before when the
    watermark did not move (`$same_watermark`): what the next run skips."""
    at_watermark = (
        exp.select(exp.alias_(exp.column(ROW_HASH, quoted=True), "row_hash", quoted=True))
        .from_(_table(READ))
        .where(exp.column(cursor_column, quoted=True).eq(exp.Placeholder(this="new_watermark")))
    )
    kept = (
        exp.select(exp.column("row_hash", quoted=True))
        .from_(_table(LOADED_KEYS))
        .where(exp.Placeholder(this="same_watermark"))
    )
    return exp.Create(
        this=_table(NEW_KEYS),
        kind="TABLE",
        replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        expression=exp.union(at_watermark, kept, distinct=True),
    )
