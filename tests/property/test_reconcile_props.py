"""Property: whatever the lines and postings, after matching the reconciliation
statement's adjusted bank and book balances are equal."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.model import Origin, Statement, StatementLine
from ledger import journal, orgs, statements
from ledger import reconcile as rec
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.money import Money

BANK = "Assets:Bank:EUR"

amounts = st.integers(min_value=-50_000, max_value=50_000).filter(bool)
days = st.integers(min_value=1, max_value=31)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    booked=st.lists(st.tuples(amounts, days, st.booleans(), st.integers(-3, 3)), max_size=25),
    bank_only=st.lists(st.tuples(amounts, days), max_size=8),
)
def test_adjusted_balances_agree_after_matching(
    booked: list[tuple[int, int, bool, int]], bank_only: list[tuple[int, int]]
) -> None:
    with TemporaryDirectory() as tmp:
        eng = make_engine(str(Path(tmp) / "r.db"))
        upgrade(eng)
        lines = []
        with unit_of_work(eng) as conn:
            orgs.add_account(conn, BANK, "asset", "EUR")
            orgs.add_account(conn, "Income:X", "income", "EUR")
            for n, (minor, day, on_bank, shift) in enumerate(booked):
                m = Money(minor, "EUR")
                journal.post(conn, EntryDraft(date(2026, 3, day), f"entry {n}", (
                    PostingDraft(BANK, m), PostingDraft("Income:X", -m))))
                if on_bank:
                    bank_day = min(31, max(1, day + shift))
                    lines.append(StatementLine("", date(2026, 3, bank_day), m,
                                               Origin("p.csv", n), remittance=f"entry {n}"))
            for n, (minor, day) in enumerate(bank_only):
                lines.append(StatementLine("", date(2026, 3, day), Money(minor, "EUR"),
                                           Origin("p.csv", 1000 + n), counterparty_name="bank"))
            st_ = Statement("", "EUR", lines, format="test")
            statements.store_file(conn, BANK, "p.csv", "sha", "test", [st_])
        with unit_of_work(eng) as conn:
            rec.reconcile(conn, BANK)
        with unit_of_work(eng) as conn:
            data = rec.reconciliation_data(conn, BANK, "2026-03")
        assert data.adjusted_bank == data.adjusted_book
        assert data.difference.minor == 0
        eng.dispose()
