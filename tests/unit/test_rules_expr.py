"""Safe arithmetic expressions: what is allowed, what is refused, how they compute."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rules.expr import MAX_CHARS, ExpressionError, Undefined, parse_expression

NAMES = {
    "opex": ("fact", "number"),
    "total": ("fact", "number"),
    "ceiling": ("parameter", "number"),
    "check_year": ("builtin", "number"),
    "ga_date": ("fact", "date"),
    "purpose": ("fact", "enum"),
}


def value(text: str, **env: object) -> Decimal:
    return parse_expression(text, NAMES).evaluate(env)  # type: ignore[arg-type]


def test_a_ratio_is_computed_exactly_with_decimals() -> None:
    assert value("opex / total", opex=Decimal(13000), total=Decimal(100000)) == Decimal("0.13")


def test_arithmetic_follows_the_usual_precedence() -> None:
    assert value("1 + 2 * 3 - -4 / 2") == Decimal(9)
    assert value("(1 + 2) * 3") == Decimal(9)


def test_min_max_and_abs_are_the_only_functions() -> None:
    assert value("min(opex, total, 5)", opex=7, total=3) == Decimal(3)
    assert value("max(opex, total)", opex=7, total=3) == Decimal(7)
    assert value("abs(opex - total)", opex=3, total=7) == Decimal(4)


def test_decimal_literals_are_read_from_the_text_not_through_a_float() -> None:
    assert value("0.1 + 0.2") == Decimal("0.3")


def test_names_read_are_sorted_into_facts_parameters_and_builtins() -> None:
    expr = parse_expression("opex / total - ceiling + check_year", NAMES)
    assert expr.facts == ("opex", "total")
    assert expr.parameters == ("ceiling",)
    assert expr.builtins == ("check_year",)


def test_division_by_zero_is_undefined_not_a_crash() -> None:
    with pytest.raises(Undefined, match="division by zero"):
        value("opex / total", opex=5, total=0)
    with pytest.raises(Undefined):
        value("opex / total", opex=0, total=0)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os')", "only min"),
        ("().__class__", "attribute access"),
        ("opex.real", "attribute access"),
        ("opex[0]", "indexing"),
        ("9**9**9", "powers"),
        ("opex // total", "integer division"),
        ("opex % total", "remainder"),
        ("opex < total", "comparisons"),
        ("opex if total else 1", "IfExp"),
        ("lambda: 1", "Lambda"),
        ("[1, 2]", "List"),
        ("open('x')", "only min"),
        ("min(opex)", "at least two"),
        ("abs(opex, total)", "exactly one"),
        ("max(*opex)", "plain arguments"),
        ("opex + 'a'", "text"),
        ("True + 1", "not a number"),
        ("1e999999999", "plain digits"),
        ("1_000", "plain digits"),
        ("2j", "allowed number"),
        ("unknown_name + 1", "unknown name"),
        ("_private", "unknown name"),
        ("ga_date + 1", "date fact"),
        ("purpose * 2", "enum fact"),
        ("", "empty"),
        ("1 +", "not a valid expression"),
        ("(opex := 3)", "NamedExpr"),
    ],
)
def test_anything_outside_the_whitelist_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        parse_expression(text, NAMES)


def test_a_long_expression_is_refused_before_parsing() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        parse_expression("1 + " * (MAX_CHARS // 4) + "1", NAMES)


def test_ten_thousand_levels_of_nesting_are_refused_without_a_recursion_error() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("(" * 10_000 + "1" + ")" * 10_000, NAMES)


def test_deep_nesting_within_the_length_limit_is_refused() -> None:
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse_expression("-" * 200 + "1", NAMES)


def test_too_many_parts_are_refused() -> None:
    with pytest.raises(ExpressionError, match="more than 100 parts"):
        parse_expression("max(" + ", ".join(["1"] * 120) + ")", NAMES)
