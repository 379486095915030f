"""The expression language: printing round-trips, lowering agrees with a reference evaluator,
bad text fails only with `ExpressionError` (and never smuggles SQL through), exact error
messages, and the SQL each dialect gets."""

from __future__ import annotations

import decimal
import json
import math
import operator
import re
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

import duckdb
import pytest
import sqlglot
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from snapshot_extensions import JsonSnapshot
from sqlglot import exp
from sqlglot.tokens import TokenType

from recipec.compiler.language import expressions as E
from recipec.compiler.language.expressions import (
    FUNCTIONS,
    OPTIONAL_ARGUMENTS,
    TRUNC_UNITS,
    Between,
    Binary,
    Call,
    Case,
    Cast,
    Column,
    ExpressionError,
    InList,
    IsNull,
    Literal,
    Unary,
    infer,
    parse,
    to_sql,
    to_text,
)
from recipec.compiler.language.transforms import Filter

parse("upper(s) = 'x'")  # build the parser here, not inside a test's deadline


# -- random ASTs from every construct of the grammar ----------------------------------------------

ODD_NAMES = [
    "my col",
    "select",
    "Select",
    "and",
    "IN",
    'say "hi"',
    '"',
    "1st",
    "é",
    "café",
    "a-b",
    " ",
    "tab\there",
    "new\nline",
    "from",
    "upper",
    "order_id",
    "android",
    "_",
    "x1",
]
CAST_TYPES = ["int", "str", "float", "bool", "decimal(10,2)", "date", "datetime", "decimal(38,0)"]
DECIMAL_TEXTS = ["1.5", "0.25", "2.", ".5", "10.75", "0.0", "1e5", "2.5E-3", "3e+2", "007.10"]


def literals() -> st.SearchStrategy[E.Expr]:
    return st.one_of(
        st.integers(-(10**12), 10**12).map(lambda v: Literal(v, "integer")),
        st.sampled_from(DECIMAL_TEXTS).map(lambda v: Literal(v, "decimal")),
        st.text(max_size=8).map(lambda v: Literal(v, "string")),
        st.text(alphabet="'\"%_ab\\;", max_size=6).map(lambda v: Literal(v, "string")),
        st.booleans().map(lambda v: Literal(v, "boolean")),
        st.just(Literal(None, "null")),
    )


def column_refs() -> st.SearchStrategy[E.Expr]:
    plain = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
    quoted = st.text(min_size=1, max_size=6)
    return st.one_of(plain, quoted, st.sampled_from(ODD_NAMES)).map(Column)


def _negate(operand: E.Expr) -> E.Expr:
    # `-5` reads back as the literal -5, so a minus over an integer literal is not canonical.
    if isinstance(operand, Literal) and operand.kind == "integer":
        return Literal(-operand.value, "integer")  # type: ignore[operator]
    return Unary("-", operand)


def _call(draw: Any, children: st.SearchStrategy[E.Expr], name: str) -> Call:
    function = FUNCTIONS[name]
    count = len(function.arguments)
    low = OPTIONAL_ARGUMENTS.get(name, count)
    if function.variadic:
        low, count = 1, 4
    size = draw(st.integers(low, count))
    args = [draw(children) for _ in range(size)]
    if name == "date_trunc":
        unit = draw(st.sampled_from(TRUNC_UNITS))
        args[0] = Literal(draw(st.sampled_from([unit, unit.upper()])), "string")
    return Call(name, tuple(args))


def compound(children: st.SearchStrategy[E.Expr]) -> st.SearchStrategy[E.Expr]:
    many = st.lists(children, min_size=1, max_size=3).map(tuple)

    @st.composite
    def calls(draw: Any) -> Call:
        return _call(draw, children, draw(st.sampled_from(sorted(FUNCTIONS))))

    return st.one_of(
        children.map(_negate),
        children.map(lambda x: Unary("not", x)),
        st.builds(Binary, st.sampled_from([*E.ARITHMETIC, *E.COMPARISONS]), children, children),
        st.builds(Binary, st.sampled_from(["and", "or", "like"]), children, children),
        st.builds(IsNull, children, st.booleans()),
        st.builds(InList, children, many, st.booleans()),
        st.builds(Between, children, children, children, st.booleans()),
        st.builds(
            Case,
            st.lists(st.tuples(children, children), min_size=1, max_size=3).map(tuple),
            st.none() | children,
        ),
        st.builds(Cast, children, st.sampled_from(CAST_TYPES)),
        calls(),
    )


