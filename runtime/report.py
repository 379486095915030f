"""The run summary as text for the terminal."""

from __future__ import annotations

from recipec import duckdb_connection
from recipec.compiler.plan import Plan, Unit
from recipec.runtime.executor import ResourceSummary, RunSummary


def render_summary(summary: RunSummary, plan: Plan, preview: int = 0) -> str:
    """The run, then each resource: its rows, where they went, its steps (or why it failed or
    was skipped)."""
    several = len(summary.resources) > 1
    lines = []
    if several:
        counts: dict[str, int] = {}
        for resource in summary.resources:
            counts[resource.status] = counts.get(resource.status, 0) + 1
        lines += [
            f"{summary.recipe}: {summary.status}  "
            + ", ".join(f"{n} {status}" for status, n in counts.items())
            + f"  in {summary.duration_seconds:.2f} s",
            f"  rows read {summary.rows_read:,}, written {summary.rows_written:,}",
            "",
        ]
    for resource in summary.resources:
        unit = plan.unit(resource.resource)
        name = resource.resource if several else summary.recipe
        lines += _resource_lines(name, resource, unit, preview)
        if several:
            lines.append("")
    if summary.dbt is not None:
        lines += _dbt_lines(summary.dbt)
    return "\n".join(lines).rstrip("\n")


def _dbt_lines(summary: ResourceSummary) -> list[str]:
    """The dbt node: what it ran (or why it failed or was skipped)."""
    head = f"dbt: {summary.status}"
    if summary.status in ("failed", "skipped", "interrupted"):
        return [head, f"  {summary.error or ''}".rstrip()]
    return [
        head,
        f"  ran           {_dbt_counts(summary)}",
        f"  duration      {summary.duration_seconds:.2f} s",
    ]


def _dbt_counts(summary: ResourceSummary) -> str:
    counts: dict[str, int] = {}
    for node in summary.dbt:
        kind = f"{node['resource_type']} {node['status']}"
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _resource_lines(name: str, summary: ResourceSummary, unit: Unit, preview: int) -> list[str]:
    write = unit.write
    head = f"{name}: {summary.status}" + (" (full refresh)" if summary.full_refresh else "")
    if summary.status in ("failed", "skipped", "interrupted"):
        return [head, f"  {summary.error or ''}".rstrip()]
    rate = summary.rows_read / summary.duration_seconds if summary.duration_seconds else 0.0
    where = f"{write.destination} {write.table}" + (
        f" ({write.database})" if write.database else ""
    )
    lines = [
        head,
        f"  rows read     {summary.rows_read:,}"
        + (f"  from {unit.extract.label}" if unit.extract.reader == "database" else ""),
        f"  rows written  {summary.rows_written:,}  into {where}, "
        + ("overwrite (full refresh)" if summary.full_refresh else write.write_mode),
        f"  duration      {summary.duration_seconds:.2f} s ({rate:,.0f} rows/s)",
    ]
    if summary.watermark is not None:
        lines.append(f"  watermark     {summary.watermark}")
    if summary.files_loaded:
        lines.append(f"  files loaded  {len(summary.files_loaded)}")
    lines += [f"  note: {note}" for note in summary.notes]
    if summary.dbt:
        lines.append(f"  dbt           {_dbt_counts(summary)}")
    lines.append("  steps: " + ", ".join(f"{s.step} {s.seconds:.3f}s" for s in summary.steps))
    if preview and write.in_engine and write.database not in (None, ":memory:"):
        lines.append("")
        lines.append(_preview(write.database, write.table, preview))
    return lines


def _preview(database: str, table: str, rows: int) -> str:
    import sqlglot
    from sqlglot import exp

    target = sqlglot.parse_one(table, into=exp.Table, dialect="duckdb")
    query = exp.select("*").from_(target).order_by(exp.Literal.number(1)).limit(rows).sql("duckdb")
    with duckdb_connection.connect(database, read_only=True) as connection:
        total = connection.execute(exp.select("count(*)").from_(target).sql("duckdb")).fetchone()
        relation = connection.sql(query)
        return f"{table}: {total[0] if total else 0:,} rows in all\n{relation}"
