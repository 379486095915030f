"""The recipe expression language: a small, dialect-neutral language for filters and derived
columns, parsed with lark into an immutable AST, type-checked against a schema, printed back,
and lowered to sqlglot expressions (so it runs in DuckDB and transpiles to other dialects).

    status != 'deleted' and amount >= 0
    case when amount > 1000 then 'high' else 'normal' end
    concat(first_name, ' ', last_name)

It has literals, column references (double quotes for odd names: "my col"), arithmetic with
`%`, comparisons, `and`/`or`/`not`, `is [not] null`, `[not] in (...)`, `[not] between`,
`[not] like`, `case when`, `cast(x as int)` with the recipe's type names, and the functions in
`FUNCTIONS`. Nothing else: no subqueries, no SQL of any other kind.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from recipec.compiler.semantic.types import TypeNameError, parse_type
from recipec.errors import did_you_mean

if TYPE_CHECKING:
    from lark import Lark, Token
    from lark.exceptions import UnexpectedInput

KEYWORDS = frozenset(
    {
        *("or", "and", "not", "is", "in", "between", "like", "true", "false", "null"),
        *("case", "when", "then", "else", "end", "cast", "as", "asc", "desc"),
    }
)
RESERVED = frozenset(
    {
        *("select", "from", "where", "group", "order", "by", "having", "limit", "union"),
        *("join", "with", "insert", "update", "delete", "drop", "create", "alter", "into"),
        *("values", "distinct", "over"),
    }
)
"""SQL words that are not column names here (quote such a column: "select")."""

GRAMMAR = r"""
?start: expr

order_list: order_item ("," order_item)*
order_item: expr (ASC | DESC)?

?expr: or_
?or_: and_ (OR and_)*                       -> or_
?and_: not_ (AND not_)*                     -> and_
?not_: NOT not_                             -> not_
     | predicate
?predicate: sum
    | sum COMPARE sum                       -> compare
    | sum IS NULL                           -> is_null
    | sum IS NOT NULL                       -> is_not_null
    | sum IN "(" expr ("," expr)* ")"       -> in_
    | sum NOT IN "(" expr ("," expr)* ")"   -> not_in
    | sum BETWEEN sum AND sum               -> between
    | sum NOT BETWEEN sum AND sum           -> not_between
    | sum LIKE sum                          -> like
    | sum NOT LIKE sum                      -> not_like
?sum: product (ADD_OP product)*             -> arithmetic
?product: unary (MUL_OP unary)*             -> arithmetic
?unary: "-" unary                           -> negate
      | "+" unary
      | atom
?atom: INT                                  -> integer
     | DECIMAL                              -> decimal
     | STRING                               -> string
     | TRUE                                 -> true
     | FALSE                                -> false
     | NULL                                 -> null
     | CASE (WHEN expr THEN expr)+ (ELSE expr)? END -> case
     | CAST "(" expr AS type_name ")"       -> cast
     | NAME "(" [expr ("," expr)*] ")"      -> call
     | NAME                                 -> column
     | QUOTED_NAME                          -> quoted_column
     | "(" expr ")"

type_name: NAME ("(" INT ("," INT)? ")")?