trees = st.recursive(literals() | column_refs(), compound, max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_printing_then_parsing_gives_the_same_tree(tree):
    text = to_text(tree)
    parsed = parse(text)
    assert parsed == tree, text
    again = to_text(parsed)
    assert again == text
    assert parse(again) == parsed
    # Leaves point at their own text: a caret under them underlines the right token.
    for node in E.walk(parsed):
        start, end = node.span
        assert 0 <= start <= end <= len(text)
        if isinstance(node, Column | Literal):
            assert parse(text[start:end]) == node, (text, node.span)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("A AND NOT b OR c", "A and not b or c"),
        ("x == 1 and y <> 2", "x = 1 and y != 2"),
        ("x not like 'a%'", "not x like 'a%'"),
        ("- -x", "-(-x)"),
        ("-(5)", "(-5)"),
        ("+x", "x"),
        ("UPPER(x)", "upper(x)"),
        ("cast(x AS Decimal( 10 , 2 ))", "cast(x as decimal(10,2))"),
        ("(a + b) * c - (d - e)", "(a + b) * c - (d - e)"),
        ("a - b - c", "a - b - c"),
        ('"my col" + "select" + "say ""hi"""', '"my col" + "select" + "say ""hi"""'),
        ("'it''s'", "'it''s'"),
        ("now()", "now()"),
        ("case when a then 1 end", "case when a then 1 end"),
        ("(a = b) = c", "(a = b) = c"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) = b", "(not a) = b"),
        ("x between 1 and 2 and y", "x between 1 and 2 and y"),
        ("x between (a and b) and c", "x between (a and b) and c"),
    ],
)
def test_canonical_text(text, canonical):
    assert to_text(parse(text)) == canonical


# -- lowering agrees with a reference evaluator ----------------------------------------------------

SCHEMA = {"a": "BIGINT", "b": "DOUBLE", "s": "VARCHAR", "t": "VARCHAR", "flag": "BOOLEAN"}
KIND_OF_COLUMN = {"a": "int", "b": "float", "s": "str", "t": "str", "flag": "bool"}
NUMERIC = ("int", "dec", "float")
TEXT_ALPHABET = "abA _%'\"\\é\n"


class Unmodelled(Exception):
    """A value the reference does not model (division by zero, overflow): skip the example."""


def widest(*kinds: str) -> str:
    known = [k for k in kinds if k != "null"]
    for kind in ("float", "dec", "int"):
        if kind in known:
            return kind
    return known[0] if known else "null"


