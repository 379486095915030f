"""SQL statements shared by the SQL destinations, built with sqlglot and rendered per dialect.

Data is staged in a table named `STAGE` on the destination's side. Statements use `*` for the
staged columns where they are known only at run time; the runtime binds them by name
(`runtime.binding.bind_columns`).
"""

from __future__ import annotations

from sqlglot import exp

from recipec.compiler.connectors.base import DestinationCapabilities, TableWriteConfig
from recipec.compiler.plan import HISTORY_COLUMNS, STAGE

HASH = "_recipec_hash"
"""scd2: a hash of each staged row, kept in the table to tell changed rows from unchanged."""
STATE_TABLE = "_recipec_state"
RUNS_TABLE = "_recipec_runs"
"""One row per resource per run: its status, rows and times (what `recipec runs` lists)."""
RUN_COLUMNS = (
    ("run_id", "TEXT"),
    ("recipe_name", "TEXT"),
    ("resource", "TEXT"),
    ("status", "TEXT"),
    ("plan_fingerprint", "TEXT"),
    ("recipec_version", "TEXT"),
    ("table_name", "TEXT"),
    ("write_mode", "TEXT"),
    ("rows_read", "BIGINT"),
    ("rows_written", "BIGINT"),
    ("bytes_read", "BIGINT"),
    ("watermark", "TEXT"),
    ("error", "TEXT"),
    ("started_at", "TIMESTAMPTZ"),
)
KEYS_TABLE = "_recipec_boundary_rows"
"""Append with a cursor: the hashes of the source rows loaded at the watermark, per recipe."""


def stage_table() -> exp.Table:
    return exp.Table(this=exp.to_identifier(STAGE, quoted=True))


def _select_stage() -> exp.Select:
    return exp.select(exp.Star()).from_(stage_table())


def create_schema(table: exp.Table) -> exp.Create | None:
    if not table.args.get("db"):
        return None
    schema = exp.Table(this=table.args["db"], db=table.args.get("catalog"))
    return exp.Create(this=schema, kind="SCHEMA", exists=True)


def create_table(table: exp.Table) -> exp.Create:
    """Created from the staged schema when missing (the columns are known once data is staged)."""
    return exp.Create(
        this=table.copy(), kind="TABLE", exists=True, expression=_select_stage().limit(0)
    )


def create_like_stage(table: exp.Table, exists: bool) -> exp.Create:
    """`CREATE TABLE t (LIKE "_recipec_stage")`: the staged columns with their types (servers
    that stage on their side: Postgres, Redshift)."""
    like = exp.LikeProperty(this=stage_table())
    return exp.Create(
        this=exp.Schema(this=table.copy(), expressions=[like]), kind="TABLE", exists=exists
    )


def replace_like_stage(table: exp.Table) -> list[exp.Expr]:
    """Overwrite by drop, create and insert in one transaction: readers see the old rows or the
    new ones (the server's transactional DDL makes the swap atomic)."""
    return [
        exp.Drop(tables=[table.copy()], kind="TABLE", exists=True),
        create_like_stage(table, exists=False),
        append(table),
    ]


def append(table: exp.Table, where: exp.Expr | None = None) -> exp.Insert:
    """`INSERT INTO t SELECT * FROM stage`: the columns are matched by name at run time."""
    select = _select_stage()
    if where is not None:
        select = select.where(where)
    return exp.Insert(this=table.copy(), expression=select)


def overwrite(table: exp.Table) -> exp.Create:
    """Replaces the table inside the run's transaction: readers see the old rows or the new."""
    return exp.Create(this=table.copy(), kind="TABLE", replace=True, expression=_select_stage())


def _flag(column: str, table: str) -> exp.Expr:
    """A delete flag as a condition: NULL counts as false."""
    return exp.func("coalesce", exp.column(column, table=table, quoted=True), exp.false())


def merge(table: exp.Table, config: TableWriteConfig) -> exp.Merge:
    """Upsert on the merge keys. `*` is bound to the staged columns by name at run time.

    With a delete flag: a flagged row deletes (hard) or only flags (soft) its match, and is never
    inserted.
    """
    target, source = "target", "source"
    on = exp.and_(
        *(
            exp.column(k, table=target, quoted=True).eq(exp.column(k, table=source, quoted=True))
            for k in config.merge_keys
        )
    )
    target_table = table.copy()
    target_table.set("alias", exp.TableAlias(this=exp.to_identifier(target, quoted=True)))
    source_table = stage_table()
    source_table.set("alias", exp.TableAlias(this=exp.to_identifier(source, quoted=True)))
    flag_column = config.hard_delete_column or config.soft_delete_column
    whens: list[exp.When] = []
    if config.hard_delete_column:
        whens.append(
            exp.When(matched=True, condition=_flag(flag_column, source), then=exp.var("DELETE"))
        )
    elif config.soft_delete_column:
        mark = exp.EQ(
            this=exp.column(flag_column, quoted=True),
            expression=exp.column(flag_column, table=source, quoted=True),
        )
        whens.append(
            exp.When(
                matched=True,
                condition=_flag(flag_column, source),
                then=exp.Update(expressions=[mark]),
            )
        )
    whens.append(exp.When(matched=True, then=exp.Update(expressions=[exp.Star()])))
    insert = exp.When(matched=False, then=exp.Insert(this=exp.Star()))
    if flag_column:
        insert.set("condition", exp.not_(_flag(flag_column, source)))
    whens.append(insert)
    return exp.Merge(
        this=target_table, using=source_table, on=on, whens=exp.Whens(expressions=whens)
    )


