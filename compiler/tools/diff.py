"""A semantic diff of two plans: what a change does to the table, its rows and the saved state.

`recipec diff OLD NEW` compiles both sides (a recipe file, a plan JSON, or `git:REF:path`) and
compares what the plans *mean*, not their bytes: the source and destination they touch, the
output columns, the transform SQL as sqlglot ASTs (reformatting and keyword case are not
changes), the write mode, merge keys, cursor and other incremental settings.

Every change gets a risk, from the table `RULES` (first matching rule wins):

- `safe`: rows already loaded and the saved state stay valid (a new column, a widening retype,
  a write mode that keeps the rows, a runtime setting).
- `backfill`: the table stays usable, but rows already loaded no longer match what the new plan
  would load (a changed transform expression on existing columns, another source, a new
  `initial_value`): reload them, e.g. with `recipec run --full-refresh`.
- `destructive`: applying the plan loses or abandons data or invalidates the saved state (a
  dropped or narrowed column, a new destination table, append -> overwrite, into or out of
  scd2, new merge keys, a new cursor column).

The inputs are read by `plan_inputs`; `staleness` uses the same type comparison to refuse a
stale saved plan.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlglot
from sqlglot import exp

from recipec.compiler.plan import DbtStep, Plan, TransformStep, Unit

SAFE, BACKFILL, DESTRUCTIVE = "safe", "backfill", "destructive"
RISKS = (SAFE, BACKFILL, DESTRUCTIVE)
"""In order of severity."""


# -- changes and the rules that classify them ---------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One semantic difference between two plans."""

    path: str
    """Where, e.g. `destination.write_mode`, `columns.email`, `transform.steps[1]`; in a plan
    of several resources, `resources.orders.columns.email`."""
    kind: str
    """`added`, `removed`, `changed` or `retyped`."""
    risk: str
    """`safe`, `backfill` or `destructive` (see the module docstring)."""
    before: Any
    after: Any
    reason: str = ""
    """Why the change has its risk, for people."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "risk": self.risk,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class DiffResult:
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    """What could not be compared (output columns unknown on a side)."""

    @property
    def risk(self) -> str | None:
        """The most severe risk of any change; None when nothing changed."""
        return max((c.risk for c in self.changes), key=RISKS.index, default=None)

    def count(self, risk: str) -> int:
        return sum(1 for c in self.changes if c.risk == risk)

    def to_json(self) -> str:
        return json.dumps([c.to_dict() for c in self.changes], indent=2, default=str)


@dataclass(frozen=True)
class _Fact:
    """A difference before the rules give it a risk."""

    path: str
    kind: str
    before: Any
    after: Any
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Context:
    """The two units a fact compares."""

    old: Unit
    new: Unit


Condition = Callable[[_Fact, _Context], bool]


def _always(fact: _Fact, context: _Context) -> bool:
    return True


def _transition(before: set[str] | None, after: set[str] | None) -> Condition:
    """A value changed from one of `before` to one of `after` (None: any)."""

    def test(fact: _Fact, context: _Context) -> bool:
        return (before is None or fact.before in before) and (after is None or fact.after in after)

    return test


def _into_or_out_of(value: str) -> Condition:
    def test(fact: _Fact, context: _Context) -> bool:
        return value in (fact.before, fact.after)

    return test


def _new_write_mode(*modes: str) -> Condition:
    def test(fact: _Fact, context: _Context) -> bool:
        return context.new.write.write_mode in modes

    return test


def _old_write_mode(*modes: str) -> Condition:
    def test(fact: _Fact, context: _Context) -> bool:
        return context.old.write.write_mode in modes

    return test


def _both_set(fact: _Fact, context: _Context) -> bool:
    return bool(fact.before) and bool(fact.after)


def _widens(fact: _Fact, context: _Context) -> bool:
    return widens(str(fact.before), str(fact.after))


def _adds_columns_only(fact: _Fact, context: _Context) -> bool:
    return bool(fact.detail.get("adds_columns_only"))


class Rule(NamedTuple):
    path: str
    """A path pattern: `*` matches any run of characters."""
    kind: str
    risk: str
    reason: str
    when: Condition = _always


RULES: tuple[Rule, ...] = (
    # What the plan reads and writes. A destination that changes is a new table: the old one is
    # left behind with its rows; the source is another source.
    Rule("destination", "removed", DESTRUCTIVE, "the old table is abandoned, with its rows"),
    Rule("destination", "added", BACKFILL,
         "a new table: unless its database is new too, it starts from the saved watermark; load "
         "it with --full-refresh"),
    Rule("source", "removed", BACKFILL, "rows loaded from the old source stay in the table"),
    Rule("source", "added", BACKFILL,
         "the saved watermark was taken from the old source: reload with --full-refresh"),
    # Output columns.
    Rule("columns.*", "added", BACKFILL,
         "scd2 hashes whole rows: the next load writes a new version of every current row",
         _new_write_mode("scd2")),
    Rule("columns.*", "added", SAFE, "a new column; rows already loaded hold NULL in it"),
    Rule("columns.*", "removed", DESTRUCTIVE,
         "the column is no longer loaded: new and updated rows lose its values"),
    Rule("columns.*", "retyped", SAFE, "a widening: every old value fits the new type", _widens),
    Rule("columns.*", "retyped", DESTRUCTIVE,
         "not a widening: old values may not convert, and the table's column keeps its type"),
    # Transform steps.
    Rule("transform.steps[*]", "changed", SAFE, "only adds columns", _adds_columns_only),
    Rule("transform.steps[*]", "changed", BACKFILL,
         "rows already loaded were computed by the old expression"),
    Rule("transform.steps[*]", "added", SAFE, "only adds columns", _adds_columns_only),
    Rule("transform.steps[*]", "added", BACKFILL, "rows already loaded did not go through it"),
    Rule("transform.steps[*]", "removed", DESTRUCTIVE,
         "the columns it added are no longer loaded", _adds_columns_only),
    Rule("transform.steps[*]", "removed", BACKFILL, "rows already loaded went through it"),
    # How the table is written.
    Rule("destination.write_mode", "changed", DESTRUCTIVE,
         "scd2 keeps history in validity columns: the table's rows do not fit the other mode",
         _into_or_out_of("scd2")),
    Rule("destination.write_mode", "changed", DESTRUCTIVE,
         "every run replaces the whole table: rows not in the batch are deleted",
         _transition(None, {"overwrite"})),
    Rule("destination.write_mode", "changed", BACKFILL,
         "rows appended before may repeat a key, which merge does not deduplicate: reload with "
         "--full-refresh", _transition({"append"}, {"merge"})),
    Rule("destination.write_mode", "changed", SAFE, "the table keeps its rows"),
    Rule("destination.merge_keys", "changed", DESTRUCTIVE,
         "rows are identified by other columns: rows loaded by the old keys may be duplicated "
         "or overwritten", _both_set),
    Rule("destination.merge_keys", "changed", SAFE, "follows the write mode"),
    Rule("destination.merge_strategy", "changed", DESTRUCTIVE,
         "a matched row is deleted and inserted again from the batch: its values in columns the "
         "batch does not have become NULL", _transition(None, {"delete_insert"})),
    Rule("destination.merge_strategy", "changed", SAFE, "the same rows, written another way"),
    Rule("destination.scd2.*", "changed", DESTRUCTIVE,
         "the history's validity columns get other names"),
    Rule("destination.hard_delete_column", "changed", BACKFILL,
         "rows loaded before were written under the old delete rule"),
    Rule("destination.soft_delete_column", "changed", BACKFILL,
         "rows loaded before were written under the old delete rule"),
    Rule("destination.state_schema", "changed", BACKFILL,
         "the saved state is looked for elsewhere: the next run starts without a watermark"),
    Rule("destination.user", "changed", SAFE, "who connects, not where"),
    Rule("destination.password", "changed", SAFE, "who connects, not where"),
    Rule("destination.*", "changed", BACKFILL, "rows loaded before were written the old way"),
    # Incremental loading.
    Rule("source.incremental", "added", SAFE,
         "the first run reads everything (or from initial_value), later runs only new rows"),
    Rule("source.incremental", "removed", DESTRUCTIVE,
         "every run reads the whole source again and appends every row again",
         _old_write_mode("append")),
    Rule("source.incremental", "removed", SAFE, "every run reads the whole source again"),
    Rule("source.incremental.strategy", "changed", DESTRUCTIVE,
         "the saved state (watermark or file list) no longer applies"),
    Rule("source.incremental.cursor_column", "changed", DESTRUCTIVE,
         "the saved watermark is a value of the old cursor column"),
    Rule("source.incremental.initial_value", "changed", BACKFILL,
         "only a first run or --full-refresh reads from it: rows already loaded started at the "
         "old value"),
    Rule("source.incremental.end_value", "changed", BACKFILL,
         "rows already loaded stopped at the old value"),
    Rule("source.incremental.*", "changed", SAFE, "how rows are read, not which"),
    # Other source settings.
    Rule("source.extract_with", "changed", SAFE, "how rows are read, not which"),
    Rule("source.chunking*", "changed", SAFE, "how rows are read, not which"),
    Rule("source.user", "changed", SAFE, "who connects, not where"),
    Rule("source.password", "changed", SAFE, "who connects, not where"),
    Rule("source.*", "changed", BACKFILL, "rows already loaded were read with the old setting"),
    # Everything else is how a run goes, not what it loads.
    Rule("runtime.*", "changed", SAFE, "how a run goes, not what it loads"),
    Rule("dbt", "added", SAFE, "what dbt builds after the load, not what the load writes"),
    Rule("dbt", "removed", SAFE, "what dbt builds after the load, not what the load writes"),
    Rule("dbt.*", "changed", SAFE, "what dbt builds after the load, not what the load writes"),
    Rule("plugins", "changed", SAFE, "modules imported before running"),
    # The resource graph.
    Rule("resource", "added", SAFE, "a new resource: its first run creates its table"),
    Rule("resource", "removed", DESTRUCTIVE,
         "its table and saved state are no longer loaded: they are left behind as they are"),
    Rule("depends_on", "changed", SAFE, "when the resource runs, not what it loads"),
)  # fmt: skip
"""What each change risks. First match wins; a change no rule matches is `backfill`."""


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in text) + r"\Z")


_PATTERNS = {rule.path: _pattern(rule.path) for rule in RULES}


def classify(fact: _Fact, context: _Context) -> Change:
    for rule in RULES:
        if (
            rule.kind == fact.kind
            and _PATTERNS[rule.path].match(fact.path)
            and rule.when(fact, context)
        ):
            return Change(fact.path, fact.kind, rule.risk, fact.before, fact.after, rule.reason)
    return Change(fact.path, fact.kind, BACKFILL, fact.before, fact.after, "")


# -- type widening ------------------------------------------------------------------------------

T = exp.DataType.Type
_INTEGER_DIGITS: dict[Any, int] = {
    T.TINYINT: 3, T.SMALLINT: 5, T.INT: 10, T.BIGINT: 19, T.INT128: 39,
    T.UTINYINT: 3, T.USMALLINT: 5, T.UINT: 10, T.UBIGINT: 20, T.UINT128: 39,
}  # fmt: skip
"""Decimal digits an integer type needs: it widens to a DECIMAL with that many before the point."""
_WIDENS_TO: dict[Any, set[Any]] = {
    T.TINYINT: {T.SMALLINT, T.INT, T.BIGINT, T.INT128, T.FLOAT, T.DOUBLE},
    T.SMALLINT: {T.INT, T.BIGINT, T.INT128, T.FLOAT, T.DOUBLE},
    T.INT: {T.BIGINT, T.INT128, T.DOUBLE},
    T.BIGINT: {T.INT128},
    T.UTINYINT: {T.USMALLINT, T.UINT, T.UBIGINT, T.UINT128,
                 T.SMALLINT, T.INT, T.BIGINT, T.INT128, T.FLOAT, T.DOUBLE},
    T.USMALLINT: {T.UINT, T.UBIGINT, T.UINT128, T.INT, T.BIGINT, T.INT128, T.FLOAT, T.DOUBLE},
    T.UINT: {T.UBIGINT, T.UINT128, T.BIGINT, T.INT128, T.DOUBLE},
    T.UBIGINT: {T.UINT128, T.INT128},
    T.FLOAT: {T.DOUBLE},
    T.DATE: {T.TIMESTAMP, T.TIMESTAMPNTZ},
    T.TIMESTAMP_S: {T.TIMESTAMP_MS, T.TIMESTAMP, T.TIMESTAMPNTZ},
    T.TIMESTAMP_MS: {T.TIMESTAMP, T.TIMESTAMPNTZ},
}  # fmt: skip
"""Plain types whose every value the wider type holds exactly (ints into doubles only while
they fit the 53-bit mantissa; a date becomes midnight)."""


def _datatype(text: str, dialect: str = "duckdb") -> exp.DataType | None:
    try:
        return exp.DataType.build(text, dialect=dialect)
    except Exception:
        return None


def _decimal(datatype: exp.DataType) -> tuple[int, int] | None:
    if not datatype.is_type(T.DECIMAL):
        return None
    params = [int(p.name) for p in datatype.expressions if p.name.isdigit()]
    if len(params) == 2:
        return params[0], params[1]
    return (params[0], 0) if params else (18, 3)  # DuckDB's default DECIMAL


def widens(before: str, after: str) -> bool:
    """Whether every value of DuckDB type `before` converts exactly to `after`:

    - along `_WIDENS_TO` (INTEGER -> BIGINT, FLOAT -> DOUBLE, DATE -> TIMESTAMP, ...);
    - DECIMAL(p, s) -> DECIMAL(p', s') with no fewer digits before and after the point
      (precision up, scale kept or up by as much);
    - an integer to a DECIMAL with room for its digits (INTEGER -> DECIMAL(10, 0));
    - VARCHAR(n) -> VARCHAR(m) with m >= n, or -> VARCHAR.

    Anything else (narrowing, text to numbers, numbers to text, TIMESTAMP -> TIMESTAMPTZ, which
    reinterprets the values in a zone) is not a widening.
    """
    old, new = _datatype(before), _datatype(after)
    if old is None or new is None:
        return False
    if old.this in _WIDENS_TO and not new.expressions and new.this in _WIDENS_TO[old.this]:
        return True
    old_decimal, new_decimal = _decimal(old), _decimal(new)
    if old_decimal and new_decimal:
        (p, s), (q, t) = old_decimal, new_decimal
        return t >= s and q - t >= p - s
    if old.this in _INTEGER_DIGITS and new_decimal:
        q, t = new_decimal
        return q - t >= _INTEGER_DIGITS[old.this]
    if old.is_type(T.VARCHAR, T.TEXT) and new.is_type(T.VARCHAR, T.TEXT):
        old_length = [int(p.name) for p in old.expressions if p.name.isdigit()]
        new_length = [int(p.name) for p in new.expressions if p.name.isdigit()]
        return not new_length or (bool(old_length) and new_length[0] >= old_length[0])
    return False


def same_type(first: str, second: str, dialect: str = "duckdb") -> bool:
    """Whether two type names are the same type (INT = INTEGER = INT4, TEXT = VARCHAR)."""
    a, b = _datatype(first, dialect), _datatype(second, dialect)
    if a is None or b is None:
        return " ".join(first.upper().split()) == " ".join(second.upper().split())
    return _type_key(a, dialect) == _type_key(b, dialect)


def _type_key(datatype: exp.DataType, dialect: str) -> str:
    if datatype.is_type(T.TEXT) or (datatype.is_type(T.VARCHAR) and not datatype.expressions):
        return "VARCHAR"
    return datatype.sql(dialect).upper()


# -- SQL as ASTs ------------------------------------------------------------------------------


def sql_key(sql: str, dialect: str = "duckdb") -> Any:
    """A comparable form of a statement: its AST without quoting, comments or layout (keyword
    case and whitespace do not matter); the whitespace-collapsed text when it does not parse."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return " ".join(sql.split())
    return _normalized(tree)