def coerce(value: Any, kind: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if kind == "float":
        return float(value)
    if kind == "dec" and isinstance(value, int):
        return Decimal(value)
    return value


def checked(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "int" and abs(value) > 2**31 - 1:  # integer literals are INTEGER in DuckDB
        raise Unmodelled("integer overflow")
    if kind == "float" and (math.isinf(value) or math.isnan(value) or abs(value) > 1e15):
        raise Unmodelled("float overflow")
    if kind == "dec" and abs(value) > Decimal(10) ** 15:
        raise Unmodelled("decimal overflow")
    return value


def compare(op: str, left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    if isinstance(left, float) or isinstance(right, float):
        left, right = float(left), float(right)
    functions = {
        "=": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
    }
    return functions[op](left, right)


def and3(left: bool | None, right: bool | None) -> bool | None:
    if left is False or right is False:
        return False
    return None if left is None or right is None else True


def or3(left: bool | None, right: bool | None) -> bool | None:
    if left is True or right is True:
        return True
    return None if left is None or right is None else False


def not3(value: bool | None) -> bool | None:
    return None if value is None else not value


def like(text: str, pattern: str) -> bool:
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern
    )  # no escape character, as in DuckDB
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def c_round(value: float) -> float:
    """C's round(): halves away from zero, computed exactly."""
    whole = math.floor(abs(value))
    rounded = whole + 1 if abs(value) - whole >= 0.5 else whole
    return math.copysign(rounded, value)


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(node: E.Expr, row: dict[str, Any]) -> tuple[Any, str]:
    """(value, kind) of a node over a row; every child is evaluated (DuckDB evaluates them
    all, so a child that fails must skip the example even when its value is not used)."""
    if isinstance(node, Literal):
        if node.kind == "decimal":
            text = str(node.value)
            return (float(text), "float") if "e" in text.lower() else (Decimal(text), "dec")
        kinds = {"integer": "int", "string": "str", "boolean": "bool", "null": "null"}
        return node.value, kinds[node.kind]
    if isinstance(node, Column):
        return row[node.name], KIND_OF_COLUMN[node.name]
    if isinstance(node, Unary):
        value, kind = evaluate(node.operand, row)
        if node.op == "not":
            return not3(value), "bool"
        return checked(None if value is None else -value, kind), kind
    if isinstance(node, Binary):
        (left, lkind), (right, rkind) = evaluate(node.left, row), evaluate(node.right, row)
        if node.op == "and":
            return and3(left, right), "bool"
        if node.op == "or":
            return or3(left, right), "bool"
        if node.op == "like":
            return (None if left is None or right is None else like(left, right)), "bool"
        if node.op in E.COMPARISONS:
            return compare(node.op, left, right), "bool"
        kind = "float" if node.op == "/" else widest(lkind, rkind)
        if left is None or right is None:
            return None, kind
        left, right = coerce(left, kind), coerce(right, kind)
        if node.op in "/%" and right == 0:
            raise Unmodelled("division by zero")
        if node.op == "%":
            if kind == "int":
                result = abs(left) % abs(right) * (-1 if left < 0 else 1)  # like C
            elif kind == "float":
                result = math.fmod(left, right)
            else:
                result = left % right  # Decimal's % truncates like C
        else:
            functions = {"+": operator.add, "-": operator.sub, "*": operator.mul}
            result = left / right if node.op == "/" else functions[node.op](left, right)
        return checked(result, kind), kind
    if isinstance(node, IsNull):
        value, _ = evaluate(node.operand, row)
        return (value is not None) == node.negated, "bool"
    if isinstance(node, InList):
        value, _ = evaluate(node.operand, row)
        found: bool | None = False
        for item in node.items:
            found = or3(found, compare("=", value, evaluate(item, row)[0]))
        return (not3(found) if node.negated else found), "bool"
    if isinstance(node, Between):
        value, low, high = (evaluate(n, row)[0] for n in (node.operand, node.low, node.high))
        inside = and3(compare(">=", value, low), compare("<=", value, high))
        return (not3(inside) if node.negated else inside), "bool"
    if isinstance(node, Case):
        pairs = [(evaluate(c, row)[0], evaluate(r, row)) for c, r in node.whens]
        default = evaluate(node.default, row) if node.default is not None else (None, "null")
        kind = widest(*(k for _, (_, k) in pairs), default[1])
        chosen = next((result for condition, result in pairs if condition is True), default)
        return coerce(chosen[0], kind), kind
    if isinstance(node, Cast):
        return cast(*evaluate(node.operand, row), node.to)
    return call(node.name, [evaluate(arg, row) for arg in node.args])


def cast(value: Any, kind: str, to: str) -> tuple[Any, str]:
    target = {"int": "int", "float": "float", "str": "str", "bool": "bool"}.get(to, "dec")
    if value is None:
        return None, target
    if to == "int":
        if kind == "float":
            return checked(round(value), "int"), "int"  # DuckDB rounds half to even
        if kind == "dec":
            return checked(int(value.to_integral_value(ROUND_HALF_UP)), "int"), "int"
        return int(value), "int"
    if to == "float":
        return float(value), "float"
    if to == "str":
        return as_text(value), "str"
    if to == "bool":
        return (value if kind == "bool" else value != 0), "bool"
    result = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if abs(result) >= 10**8:
        raise Unmodelled("does not fit decimal(10,2)")
    return result, "dec"


def call(name: str, args: list[tuple[Any, str]]) -> tuple[Any, str]:
    values = [value for value, _ in args]
    kind = args[0][1] if args else "null"
    if name == "concat":
        return "".join(as_text(v) for v in values if v is not None), "str"
    if name == "coalesce":
        kind = widest(*(k for _, k in args))
        return coerce(next((v for v in values if v is not None), None), kind), kind
    if name == "nullif":
        equal = compare("=", values[0], values[1])
        return (None if equal else values[0]), kind
    if name in ("upper", "lower", "trim", "substr", "replace"):
        kind = "str"
    elif name == "length":
        kind = "int"
    elif name in ("floor", "ceil") and kind != "dec":
        kind = "float"  # DuckDB's floor and ceil of an integer are DOUBLE
    if any(v is None for v in values):
        return None, kind
    if name == "replace" and values[1] == "":
        return values[0], "str"  # DuckDB leaves the text alone
    text = values[0]
    if name == "upper":
        return text.upper(), "str"
    if name == "lower":
        return text.lower(), "str"
    if name == "trim":
        return text.strip(" "), "str"
    if name == "length":
        return len(text), "int"
    if name == "substr":
        start = values[1] - 1
        return (text[start:] if len(values) == 2 else text[start : start + values[2]]), "str"
    if name == "replace":
        return text.replace(values[1], values[2]), "str"
    number = values[0]
    if name == "abs":
        return abs(number), kind
    if name in ("floor", "ceil"):
        if kind == "dec":
            rounding = ROUND_FLOOR if name == "floor" else ROUND_CEILING
            return number.to_integral_value(rounding), "dec"
        return float((math.floor if name == "floor" else math.ceil)(number)), "float"
    if name == "round":
        digits = values[1] if len(values) > 1 else 0
        if kind == "int":
            return number, "int"
        if kind == "dec":
            return number.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP), "dec"
        scale = 10.0**digits
        return checked(c_round(number * scale) / scale, "float"), "float"
    raise AssertionError(name)


# Typed expressions over SCHEMA: each strategy gives trees whose DuckDB type is of `kind`.

SMALL_INTS = st.integers(-100, 100).map(lambda v: Literal(v, "integer"))
NULL = st.just(Literal(None, "null"))


def text_literals(alphabet: str = TEXT_ALPHABET) -> st.SearchStrategy[E.Expr]:
    return st.text(alphabet=alphabet, max_size=5).map(lambda v: Literal(v, "string"))


def leaves(kind: str) -> st.SearchStrategy[E.Expr]:
    if kind == "int":
        return SMALL_INTS | st.just(Column("a"))
    if kind == "dec":
        plain = [d for d in DECIMAL_TEXTS if "e" not in d.lower()]
        decimals = st.sampled_from(plain).map(lambda v: Literal(v, "decimal"))
        return decimals | decimals.map(lambda d: Unary("-", d))
    if kind == "float":
        exponent = st.sampled_from(["1e2", "2.5e-1", "1E1"]).map(lambda v: Literal(v, "decimal"))
        return st.just(Column("b")) | exponent
    if kind == "str":
        return text_literals() | st.sampled_from([Column("s"), Column("t")])
    return st.booleans().map(lambda v: Literal(v, "boolean")) | st.just(Column("flag"))


def fn(name: str, *args: E.Expr) -> Call:
    return Call(name, tuple(args))


@cache
def typed(kind: str, depth: int) -> st.SearchStrategy[E.Expr]:
    base = leaves(kind)
    if depth == 0:
        return nullable(base, 8).map(lambda leaf: leaf or Literal(None, "null"))
    same = typed(kind, depth - 1)
    number = st.one_of(*(typed(k, depth - 1) for k in NUMERIC))
    integer, text, boolean = typed("int", depth - 1), typed("str", depth - 1), typed("bool", 0)
    condition = typed("bool", depth - 1)
    digits = st.integers(0, 2).map(lambda v: Literal(v, "integer"))
    options: list[st.SearchStrategy[E.Expr]] = [
        st.builds(
            Case,
            st.lists(st.tuples(condition, same), min_size=1, max_size=2).map(tuple),
            st.none() | same,
        ),
        st.builds(lambda *xs: fn("coalesce", *xs), same, same | NULL),
        st.builds(lambda x, y: fn("nullif", x, y), same, same),
    ]
    if kind in NUMERIC:
        lower = typed("int", depth - 1) if kind != "float" else number
        if kind == "dec":
            lower = typed("dec", depth - 1) | typed("int", depth - 1)
        # The wider kind on one side at least keeps the result of `kind`.
        operands = st.tuples(same, lower) | st.tuples(lower, same)
        options += [
            same.map(_negate),
            *(operands.map(lambda pair, op=op: Binary(op, *pair)) for op in "+-*%"),
            same.map(lambda x: fn("abs", x)),
            st.builds(lambda x, d: fn("round", x, d), same, digits),
            same.map(lambda x: fn("round", x)),
        ]
    if kind == "int":
        options += [
            text.map(lambda x: fn("length", x)),
            st.builds(
                Cast, boolean | typed("float", 0) | typed("dec", 0) | integer, st.just("int")
            ),
        ]
    if kind == "dec":
        options += [
            same.map(lambda x: fn("floor", x)),
            same.map(lambda x: fn("ceil", x)),
            st.builds(Cast, integer | same, st.just("decimal(10,2)")),
        ]
    if kind == "float":
        options += [
            st.builds(lambda x, y: Binary("/", x, y), number, number),
            st.builds(lambda x, y: Binary("/", x, y), number, number),
            st.builds(lambda x, f: fn(f, x), integer | same, st.sampled_from(["floor", "ceil"])),
            st.builds(Cast, integer | typed("dec", depth - 1), st.just("float")),
        ]
    if kind == "str":
        start = st.integers(1, 6).map(lambda v: Literal(v, "integer"))
        length = st.integers(0, 4).map(lambda v: Literal(v, "integer"))
        concat_args = st.lists(same | integer | boolean | NULL, min_size=1, max_size=3)
        options += [
            st.builds(lambda f, x: fn(f, x), st.sampled_from(["upper", "lower", "trim"]), same),
            concat_args.map(lambda xs: fn("concat", *xs)),
            st.builds(lambda x, a: fn("substr", x, a), same, start),
            st.builds(lambda x, a, n: fn("substr", x, a, n), same, start, length),
            st.builds(lambda x, y, z: fn("replace", x, y, z), same, same, same),
            st.builds(Cast, integer | boolean, st.just("str")),
        ]
    if kind == "bool":
        comparable = st.tuples(number, number) | st.tuples(text, text) | st.tuples(boolean, boolean)
        options += [
            same.map(lambda x: Unary("not", x)),
            st.builds(
                lambda op, x, y: Binary(op, x, y), st.sampled_from(["and", "or"]), same, same
            ),
            st.builds(
                lambda op, pair: Binary(op, *pair), st.sampled_from(E.COMPARISONS), comparable
            ),
            st.builds(
                IsNull,
                st.one_of(number, text, boolean),
                st.booleans(),
            ),
            st.builds(
                lambda x, items, negated: InList(x, tuple(items), negated),
                number,
                st.lists(number, min_size=1, max_size=3),
                st.booleans(),
            ),
            st.builds(
                lambda x, items, negated: InList(x, tuple(items), negated),
                text,
                st.lists(text | NULL, min_size=1, max_size=3),
                st.booleans(),
            ),
            st.builds(Between, number, number, number, st.booleans()),
            st.builds(Between, text, text, text, st.booleans()),
            st.builds(
                lambda x, pattern: Binary("like", x, pattern),
                text,
                text_literals("ab%_'") | st.just(Column("t")),
            ),
            st.builds(
                lambda x, pattern: Unary("not", Binary("like", x, pattern)),
                text,
                text_literals("ab%_"),
            ),
            st.builds(Cast, integer, st.just("bool")),
        ]
    return st.one_of(*options, base)  # hypothesis favours the first: compounds first


def nullable(values: st.SearchStrategy[Any], one_in: int = 5) -> st.SearchStrategy[Any]:
    """Mostly values, NULL one time in `one_in` (NULLs everywhere would test little)."""
    return st.tuples(st.integers(1, one_in), values).map(
        lambda pair: pair[1] if pair[0] != one_in else None
    )


ROWS = st.fixed_dictionaries(
    {
        "a": nullable(st.integers(-50, 50)),
        "b": nullable(
            st.sampled_from([-2.5, -1.0, -0.5, 0.0, 0.25, 1.5, 3.0, 1e3])
            | st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)
        ),
        "s": nullable(st.text(alphabet=TEXT_ALPHABET, max_size=6)),
        "t": nullable(st.text(alphabet="ab%_ ", max_size=4)),
        "flag": nullable(st.booleans()),
    }
)