COMPARE: "<=" | ">=" | "!=" | "<>" | "==" | "=" | "<" | ">"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/" | "%"
OR: /or\b/i
AND: /and\b/i
NOT: /not\b/i
IS: /is\b/i
IN: /in\b/i
BETWEEN: /between\b/i
LIKE: /like\b/i
TRUE: /true\b/i
FALSE: /false\b/i
NULL: /null\b/i
CASE: /case\b/i
WHEN: /when\b/i
THEN: /then\b/i
ELSE: /else\b/i
END: /end\b/i
CAST: /cast\b/i
ASC: /asc\b/i
DESC: /desc\b/i
AS: /as\b/i
NAME: /(?!({WORDS})\b)[A-Za-z_][A-Za-z0-9_]*/i
QUOTED_NAME: /"([^"]|"")+"/
STRING: /'([^']|'')*'/
DECIMAL: /[0-9]+\.[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+/
INT: /[0-9]+/

%import common.WS
%ignore WS
""".replace("{WORDS}", "|".join(sorted(KEYWORDS | RESERVED)))


class ExpressionError(ValueError):
    """A problem inside an expression: a message, its offset in the text, and a hint."""

    def __init__(
        self, message: str, text: str, offset: int, hint: str | None = None, length: int = 1
    ) -> None:
        self.message = message
        self.text = text
        self.offset = max(0, min(offset, len(text)))
        self.hint = hint
        self.length = max(1, length)
        super().__init__(self.render())

    def caret(self) -> str:
        """The expression with a caret under the offending token."""
        line_start = self.text.rfind("\n", 0, self.offset) + 1
        line_end = self.text.find("\n", self.offset)
        line = self.text[line_start : line_end if line_end != -1 else len(self.text)]
        column = self.offset - line_start
        return f"{line}\n{' ' * column}{'^' * min(self.length, max(1, len(line) - column))}"

    def render(self) -> str:
        column = self.offset + 1
        text = f"{self.message} (at character {column} of the expression)\n{self.caret()}"
        return f"{text}\n{self.hint}" if self.hint else text


# -- the AST -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """An expression node; `span` (start, end offsets in the text) does not count in equality."""

    span: tuple[int, int] = field(default=(0, 0), compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Literal(Node):
    value: str | int | float | bool | None
    """Decimal literals keep their text (`1.50`) so they stay exact."""
    kind: str  # "integer" | "decimal" | "string" | "boolean" | "null"


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" | "not"
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    op: str  # arithmetic, comparison, "and", "or", "like"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class IsNull(Node):
    operand: Expr
    negated: bool = False


@dataclass(frozen=True)
class InList(Node):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True)
class Case(Node):
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None = None


@dataclass(frozen=True)
class Cast(Node):
    operand: Expr
    to: str
    """A recipe type name (`int`, `decimal(12,2)`, ...)."""


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Expr, ...]


Expr = Literal | Column | Unary | Binary | IsNull | InList | Between | Case | Cast | Call


@dataclass(frozen=True)
class Ordered(Node):
    """One item of an order list (`updated_at desc`)."""

    operand: Expr
    descending: bool = False


ARITHMETIC = ("+", "-", "*", "/", "%")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


def _span(meta: Any) -> tuple[int, int]:
    return (meta.start_pos, meta.end_pos) if not getattr(meta, "empty", True) else (0, 0)


def _unquote(text: str, quote: str) -> str:
    return text[1:-1].replace(quote * 2, quote)


class _BuildRules:
    """Lark's parse tree -> the AST, keeping each node's span. `_builder` mixes these rules
    into lark's non-recursive transformer (so deep nesting is reported by `parse`, not a
    RecursionError), importing lark only when an expression is parsed."""

    def integer(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(int(children[0]), "integer", span=_span(meta))

    def decimal(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(str(children[0]), "decimal", span=_span(meta))

    def string(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(_unquote(str(children[0]), "'"), "string", span=_span(meta))

    def true(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(True, "boolean", span=_span(meta))

    def false(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(False, "boolean", span=_span(meta))

    def null(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(None, "null", span=_span(meta))

    def column(self, meta: Any, children: list[Token]) -> Column:
        return Column(str(children[0]), span=_span(meta))

    def quoted_column(self, meta: Any, children: list[Token]) -> Column:
        return Column(_unquote(str(children[0]), '"'), span=_span(meta))

    def negate(self, meta: Any, children: list[Expr]) -> Expr:
        operand = children[0]
        if isinstance(operand, Literal) and operand.kind == "integer":
            return Literal(-int(operand.value), "integer", span=_span(meta))  # type: ignore[arg-type]
        return Unary("-", operand, span=_span(meta))

    def not_(self, meta: Any, children: list[Any]) -> Expr:
        return Unary("not", children[1], span=_span(meta))

    def _chain(self, meta: Any, children: list[Any]) -> Expr:
        """a op b op c, left-associative; operators are the odd children."""
        result = children[0]
        for index in range(1, len(children), 2):
            op = str(children[index]).lower()
            right = children[index + 1]
            result = Binary(op, result, right, span=(result.span[0], right.span[1]))
        if isinstance(result, Binary):
            result = Binary(result.op, result.left, result.right, span=_span(meta))
        return result

    or_ = and_ = arithmetic = _chain

    def compare(self, meta: Any, children: list[Any]) -> Binary:
        op = {"==": "=", "<>": "!="}.get(str(children[1]), str(children[1]))
        return Binary(op, children[0], children[2], span=_span(meta))

    def like(self, meta: Any, children: list[Any]) -> Binary:
        return Binary("like", children[0], children[2], span=_span(meta))

    def not_like(self, meta: Any, children: list[Any]) -> Unary:
        like = Binary("like", children[0], children[3], span=_span(meta))
        return Unary("not", like, span=_span(meta))

    def is_null(self, meta: Any, children: list[Any]) -> IsNull:
        return IsNull(children[0], span=_span(meta))

    def is_not_null(self, meta: Any, children: list[Any]) -> IsNull:
        return IsNull(children[0], negated=True, span=_span(meta))

    def in_(self, meta: Any, children: list[Any]) -> InList:
        return InList(children[0], tuple(children[2:]), span=_span(meta))

    def not_in(self, meta: Any, children: list[Any]) -> InList:
        return InList(children[0], tuple(children[3:]), negated=True, span=_span(meta))

    def between(self, meta: Any, children: list[Any]) -> Between:
        return Between(children[0], children[2], children[4], span=_span(meta))

    def not_between(self, meta: Any, children: list[Any]) -> Between:
        return Between(children[0], children[3], children[5], negated=True, span=_span(meta))

    def case(self, meta: Any, children: list[Any]) -> Case:
        from lark import Token

        parts = [c for c in children if not isinstance(c, Token)]
        tokens = [str(c).lower() for c in children if isinstance(c, Token)]
        default = parts.pop() if "else" in tokens else None
        whens = tuple((parts[i], parts[i + 1]) for i in range(0, len(parts), 2))
        return Case(whens, default, span=_span(meta))

    def type_name(self, meta: Any, children: list[Token]) -> str:
        name = str(children[0]).lower()
        return f"{name}({','.join(str(c) for c in children[1:])})" if len(children) > 1 else name

    def cast(self, meta: Any, children: list[Any]) -> Cast:
        return Cast(children[1], children[3], span=_span(meta))

    def order_item(self, meta: Any, children: list[Any]) -> Ordered:
        descending = len(children) > 1 and str(children[1]).lower() == "desc"
        return Ordered(children[0], descending, span=_span(meta))

    def order_list(self, meta: Any, children: list[Any]) -> tuple[Ordered, ...]:
        return tuple(children)

    def call(self, meta: Any, children: list[Any]) -> Call:
        name = str(children[0]).lower()
        args = tuple(c for c in children[1:] if c is not None)
        return Call(name, args, span=_span(meta))


@functools.cache
def _parser() -> Lark:
    from lark import Lark

    return Lark(
        GRAMMAR,
        parser="lalr",
        start=["start", "order_list"],
        propagate_positions=True,
        maybe_placeholders=True,
    )


@functools.cache
def _builder() -> Any:
    from lark import Transformer_NonRecursive, v_args

    rules = {name: rule for name, rule in vars(_BuildRules).items() if not name.startswith("__")}
    return v_args(meta=True)(type("_Build", (Transformer_NonRecursive,), rules))


def parse(text: str) -> Expr:
    """Parse an expression; raises `ExpressionError` (never anything else) on bad input."""
    expression: Expr = _parse(text, "start")
    _check(expression, text)
    return expression


def parse_order(text: str) -> tuple[Ordered, ...]:
    """Parse an order list, `updated_at desc, id`: expressions, each optionally asc or desc."""
    items: tuple[Ordered, ...] = _parse(text, "order_list")
    for item in items:
        _check(item.operand, text)
    return items


def _parse(text: str, start: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression", str(text or ""), 0)
    from lark.exceptions import UnexpectedInput, VisitError

    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    try:
        return _builder()().transform(tree)
    except VisitError as exc:  # a node that cannot be built, e.g. an integer of 5000 digits
        offset = getattr(getattr(exc.obj, "meta", None), "start_pos", None) or 0
        raise ExpressionError(f"cannot read this: {exc.orig_exc}", text, offset) from None


def _check(expression: Expr, text: str) -> None:
    if _depth(expression) > MAX_DEPTH:  # printing, typing and lowering recurse on the tree
        raise ExpressionError(
            f"the expression is nested more than {MAX_DEPTH} levels deep",
            text,
            0,
            "each operator of a chain counts a level: use in (...) for a long list of values, "
            "or split the work into steps",
        )
    _check_functions_and_casts(expression, text)


MAX_DEPTH = 100


def _depth(node: Expr) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(item))
    return deepest


def _syntax_error(exc: UnexpectedInput, text: str) -> ExpressionError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    offset = getattr(exc, "pos_in_stream", None) or 0
    if isinstance(exc, UnexpectedEOF):
        return ExpressionError("the expression ends too early", text, len(text))
    if isinstance(exc, UnexpectedCharacters):
        word = re.match(r"[A-Za-z_]+", text[offset:])
        if word and word.group(0).lower() in RESERVED:
            return ExpressionError(
                f"'{word.group(0)}' is not part of the expression language",
                text,
                offset,
                "subqueries and SQL statements are not expressions; a column named "
                f'{word.group(0)} is written "{word.group(0)}"',
                len(word.group(0)),
            )
        char = text[offset] if offset < len(text) else ""
        message = f"unexpected character {char!r}"
        if char == "`":
            message += " (quote odd column names with double quotes)"
        if char == ";":
            message += " (an expression is not a SQL statement)"
        return ExpressionError(message, text, offset)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return ExpressionError("the expression ends too early", text, len(text))
        found = str(token)
        offset = token.start_pos if token.start_pos is not None else offset
        hint = did_you_mean(found.lower(), KEYWORDS) if found.isalpha() else None
        return ExpressionError(f"unexpected '{found}'", text, offset, hint, len(found))
    return ExpressionError("cannot parse the expression", text, offset)


# -- printing ------------------------------------------------------------------------------------

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}


def _precedence(node: Expr) -> int:
    if isinstance(node, Binary):
        return _PRECEDENCE.get(node.op, 4)
    if isinstance(node, Unary):
        return 3 if node.op == "not" else 7
    if isinstance(node, IsNull | InList | Between):
        return 4
    return 8


def to_text(node: Expr) -> str:
    """The canonical text of an expression: parsing it gives the same tree back."""

    def wrap(child: Expr, minimum: int) -> str:
        text = to_text(child)
        return f"({text})" if _precedence(child) < minimum else text

    if isinstance(node, Literal):
        if node.kind == "string":
            return "'" + str(node.value).replace("'", "''") + "'"
        if node.kind == "null":
            return "null"
        if node.kind == "boolean":
            return "true" if node.value else "false"
        if node.kind == "integer" and int(node.value) < 0:  # type: ignore[arg-type]
            return f"({node.value})"
        return str(node.value)
    if isinstance(node, Column):
        simple = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node.name) is not None  # NAME
        simple = simple and node.name.lower() not in KEYWORDS | RESERVED
        return node.name if simple else '"' + node.name.replace('"', '""') + '"'
    if isinstance(node, Unary):
        if node.op == "not":
            return f"not {wrap(node.operand, 3)}"
        return f"-{wrap(node.operand, 8)}"
    if isinstance(node, Binary):
        level = _precedence(node)
        # Left-associative: the right operand needs brackets at the same level.
        left = wrap(node.left, level if level != 4 else 5)
        right = wrap(node.right, level + 1)
        return f"{left} {node.op} {right}"
    if isinstance(node, IsNull):
        return f"{wrap(node.operand, 5)} is {'not ' if node.negated else ''}null"
    if isinstance(node, InList):
        items = ", ".join(to_text(i) for i in node.items)
        return f"{wrap(node.operand, 5)} {'not ' if node.negated else ''}in ({items})"
    if isinstance(node, Between):
        low, high = wrap(node.low, 5), wrap(node.high, 5)
        negated = "not " if node.negated else ""
        return f"{wrap(node.operand, 5)} {negated}between {low} and {high}"
    if isinstance(node, Case):
        whens = " ".join(f"when {to_text(c)} then {to_text(r)}" for c, r in node.whens)
        default = f" else {to_text(node.default)}" if node.default is not None else ""
        return f"case {whens}{default} end"
    if isinstance(node, Cast):
        return f"cast({to_text(node.operand)} as {node.to})"
    return f"{node.name}({', '.join(to_text(a) for a in node.args)})"


def children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, Unary | IsNull | Cast):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, Case):
        parts = [part for pair in node.whens for part in pair]
        return (*parts, *([node.default] if node.default is not None else []))
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Expr) -> list[Expr]:
    out = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


# -- types ---------------------------------------------------------------------------------------
# Types are DuckDB type names; `None` means unknown (the source's schema is not known yet).

NUMERIC = frozenset(
    {
        *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT"),
        *("UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL"),
    }
)
TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")


def family(type_name: str | None) -> str | None:
    """numeric | string | boolean | temporal | other, or None when unknown."""
    if type_name is None or type_name in ("NULL", '"NULL"'):
        return None
    base = type_name.upper().split("(")[0].strip()
    if base in NUMERIC:
        return "numeric"
    if base in ("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR"):
        return "string"
    if base == "BOOLEAN":
        return "boolean"
    if base in TEMPORAL or base.startswith("TIMESTAMP"):
        return "temporal"
    return "other"


@dataclass(frozen=True)
class Function:
    """A library function: argument families (None = any), its result type, its lowering."""

    arguments: tuple[tuple[str | None, ...], ...]
    """Each accepted argument: the families it takes."""
    result: Callable[[list[str | None]], str | None]
    lower: Callable[[list[exp.Expr], list[Expr]], exp.Expr]
    variadic: bool = False
    """The last argument may repeat."""
    doc: str = ""


def _same(types: list[str | None]) -> str | None:
    return next((t for t in types if t is not None), None)


def _numeric_result(types: list[str | None]) -> str | None:
    return types[0]


def _rounded_result(types: list[str | None]) -> str | None:
    """floor/ceil keep a decimal's type; of an integer or a float, DuckDB returns DOUBLE."""
    first = types[0]
    return first if first is not None and first.upper().startswith("DECIMAL") else "DOUBLE"