def _normalized(tree: exp.Expr) -> exp.Expr:
    def unquote(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Identifier) and node.args.get("quoted"):
            return exp.Identifier(this=node.this, quoted=False)
        return node

    tree = tree.transform(unquote)
    for node in tree.walk():
        node.comments = None
    return tree


def same_sql(first: str, second: str, dialect: str = "duckdb") -> bool:
    return bool(sql_key(first, dialect) == sql_key(second, dialect))


class _Projection(NamedTuple):
    star: Any
    """The `*` with its EXCLUDE/REPLACE/RENAME modifiers (normalized)."""
    extras: dict[str, Any]
    """Further projections: output name -> normalized expression."""
    source: Any


def _projection(sql: str) -> _Projection | None:
    """A step of the shape `SELECT *[ modifiers][, expr AS name...] FROM input` (every built-in
    transform), or None for anything else (filters, joins, plug-in SQL)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or not tree.expressions:
        return None
    clauses = ("where", "group", "having", "qualify", "order", "limit", "joins", "distinct", "with")
    if any(tree.args.get(name) for name in clauses):
        return None
    star, *rest = tree.expressions
    if not isinstance(star, exp.Star):
        return None
    extras = {}
    for projection in rest:
        if not isinstance(projection, exp.Alias):
            return None
        extras[projection.alias] = _normalized(projection.this.copy())
    source = tree.args.get("from_") or tree.args.get("from")
    return _Projection(
        _normalized(star.copy()), extras, _normalized(source.copy()) if source else None
    )


def _only_adds(old: str | None, new: str | None) -> bool:
    """Whether `new` is `old` with more columns added (with `old` None: a step that only adds
    columns; with `new` None: a step that only added columns, now removed)."""
    if old is None or new is None:
        only = new if old is None else old
        step = _projection(only) if only is not None else None
        if step is None or not step.extras:
            return False
        return not any(step.star.args.get(m) for m in ("except", "replace", "rename"))
    before, after = _projection(old), _projection(new)
    if before is None or after is None or before.star != after.star:
        return False
    if before.source != after.source:
        return False
    kept = all(after.extras.get(name) == value for name, value in before.extras.items())
    return kept and set(after.extras) > set(before.extras)


# -- comparing two plans ----------------------------------------------------------------------

_SOURCE_IDENTITY = ("path", "table", "query", "url", "host", "port", "database")
_DESTINATION_IDENTITY = ("host", "port")
_DESTINATION_FIELDS = ("type", "database", "table", "write_mode", "merge_keys")


def diff_plans(old: Plan, new: Plan) -> DiffResult:
    """The semantic changes from `old` to `new`: the runtime, then each resource's (named
    `resources.<name>.` when a plan has several) in the new plan's order, then removed ones.
    Per resource, in a fixed order: identity, destination and source settings, incremental
    settings, columns, transform steps, dbt, dependencies."""
    changes: list[Change] = []
    notes: list[str] = []
    anchor = (new.units or old.units or [None])[0]
    if anchor is not None:
        context = _Context(anchor, anchor)
        changes += [classify(fact, context) for fact in _runtime(old, new)]
    if len(old.units) == 1 and len(new.units) == 1:  # a recipe's one load, even renamed
        pairs = [(old.units[0], new.units[0], "")]
    else:
        before = {unit.name: unit for unit in old.units}
        after = {unit.name: unit for unit in new.units}
        pairs = []
        for unit in new.units:
            prefix = f"resources.{unit.name}."
            if unit.name not in before:
                fact = _Fact("resource", "added", None, _destination_identity(unit))
                changes.append(_prefixed(classify(fact, _Context(unit, unit)), prefix))
            else:
                pairs.append((before[unit.name], unit, prefix))
        for unit in old.units:
            if unit.name not in after:
                fact = _Fact("resource", "removed", _destination_identity(unit), None)
                prefix = f"resources.{unit.name}."
                changes.append(_prefixed(classify(fact, _Context(unit, unit)), prefix))
    for old_unit, new_unit, prefix in pairs:
        context = _Context(old_unit, new_unit)
        unit_notes: list[str] = []
        facts = _unit_facts(old_unit, new_unit, unit_notes)
        changes += [_prefixed(classify(fact, context), prefix) for fact in facts]
        name = prefix.removeprefix("resources.").rstrip(".")
        notes += [f"{name}: {note}" if name else note for note in unit_notes]
    if anchor is not None:
        context = _Context(anchor, anchor)
        changes += [classify(fact, context) for fact in _pipeline_dbt(old, new)]
    return DiffResult(tuple(changes), tuple(notes))


def _prefixed(change: Change, prefix: str) -> Change:
    if not prefix:
        return change
    path = prefix.rstrip(".") if change.path == "resource" else prefix + change.path
    return dataclasses.replace(change, path=path)


def _unit_facts(old: Unit, new: Unit, notes: list[str]) -> list[_Fact]:
    facts: list[_Fact] = []
    facts += _resources(old, new)
    facts += _destination(old, new)
    facts += _source(old, new)
    facts += _incremental(old, new)
    facts += _columns(old, new, notes)
    facts += _transforms(old, new)
    facts += _dbt(old.dbt, new.dbt)
    if sorted(old.depends_on) != sorted(new.depends_on):
        facts.append(_Fact("depends_on", "changed", old.depends_on, new.depends_on))
    return facts


def _source_identity(plan: Unit) -> dict[str, Any]:
    extract = plan.extract
    found = {"type": extract.source}
    found.update({k: extract.config[k] for k in _SOURCE_IDENTITY if extract.config.get(k)})
    return found


def _destination_identity(plan: Unit) -> dict[str, Any]:
    write = plan.write
    found: dict[str, Any] = {"type": write.destination}
    if write.database is not None:
        found["database"] = write.database
    found["table"] = write.table
    found.update({k: write.config[k] for k in _DESTINATION_IDENTITY if write.config.get(k)})
    return found


def _identity_key(identity: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    return {k: sql_key(v, dialect) if k == "query" else v for k, v in identity.items()}


def _resources(old: Unit, new: Unit) -> list[_Fact]:
    facts = []
    before, after = _source_identity(old), _source_identity(new)
    dialects = tuple(
        unit.extract.database.source_dialect if unit.extract.database else "duckdb"
        for unit in (old, new)
    )
    if _identity_key(before, dialects[0]) != _identity_key(after, dialects[1]):
        facts += [_Fact("source", "removed", before, None), _Fact("source", "added", None, after)]
    before, after = _destination_identity(old), _destination_identity(new)
    if before != after:
        facts += [
            _Fact("destination", "removed", before, None),
            _Fact("destination", "added", None, after),
        ]
    return facts


def _flat(config: Mapping[str, Any], skip: Sequence[str], prefix: str) -> dict[str, Any]:
    """Settings by dot path, one level of nesting spelled out (`options.delimiter`)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in skip:
            continue
        if isinstance(value, Mapping) and value:
            for inner, item in value.items():
                out[f"{prefix}.{key}.{inner}"] = item
        else:
            out[f"{prefix}.{key}"] = value
    return out