DUCKDB = duckdb.connect()


def same_value(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, str) or isinstance(actual, str):
        return expected == actual
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(float(expected), float(actual), rel_tol=1e-9, abs_tol=1e-9)
    return expected == actual


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    kind=st.sampled_from(["int", "dec", "float", "str", "bool"]),
    data=st.data(),
    rows=st.lists(ROWS, min_size=1, max_size=5),
)
def test_duckdb_agrees_with_the_reference_evaluator(kind, data, rows):
    tree = data.draw(typed(kind, 3), label="tree")
    text = to_text(tree)
    assert parse(text) == tree
    inferred = infer(tree, SCHEMA, text)
    expected = []
    with decimal.localcontext() as context:
        context.prec = 60
        for row in rows:
            try:
                expected.append(evaluate(tree, row)[0])
            except Unmodelled:
                assume(False)
    sql = to_sql(tree, "duckdb")
    values = ", ".join(
        "(?, CAST(? AS BIGINT), CAST(? AS DOUBLE), CAST(? AS VARCHAR), CAST(? AS VARCHAR),"
        " CAST(? AS BOOLEAN))"
        for _ in rows
    )
    query = (
        f"SELECT {sql} AS v, typeof({sql}) AS ty FROM (VALUES {values})"
        " AS r(i, a, b, s, t, flag) ORDER BY i"
    )
    parameters = [x for i, r in enumerate(rows) for x in (i, *(r[c] for c in SCHEMA))]
    result = DUCKDB.execute(query, parameters).fetchall()
    actual = [value for value, _ in result]
    assert all(map(same_value, expected, actual)), (text, sql, rows, expected, actual)
    duck_type = result[0][1]
    if inferred is not None and E.family(duck_type) is not None:
        assert E.family(inferred) == E.family(duck_type), (text, inferred, duck_type)


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("-7 % 2", {}, -1),
        ("7 % -2", {}, 1),
        ("-7.5 % 2", {}, Decimal("-1.5")),
        ("7 / 2", {}, 3.5),
        ("1 / 4 * 4", {}, 1.0),
        ("concat(s, '-', a, flag)", {"s": None, "a": 3, "flag": True}, "-3true"),
        ("substr('hello', 2, 3)", {}, "ell"),
        ("substr('hello', 2)", {}, "ello"),
        ("round(2.5)", {}, Decimal("3")),
        ("round(-2.5)", {}, Decimal("-3")),
        ("round(1.25, 1)", {}, Decimal("1.3")),
        ("'a_c' like 'a\\_c'", {}, False),
        ("null in (1, 2)", {}, None),
        ("1 not in (2, null)", {}, None),
        ("0 between 1 and null", {}, False),
        ("case when null then 1 else 2 end", {}, 2),
        ("nullif(2, 2.4)", {}, 2),
        ("trim('  a b  ')", {}, "a b"),
        ("replace('abc', '', 'x')", {}, "abc"),
        ("trim(' \ta\t ')", {}, "\ta\t"),
        ("'ABC' like 'a%'", {}, False),
        ("cast(2.5e0 as int)", {}, 2),
        ("cast(2.5 as int)", {}, 3),
        ("floor(a)", {"a": -7}, -7.0),
    ],
)
def test_reference_evaluator_on_fixed_cases(text, row, expected):
    """The reference's corner cases are DuckDB's (so the property test checks the lowering)."""
    full_row = {**dict.fromkeys(SCHEMA), **row}
    with decimal.localcontext() as context:
        context.prec = 60
        value = evaluate(parse(text), full_row)[0]
    assert same_value(expected, value)
    parameters = [full_row[c] for c in SCHEMA]
    query = (
        f"SELECT {to_sql(parse(text))} FROM (VALUES (CAST(? AS BIGINT), CAST(? AS DOUBLE),"
        " CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS BOOLEAN))) AS r(a, b, s, t, flag)"
    )
    assert same_value(expected, DUCKDB.execute(query, parameters).fetchone()[0])


