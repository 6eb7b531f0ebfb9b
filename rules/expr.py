"""Safe arithmetic expressions for rule files (ratios and computed thresholds).

An expression is parsed once, at load, by Python's own parser
(``ast.parse(mode="eval")``) and then checked against a whitelist: numbers,
names of declared number facts and parameters, ``+ - * /``, unary minus,
parentheses and the functions ``min``, ``max`` and ``abs``.  Anything else --
attribute access, indexing, other calls, powers, strings, comparisons,
lambdas -- is refused with a message.  Size, node count and depth are bounded
before and after parsing.  The checked tree is compiled to plain closures over
``Decimal`` arithmetic in a fixed context; nothing is ever passed to ``eval``.

A division by zero (or any undefined result) raises :class:`Undefined`, which
the engine turns into an *unknown* result, never a crash.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from rules.errors import RulesError

__all__ = [
    "FUNCTIONS",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_NODES",
    "Expression",
    "ExpressionError",
    "Undefined",
    "parse_expression",
]

MAX_CHARS = 500
MAX_NODES = 100
MAX_DEPTH = 20
FUNCTIONS = ("min", "max", "abs")

# Fixed context: results do not depend on whatever the caller set globally.
_CTX = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
# Plain decimal literals only: no exponent (1e999999999), no underscores, no complex.
_LITERAL = re.compile(r"^[0-9]{1,30}(\.[0-9]{1,30})?$")

Env = Mapping[str, "Decimal | int"]
_Fn = Callable[[Env], Decimal]


class ExpressionError(RulesError):
    """An expression that is not allowed, malformed or mistyped."""


class Undefined(RulesError):
    """An expression has no value for these inputs (division by zero, overflow)."""


@dataclass(frozen=True)
class Expression:
    """A checked, compiled expression and the names it reads."""

    text: str
    facts: tuple[str, ...]
    parameters: tuple[str, ...]
    builtins: tuple[str, ...]
    _fn: _Fn = field(compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the expression reads (facts, then parameters, then built-ins)."""
        return self.facts + self.parameters + self.builtins

    def evaluate(self, env: Env) -> Decimal:
        """Compute the value; every name must be in ``env``. Raises :class:`Undefined`."""
        try:
            return self._fn(env)
        except DivisionByZero:
            raise Undefined("division by zero") from None
        except ArithmeticError:
            raise Undefined("the result is undefined or too large") from None


def parse_expression(text: str, names: Mapping[str, tuple[str, str]]) -> Expression:
    """Parse, check and compile ``text``.

    ``names`` maps every name that may appear to ``(kind, type)``, kind being
    ``fact``, ``parameter`` or ``builtin`` and type a fact type (only
    ``number`` names are allowed in arithmetic).  Raises :class:`ExpressionError`.
    """
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text")
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"expression longer than {MAX_CHARS} characters")
    if not text.strip():
        raise ExpressionError("empty expression")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"not a valid expression{col}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError("not a valid expression (too deep or contains a null byte)") from None
    _check_shape(tree)
    source = text.strip()
    used: dict[str, str] = {}
    fn = _compile(tree.body, source, names, used)
    return Expression(
        text=source,
        facts=tuple(n for n, k in used.items() if k == "fact"),
        parameters=tuple(n for n, k in used.items() if k == "parameter"),
        builtins=tuple(n for n, k in used.items() if k == "builtin"),
        _fn=fn,
    )


def _check_shape(tree: ast.AST) -> None:
    # Iterative walk: the limits must hold before any recursive compilation.
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"expression has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _where(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return f" (column {col + 1})" if isinstance(col, int) else ""


_BINOPS: dict[type, Callable[[Decimal, Decimal], Decimal]] = {
    ast.Add: _CTX.add,
    ast.Sub: _CTX.subtract,
    ast.Mult: _CTX.multiply,
    ast.Div: _CTX.divide,
}
_OP_TEXT = {
    ast.Pow: "powers (**)",
    ast.FloorDiv: "integer division (//)",
    ast.Mod: "remainder (%)",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}