def _text_or_empty(value: exp.Expr) -> exp.Expr:
    """A concat argument: its text, or '' for NULL, spelled out so that every dialect agrees
    (MySQL's CONCAT and Redshift's || return NULL when one argument is NULL)."""
    if isinstance(value, exp.Literal) and value.is_string:
        return value
    return exp.Coalesce(this=exp.cast(value, "VARCHAR"), expressions=[exp.Literal.string("")])


def _trunc_unit(node: Expr) -> str:
    return str(node.value).upper() if isinstance(node, Literal) else "DAY"


def _date_trunc(args: list[exp.Expr], nodes: list[Expr]) -> exp.Expr:
    unit = exp.var(_trunc_unit(nodes[0]))
    return exp.TimestampTrunc(this=args[1], unit=unit)


STRING, NUMBER, TIME, ANY = ("string",), ("numeric",), ("temporal",), (None,)

FUNCTIONS: Mapping[str, Function] = {
    "upper": Function((STRING,), lambda t: "VARCHAR", lambda a, n: exp.Upper(this=a[0])),
    "lower": Function((STRING,), lambda t: "VARCHAR", lambda a, n: exp.Lower(this=a[0])),
    "length": Function((STRING,), lambda t: "BIGINT", lambda a, n: exp.Length(this=a[0])),
    "trim": Function((STRING,), lambda t: "VARCHAR", lambda a, n: exp.Trim(this=a[0])),
    "concat": Function(
        (ANY,),
        lambda t: "VARCHAR",
        lambda a, n: exp.Concat(expressions=[_text_or_empty(x) for x in a], safe=False),
        variadic=True,
        doc="concatenates the values' text; NULL counts as empty text",
    ),
    "substr": Function(
        (STRING, NUMBER, NUMBER),
        lambda t: "VARCHAR",
        lambda a, n: exp.Substring(this=a[0], start=a[1], length=a[2] if len(a) > 2 else None),
        doc="substr(text, start[, length]), 1-based",
    ),
    "replace": Function(
        (STRING, STRING, STRING), lambda t: "VARCHAR", lambda a, n: exp.func("replace", *a)
    ),
    "coalesce": Function(
        (ANY,),
        _same,
        lambda a, n: exp.Coalesce(this=a[0], expressions=a[1:]),
        variadic=True,
    ),
    "nullif": Function((ANY, ANY), _same, lambda a, n: exp.Nullif(this=a[0], expression=a[1])),
    "abs": Function((NUMBER,), _numeric_result, lambda a, n: exp.Abs(this=a[0])),
    "round": Function(
        (NUMBER, NUMBER),
        _numeric_result,
        lambda a, n: exp.Round(this=a[0], decimals=a[1] if len(a) > 1 else None),
        doc="round(x[, digits])",
    ),
    "floor": Function((NUMBER,), _rounded_result, lambda a, n: exp.Floor(this=a[0])),
    "ceil": Function((NUMBER,), _rounded_result, lambda a, n: exp.Ceil(this=a[0])),
    "year": Function((TIME,), lambda t: "BIGINT", lambda a, n: exp.Year(this=a[0])),
    "month": Function((TIME,), lambda t: "BIGINT", lambda a, n: exp.Month(this=a[0])),
    "day": Function((TIME,), lambda t: "BIGINT", lambda a, n: exp.Day(this=a[0])),
    "date_trunc": Function(
        (STRING, TIME),
        lambda t: t[1] if t[1] and t[1].upper() != "DATE" else "TIMESTAMP",
        _date_trunc,
        doc="date_trunc('month', ts): year, quarter, month, week, day, hour, minute, second",
    ),
    "now": Function((), lambda t: "TIMESTAMP WITH TIME ZONE", lambda a, n: exp.CurrentTimestamp()),
}
OPTIONAL_ARGUMENTS = {"substr": 2, "round": 1}
"""Functions whose trailing arguments may be left out: how many are required."""
TRUNC_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second")


