"""Evaluating rules: facts in force on the date, pass/fail/unknown, outcomes, dated thresholds."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from rules.engine import decide_outcome, evaluate, evaluate_many, facts_at, ruleset_hash
from rules.errors import FactValueError, LanguageError
from rules.loader import load_ruleset, loads_ruleset, make_fact
from rules.model import Fact, RuleResult, RuleSet

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
JUNE_2026 = date(2026, 6, 30)
JUNE_2027 = date(2027, 6, 30)

SMALL = """\
[ruleset]
name = "small"
version = "s.1"

[sources.agreement]
title = "Network solidarity-fund agreement, conditions of eligibility"

[facts.registered]
type = "bool"
[facts.ga_date]
type = "date"
[facts.opex]
type = "number"
[facts.total]
type = "number"
[facts.purpose]
type = "enum"
values = ["health", "other"]
[facts.number]
type = "text"

[parameters.ceiling]
values = [
  { from = 2026-01-01, value = 0.15, reference = "agreement 2026, conditions" },
{later}]

[[rules]]
id = "registered"
severity = "blocking"
valid_from = 2026-01-01
source = "agreement"
test = { fact = "registered", op = "equals", value = true }
messages = { en = "registered: {registered}", fr = "immatriculée : {registered}", es = "registrada: {registered}" }

[[rules]]
id = "ga"
severity = "blocking"
valid_from = 2026-01-01
source = "agreement"
test = { fact = "ga_date", op = "within_months", value = 12 }
messages = { en = "GA {ga_date}", fr = "AG {ga_date}", es = "AG {ga_date}" }

[[rules]]
id = "ratio"
severity = "{ratio_severity}"
valid_from = 2026-01-01
source = "agreement"
article = "management"
test = { expr = "opex / total", op = "le", param = "ceiling" }
messages = { en = "ratio {value:.1%} ceiling {ceiling:.0%}", fr = "ratio {value:.1%} plafond {ceiling:.0%}", es = "ratio {value:.1%} límite {ceiling:.0%}" }

[[rules]]
id = "purpose"
severity = "warning"
valid_from = 2026-01-01
source = "agreement"
test = { fact = "purpose", op = "in", value = ["health"] }
messages = { en = "purpose {purpose}", fr = "objet {purpose}", es = "objeto {purpose}" }

