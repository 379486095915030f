"""Column lineage: for each output column, the source columns its values come from.

sqlglot's lineage walks the stage statement (the source read and every step as CTEs) once the
source's columns are known; star modifiers (`* REPLACE`, `* EXCLUDE`, `* RENAME`) expand
against them. A filter's columns decide which rows load, not what a value is, so they are not
part of a column's lineage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage

SOURCE = "_recipec_source"
_STEP = re.compile(r"^_recipec_step_(\d+)$")


def _stage_over_source(stage_sql: str) -> exp.Query:
    """The stage's SELECT, its source CTE reading a table named `source` instead."""
    query = sqlglot.parse_one(stage_sql, read="duckdb")
    select = query.expression if isinstance(query, exp.Create) else query
    assert isinstance(select, exp.Query)
    for cte in select.ctes:
        if cte.alias == SOURCE:
            cte.set("this", exp.select(exp.Star()).from_(exp.to_table("source")))
    select.set("qualify", None)  # the merge dedup window reads the cursor, not a value
    return select


def _tree(stage: exp.Query, column: str, source: Mapping[str, str]) -> Node:
    tree = lineage(column, stage, schema={"source": dict(source)}, dialect="duckdb")
    assert isinstance(tree, Node)
    return tree


def column_lineage(
    stage_sql: str, source: Sequence[tuple[str, str]], outputs: Sequence[str]
) -> dict[str, list[str]] | None:
    """Output column -> the source columns it reads, sorted; None when sqlglot cannot tell."""
    stage = _stage_over_source(stage_sql)
    names = {name for name, _ in source}
    try:  # one walk for every column: sqlglot shares the work between them
        trees = lineage(None, stage, schema={"source": dict(source)}, dialect="duckdb")
    except SqlglotError:
        return None
    assert isinstance(trees, dict)
    found: dict[str, list[str]] = {}
    for column in outputs:
        tree = trees.get(column)
        if tree is None:
            return None
        leaves = {n.name.split(".")[-1] for n in tree.walk() if not n.downstream}
        found[column] = sorted(leaves & names)
    return found


def explain(
    stage_sql: str, source: Sequence[tuple[str, str]], column: str, step_types: Sequence[str]
) -> list[str]:
    """How a column is computed: its source columns, then each step that computes (rather than
    passes on) it, from the source to the output."""
    stage = _stage_over_source(stage_sql)
    tree = _tree(stage, column, dict(source))
    leaves = sorted({n.name.split(".")[-1] for n in tree.walk() if not n.downstream})
    sources = [name for name in leaves if name in {n for n, _ in source}]
    lines = [f"{column} <- {', '.join(sources) if sources else 'no source column'}"]
    computed: list[str] = []
    for node in tree.walk():
        step = _STEP.match(node.name.rpartition(".")[0])
        value = node.expression.unalias() if isinstance(node.expression, exp.Alias) else None
        if step is None or value is None or isinstance(value, exp.Column):
            continue
        plain = value.transform(
            lambda n: exp.column(n.name, quoted=True) if isinstance(n, exp.Column) else n
        )
        index = int(step.group(1))
        computed.append(f"  transform[{index}] {step_types[index]}: {plain.sql('duckdb')}")
    return lines + list(reversed(list(dict.fromkeys(computed))))