# -- fuzz: bad text fails cleanly, and nothing but an expression reaches the SQL ------------------

STATEMENT_WORDS = (
    *("select", "insert", "update", "delete", "drop", "create", "alter", "truncate"),
    *("attach", "detach", "copy", "pragma", "into", "union", "exec", "execute", "grant"),
    *("call", "install", "load", "export", "import", "set", "with", "from", "where"),
)
STATEMENT_TOKENS = {
    TokenType.SEMICOLON,
    TokenType.SELECT,
    TokenType.INSERT,
    TokenType.UPDATE,
    TokenType.DELETE,
    TokenType.DROP,
    TokenType.CREATE,
    TokenType.ALTER,
    TokenType.TRUNCATE,
    TokenType.ATTACH,
    TokenType.COPY,
    TokenType.PRAGMA,
    TokenType.INTO,
    TokenType.UNION,
    TokenType.COMMAND,
}
SAMPLES = [
    "status != 'deleted' and amount >= 0",
    "case when amount > 1000 then 'high' else 'normal' end",
    "concat(first_name, ' ', last_name)",
    "x not between 1 and 10 or y in ('a', 'b;c')",
    'cast("my col" as decimal(10,2)) * -2 % 3',
    "date_trunc('month', ts) = now()",
    "upper(s) like 'A%' and not flag is null",
]
INJECTIONS = [
    "; drop table x",
    ";",
    " select ",
    "select * from t",
    "`",
    "`x`",
    "'",
    '"',
    ")",
    "(",
    " union select 1",
    "--",
    "/*",
    " and ",
    ",",
    "\\",
    "\x00",
    "1" * 5000,
    "(" * 120,
    "-" * 150,
]
FUZZ_ALPHABET = "abxyz_019 .,'\"()+-*/%<>=!;`\n\t\\|&$?:[]{}éA"
WORDS = [
    *sorted(E.KEYWORDS | E.RESERVED),
    *sorted(FUNCTIONS),
    *("a", "b", "1", "2.5", "'x'", '"y z"', "(", ")", ",", "+", "*", "=", "<>", "%", ";", "`"),
]