def _check_functions_and_casts(node: Expr, text: str) -> None:
    """What parsing alone can check: known functions, their arity, cast types, trunc units."""
    for item in walk(node):
        if isinstance(item, Call):
            function = FUNCTIONS.get(item.name)
            if function is None:
                hint = did_you_mean(item.name, FUNCTIONS)
                raise ExpressionError(
                    f"unknown function '{item.name}'",
                    text,
                    item.span[0],
                    hint or f"functions: {', '.join(sorted(FUNCTIONS))}",
                    len(item.name),
                )
            count = len(function.arguments)
            required = OPTIONAL_ARGUMENTS.get(item.name, count)
            given = len(item.args)
            if (given < required or given > count) and not (function.variadic and given >= 1):
                expected = str(count) if required == count else f"{required} to {count}"
                raise ExpressionError(
                    f"{item.name}() takes {expected} argument(s), got {given}",
                    text,
                    item.span[0],
                    length=len(item.name),
                )
            if item.name == "date_trunc":
                unit = item.args[0]
                if not (isinstance(unit, Literal) and str(unit.value).lower() in TRUNC_UNITS):
                    raise ExpressionError(
                        "date_trunc's first argument is a unit in quotes",
                        text,
                        unit.span[0],
                        f"one of: {', '.join(TRUNC_UNITS)}",
                    )
        if isinstance(item, Cast):
            try:
                parse_type(item.to)
            except TypeNameError as exc:
                raise ExpressionError(str(exc), text, item.span[0], exc.hint, 4) from None


