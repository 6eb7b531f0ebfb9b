"""Properties of the rules engine over the default rule set and random facts."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import evaluate
from rules.expr import Undefined, parse_expression
from rules.loader import load_ruleset
from rules.model import Fact, FactDef

RULESET = load_ruleset(Path(__file__).resolve().parents[2] / "rules" / "default.toml")
PRESENT_RULES = {r.id for r in RULESET.rules if r.test.op == "present"}
CHECK_DATES = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))


def value_of(definition: FactDef) -> st.SearchStrategy[object]:
    if definition.type == "bool":
        return st.booleans()
    if definition.type == "date":
        return st.dates(min_value=date(2015, 1, 1), max_value=date(2028, 12, 31))
    if definition.type == "enum":
        return st.sampled_from(definition.values)
    if definition.type == "text":
        return st.text(min_size=1, max_size=12)
    return st.one_of(
        st.integers(min_value=0, max_value=2030),
        st.decimals(min_value=0, max_value=200_000, places=2, allow_nan=False,
                    allow_infinity=False),
    )


@st.composite
def fact_sets(draw: st.DrawFn) -> dict[str, list[Fact]]:
    facts: dict[str, list[Fact]] = {}
    for name, definition in RULESET.facts.items():
        if draw(st.booleans()):
            since = draw(st.dates(min_value=date(2014, 1, 1), max_value=date(2028, 12, 31)))
            facts[name] = [Fact(name, draw(value_of(definition)), since, "doc", "prop")]  # type: ignore[arg-type]
    return facts


RANK = {"not_eligible": 0, "incomplete": 1, "eligible_with_warnings": 2, "eligible": 3}


@settings(max_examples=150, deadline=None)
@given(facts=fact_sets(), as_of=CHECK_DATES, data=st.data())
def test_removing_a_fact_never_turns_not_eligible_into_eligible(
    facts: dict[str, list[Fact]], as_of: date, data: st.DataObject
) -> None:
    full = evaluate(RULESET, facts, as_of)
    drop = data.draw(st.sets(st.sampled_from(sorted(RULESET.facts))))
    fewer = evaluate(RULESET, {k: v for k, v in facts.items() if k not in drop}, as_of)
    if full.outcome == "not_eligible":
        assert fewer.outcome in ("not_eligible", "incomplete")
    # Rule by rule, forgetting a fact can only make a rule unknown -- or, for a
    # rule that asks whether a fact is present, fail.
    before, after = full.statuses(), fewer.statuses()
    for rid, status in after.items():
        if status != before[rid]:
            allowed = {"unknown", "fail"} if rid in PRESENT_RULES else {"unknown"}
            assert status in allowed, (rid, before[rid], status)


@settings(max_examples=150, deadline=None)
@given(facts=fact_sets(), as_of=CHECK_DATES)
def test_unknown_never_counts_as_fail(facts: dict[str, list[Fact]], as_of: date) -> None:
    decision = evaluate(RULESET, facts, as_of)
    blocking = [r.status for r in decision.results if r.severity == "blocking"]
    assert (decision.outcome == "not_eligible") == ("fail" in blocking)
    if decision.outcome == "incomplete":
        assert "unknown" in blocking and "fail" not in blocking
    for result in decision.results:
        if result.missing:
            assert result.status == "unknown"


@settings(max_examples=100, deadline=None)
@given(facts=fact_sets(), as_of=CHECK_DATES, seed=st.integers())
def test_the_order_of_fact_histories_does_not_change_the_decision(
    facts: dict[str, list[Fact]], as_of: date, seed: int
) -> None:
    longer = {k: [*v, Fact(k, v[0].value, date(2013, 1, 1), "older", "prop")]
              for k, v in facts.items()}
    shuffled = {k: random.Random(seed).sample(v, len(v)) for k, v in longer.items()}
    assert evaluate(RULESET, longer, as_of).to_dict() == evaluate(RULESET, shuffled,
                                                                  as_of).to_dict()


@settings(max_examples=100, deadline=None)
@given(facts=fact_sets(), as_of=CHECK_DATES)
def test_every_rule_in_force_gets_one_result_and_a_message_in_each_language(
    facts: dict[str, list[Fact]], as_of: date
) -> None:
    in_force = [r.id for r in RULESET.rules_at(as_of)]
    for lang in ("en", "fr", "es"):
        decision = evaluate(RULESET, facts, as_of, lang)
        assert [r.rule_id for r in decision.results] == in_force
        assert all(r.message for r in decision.results)


NUMBERS = st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False,
                      allow_infinity=False)
RATIO = parse_expression("a / b", {"a": ("fact", "number"), "b": ("fact", "number")})


@given(a=NUMBERS, b=NUMBERS)
def test_a_ratio_is_exact_decimal_division_or_undefined(a: Decimal, b: Decimal) -> None:
    if b == 0:
        try:
            RATIO.evaluate({"a": a, "b": b})
        except Undefined:
            return
        raise AssertionError("division by zero gave a value")
    assert abs(RATIO.evaluate({"a": a, "b": b}) * b - a) <= abs(a) * Decimal("1e-20") + \
        Decimal("1e-20")