def _settings(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[_Fact]:
    facts = []
    for path in [*before, *(p for p in after if p not in before)]:
        old_value, new_value = before.get(path), after.get(path)
        if old_value != new_value:
            facts.append(_Fact(path, "changed", old_value, new_value))
    return facts


def _destination(old: Unit, new: Unit) -> list[_Fact]:
    facts = []
    if old.write.write_mode != new.write.write_mode:
        facts.append(
            _Fact("destination.write_mode", "changed", old.write.write_mode, new.write.write_mode)
        )
    if list(old.write.merge_keys) != list(new.write.merge_keys):
        facts.append(
            _Fact("destination.merge_keys", "changed", old.write.merge_keys, new.write.merge_keys)
        )
    skip = (*_DESTINATION_FIELDS, *_DESTINATION_IDENTITY)
    return facts + _settings(
        _flat(old.write.config, skip, "destination"), _flat(new.write.config, skip, "destination")
    )


def _source(old: Unit, new: Unit) -> list[_Fact]:
    skip = ("type", "incremental", *_SOURCE_IDENTITY)
    return _settings(
        _flat(old.extract.config, skip, "source"), _flat(new.extract.config, skip, "source")
    )


def _incremental_settings(plan: Unit) -> dict[str, Any] | None:
    spec = plan.extract.incremental
    if spec is None:
        return None
    found: dict[str, Any] = {
        "strategy": spec.strategy,
        "cursor_column": spec.cursor_column,
        "initial_value": spec.initial_value,
        "end_value": spec.end_value,
        "backfill_step": spec.backfill_step,
    }
    configured = plan.extract.config.get("incremental") or {}
    covered = {*found, "backfill"}
    found.update({k: v for k, v in configured.items() if k not in covered})
    return found


def _incremental(old: Unit, new: Unit) -> list[_Fact]:
    before, after = _incremental_settings(old), _incremental_settings(new)
    if before is None and after is None:
        return []
    if before is None or after is None:
        kind = "added" if before is None else "removed"
        return [_Fact("source.incremental", kind, _compact(before), _compact(after))]
    if before["strategy"] != after["strategy"]:
        return [_Fact("source.incremental.strategy", "changed", _compact(before), _compact(after))]
    prefix = "source.incremental."
    return _settings(
        {prefix + k: v for k, v in before.items()}, {prefix + k: v for k, v in after.items()}
    )


def _compact(settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if settings is None else {k: v for k, v in settings.items() if v is not None}


def _columns(old: Unit, new: Unit, notes: list[str]) -> list[_Fact]:
    before, after = old.output_schema, new.output_schema
    unknown = [side for side, schema in (("OLD", before), ("NEW", after)) if schema is None]
    if before is None or after is None:
        notes.append(
            f"the output columns of {' and '.join(unknown)} are unknown (not known at compile "
            "time): columns were not compared"
        )
        return []
    old_columns = {c.name.lower(): c for c in before}
    new_columns = {c.name.lower(): c for c in after}
    facts = []
    for key, column in old_columns.items():
        if key not in new_columns:
            facts.append(_Fact(f"columns.{column.name}", "removed", column.type, None))
        elif not same_type(column.type, new_columns[key].type):
            facts.append(
                _Fact(f"columns.{column.name}", "retyped", column.type, new_columns[key].type)
            )
    for key, column in new_columns.items():
        if key not in old_columns:
            facts.append(_Fact(f"columns.{column.name}", "added", None, column.type))
    return facts


def _transforms(old: Unit, new: Unit) -> list[_Fact]:
    before, after = old.transforms, new.transforms
    matcher = difflib.SequenceMatcher(
        a=[sql_key(s.sql) for s in before], b=[sql_key(s.sql) for s in after], autojunk=False
    )
    facts = []

    def fact(kind: str, old_step: TransformStep | None, new_step: TransformStep | None) -> None:
        """A step changed (named by its new index), removed (old index) or added (new index)."""
        step = new_step or old_step
        assert step is not None
        old_sql = old_step.sql if old_step else None
        new_sql = new_step.sql if new_step else None
        detail = {"adds_columns_only": _only_adds(old_sql, new_sql), "type": step.type}
        facts.append(_Fact(f"transform.steps[{step.index}]", kind, old_sql, new_sql, detail))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1)
        for offset in range(pairs):
            fact("changed", before[i1 + offset], after[j1 + offset])
        for index in range(i1 + pairs, i2):
            fact("removed", before[index], None)
        for index in range(j1 + pairs, j2):
            fact("added", None, after[index])
    return facts


def _runtime(old: Plan, new: Plan) -> list[_Fact]:
    facts = _settings(_flat(old.runtime, (), "runtime"), _flat(new.runtime, (), "runtime"))
    if list(old.plugins) != list(new.plugins):
        facts.append(_Fact("plugins", "changed", old.plugins, new.plugins))
    return facts


def _pipeline_dbt(old: Plan, new: Plan) -> list[_Fact]:
    """The dbt node after a recipe's resources: its invocation and what it waits for."""
    before, after = old.dbt, new.dbt
    facts = _dbt(before and before.step, after and after.step)
    if before is not None and after is not None and before.depends_on != after.depends_on:
        facts.append(_Fact("dbt.depends_on", "changed", before.depends_on, after.depends_on))
    return facts


def _dbt(before: DbtStep | None, after: DbtStep | None) -> list[_Fact]:
    if before is None and after is None:
        return []
    if before is None or after is None:
        kind = "added" if before is None else "removed"
        step = after or before
        assert step is not None
        return [
            _Fact(
                "dbt",
                kind,
                None if before is None else "dbt " + " ".join(before.arguments),
                None if after is None else "dbt " + " ".join(after.arguments),
            )
        ]
    settings = {"profile", "kind"}
    return _settings(
        _flat(before.model_dump(exclude=settings), (), "dbt"),
        _flat(after.model_dump(exclude=settings), (), "dbt"),
    )


# -- rendering --------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _one_line(value: Any) -> str:
    return " ".join(_value(value).split())


def _summary(result: DiffResult) -> str:
    count = len(result.changes)
    parts = [f"{result.count(r)} {r}" for r in reversed(RISKS) if result.count(r)]
    return f"{count} change{'s' if count != 1 else ''}: {', '.join(parts)}"


def render_text(result: DiffResult, old: str, new: str) -> str:
    lines = [f"recipec diff {old} -> {new}"]
    if not result.changes:
        lines.append("no changes")
    else:
        lines.append(_summary(result))
        width = max(len(r) for r in RISKS)
        for change in result.changes:
            lines.append("")
            head = f"  {change.risk:<{width}}  {change.path}  {change.kind}"
            if change.path.startswith("transform."):
                lines.append(head)
                lines.extend(_sql_lines(change.before, change.after, width))
            else:
                before, after = _value(change.before), _value(change.after)
                if change.kind == "added":
                    lines.append(f"{head}: {after}")
                elif change.kind == "removed":
                    lines.append(f"{head}: {before}")
                else:
                    lines.append(f"{head}: {before} -> {after}")
            if change.reason:
                lines.append(f"  {'':<{width}}  {change.reason}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def _sql_lines(before: str | None, after: str | None, width: int) -> list[str]:
    """The step's SQL, lines marked `-` (only before) and `+` (only after)."""
    old, new = (before or "").splitlines(), (after or "").splitlines()
    context = max(len(old), len(new))
    lines = list(difflib.unified_diff(old, new, lineterm="", n=context))[3:]  # no headers
    return [f"  {'':<{width}}  {line[0] or ' '} {line[1:]}" for line in lines]


def _cell(value: Any, code: bool = True) -> str:
    if value is None:
        return ""
    text = _one_line(value).replace("|", "\\|")
    if len(text) > 160:
        text = text[:157] + "..."
    if not code:
        return text
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def render_markdown(result: DiffResult, old: str, new: str) -> str:
    """A summary for a pull-request comment: a heading, the destructive changes called out, and
    a table of every change with its risk."""
    lines = [f"### recipec diff: `{old}` → `{new}`", ""]
    if not result.changes:
        lines.append("No semantic changes.")
    else:
        lines.append(f"**{_summary(result)}**")
        destructive = [c for c in result.changes if c.risk == DESTRUCTIVE]
        if destructive:
            lines += ["", "> [!CAUTION]", "> **Destructive changes:**"]
            lines += [f"> - `{c.path}` {c.kind}: {c.reason}" for c in destructive]
        lines += [
            "",
            "| risk | path | change | before | after | why |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in result.changes:
            risk = f"**{c.risk.upper()}**" if c.risk == DESTRUCTIVE else c.risk
            row = [risk, f"`{c.path}`", c.kind, _cell(c.before), _cell(c.after)]
            lines.append("| " + " | ".join([*row, _cell(c.reason, code=False)]) + " |")
    if result.notes:
        lines.append("")
        lines += [f"_Note: {note}_" for note in result.notes]
    return "\n".join(lines)


def render(result: DiffResult, output: str, old: str, new: str) -> str:
    if output == "json":
        return result.to_json()
    if output == "markdown":
        return render_markdown(result, old, new)
    return render_text(result, old, new)
