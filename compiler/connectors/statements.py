"""SQL statements shared by the SQL destinations, built with sqlglot and rendered per dialect.

Data is staged in a table named `STAGE` on the destination's side. Statements use `*` for the
staged columns where they are known only at run time; the runtime binds them by name
(`runtime.binding.bind_columns`).
"""

from __future__ import annotations

from sqlglot import exp

from recipec.compiler.models import parse_table_name

STAGE = "_recipec_stage"
STATE_TABLE = "_recipec_state"
LOADS_TABLE = "_recipec_loads"


def table_expression(name: str) -> exp.Table:
    parts = [exp.to_identifier(p, quoted=True) for p in parse_table_name(name)]
    return exp.Table(
        this=parts[-1],
        db=parts[-2] if len(parts) > 1 else None,
        catalog=parts[-3] if len(parts) > 2 else None,
    )


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


def append(table: exp.Table) -> exp.Insert:
    """`INSERT INTO t SELECT * FROM stage`: the columns are matched by name at run time."""
    return exp.Insert(this=table.copy(), expression=_select_stage())


def overwrite(table: exp.Table) -> exp.Create:
    """Replaces the table inside the run's transaction: readers see the old rows or the new."""
    return exp.Create(this=table.copy(), kind="TABLE", replace=True, expression=_select_stage())


def merge(table: exp.Table, keys: list[str]) -> exp.Merge:
    """Upsert on `keys`. `*` is bound to the staged columns by name at run time."""
    target, source = "target", "source"
    on = exp.and_(
        *(
            exp.column(k, table=target, quoted=True).eq(exp.column(k, table=source, quoted=True))
            for k in keys
        )
    )
    target_table = table.copy()
    target_table.set("alias", exp.TableAlias(this=exp.to_identifier(target, quoted=True)))
    source_table = stage_table()
    source_table.set("alias", exp.TableAlias(this=exp.to_identifier(source, quoted=True)))
    return exp.Merge(
        this=target_table,
        using=source_table,
        on=on,
        whens=exp.Whens(
            expressions=[
                exp.When(matched=True, then=exp.Update(expressions=[exp.Star()])),
                exp.When(matched=False, then=exp.Insert(this=exp.Star())),
            ]
        ),
    )


def _keys_match(table: exp.Table, keys: list[str]) -> exp.Expr:
    name = table.name
    return exp.and_(
        *(
            exp.column(k, table=name, quoted=True).eq(exp.column(k, table=STAGE, quoted=True))
            for k in keys
        )
    )


def delete_matching(table: exp.Table, keys: list[str]) -> exp.Delete:
    """Rows of `table` whose keys are in the batch (the first half of `delete_insert`)."""
    return exp.Delete(
        this=table.copy(), using=[stage_table()], where=exp.Where(this=_keys_match(table, keys))
    )


def write_statements(table: exp.Table, mode: str, keys: list[str], strategy: str) -> list[exp.Expr]:
    """The statements that write the staged rows in `mode` (overwrite is per destination)."""
    if mode == "merge" and strategy == "delete_insert":
        return [delete_matching(table, keys), append(table)]
    if mode == "merge":
        return [merge(table, keys)]
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
        ("recipe_name", "VARCHAR"),
        ("state", "JSON"),
        ("plan_fingerprint", "VARCHAR"),
        ("recipec_version", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("committed_at", "TIMESTAMPTZ"),
    )
    state_schema_def = exp.Schema(
        this=state_table(schema),
        expressions=[
            *state_columns,
            exp.PrimaryKey(expressions=[exp.to_identifier("recipe_name", quoted=True)]),
        ],
    )
    loads_schema_def = exp.Schema(
        this=state_table(schema, LOADS_TABLE),
        expressions=_columns(
            ("run_id", "VARCHAR"),
            ("recipe_name", "VARCHAR"),
            ("plan_fingerprint", "VARCHAR"),
            ("recipec_version", "VARCHAR"),
            ("table_name", "VARCHAR"),
            ("write_mode", "VARCHAR"),
            ("rows_written", "BIGINT"),
            ("watermark", "VARCHAR"),
            ("committed_at", "TIMESTAMPTZ"),
        ),
    )
    return [
        exp.Create(
            this=exp.Table(this=exp.to_identifier(schema, quoted=True)), kind="SCHEMA", exists=True
        ),
        exp.Create(this=state_schema_def, kind="TABLE", exists=True),
        exp.Create(this=loads_schema_def, kind="TABLE", exists=True),
    ]


def _params(*names: str) -> list[exp.Expression]:
    return [exp.Placeholder(this=n) for n in names]


def state_commit(schema: str) -> list[exp.Expression]:
    """Upsert this recipe's state row and record the load; run inside the data's transaction."""
    state_cols = ["recipe_name", "state", "plan_fingerprint", "recipec_version", "run_id"]
    upsert = exp.insert(
        exp.values([(*tuple(_params(*state_cols)), exp.func("now"))]),
        state_table(schema),
        columns=[*state_cols, "committed_at"],
    )
    upsert.set(
        "conflict",
        exp.OnConflict(
            conflict_keys=[exp.to_identifier("recipe_name", quoted=True)],
            action=exp.var("DO UPDATE"),
            expressions=[
                exp.EQ(
                    this=exp.column(c, quoted=True),
                    expression=exp.column(c, table="excluded", quoted=True),
                )
                for c in [*state_cols[1:], "committed_at"]
            ],
        ),
    )
    load_cols = [
        "run_id",
        "recipe_name",
        "plan_fingerprint",
        "recipec_version",
        "table_name",
        "write_mode",
        "rows_written",
        "watermark",
    ]
    record = exp.insert(
        exp.values([(*tuple(_params(*load_cols)), exp.func("now"))]),
        state_table(schema, LOADS_TABLE),
        columns=[*load_cols, "committed_at"],
    )
    return [upsert, record]


def state_read(schema: str) -> exp.Select:
    return (
        exp.select("state", "plan_fingerprint", "recipec_version")
        .from_(state_table(schema))
        .where(exp.column("recipe_name").eq(exp.Placeholder(this="recipe_name")))
    )