def _keys_match(table: exp.Table, keys: list[str], other: str = STAGE) -> exp.Expr:
    name = table.alias_or_name
    return exp.and_(
        *(
            exp.column(k, table=name, quoted=True).eq(exp.column(k, table=other, quoted=True))
            for k in keys
        )
    )


def kept_rows(config: TableWriteConfig) -> exp.Expr | None:
    """Staged rows that are written (not flagged deleted), or None when every row is."""
    flag = config.hard_delete_column or config.soft_delete_column
    return exp.not_(_flag(flag, STAGE)) if flag else None


def delete_matching(table: exp.Table, keys: list[str], where: exp.Expr | None = None) -> exp.Delete:
    """Rows of `table` whose keys are in the batch."""
    condition = _keys_match(table, keys)
    if where is not None:
        condition = exp.and_(condition, where)
    return exp.Delete(this=table.copy(), using=[stage_table()], where=exp.Where(this=condition))


def _update_from_stage(
    table: exp.Table, column: str, value: exp.Expr, condition: exp.Expr
) -> exp.Update:
    """`UPDATE table SET column = value FROM stage WHERE condition`."""
    return exp.Update(
        this=table.copy(),
        expressions=[exp.EQ(this=exp.column(column, quoted=True), expression=value)],
        from_=exp.From(this=stage_table()),
        where=exp.Where(this=condition),
    )


def delete_flagged(table: exp.Table, config: TableWriteConfig) -> list[exp.Expr]:
    """Handle flagged rows outside a MERGE: hard deletes delete, soft deletes set the flag."""
    if config.hard_delete_column:
        flagged = _flag(config.hard_delete_column, STAGE)
        return [delete_matching(table, config.merge_keys, flagged)]
    if config.soft_delete_column:
        column = config.soft_delete_column
        condition = exp.and_(_keys_match(table, config.merge_keys), _flag(column, STAGE))
        return [
            _update_from_stage(
                table, column, exp.column(column, table=STAGE, quoted=True), condition
            )
        ]
    return []


def scd2(table: exp.Table, config: TableWriteConfig) -> list[exp.Expr]:
    """Close the current version of rows that changed (or were deleted), then open a version for
    each new or changed row. Rows are compared by `HASH`, a hash of the staged row; unchanged
    rows are untouched. `$run_at` is the run's timestamp."""
    valid_to = exp.column(config.scd2.valid_to, table=table.alias_or_name, quoted=True)
    current = valid_to.is_(exp.null())
    changed: exp.Expr = exp.column(HASH, table=table.alias_or_name, quoted=True).neq(
        exp.column(HASH, table=STAGE, quoted=True)
    )
    if config.hard_delete_column:
        changed = exp.or_(changed, _flag(config.hard_delete_column, STAGE))
    close = _update_from_stage(
        table,
        config.scd2.valid_to,
        exp.Placeholder(this="run_at"),
        exp.and_(_keys_match(table, config.merge_keys), current, changed),
    )
    versions = table.copy()
    versions.set("alias", exp.TableAlias(this=exp.to_identifier("current", quoted=True)))
    still_current = exp.column(config.scd2.valid_to, table="current", quoted=True).is_(exp.null())
    has_current = exp.Exists(
        this=exp.select(exp.Literal.number(1))
        .from_(versions)
        .where(exp.and_(_keys_match(versions, config.merge_keys), still_current))
    )
    opened = exp.not_(has_current)
    kept = kept_rows(config)
    return [close, append(table, exp.and_(opened, kept) if kept is not None else opened)]


def write_statements(table: exp.Table, config: TableWriteConfig) -> list[exp.Expr]:
    """The statements that write the staged rows (overwrite is per destination)."""
    if config.write_mode == "scd2":
        return scd2(table, config)
    if config.write_mode == "merge" and config.merge_strategy == "delete_insert":
        return [
            *delete_flagged(table, config),
            delete_matching(table, config.merge_keys, kept_rows(config)),
            append(table, kept_rows(config)),
        ]
    if config.write_mode == "merge":
        return [merge(table, config)]
    return [append(table)]


def state_table(schema: str, name: str = STATE_TABLE) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name, quoted=True), db=exp.to_identifier(schema, quoted=True)
    )


def _columns(*definitions: tuple[str, str]) -> list[exp.ColumnDef]:
    return [
        exp.ColumnDef(this=exp.to_identifier(n, quoted=True), kind=exp.DataType.build(t))
        for n, t in definitions
    ]