def infer(node: Expr, schema: Mapping[str, str | None], text: str) -> str | None:
    """The expression's DuckDB type over `schema` (column -> type, None when unknown); raises
    `ExpressionError` for an unknown column or mixed-up types."""

    def check(node: Expr) -> str | None:
        if isinstance(node, Literal):
            return {
                "integer": "INTEGER",
                "decimal": "DECIMAL",
                "string": "VARCHAR",
                "boolean": "BOOLEAN",
                "null": None,
            }[node.kind]
        if isinstance(node, Column):
            if node.name not in schema:
                # DuckDB, where the steps run, matches column names case-insensitively.
                same = [name for name in schema if name.lower() == node.name.lower()]
                if same:
                    return schema[same[0]]
                raise ExpressionError(
                    f"unknown column '{node.name}'",
                    text,
                    node.span[0],
                    did_you_mean(node.name, schema)
                    or f"the input has: {', '.join(schema) or 'no columns'}",
                    node.span[1] - node.span[0],
                )
            return schema[node.name]
        if isinstance(node, Unary):
            operand = check(node.operand)
            if node.op == "not":
                expect(node.operand, operand, "boolean", "not")
                return "BOOLEAN"
            expect(node.operand, operand, "numeric", "-")
            return operand
        if isinstance(node, Binary):
            left, right = check(node.left), check(node.right)
            if node.op in ("and", "or"):
                expect(node.left, left, "boolean", node.op)
                expect(node.right, right, "boolean", node.op)
                return "BOOLEAN"
            if node.op in ARITHMETIC:
                expect(node.left, left, "numeric", node.op)
                expect(node.right, right, "numeric", node.op)
                if node.op == "/":
                    return "DOUBLE"
                return _wider(left, right)
            if node.op == "like":
                expect(node.left, left, "string", "like")
                expect(node.right, right, "string", "like")
                return "BOOLEAN"
            comparable(node, left, right)
            return "BOOLEAN"
        if isinstance(node, IsNull):
            check(node.operand)
            return "BOOLEAN"
        if isinstance(node, InList):
            operand = check(node.operand)
            for item in node.items:
                comparable(item, operand, check(item))
            return "BOOLEAN"
        if isinstance(node, Between):
            operand = check(node.operand)
            comparable(node.low, operand, check(node.low))
            comparable(node.high, operand, check(node.high))
            return "BOOLEAN"
        if isinstance(node, Case):
            branch_types = []
            for condition, branch in node.whens:
                expect(condition, check(condition), "boolean", "when")
                branch_types.append(check(branch))
            if node.default is not None:
                branch_types.append(check(node.default))
            known = [t for t in branch_types if t is not None]
            if not known:
                return None
            widest = known[0]
            for branch_type in known[1:]:
                if family(branch_type) != family(widest):
                    raise ExpressionError(
                        f"case branches mix {family(widest)} and {family(branch_type)} values",
                        text,
                        node.span[0],
                        length=4,
                    )
                widest = _wider(widest, branch_type) or widest
            return widest
        if isinstance(node, Cast):
            check(node.operand)
            return parse_type(node.to).duckdb_name()
        function = FUNCTIONS[node.name]
        types = [check(arg) for arg in node.args]
        for index, (arg, arg_type) in enumerate(zip(node.args, types, strict=True)):
            accepted = function.arguments[min(index, len(function.arguments) - 1)]
            if accepted != (None,):
                expect(arg, arg_type, accepted[0], f"{node.name}()")  # type: ignore[arg-type]
        return function.result(types)

    def expect(node: Expr, actual: str | None, wanted: str, where: str) -> None:
        if actual is None or family(actual) == wanted:
            return
        raise ExpressionError(
            f"{where} needs a {wanted} value, but {to_text(node)} is {actual}",
            text,
            node.span[0],
            length=node.span[1] - node.span[0],
        )

    def comparable(node: Expr, left: str | None, right: str | None) -> None:
        if left is None or right is None:
            return
        kinds = {family(left), family(right)}
        if len(kinds) == 1 or kinds == {"temporal", "string"}:  # '2024-01-01' reads as a date
            return
        raise ExpressionError(
            f"cannot compare {family(left)} ({left}) with {family(right)} ({right})",
            text,
            node.span[0],
            length=node.span[1] - node.span[0],
        )

    return check(node)


