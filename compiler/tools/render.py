"""A plan as text for people, in the spirit of `terraform plan`."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recipec.compiler.driver import Pipeline

from recipec.compiler.plan import (
    Column,
    CommitStateStep,
    DbtStep,
    ExtractStep,
    Plan,
    SecretRef,
    StageStep,
    TransformStep,
    WriteStep,
)


def _sql_block(sql: str) -> str:
    return textwrap.indent(sql, "      | ")


def _secret_origin(ref: SecretRef) -> str:
    """What a secret is read from: `env PG_PASSWORD`, `var pw`, or the file that holds it."""
    if ref.file is not None:
        return ref.file
    read = [f"env {', '.join(ref.env)}"] if ref.env else []
    read += [f"var {', '.join(ref.vars)}"] if ref.vars else []
    return "; ".join(read) or "template"


def render_plan(plan: Plan) -> str:
    lines = [
        f"Plan for recipe '{plan.name}'",
        f"  fingerprint {plan.fingerprint[:16]}  format {plan.format_version}  "
        f"recipec {plan.recipec_version}",
        "  compiled from " + ", ".join(f.path for f in plan.files),
    ]
    if len(plan.units) > 1:
        lines.append(
            f"  {len(plan.units)} resources in {len(plan.levels)} levels: "
            + " | ".join(", ".join(level) for level in plan.levels)
        )
    if plan.skipped:
        lines.append(f"  not loaded (when: is false): {', '.join(plan.skipped)}")
    for unit in plan.units:
        after = f", after {', '.join(unit.depends_on)}" if unit.depends_on else ""
        lines += ["", f"resource '{unit.name}'  fingerprint {unit.fingerprint[:16]}{after}"]
        if unit.secrets:
            lines.append(
                "  secrets (resolved at run time): "
                + ", ".join(
                    f"{path} <- {_secret_origin(ref)}" for path, ref in unit.secrets.items()
                )
            )
        lines.append("")
        for number, step in enumerate(unit.steps, start=1):
            lines.extend(_render_step(number, step))
            lines.append("")
    if plan.dbt is not None:
        after = ", ".join(plan.dbt.depends_on) or "the resources"
        lines += ["", f"dbt  after {after} committed", ""]
        lines += _render_step(1, plan.dbt.step)
    return "\n".join(lines).rstrip() + "\n"


def _render_step(number: int, step: object) -> list[str]:
    if isinstance(step, DbtStep):
        kind = step.profile["type"] if step.profile else ""
        where = f"a {kind} profile recipec writes" if step.profile else "the project's profiles"
        command = f"     | dbt {' '.join(step.arguments)}"
        return [f"{number}. dbt  after the commit, against the destination ({where})", command]
    if isinstance(step, ExtractStep):
        head = f"{number}. extract  {step.label}"
        database = step.database
        readers = {
            "duckdb": "DuckDB reads it",
            "python": "Python batches",
            "database": f"DuckDB's {database.scanner} extension, or the driver"
            if database and database.scanner
            else "the driver (SQLAlchemy)",
        }
        out = [head, f"     reader: {readers[step.reader]}"]
        out += _schema_lines("columns", step.output_schema)
        if step.incremental and step.incremental.strategy == "cursor":
            inc = step.incremental
            first = (
                f"first run from {inc.initial_value!r}"
                if inc.initial_value is not None
                else "first run reads everything"
            )
            out.append(
                f"     incremental: rows with {inc.cursor_column} >= last watermark ({first})"
            )
        elif step.incremental:
            out.append("     incremental: only files new or changed since the last run ($files)")
        out += ["     read query:", _sql_block(step.query)]
        if database is not None:
            out += [
                f"     through the driver ({database.source_dialect}):",
                _sql_block(database.source_query),
            ]
        return out
    if isinstance(step, TransformStep):
        out = [
            f"{number}. transform[{step.index}]  {step.type}  ({step.origin})",
            _sql_block(step.sql),
        ]
        if step.runs_in_python:
            function = step.config.get("function") or step.type
            batches = "on the whole input" if step.config.get("whole_table") else "per batch"
            out.append(f"     runs in Python: {function}, {batches}; its output is staged")
        if step.zone_sensitive:
            out.append(
                f"     note: {', '.join(step.zone_sensitive)} become TIMESTAMPTZ at run time "
                "when the values carry a zone"
            )
        return out + _schema_lines("output", step.output_schema)
    if isinstance(step, StageStep):
        mode = "materialized temp table" if step.materialize else "view"
        out = [f"{number}. stage  as {mode}: {step.reason}", _sql_block(step.sql)]
        if step.read_sql and step.skip_sql:
            out += [
                "     first, the source's rows with their hashes, before the transforms:",
                _sql_block(step.read_sql),
                "     skip rows already loaded at the watermark:",
                _sql_block(step.skip_sql),
            ]
        if step.source_keys:
            out.append(
                "     a first load into DuckDB streams into the new table, then drops older"
                " rows of a repeated key; no check when the source table's primary key is"
                f" within ({', '.join(step.source_keys)})"
            )
        return out
    if isinstance(step, WriteStep):
        where = f" in {step.database}" if step.database else ""
        keys = f" on {', '.join(step.merge_keys)}" if step.merge_keys else ""
        out = [
            f"{number}. write  {step.write_mode}{keys} into {step.destination} {step.table}{where}"
        ]
        sql = step.sql
        sections = (
            [
                ("", sql.setup_sql),
                ("stage the rows on the destination's side:", sql.load_sql),
                (
                    "create when missing (without delete flags, a missing table is created "
                    "from the batch by the --full-refresh statements):",
                    [sql.create_sql],
                ),
                ("write:", sql.write_sql),
                ("on servers without MERGE:", sql.fallback_write_sql),
                ("with --full-refresh:", sql.full_refresh_sql),
            ]
            if sql is not None
            else []
        )
        for title, statements in sections:
            if statements and title:
                out.append(f"     {title}")
            out += [_sql_block(statement) for statement in statements]
        if sql is not None and sql.write_sql and step.write_mode in ("append", "merge", "scd2"):
            out.append("     new source columns are added to the table")
        return out
    if isinstance(step, CommitStateStep):
        if not step.in_destination:
            return [f"{number}. commit state  to the state backend only (after the write)"]
        out = [f"{number}. commit state  in the destination, in the same transaction as the data"]
        if step.watermark_sql:
            out += ["     new watermark:", _sql_block(step.watermark_sql)]
        if step.keys_sql:
            out += ["     rows loaded at it, skipped next time:", _sql_block(step.keys_sql)]
        out += [_sql_block(s) for s in step.commit_sql]
        return out
    return [f"{number}. {type(step).__name__}"]


def _schema_lines(label: str, columns: list[Column] | None) -> list[str]:
    if columns is None:
        return []
    head = f"     {label}: "
    # A column's name and type stay on one line: wrap at ", " only.
    text = ", ".join(f"{c.name} {c.type}".replace(" ", "\x00") for c in columns)
    wrapped = textwrap.fill(
        text,
        width=100,
        initial_indent=head,
        subsequent_indent=" " * len(head),
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped.replace("\x00", " ").splitlines()


def render_graph(pipeline: Pipeline, output: str, selected: list[str] | None = None) -> str:
    """The graph of a recipe's resources (the `selected` ones, all without): `text` (levels),
    `json`, `mermaid` or `dot`."""
    graph, skipped = pipeline.graph.only(selected), set(pipeline.skipped)
    dbt = pipeline.dbt
    dbt_after = [n for n in dbt.depends_on if n in {r.name for r in graph.resources}] if dbt else []
    dbt_label = f"dbt {dbt.settings.command}" if dbt else ""
    if output == "json":
        resources = [
            {"name": r.name, "depends_on": list(r.depends_on), "enabled": r.name not in skipped}
            for r in graph.resources
        ]
        levels = [list(level) for level in graph.levels]
        document: dict[str, object] = {
            "name": pipeline.name,
            "resources": resources,
            "levels": levels,
        }
        if dbt is not None:
            document["dbt"] = {"command": dbt.settings.command, "depends_on": dbt_after}
        return json.dumps(document, indent=2) + "\n"
    if output == "mermaid":
        lines = ["graph TD", *(f"  {r.name}" for r in graph.resources)]
        lines += [f"  {before} --> {after}" for before, after in graph.edges]
        if dbt is not None:  # not a resource's name: `_dbt`, shown as a subroutine
            lines += [f'  _dbt[["{dbt_label}"]]', *(f"  {name} --> _dbt" for name in dbt_after)]
        if skipped:
            lines += [
                "  classDef skipped stroke-dasharray: 5 5",
                f"  class {','.join(sorted(skipped))} skipped",
            ]
        return "\n".join(lines) + "\n"
    if output == "dot":
        lines = [f"digraph {json.dumps(pipeline.name)} {{", "  rankdir=LR;"]
        lines += [
            f"  {r.name}" + (" [style=dashed];" if r.name in skipped else ";")
            for r in graph.resources
        ]
        lines += [f"  {before} -> {after};" for before, after in graph.edges]
        if dbt is not None:
            lines += [f'  _dbt [label="{dbt_label}", shape=box];']
            lines += [f"  {name} -> _dbt;" for name in dbt_after]
        return "\n".join([*lines, "}"]) + "\n"
    count, total = len(graph.resources), len(pipeline.graph.resources)
    chosen = f"{count} of {total} selected" if count < total else str(count)
    lines = [f"Resources of recipe '{pipeline.name}': {chosen} in {len(graph.levels)} level(s)"]
    for number, level in enumerate(graph.levels, start=1):
        lines.append(f"  level {number}")
        for name in level:
            after = graph[name].depends_on
            note = f"  after {', '.join(after)}" if after else ""
            lines.append(
                f"    {name}{note}" + ("  (skipped: when is false)" if name in skipped else "")
            )
    if dbt is not None:
        lines.append(
            f"  then {dbt_label}" + (f"  after {', '.join(dbt_after)}" if dbt_after else "")
        )
    return "\n".join(lines) + "\n"