def _compile(
    node: ast.AST, source: str, names: Mapping[str, tuple[str, str]], used: dict[str, str]
) -> _Fn:
    if isinstance(node, ast.BinOp):
        op = _BINOPS.get(type(node.op))
        if op is None:
            what = _OP_TEXT.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(f"{what} not allowed in an expression{_where(node)}")
        left = _compile(node.left, source, names, used)
        right = _compile(node.right, source, names, used)
        return lambda env: op(left(env), right(env))
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, source, names, used)
        if isinstance(node.op, ast.USub):
            return lambda env: _CTX.minus(operand(env))
        if isinstance(node.op, ast.UAdd):
            return lambda env: _CTX.plus(operand(env))
        raise ExpressionError(f"operator {type(node.op).__name__} not allowed{_where(node)}")
    if isinstance(node, ast.Constant):
        return _constant(node, source)
    if isinstance(node, ast.Name):
        return _name(node, names, used)
    if isinstance(node, ast.Call):
        return _call(node, source, names, used)
    if isinstance(node, ast.Attribute):
        raise ExpressionError(f"attribute access (.{node.attr}) is not allowed{_where(node)}")
    if isinstance(node, ast.Subscript):
        raise ExpressionError(f"indexing ([...]) is not allowed{_where(node)}")
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        raise ExpressionError(
            f"comparisons are not allowed in an expression; use the test's op{_where(node)}"
        )
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression{_where(node)}")


def _constant(node: ast.Constant, source: str) -> _Fn:
    value = node.value
    if isinstance(value, bool) or value is None:
        raise ExpressionError(f"{value!r} is not a number{_where(node)}")
    if isinstance(value, (str, bytes)):
        raise ExpressionError(f"text {value!r} cannot be used in arithmetic{_where(node)}")
    if not isinstance(value, (int, float)):
        raise ExpressionError(f"{value!r} is not an allowed number{_where(node)}")
    literal = ast.get_source_segment(source, node) or ""
    if not _LITERAL.match(literal):
        raise ExpressionError(
            f"number {literal!r} must be plain digits with an optional decimal part{_where(node)}"
        )
    # Built from the source text, never from the float the parser produced.
    number = Decimal(literal)
    return lambda env: number


def _name(node: ast.Name, names: Mapping[str, tuple[str, str]], used: dict[str, str]) -> _Fn:
    ident = node.id
    if ident.startswith("_") or ident not in names:
        raise ExpressionError(
            f"unknown name {ident!r} (not a declared fact or parameter){_where(node)}"
        )
    kind, typ = names[ident]
    if typ != "number":
        raise ExpressionError(
            f"{ident!r} is a {typ} {kind}; only numbers can be used in arithmetic{_where(node)}"
        )
    used.setdefault(ident, kind)
    return lambda env: env[ident]  # type: ignore[return-value]


def _call(
    node: ast.Call, source: str, names: Mapping[str, tuple[str, str]], used: dict[str, str]
) -> _Fn:
    func = node.func
    if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
        raise ExpressionError(f"only min(), max() and abs() may be called{_where(node)}")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ExpressionError(f"{func.id}() takes plain arguments only{_where(node)}")
    args = [_compile(a, source, names, used) for a in node.args]
    if func.id == "abs":
        if len(args) != 1:
            raise ExpressionError(f"abs() takes exactly one argument{_where(node)}")
        (arg,) = args
        return lambda env: _CTX.abs(arg(env))
    if len(args) < 2:
        raise ExpressionError(f"{func.id}() needs at least two arguments{_where(node)}")
    pick = _CTX.min if func.id == "min" else _CTX.max

    def fold(env: Env) -> Decimal:
        result = args[0](env)
        for arg in args[1:]:
            result = pick(result, arg(env))
        return result

    return fold
