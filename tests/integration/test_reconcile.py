"""Reconciliation scenarios with known answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from imports.model import Balance, Origin, Statement, StatementLine
from ledger import journal, orgs, statements
from ledger import reconcile as rec
from ledger.db import unit_of_work
from ledger.domain import EntryDraft, PostingDraft
from ledger.errors import InvalidInputError
from ledger.money import Money
from ledger.posting_rules import parse_posting_rules
from reports.reconciliation import build_reconciliation_report, summary_dict
from reports.render import render_bytes

BANK = "Assets:Bank:Network:EUR"


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def line(n: int, day: int, amount: str, who: str = "", ref: str = "", text: str = "",
         txid: str = "") -> StatementLine:
    return StatementLine(account="", booking_date=date(2026, 3, day), amount=eur(amount),
                         origin=Origin("march.csv", n), counterparty_name=who, reference=ref,
                         remittance=text, bank_transaction_id=txid)


def book(conn, day: int, amount: str, desc: str, counter: str = "Income:Contributions",  # type: ignore[no-untyped-def]
         bank_ref: str | None = None, legs: list[tuple[str, str]] | None = None) -> int:
    m = eur(amount)
    postings = [PostingDraft(BANK, m, bank_ref=bank_ref), PostingDraft(counter, -m)]
    if legs:
        postings = [PostingDraft(a, eur(x)) for a, x in legs]
    return journal.post(conn, EntryDraft(date(2026, 3, day), desc, tuple(postings)))[0]


@pytest.fixture
def march(engine: Engine) -> Engine:
    """A month with every kind of reconciling item the auditor expects."""
    with unit_of_work(engine) as conn:
        for code, t in ((BANK, "asset"), ("Income:Contributions", "income"),
                        ("Expenses:Bank fees", "expense"), ("Expenses:Transfers", "expense"),
                        ("Liabilities:Payable", "liability")):
            orgs.add_account(conn, code, t, "EUR")
        book(conn, 1, "1000.00", "Opening contributions")
        book(conn, 3, "4800.00", "CSQ contribution", bank_ref="TX-CSQ-0303")          # exact key
        book(conn, 10, "250.00", "AEU contribution March")                            # amount+date
        book(conn, 12, "-150.00", "Cheque 1042 to printer", "Expenses:Transfers")     # outstanding
        book(conn, 30, "600.00", "SNES-FSU contribution")                             # in transit
        for amt, who in (("-300.00", "Mutual A"), ("-200.00", "Mutual B"), ("-100.00", "Mutual C")):
            book(conn, 15, amt, f"Redistribution {who}", "Expenses:Transfers")          # batch
        book(conn, 20, "75.00", "Member dues Dupont")                                 # duplicate-
        book(conn, 20, "75.00", "Member dues Martin")                                 # looking pair
    lines = [
        line(2, 1, "1000.00", "Various", text="Opening contributions"),
        line(3, 3, "4800.00", "CSQ", txid="TX-CSQ-0303"),
        line(4, 11, "250.00", "AEU", text="Contribution March AEU"),
        line(5, 15, "-600.00", "Batch payment", text="3 transfers"),
        line(6, 20, "75.00", "Dupont", text="Member dues Dupont"),
        line(7, 21, "75.00", "Martin", text="Member dues Martin"),
        line(8, 31, "-8.50", "Banque", text="Frais de tenue de compte"),             # unrecorded fee
        line(9, 31, "40.00", "Interest", text="Interest March"),                      # unrecorded credit
    ]
    closing = sum((ln.amount for ln in lines), eur("0"))
    st = Statement(account="", currency="EUR", lines=lines, statement_id="MAR",
                   opening=Balance("OPBD", date(2026, 3, 1), eur("0")),
                   closing=Balance("CLBD", date(2026, 3, 31), closing),
                   period_start=date(2026, 3, 1), period_end=date(2026, 3, 31), format="test")
    with unit_of_work(engine) as conn:
        statements.store_file(conn, BANK, "march.csv", "sha", "test", [st])
    return engine


def test_a_month_reconciles_with_every_item_in_its_place(march: Engine) -> None:
    with unit_of_work(march) as conn:
        out = rec.reconcile(conn, BANK)
    # exact key: CSQ; amount+date+text: opening, AEU, Dupont, Martin; group: the batch
    assert out.matched == {1: 1, 2: 4, 3: 1}
    with unit_of_work(march) as conn:
        data = rec.reconciliation_data(conn, BANK, "2026-03")
    s = summary_dict(data)
    # bank: 1000 + 4800 + 250 - 600 + 75 + 75 - 8.50 + 40 = 5631.50
    assert s["bank_balance"] == "5631.50"
    assert s["deposits_in_transit"] == "600.00"
    assert s["outstanding_payments"] == "-150.00"
    assert s["adjusted_bank_balance"] == "6081.50"
    # books: 1000 + 4800 + 250 - 150 + 600 - 600 + 75 + 75 = 6050.00
    assert s["book_balance"] == "6050.00"
    assert s["bank_credits_not_recorded"] == "40.00"
    assert s["bank_charges_not_recorded"] == "-8.50"
    assert s["adjusted_book_balance"] == "6081.50"
    assert s["difference"] == "0.00"


def test_posting_rules_turn_an_unrecorded_fee_into_an_entry_and_a_match(march: Engine) -> None:
    rules = parse_posting_rules(
        '[[rule]]\nid = "fees"\ncounterparty = "(?i)banque"\nsign = "debit"\n'
        'counter_account = "Expenses:Bank fees"\ndescription = "Bank fees: {text}"\n')
    with unit_of_work(march) as conn:
        out = rec.reconcile(conn, BANK, posting_rules=rules)
    assert out.matched[4] == 1 and len(out.created_entries) == 1
    with unit_of_work(march) as conn:
        s = summary_dict(rec.reconciliation_data(conn, BANK, "2026-03"))
        fees = {r.code: r.balance for r in journal.balances(conn)}["Expenses:Bank fees"]
    assert s["bank_charges_not_recorded"] == "0.00" and s["difference"] == "0.00"
    assert fees == eur("8.50")


def test_a_manual_match_survives_a_rerun_and_nothing_is_matched_twice(march: Engine) -> None:
    with unit_of_work(march) as conn:
        acc = rec.account_ref(conn, BANK)
        lines, _ = rec.unmatched_frames(conn, acc)
        lid = int(lines.loc[lines["text"] == "Interest March", "line_id"].iloc[0])
        # Book the interest, then match it by hand before any automatic run.
        eid = book(conn, 31, "40.00", "Interest", "Income:Contributions")
        posts = rec.unmatched_frames(conn, acc)[1]
        pid = int(posts.loc[posts["entry_id"] == eid, "posting_id"].iloc[0])
        mid = rec.manual_match(conn, BANK, [lid], [pid], actor="auditor")
    for _ in range(2):
        with unit_of_work(march) as conn:
            rec.reconcile(conn, BANK)
    with unit_of_work(march) as conn:
        data = rec.reconciliation_data(conn, BANK, "2026-03")
        manual = [m for m in data.matched if m["match"] == mid]
        assert manual and manual[0]["by"] == "auditor" and manual[0]["method"] == "manual"
        seen = [i for m in data.matched for i in m["lines"]]
        assert len(seen) == len(set(seen))
        with pytest.raises(InvalidInputError, match="already matched"):
            rec.manual_match(conn, BANK, [lid], [pid])


def test_unmatch_frees_the_rows_and_writeoff_is_the_only_way_a_difference_goes(march: Engine) -> None:
    with unit_of_work(march) as conn:
        acc = rec.account_ref(conn, BANK)
        lines, _ = rec.unmatched_frames(conn, acc)
        fee = int(lines.loc[lines["text"] == "Frais de tenue de compte", "line_id"].iloc[0])
        with pytest.raises(InvalidInputError, match="above the write-off tolerance"):
            rec.writeoff(conn, BANK, [fee], [], "Expenses:Bank fees", eur("5.00"))
    with unit_of_work(march) as conn:
        mid, eid = rec.writeoff(conn, BANK, [fee], [], "Expenses:Bank fees", eur("10.00"))
        assert journal.get_entry(conn, eid).kind == "writeoff"
        data = rec.reconciliation_data(conn, BANK, "2026-03")
        assert [m["match"] for m in data.writeoffs] == [mid]
        rec.unmatch(conn, mid, "auditor")
        with pytest.raises(InvalidInputError, match="already undone"):
            rec.unmatch(conn, mid)


def test_a_manual_match_with_unequal_sums_is_refused(march: Engine) -> None:
    with unit_of_work(march) as conn:
        acc = rec.account_ref(conn, BANK)
        lines, posts = rec.unmatched_frames(conn, acc)
        fee = int(lines.loc[lines["text"] == "Frais de tenue de compte", "line_id"].iloc[0])
        with pytest.raises(InvalidInputError, match="difference"):
            rec.manual_match(conn, BANK, [fee], [int(posts["posting_id"].iloc[0])])


def test_the_report_renders_and_its_xlsx_totals_equal_the_json(march: Engine) -> None:
    with unit_of_work(march) as conn:
        rec.reconcile(conn, BANK)
        data = rec.reconciliation_data(conn, BANK, "2026-03")
        amounts = rec.line_amounts(conn, [i for m in data.matched for i in m["lines"]])
    report = build_reconciliation_report(data, amounts, "Treasurer")
    doc = json.loads(render_bytes(report, "json", "en"))
    assert "Balance per bank statement" in json.dumps(doc, ensure_ascii=False)
    wb = load_workbook(BytesIO(render_bytes(report, "xlsx", "en")))
    values = [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    # openpyxl reads numeric cells back as float; compare through their text.
    numbers = [Decimal(str(v)) for v in values if isinstance(v, (int, float))]  # float-ok
    for key in ("bank_balance", "adjusted_bank_balance", "book_balance", "adjusted_book_balance"):
        assert Decimal(summary_dict(data)[key]) in numbers
    fr = render_bytes(report, "html", "fr").decode()
    es = render_bytes(report, "html", "es").decode()
    assert "Rapprochement bancaire" in fr and "Conciliación bancaria" in es


def test_flagged_bank_and_book_errors_are_corrected_on_their_own_side(march: Engine) -> None:
    with unit_of_work(march) as conn:
        rec.reconcile(conn, BANK)
        acc = rec.account_ref(conn, BANK)
        lines, posts = rec.unmatched_frames(conn, acc)
        interest = int(lines.loc[lines["text"] == "Interest March", "line_id"].iloc[0])
        cheque = int(posts.loc[posts["text"].str.startswith("Cheque 1042"), "posting_id"].iloc[0])
        with pytest.raises(InvalidInputError, match="not both"):
            rec.flag_error(conn, BANK, [interest], [cheque], "x")
        rec.flag_error(conn, BANK, [interest], [], "credited to us by mistake", "auditor")
        mid = rec.flag_error(conn, BANK, [], [cheque], "cheque booked twice", "auditor")
    with unit_of_work(march) as conn:
        s = summary_dict(rec.reconciliation_data(conn, BANK, "2026-03"))
    # The interest line leaves "credits not recorded" and is taken out of the bank side;
    # the cheque leaves "outstanding payments" and is taken out of the book side.
    assert s["bank_credits_not_recorded"] == "0.00" and s["bank_errors"] == "-40.00"
    assert s["outstanding_payments"] == "0.00" and s["book_errors"] == "150.00"
    assert s["adjusted_bank_balance"] == "6191.50" and s["adjusted_book_balance"] == "6191.50"
    assert s["difference"] == "0.00"
    with unit_of_work(march) as conn:
        rec.unmatch(conn, mid, "auditor")
        s = summary_dict(rec.reconciliation_data(conn, BANK, "2026-03"))
    assert s["book_errors"] == "0.00" and s["outstanding_payments"] == "-150.00"
