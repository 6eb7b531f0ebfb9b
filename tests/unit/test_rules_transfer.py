"""Transfer-loss flags: losses, fees, exchange margins and delays against dated thresholds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.money import Money
from rules.errors import FactValueError, RuleFileError
from rules.model import RuleSet
from rules.transfer import evaluate_transfer, load_transfer_rules, transfer_facts

MARCH = date(2026, 3, 31)


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_transfer_rules()


def settled(**overrides: object) -> dict[str, Decimal | int]:
    args: dict[str, object] = {
        "sent_eur": Decimal("1000.00"),
        "received_eur": Decimal("1000.00"),
        "fee_eur": Decimal("0.00"),
        "exchange_margin_eur": Decimal("0.00"),
        "sent_on": date(2026, 3, 2),
        "received_on": date(2026, 3, 4),
        "as_of": MARCH,
    }
    args.update(overrides)
    return transfer_facts(**args)  # type: ignore[arg-type]


def test_a_transfer_that_arrives_whole_and_on_time_raises_no_flag(ruleset: RuleSet) -> None:
    assert evaluate_transfer(ruleset, settled(), MARCH) == []


def test_any_loss_breaks_the_zero_tolerance_and_is_blocking(ruleset: RuleSet) -> None:
    facts = settled(received_eur=Decimal("999.99"), fee_eur=Decimal("0.01"))
    (flag,) = evaluate_transfer(ruleset, facts, MARCH)
    assert flag.rule_id == "loss_within_tolerance"
    assert flag.severity == "blocking"
    assert flag.value == Decimal("0.01")
    assert flag.threshold == Decimal("0.00")
    assert "no tolerance" in flag.reference
    assert flag.message == "Loss on the transfer: 0.01 EUR (tolerance 0.00 EUR)."


def test_high_fees_and_margin_and_a_slow_transfer_raise_warnings_after_the_loss(ruleset: RuleSet) -> None:
    facts = settled(received_eur=Decimal("975.00"), fee_eur=Decimal("15.00"),
                    exchange_margin_eur=Decimal("10.00"), received_on=date(2026, 3, 12))
    flags = evaluate_transfer(ruleset, facts, MARCH, "fr")
    assert [f.rule_id for f in flags] == ["loss_within_tolerance", "fee_ratio",
                                          "exchange_margin_ratio", "days_in_transit"]
    assert flags[1].value == Decimal("0.015")
    assert "1,50\u00a0%" in flags[1].message
    assert flags[3].value == 10


def test_an_unsettled_transfer_is_flagged_only_when_pending_too_long(ruleset: RuleSet) -> None:
    young = transfer_facts(sent_eur=Decimal(500), sent_on=date(2026, 3, 25), as_of=MARCH)
    assert "loss_eur" not in young
    assert evaluate_transfer(ruleset, young, MARCH) == []
    old = transfer_facts(sent_eur=Decimal(500), sent_on=date(2026, 3, 1), as_of=MARCH)
    (flag,) = evaluate_transfer(ruleset, old, MARCH, "es")
    assert flag.rule_id == "days_pending"
    assert flag.message == "Sin liquidar tras 30 días (límite 10)."


def test_a_transfer_sent_nothing_gives_no_ratio_flag_rather_than_a_crash(ruleset: RuleSet) -> None:
    facts = settled(sent_eur=Decimal(0), received_eur=Decimal(0))
    assert evaluate_transfer(ruleset, facts, MARCH) == []


def test_euro_money_is_accepted_and_other_currencies_are_refused(ruleset: RuleSet) -> None:
    facts = transfer_facts(sent_eur=Money.of("100.00", "EUR"), received_eur=Money.of("99.50", "EUR"),
                           sent_on=date(2026, 3, 2), received_on=date(2026, 3, 3), as_of=MARCH)
    assert facts["loss_eur"] == Decimal("0.50")
    with pytest.raises(FactValueError, match="EUR"):
        transfer_facts(sent_eur=Money.of("100", "XOF"), sent_on=date(2026, 3, 2), as_of=MARCH)


def test_floats_and_unknown_fact_names_are_refused(ruleset: RuleSet) -> None:
    with pytest.raises(FactValueError, match="float"):
        evaluate_transfer(ruleset, {"loss_eur": 0.1}, MARCH)
    with pytest.raises(FactValueError, match="unknown transfer fact"):
        evaluate_transfer(ruleset, {"loss_euro": Decimal(1)}, MARCH)
    with pytest.raises(FactValueError):
        transfer_facts(sent_eur=100.0, sent_on=date(2026, 3, 2), as_of=MARCH)  # type: ignore[arg-type]


def test_a_flag_serialises_to_json_ready_values(ruleset: RuleSet) -> None:
    (flag,) = evaluate_transfer(ruleset, settled(received_eur=Decimal("990.00"),
                                                 fee_eur=Decimal("10.00")), MARCH)
    data = flag.to_dict()
    assert data["value"] == "10.00"
    assert data["severity"] == "blocking"


def test_an_eligibility_rule_set_is_not_taken_for_transfer_rules() -> None:
    from pathlib import Path

    default = Path(__file__).resolve().parents[2] / "rules" / "default.toml"
    with pytest.raises(RuleFileError, match="kind must be 'transfer'"):
        load_transfer_rules(default)
