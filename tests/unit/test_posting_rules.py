"""Posting rules: loading the treasurer's TOML file and proposing entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from ledger.posting_rules import (
    PostingRulesError,
    ProposedEntry,
    apply_posting_rules,
    load_posting_rules,
    parse_posting_rules,
)

RULES = """\
# bank charges and interest
[[rule]]
id = "bank-fees"
text = "(?i)frais|fee|commission"
sign = "debit"
amount_max = "50.00"
counter_account = "Expenses:Bank fees"
description = "Bank fee {reference}"

[[rule]]
id = "interest"
counterparty = "(?i)^banque populaire"
sign = "credit"
currency = "EUR"
counter_account = "Income:Interest"
description = "Interest {date}"

[[rule]]
id = "any-big-fee"
text = "(?i)fee"
counter_account = "Expenses:Other"
"""


def lines(*rows: dict) -> pd.DataFrame:
    base = {"date": dt.date(2024, 5, 2), "currency": "EUR", "bank_transaction_id": "",
            "reference": "", "counterparty": "", "text": ""}
    frame = pd.DataFrame([{**base, **r} for r in rows])
    return frame.astype({"line_id": "int64", "amount_minor": "int64"})


def test_rules_are_read_in_file_order_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    rules = load_posting_rules(path)
    assert [r.id for r in rules] == ["bank-fees", "interest", "any-big-fee"]
    assert [r.line for r in rules] == [2, 10, 18]
    assert rules[0].amount_max == Decimal("50.00") and rules[0].sign == "debit"


def test_a_bank_fee_line_becomes_an_entry_to_bank_fees() -> None:
    rules = parse_posting_rules(RULES)
    proposals = apply_posting_rules(rules, lines(
        {"line_id": 1, "amount_minor": -1_250, "text": "FRAIS VIREMENT SEPA", "reference": "F-9"},
        {"line_id": 2, "amount_minor": 1_250, "text": "FRAIS rembourses"},  # money in: not a fee
        {"line_id": 3, "amount_minor": 310, "counterparty": "BANQUE POPULAIRE DU NORD"},
        {"line_id": 4, "amount_minor": -9_000, "text": "Fee for express transfer"},  # > 50.00
        {"line_id": 5, "amount_minor": -500, "text": "contribution"},
    ))
    assert proposals == [
        ProposedEntry(1, "Expenses:Bank fees", "Bank fee F-9", -1_250, "EUR", "bank-fees"),
        ProposedEntry(3, "Income:Interest", "Interest 2024-05-02", 310, "EUR", "interest"),
        ProposedEntry(4, "Expenses:Other", "Fee for express transfer", -9_000, "EUR",
                      "any-big-fee"),
    ]


def test_amount_bounds_use_the_currency_of_the_line() -> None:
    rules = parse_posting_rules(
        '[[rule]]\nid = "small"\namount_max = "500"\ncounter_account = "Expenses:Small"\n')
    proposals = apply_posting_rules(rules, lines(
        {"line_id": 1, "amount_minor": -400, "currency": "XOF"},  # 400 XOF
        {"line_id": 2, "amount_minor": -40_000, "currency": "EUR"},  # 400.00 EUR
        {"line_id": 3, "amount_minor": -60_000, "currency": "EUR"},  # 600.00 EUR
    ))
    assert [p.line_id for p in proposals] == [1, 2]


def test_a_toml_syntax_error_names_its_line() -> None:
    with pytest.raises(PostingRulesError) as err:
        parse_posting_rules('[[rule]]\nid = "x"\ntext = "unclosed\n', "rules.toml")
    assert err.value.diagnostics[0].startswith("rules.toml:3: invalid TOML")


def test_every_semantic_error_is_reported_at_its_line() -> None:
    text = """\
[[rule]]
id = "a"
text = "(unclosed"
counter_account = "Expenses:X"

[[rule]]
id = "b"
sign = "out"
amount_min = 1.5
counter_account = ""
description = "{text.__class__}"

[[rule]]
id = "a"
text = "x"
counter_account = "Expenses:Y"
colour = "red"
"""
    with pytest.raises(PostingRulesError) as err:
        parse_posting_rules(text, "rules.toml")
    got = err.value.diagnostics
    assert [d.split(":")[1] for d in got] == ["3", "8", "9", "10", "11", "17"]
    assert "regular expression" in got[0]
    assert "debit" in got[1]
    assert "decimal written as text" in got[2]
    assert "account name" in got[3]
    assert "{text.__class__}" in got[4]
    assert "unknown rule setting 'colour'" in got[5]


def test_a_duplicate_rule_id_is_refused() -> None:
    text = ('[[rule]]\nid = "a"\ntext = "x"\ncounter_account = "E:X"\n'
            '[[rule]]\nid = "a"\ntext = "y"\ncounter_account = "E:Y"\n')
    with pytest.raises(PostingRulesError, match=r"<rules>:6: rule id 'a' already used at line 1"):
        parse_posting_rules(text)


def test_a_rule_without_any_condition_is_refused() -> None:
    with pytest.raises(PostingRulesError, match="no condition"):
        parse_posting_rules('[[rule]]\nid = "all"\ncounter_account = "Expenses:All"\n')


def test_overlong_patterns_are_refused() -> None:
    text = f'[[rule]]\nid = "a"\ntext = "{"a" * 600}"\ncounter_account = "E:X"\n'
    with pytest.raises(PostingRulesError, match="longer than"):
        parse_posting_rules(text)


def test_an_amount_with_more_decimals_than_the_currency_is_refused() -> None:
    text = '[[rule]]\nid = "a"\ncurrency = "XOF"\namount_max = "1.5"\ncounter_account = "E:X"\n'
    with pytest.raises(PostingRulesError, match="decimal"):
        parse_posting_rules(text)


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(PostingRulesError, match="cannot read"):
        load_posting_rules(tmp_path / "absent.toml")


def test_no_rules_or_no_lines_propose_nothing() -> None:
    assert apply_posting_rules([], lines({"line_id": 1, "amount_minor": -5})) == []
    no_lines = lines({"line_id": 1, "amount_minor": -5}).iloc[0:0]
    assert apply_posting_rules(parse_posting_rules(RULES), no_lines) == []