def state_setup(schema: str) -> list[exp.Expression]:
    """The state and load-history tables (created once)."""
    state_columns = _columns(
        ("recipe_name", "TEXT"),
        ("state", "TEXT"),
        ("plan_fingerprint", "TEXT"),
        ("recipec_version", "TEXT"),
        ("run_id", "TEXT"),
        ("committed_at", "TIMESTAMPTZ"),
    )
    state_schema_def = exp.Schema(
        this=state_table(schema),
        expressions=[
            *state_columns,
            exp.PrimaryKey(expressions=[exp.to_identifier("recipe_name", quoted=True)]),
        ],
    )
    runs_schema_def = exp.Schema(
        this=state_table(schema, RUNS_TABLE),
        expressions=_columns(*RUN_COLUMNS, ("finished_at", "TIMESTAMPTZ")),
    )
    keys_schema_def = exp.Schema(
        this=state_table(schema, KEYS_TABLE),
        expressions=_columns(("recipe_name", "TEXT"), ("row_hash", "TEXT")),
    )
    return [
        exp.Create(
            this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA", exists=True
        ),
        exp.Create(this=state_schema_def, kind="TABLE", exists=True),
        exp.Create(this=runs_schema_def, kind="TABLE", exists=True),
        exp.Create(this=keys_schema_def, kind="TABLE", exists=True),
    ]


def _params(*names: str) -> list[exp.Expression]:
    return [exp.Placeholder(this=n) for n in names]


def state_commit(schema: str) -> list[exp.Expression]:
    """Replace this recipe's state row and record the load; run inside the data's transaction.

    A delete and an insert rather than an upsert: every SQL destination runs it the same way
    (Redshift has no ON CONFLICT), and the transaction makes it atomic.
    """
    state_cols = ["recipe_name", "state", "plan_fingerprint", "recipec_version", "run_id"]
    forget = exp.delete(
        state_table(schema),
        where=exp.column("recipe_name", quoted=True).eq(exp.Placeholder(this="recipe_name")),
    )
    insert = exp.insert(
        exp.values([(*tuple(_params(*state_cols)), exp.func("now"))]),
        state_table(schema),
        columns=[*state_cols, "committed_at"],
    )
    return [forget, insert, run_record(schema)]


def run_record(schema: str) -> exp.Insert:
    """The resource's row in `_recipec_runs`: in the data's transaction when it commits, in a
    transaction of its own after a failure rolled back."""
    names = [name for name, _ in RUN_COLUMNS]
    started = exp.cast(exp.Placeholder(this="started_at"), exp.DataType.build("TIMESTAMPTZ"))
    values = [*_params(*names[:-1]), started, exp.func("now")]
    return exp.insert(
        exp.values([tuple(values)]),
        state_table(schema, RUNS_TABLE),
        columns=[*names, "finished_at"],
    )


def load_history(schema: str) -> exp.Select:
    """The recipe's runs of a resource, newest first (`$recipe_name`, `$limit`)."""
    return (
        exp.select(*(exp.column(c, quoted=True) for c in HISTORY_COLUMNS))
        .from_(state_table(schema, RUNS_TABLE))
        .where(exp.column("recipe_name", quoted=True).eq(exp.Placeholder(this="recipe_name")))
        .order_by(exp.column("finished_at", quoted=True).desc())
        .limit(exp.Placeholder(this="limit"))
    )


def state_read(schema: str) -> exp.Select:
    return (
        exp.select("state", "plan_fingerprint", "recipec_version")
        .from_(state_table(schema))
        .where(exp.column("recipe_name").eq(exp.Placeholder(this="recipe_name")))
    )


def _this_recipe() -> exp.Expr:
    return exp.column("recipe_name", quoted=True).eq(exp.Placeholder(this="recipe_name"))


def keys_read(schema: str) -> exp.Select:
    """The stored hashes of the rows loaded at the watermark."""
    return (
        exp.select(exp.column("row_hash", quoted=True))
        .from_(state_table(schema, KEYS_TABLE))
        .where(_this_recipe())
    )


def keys_commit(
    schema: str, new_keys: exp.Table, capabilities: DestinationCapabilities
) -> list[exp.Expr]:
    """Replace this recipe's stored hashes with the rows of `new_keys` (an engine table): read
    directly where the destination is in the engine, else sent by COPY."""
    table = state_table(schema, KEYS_TABLE)
    forget = exp.delete(table.copy(), where=_this_recipe())
    columns = [exp.to_identifier(c, quoted=True) for c in ("recipe_name", "row_hash")]
    if capabilities.in_engine:
        rows = exp.select(exp.Placeholder(this="recipe_name"), exp.column("row_hash")).from_(
            new_keys
        )
        return [
            forget,
            exp.Insert(this=exp.Schema(this=table, expressions=columns), expression=rows),
        ]
    copy = exp.Copy(
        this=exp.Schema(this=table, expressions=columns),
        kind=True,
        files=[exp.var("STDIN")],
        params=[exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("csv"))],
    )
    return [forget, copy]