def _wider(left: str | None, right: str | None) -> str | None:
    if left is None or right is None:
        return left or right
    order = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DECIMAL", "FLOAT", "DOUBLE"]
    rank = {name: i for i, name in enumerate(order)}
    base_left, base_right = left.split("(")[0], right.split("(")[0]
    if base_left not in rank or base_right not in rank:
        return left
    return left if rank[base_left] >= rank[base_right] else right


# -- lowering ------------------------------------------------------------------------------------

_COMPARISON_NODES: Mapping[str, type[exp.Expr]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}


def lower(node: Expr, column: Callable[[str], exp.Expr] | None = None) -> exp.Expr:
    """The sqlglot expression for an AST: dialect-neutral nodes (sqlglot transpiles them)."""
    column = column or (lambda name: exp.column(name, quoted=True))

    def wrap(child: Expr, minimum: int) -> exp.Expr:
        lowered = go(child)
        return exp.paren(lowered, copy=False) if _precedence(child) < minimum else lowered

    def go(node: Expr) -> exp.Expr:
        if isinstance(node, Literal):
            if node.kind == "string":
                return exp.Literal.string(str(node.value))
            if node.kind == "null":
                return exp.Null()
            if node.kind == "boolean":
                return exp.Boolean(this=bool(node.value))
            if node.kind == "integer" and int(node.value) < 0:  # type: ignore[arg-type]
                return exp.Neg(this=exp.Literal.number(-int(node.value)))  # type: ignore[arg-type]
            return exp.Literal.number(node.value)
        if isinstance(node, Column):
            return column(node.name)
        if isinstance(node, Unary):
            if node.op == "not":
                return exp.Not(this=wrap(node.operand, 3))
            return exp.Neg(this=wrap(node.operand, 8))
        if isinstance(node, Binary):
            level = _precedence(node)
            left = wrap(node.left, level if level != 4 else 5)
            right = wrap(node.right, level + 1)
            if node.op == "and":
                return exp.And(this=left, expression=right)
            if node.op == "or":
                return exp.Or(this=left, expression=right)
            if node.op == "like":
                return exp.Like(this=left, expression=right)
            if node.op == "/":  # true division everywhere, also of two integers
                return exp.Div(this=left, expression=right, typed=False, safe=False)
            arithmetic = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul, "%": exp.Mod}
            if node.op in arithmetic:
                return arithmetic[node.op](this=left, expression=right)
            return _COMPARISON_NODES[node.op](this=left, expression=right)
        if isinstance(node, IsNull):
            is_null = exp.Is(this=wrap(node.operand, 5), expression=exp.Null())
            return exp.Not(this=is_null) if node.negated else is_null
        if isinstance(node, InList):
            in_list = exp.In(this=wrap(node.operand, 5), expressions=[go(i) for i in node.items])
            return exp.Not(this=exp.paren(in_list)) if node.negated else in_list
        if isinstance(node, Between):
            between = exp.Between(
                this=wrap(node.operand, 5), low=wrap(node.low, 5), high=wrap(node.high, 5)
            )
            return exp.Not(this=exp.paren(between)) if node.negated else between
        if isinstance(node, Case):
            case = exp.Case(
                ifs=[exp.If(this=go(c), true=go(r)) for c, r in node.whens],
                default=go(node.default) if node.default is not None else None,
            )
            return case
        if isinstance(node, Cast):
            return exp.Cast(this=go(node.operand), to=parse_type(node.to).to_datatype())
        args = [go(arg) for arg in node.args]
        return FUNCTIONS[node.name].lower(args, list(node.args))

    return go(node)


def to_sql(node: Expr, dialect: str = "duckdb") -> str:
    return lower(node).sql(dialect=dialect)