[[rules]]
id = "number_known"
severity = "info"
valid_from = 2026-01-01
source = "agreement"
test = { fact = "number", op = "present" }
messages = { en = "number {number}", fr = "numéro {number}", es = "número {number}" }
"""

LATER = '  { from = 2027-01-01, value = 0.12, reference = "agreement as revised for 2027" },\n'


def small(*, later: bool = False, ratio_severity: str = "warning") -> RuleSet:
    text = SMALL.replace("{later}", LATER if later else "").replace(
        "{ratio_severity}", ratio_severity)
    return loads_ruleset(text, "small.toml")


def fact(name: str, value: object, since: date = date(2026, 1, 1)) -> Fact:
    return Fact(name, value, since, evidence=f"doc for {name}", recorded_by="tester")  # type: ignore[arg-type]


def good_facts() -> dict[str, list[Fact]]:
    return {
        "registered": [fact("registered", True)],
        "ga_date": [fact("ga_date", date(2026, 4, 1))],
        "opex": [fact("opex", Decimal(13000))],
        "total": [fact("total", Decimal(100000))],
        "purpose": [fact("purpose", "health")],
        "number": [fact("number", "BF-1")],
    }


# --------------------------------------------------------------------------- outcomes


def test_an_organisation_meeting_every_rule_is_eligible() -> None:
    decision = evaluate(small(), good_facts(), JUNE_2026)
    assert decision.outcome == "eligible"
    assert set(decision.statuses().values()) == {"pass"}


def test_a_failed_blocking_rule_makes_it_not_eligible() -> None:
    facts = good_facts()
    facts["registered"] = [fact("registered", False)]
    decision = evaluate(small(), facts, JUNE_2026)
    assert decision.outcome == "not_eligible"
    assert decision.result("registered").status == "fail"


def test_a_missing_fact_is_unknown_not_failed() -> None:
    facts = good_facts()
    del facts["registered"]
    decision = evaluate(small(), facts, JUNE_2026)
    result = decision.result("registered")
    assert result.status == "unknown"
    assert result.missing == ("registered",)
    assert decision.outcome == "incomplete"


def test_a_blocking_failure_outweighs_a_blocking_unknown() -> None:
    facts = good_facts()
    del facts["registered"]
    facts["ga_date"] = [fact("ga_date", date(2024, 1, 1))]
    assert evaluate(small(), facts, JUNE_2026).outcome == "not_eligible"


def test_a_failed_warning_gives_eligible_with_warnings() -> None:
    facts = good_facts()
    facts["purpose"] = [fact("purpose", "other")]
    assert evaluate(small(), facts, JUNE_2026).outcome == "eligible_with_warnings"


def test_an_unknown_warning_or_a_failed_info_rule_leave_it_eligible() -> None:
    facts = good_facts()
    del facts["purpose"]
    del facts["number"]
    decision = evaluate(small(), facts, JUNE_2026)
    assert decision.result("purpose").status == "unknown"
    assert decision.result("number_known").status == "fail"
    assert decision.outcome == "eligible"


def test_with_no_rule_in_force_the_outcome_is_incomplete() -> None:
    decision = evaluate(small(), good_facts(), date(2025, 6, 30))
    assert decision.results == ()
    assert decision.outcome == "incomplete"


def test_decide_outcome_follows_the_severity_order() -> None:
    def r(severity: str, status: str) -> RuleResult:
        return RuleResult("x", severity, status, JUNE_2026, "en", ())

    assert decide_outcome([r("blocking", "pass"), r("warning", "fail")]) == "eligible_with_warnings"
    assert decide_outcome([r("blocking", "unknown"), r("warning", "fail")]) == "incomplete"
    assert decide_outcome([r("blocking", "fail"), r("blocking", "unknown")]) == "not_eligible"
    assert decide_outcome([r("info", "fail"), r("warning", "unknown")]) == "eligible"


# --------------------------------------------------------------------------- facts in time


def test_the_latest_fact_on_or_before_the_date_is_used() -> None:
    facts = good_facts()
    facts["registered"] = [
        fact("registered", True, date(2026, 1, 1)),
        fact("registered", False, date(2026, 9, 1)),
    ]
    assert evaluate(small(), facts, JUNE_2026).result("registered").status == "pass"
    assert evaluate(small(), facts, date(2026, 9, 1)).result("registered").status == "fail"


def test_a_fact_recorded_after_the_date_is_not_known_on_the_date() -> None:
    facts = good_facts()
    facts["registered"] = [fact("registered", True, date(2026, 7, 1))]
    assert evaluate(small(), facts, JUNE_2026).result("registered").status == "unknown"


def test_the_order_of_a_fact_history_does_not_matter() -> None:
    history = [fact("opex", Decimal(v), date(2026, m, 1)) for v, m in
               (("1", 1), ("2", 3), ("3", 5), ("4", 8))]
    chosen = facts_at(small(), {"opex": history}, JUNE_2026)["opex"]
    again = facts_at(small(), {"opex": list(reversed(history))}, JUNE_2026)["opex"]
    assert chosen.value == again.value == Decimal(3)


def test_a_single_fact_may_be_given_without_a_list() -> None:
    facts = {k: v[0] for k, v in good_facts().items()}
    assert evaluate(small(), facts, JUNE_2026).outcome == "eligible"


def test_undeclared_facts_are_ignored() -> None:
    facts: dict[str, object] = dict(good_facts())
    facts["shoe_size"] = [fact("shoe_size", 44)]
    assert evaluate(small(), facts, JUNE_2026).outcome == "eligible"  # type: ignore[arg-type]


def test_a_fact_of_the_wrong_type_is_refused() -> None:
    facts = good_facts()
    facts["opex"] = [fact("opex", "13000")]
    with pytest.raises(FactValueError, match="'opex'"):
        evaluate(small(), facts, JUNE_2026)


def test_an_enum_fact_outside_its_values_is_refused() -> None:
    facts = good_facts()
    facts["purpose"] = [fact("purpose", "housing")]
    with pytest.raises(FactValueError, match="health, other"):
        evaluate(small(), facts, JUNE_2026)


def test_a_float_cannot_be_a_fact() -> None:
    with pytest.raises(TypeError, match="float"):
        Fact("opex", 0.1, date(2026, 1, 1))  # type: ignore[arg-type]


def test_make_fact_coerces_cli_text_to_the_declared_type() -> None:
    ruleset = small()
    assert make_fact(ruleset, "opex", "13000.50", JUNE_2026).value == Decimal("13000.50")
    assert make_fact(ruleset, "registered", "oui", JUNE_2026).value is True
    assert make_fact(ruleset, "ga_date", "2026-04-01", JUNE_2026).value == date(2026, 4, 1)
    with pytest.raises(FactValueError):
        make_fact(ruleset, "purpose", "housing", JUNE_2026)
    with pytest.raises(FactValueError):
        make_fact(ruleset, "nope", "1", JUNE_2026)


# --------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("ga_date", "status"),
    [
        (date(2025, 6, 30), "pass"),   # exactly twelve months before
        (date(2025, 6, 29), "fail"),
        (date(2026, 6, 30), "pass"),   # on the check date
        (date(2026, 7, 1), "fail"),    # a future date does not count
    ],
)
def test_within_months_counts_back_from_the_check_date(ga_date: date, status: str) -> None:
    facts = good_facts()
    facts["ga_date"] = [fact("ga_date", ga_date, date(2025, 1, 1))]
    assert evaluate(small(), facts, JUNE_2026).result("ga").status == status


def test_within_months_clamps_to_the_end_of_a_shorter_month() -> None:
    text = SMALL.replace("value = 12 }", "value = 1 }").replace("{later}", "").replace(
        "{ratio_severity}", "warning")
    ruleset = loads_ruleset(text, "one_month.toml")
    facts = good_facts()
    facts["ga_date"] = [fact("ga_date", date(2026, 2, 28))]
    assert evaluate(ruleset, facts, date(2026, 3, 31)).result("ga").status == "pass"
    facts["ga_date"] = [fact("ga_date", date(2026, 2, 27))]
    assert evaluate(ruleset, facts, date(2026, 3, 31)).result("ga").status == "fail"


def test_a_division_by_zero_is_unknown_with_a_note() -> None:
    facts = good_facts()
    facts["total"] = [fact("total", Decimal(0))]
    result = evaluate(small(), facts, JUNE_2026).result("ratio")
    assert result.status == "unknown"
    assert "division by zero" in result.note


def test_a_ratio_with_a_missing_side_is_unknown_and_names_it() -> None:
    facts = good_facts()
    del facts["total"]
    result = evaluate(small(), facts, JUNE_2026).result("ratio")
    assert result.status == "unknown"
    assert result.missing == ("total",)
    assert [f.name for f in result.facts] == ["opex"]


COMPOSITE = """\
[ruleset]
name = "composite"
version = "c.1"
[sources.s]
title = "S"
[facts.a]
type = "bool"
[facts.b]
type = "bool"
[[rules]]
id = "a"
severity = "info"
valid_from = 2026-01-01
source = "s"
test = { fact = "a", op = "equals", value = true }
messages = { en = "a", fr = "a", es = "a" }
[[rules]]
id = "b"
severity = "info"
valid_from = 2026-01-01
source = "s"
test = { fact = "b", op = "equals", value = true }
messages = { en = "b", fr = "b", es = "b" }
[[rules]]
id = "both"
severity = "blocking"
valid_from = 2026-01-01
source = "s"
test = { op = "all", rules = ["a", "b"] }
messages = { en = "both", fr = "les deux", es = "ambos" }
[[rules]]
id = "either"
severity = "info"
valid_from = 2026-01-01
source = "s"
test = { op = "any", rules = ["a", "b"] }
messages = { en = "either", fr = "l'un", es = "uno" }
[[rules]]
id = "not_a"
severity = "info"
valid_from = 2026-01-01
source = "s"
test = { op = "not", rules = ["a"] }
messages = { en = "not a", fr = "pas a", es = "no a" }
"""


@pytest.mark.parametrize(
    ("a", "b", "both", "either", "not_a"),
    [
        (True, True, "pass", "pass", "fail"),
        (True, False, "fail", "pass", "fail"),
        (False, False, "fail", "fail", "pass"),
        (True, None, "unknown", "pass", "fail"),
        (False, None, "fail", "unknown", "pass"),
        (None, None, "unknown", "unknown", "unknown"),
    ],
)
def test_all_any_and_not_use_three_valued_logic(a: bool | None, b: bool | None, both: str,
                                                  either: str, not_a: str) -> None:
    ruleset = loads_ruleset(COMPOSITE, "composite.toml")
    facts = {n: [fact(n, v)] for n, v in (("a", a), ("b", b)) if v is not None}
    got = evaluate(ruleset, facts, JUNE_2026).statuses()
    assert (got["both"], got["either"], got["not_a"]) == (both, either, not_a)


def test_a_composite_rule_placed_before_its_parts_still_sees_them() -> None:
    head, *blocks = COMPOSITE.split("[[rules]]\n")
    both = next(b for b in blocks if b.startswith('id = "both"'))
    others = [b for b in blocks if b is not both]
    reordered = head + "".join("[[rules]]\n" + b for b in [both, *others])
    ruleset = loads_ruleset(reordered, "reordered.toml")
    assert [r.id for r in ruleset.rules][:2] == ["both", "a"]
    facts = {"a": [fact("a", True)], "b": [fact("b", True)]}
    decision = evaluate(ruleset, facts, JUNE_2026)
    assert [r.rule_id for r in decision.results][:2] == ["both", "a"]
    assert decision.result("both").status == "pass"


# --------------------------------------------------------------------------- dated parameters


def test_the_same_organisation_is_eligible_in_2026_and_not_in_2027_after_the_ceiling_drops() -> None:
    ruleset = small(later=True, ratio_severity="blocking")
    facts = good_facts()
    facts["ga_date"] = [fact("ga_date", date(2026, 4, 1), date(2026, 4, 1)),
                        fact("ga_date", date(2027, 4, 1), date(2027, 4, 1))]
    d2026 = evaluate(ruleset, facts, JUNE_2026)
    d2027 = evaluate(ruleset, facts, JUNE_2027)
    assert d2026.outcome == "eligible"
    assert d2027.outcome == "not_eligible"
    assert d2026.result("ratio").threshold == Decimal("0.15")
    assert d2027.result("ratio").threshold == Decimal("0.12")
    assert d2027.result("ratio").thresholds[0].reference == "agreement as revised for 2027"


def test_adding_the_2027_ceiling_does_not_change_the_2026_decision() -> None:
    facts = good_facts()
    before = evaluate(small(later=False, ratio_severity="blocking"), facts, JUNE_2026)
    after = evaluate(small(later=True, ratio_severity="blocking"), facts, JUNE_2026)
    assert before.outcome == after.outcome == "eligible"
    keep = ("rule", "status", "message", "value", "threshold", "facts", "missing", "source")
    for b, a in zip(before.results, after.results, strict=True):
        bd, ad = b.to_dict(), a.to_dict()
        assert {k: bd[k] for k in keep} == {k: ad[k] for k in keep}
    # Only the identity of the rule set, and the period's end, tell them apart.
    assert before.ruleset_sha256 != after.ruleset_sha256


def test_a_parameter_with_no_period_on_the_date_makes_its_rule_unknown() -> None:
    text = SMALL.replace("{later}", "").replace("{ratio_severity}", "warning").replace(
        'value = 0.15, reference', 'to = 2026-03-31, value = 0.15, reference')
    decision = evaluate(loads_ruleset(text, "gap.toml"), good_facts(), JUNE_2026)
    result = decision.result("ratio")
    assert result.status == "unknown"
    assert "ceiling" in result.note


def test_the_threshold_is_reported_with_its_reference_and_period() -> None:
    result = evaluate(small(later=True), good_facts(), JUNE_2026).result("ratio")
    (threshold,) = result.thresholds
    assert threshold.name == "ceiling"
    assert threshold.value == Decimal("0.15")
    assert threshold.reference == "agreement 2026, conditions"
    assert threshold.valid_from == date(2026, 1, 1)
    assert threshold.valid_to == date(2026, 12, 31)


# --------------------------------------------------------------------------- explanations


def test_each_result_carries_the_values_used_with_their_evidence_and_dates() -> None:
    result = evaluate(small(), good_facts(), JUNE_2026).result("ratio")
    assert [(f.name, f.value, f.as_of, f.evidence, f.recorded_by) for f in result.facts] == [
        ("opex", Decimal(13000), date(2026, 1, 1), "doc for opex", "tester"),
        ("total", Decimal(100000), date(2026, 1, 1), "doc for total", "tester"),
    ]
    assert result.value == Decimal("0.13")
    assert result.source.startswith("Network solidarity-fund agreement")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "ratio 13.0% ceiling 15%"),
        ("fr", "ratio 13,0\u00a0% plafond 15\u00a0%"),
        ("es", "ratio 13,0\u00a0% límite 15\u00a0%"),
    ],
)
def test_messages_are_given_in_the_chosen_language(lang: str, expected: str) -> None:
    assert evaluate(small(), good_facts(), JUNE_2026, lang).result("ratio").message == expected


def test_a_boolean_and_an_unknown_value_read_naturally_in_messages() -> None:
    facts = good_facts()
    assert evaluate(small(), facts, JUNE_2026, "fr").result("registered").message == \
        "immatriculée : oui"
    del facts["registered"]
    assert evaluate(small(), facts, JUNE_2026, "es").result("registered").message == \
        "registrada: ?"


def test_an_unsupported_language_is_refused() -> None:
    with pytest.raises(LanguageError):
        evaluate(small(), good_facts(), JUNE_2026, "de")


def test_a_decision_serialises_to_json_with_the_rule_set_version_and_hash() -> None:
    path = RULES_DIR / "default.toml"
    ruleset = load_ruleset(path)
    decision = evaluate(ruleset, {"registered": [fact("registered", True)]}, JUNE_2026,
                        organisation="MUTEB")
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["organisation"] == "MUTEB"
    assert data["as_of"] == "2026-06-30"
    assert data["outcome"] == "incomplete"
    assert data["ruleset"] == {"name": ruleset.name, "version": "2026.1",
                               "sha256": ruleset_hash(path)}
    first = data["results"][0]
    assert set(first) >= {"rule", "severity", "status", "message", "facts", "missing", "value",
                          "threshold", "thresholds", "source", "note"}
    assert first["facts"][0]["as_of"] == "2026-01-01"


def test_decimals_serialise_as_exact_text() -> None:
    data = evaluate(small(), good_facts(), JUNE_2026).result("ratio").to_dict()
    assert data["value"] == "0.13"
    assert data["threshold"] == "0.15"


# --------------------------------------------------------------------------- many at once


def test_evaluate_many_gives_the_same_decisions_as_evaluate() -> None:
    ruleset = load_ruleset(RULES_DIR / "default.toml")
    orgs = {
        "good": {"registered": [fact("registered", True)]},
        "bad": {"registered": [fact("registered", False)]},
        "empty": {},
    }
    many = evaluate_many(ruleset, orgs, JUNE_2026, "fr")
    for org, facts in orgs.items():
        one = evaluate(ruleset, facts, JUNE_2026, "fr", organisation=org)
        assert many[org].to_dict() == one.to_dict()