@st.composite
def mutated(draw: Any) -> str:
    text = draw(st.sampled_from(SAMPLES) | trees.map(to_text))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["cut", "insert", "delete"]))
        if action == "cut":
            text = text[:where]
        elif action == "insert":
            insert = draw(st.sampled_from(INJECTIONS) | st.text(FUZZ_ALPHABET, max_size=3))
            text = text[:where] + insert + text[where:]
        else:
            text = text[:where] + text[where + draw(st.integers(1, 4)) :]
    return text


fuzz_texts = st.one_of(
    st.text(FUZZ_ALPHABET, max_size=60),
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    mutated(),
    st.text(max_size=30),
)


def _statement_tokens(sql: str) -> list[str]:
    """Statement keywords and `;` outside string literals and quoted names, and comments."""
    tokens = sqlglot.tokenize(sql, read="duckdb")
    found = [t.text for t in tokens if t.token_type in STATEMENT_TOKENS]
    return found + [f"comment {c}" for t in tokens for c in t.comments]


@settings(max_examples=400, deadline=timedelta(milliseconds=2000))
@given(fuzz_texts)
def test_any_text_parses_or_fails_with_an_expression_error(text):
    try:
        tree = parse(text)
    except ExpressionError as error:
        assert 0 <= error.offset <= len(text)
        assert error.caret().count("\n") == 1
        assert error.render().startswith(error.message)
        return
    sql = to_sql(tree, "duckdb")
    assert _statement_tokens(sql) == [], (text, sql)
    for word in STATEMENT_WORDS:
        if re.search(rf"\b{word}\b", sql, flags=re.IGNORECASE):
            assert re.search(rf"\b{word}\b", text, flags=re.IGNORECASE), (word, text, sql)
    (statement,) = sqlglot.parse(f"SELECT {sql}", read="duckdb")
    assert isinstance(statement, exp.Select) and len(statement.expressions) == 1
    assert not list(statement.expressions[0].find_all(exp.Query, exp.Command, exp.DDL, exp.DML))


@pytest.mark.parametrize(
    "text",
    [
        "a; drop table x",
        "a = 1; select 1",
        "select 1",
        "(select 1)",
        "a in (select b from t)",
        "`a`",
        "a /* comment */",
        "a union select 1",
        "upper(a) from t",
        "1" * 5000,
        "-(" * 500 + "a" + ")" * 500,
        "-" * 3000 + "a",
        "not " * 1000 + "a",
        "a" + " + a" * 200,
        "case when true then " * 200 + "a" + " end" * 200,
        "\x00",
        "a \u2028 b",
    ],
)
def test_hostile_text_is_refused_as_an_expression_error(text):
    with pytest.raises(ExpressionError):
        parse(text)


def test_a_double_minus_is_arithmetic_not_a_comment():
    tree = parse("a -- comment")
    assert tree == Binary("-", Column("a"), Unary("-", Column("comment")))
    assert to_sql(tree) == '"a" - -"comment"'


def test_deep_but_reasonable_nesting_works_everywhere():
    assert parse("(" * 500 + "a" + ")" * 500) == Column("a")  # brackets add no depth
    text = "-(" * 60 + "a" + ")" * 60 + " + a" * 35
    tree = parse(text)
    assert infer(tree, SCHEMA, text) == "BIGINT"
    for dialect in DIALECTS:
        assert to_sql(tree, dialect)
    assert parse(to_text(tree)) == tree


# -- exact error messages -------------------------------------------------------------------------


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        (
            "amount +",
            [
                "the expression ends too early (at character 9 of the expression)",
                "amount +",
                "        ^",
            ],
        ),
        (
            "a > 1 andd b < 2",
            [
                "unexpected 'andd' (at character 7 of the expression)",
                "a > 1 andd b < 2",
                "      ^^^^",
                "did you mean 'and'?",
            ],
        ),
        (
            "uper(name) = 'X'",
            [
                "unknown function 'uper' (at character 1 of the expression)",
                "uper(name) = 'X'",
                "^^^^",
                "did you mean 'upper'?",
            ],
        ),
        (
            "a = substr(name)",
            [
                "substr() takes 2 to 3 argument(s), got 1 (at character 5 of the expression)",
                "a = substr(name)",
                "    ^^^^^^",
            ],
        ),
        (
            "upper(a, b)",
            [
                "upper() takes 1 argument(s), got 2 (at character 1 of the expression)",
                "upper(a, b)",
                "^^^^^",
            ],
        ),
        (
            "select 1",
            [
                "'select' is not part of the expression language (at character 1 of the "
                "expression)",
                "select 1",
                "^^^^^^",
                "subqueries and SQL statements are not expressions; a column named select is "
                'written "select"',
            ],
        ),
        (
            "a = 1; drop table x",
            [
                "unexpected character ';' (an expression is not a SQL statement) "
                "(at character 6 of the expression)",
                "a = 1; drop table x",
                "     ^",
            ],
        ),
        (
            "`my col` = 1",
            [
                "unexpected character '`' (quote odd column names with double quotes) "
                "(at character 1 of the expression)",
                "`my col` = 1",
                "^",
            ],
        ),
        (
            "cast(a as intt) > 1",
            [
                "unknown type 'intt' (at character 1 of the expression)",
                "cast(a as intt) > 1",
                "^^^^",
                "did you mean 'int'?",
            ],
        ),
        (
            "date_trunc('decade', ts)",
            [
                "date_trunc's first argument is a unit in quotes (at character 12 of the "
                "expression)",
                "date_trunc('decade', ts)",
                "           ^",
                "one of: year, quarter, month, week, day, hour, minute, second",
            ],
        ),
        ("", ["empty expression (at character 1 of the expression)", "", "^"]),
    ],
)
def test_syntax_error_messages(text, rendered):
    error = error_of(text)
    assert error.render() == "\n".join(rendered)
    assert str(error) == "\n".join(rendered)


def test_errors_point_into_the_right_line_of_a_multiline_expression():
    error = error_of("a > 1\nand uper(b)")
    assert error.caret() == "and uper(b)\n    ^^^^"
    assert error.offset == 10


def test_too_deep_and_too_long_are_expression_errors():
    deep = error_of("abs(" * 150 + "a" + ")" * 150)
    assert deep.message == "the expression is nested more than 100 levels deep"
    long = error_of("a + " + "9" * 5000)
    assert long.message.startswith("cannot read this: ")
    assert long.offset == 4


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        (
            "amout > 0",
            [
                "unknown column 'amout' (at character 1 of the expression)",
                "amout > 0",
                "^^^^^",
                "did you mean 'amount'?",
            ],
        ),
        (
            'upper("nmae")',
            [
                "unknown column 'nmae' (at character 7 of the expression)",
                'upper("nmae")',
                "      ^^^^^^",
                "did you mean 'name'?",
            ],
        ),
        (
            "name = 5",
            [
                "cannot compare string (VARCHAR) with numeric (INTEGER) "
                "(at character 1 of the expression)",
                "name = 5",
                "^^^^^^^^",
            ],
        ),
        (
            "amount in (1, 'two')",
            [
                "cannot compare numeric (DOUBLE) with string (VARCHAR) "
                "(at character 15 of the expression)",
                "amount in (1, 'two')",
                "              ^^^^^",
            ],
        ),
        (
            "year(name) > 2000",
            [
                "year() needs a temporal value, but name is VARCHAR "
                "(at character 6 of the expression)",
                "year(name) > 2000",
                "     ^^^^",
            ],
        ),
        (
            "amount + 1 and true",
            [
                "and needs a boolean value, but amount + 1 is DOUBLE "
                "(at character 1 of the expression)",
                "amount + 1 and true",
                "^^^^^^^^^^",
            ],
        ),
        (
            "case when amount > 0 then 'pos' else 0 end",
            [
                "case branches mix string and numeric values (at character 1 of the expression)",
                "case when amount > 0 then 'pos' else 0 end",
                "^^^^",
            ],
        ),
    ],
)
def test_type_error_messages(text, rendered):
    schema = {"name": "VARCHAR", "amount": "DOUBLE", "ts": "TIMESTAMP"}
    with pytest.raises(ExpressionError) as caught:
        infer(parse(text), schema, text)
    assert caught.value.render() == "\n".join(rendered)


def test_columns_match_case_insensitively_as_in_duckdb():
    text = "\"Amount\" > 0 and upper(NAME) = 'A'"
    assert infer(parse(text), {"name": "VARCHAR", "amount": "DOUBLE"}, text) == "BOOLEAN"
    with pytest.raises(ExpressionError, match="cannot compare string"):
        infer(parse("NAME > 0"), {"name": "VARCHAR"}, "NAME > 0")


def test_types_of_unknown_columns_are_not_checked():
    text = "year(x) > 2000 and upper(y) = 'A'"
    assert infer(parse(text), {"x": None, "y": None}, text) == "BOOLEAN"


def test_a_filter_condition_must_be_boolean():
    step = Filter(type="filter", where="amount * 2")
    with pytest.raises(ExpressionError) as caught:
        step.output_columns([("amount", "BIGINT")])
    assert caught.value.render() == (
        "a filter needs a true/false condition, but this is BIGINT "
        "(at character 1 of the expression)\n"
        "amount * 2\n"
        "^"
    )
    assert Filter(type="filter", where="amount > 2").output_columns([("amount", "BIGINT")])


# -- the SQL of each dialect ----------------------------------------------------------------------

DIALECTS = ("duckdb", "postgres", "mysql", "redshift", "snowflake", "bigquery", "spark")
GOLDEN = [
    "status != 'deleted' and amount >= 0",
    "not (a = 1 or b <> 2) and c is not null",
    "a / b",
    "a % 3 = 1",
    "-(a + b) * 2.50",
    "x in (1, 2, 3) and y not in ('a', 'b')",
    "x not between 1 and 10",
    "name like 'A%' and name not like '%z'",
    "case when amount > 1000 then 'high' when amount > 100 then 'mid' else 'low' end",
    "cast(a as int) + cast(b as decimal(12,2))",
    "cast(flag as str)",
    "cast(ts as datetime)",
    "concat(first_name, ' ', last_name)",
    "coalesce(a, b, 0)",
    "nullif(s, '')",
    "upper(trim(s)) = lower(t)",
    "length(s) > 3",
    "substr(s, 2, 3)",
    "replace(s, 'a', 'b')",
    "abs(a) + round(b, 2) + round(b) + floor(b) + ceil(b)",
    "year(ts) = 2024 and month(ts) = 1 and day(ts) = 31",
    "date_trunc('month', ts)",
    "created_at < now()",
    '"my col" + "select" + "say ""hi"""',
    "'it''s' = s",
]


def test_sql_in_every_dialect_is_pinned(snapshot):
    golden = {text: {d: to_sql(parse(text), d) for d in DIALECTS} for text in GOLDEN}
    rendered = json.dumps(golden, indent=2, ensure_ascii=False) + "\n"
    assert rendered == snapshot(extension_class=JsonSnapshot)


def test_true_division_in_every_dialect():
    """`/` divides as real numbers even between two integers, in every dialect's SQL."""
    for dialect in DIALECTS:
        sql = to_sql(parse("7 / 2"), dialect)
        assert "//" not in sql and "DIV" not in sql.upper().replace("DIVIDE", ""), (dialect, sql)
    assert DUCKDB.execute(f"SELECT {to_sql(parse('7 / 2'))}").fetchone()[0] == 3.5
