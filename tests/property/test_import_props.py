"""Property: importing overlapping exports in any order stores each bank line once."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.model import Origin, Statement, StatementLine
from ledger import orgs, statements
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.money import Money

ACCOUNT = "Assets:Bank:EUR"
START = date(2026, 3, 1)

# A day's lines: (amount in cents, counterparty); repeats on a day are real, distinct lines.
day_lines = st.lists(st.tuples(st.integers(1, 5), st.sampled_from(["CSQ", "AEU", ""])),
                     max_size=4)


def export(days: list[list[tuple[int, str]]], first: int, last: int, with_ids: bool) -> Statement:
    """What the bank gives for days first..last (inclusive): every line of those days."""
    lines = []
    for d in range(first, last + 1):
        for k, (cents, who) in enumerate(days[d]):
            lines.append(StatementLine(
                "", START + timedelta(days=d), Money(cents, "EUR"), Origin("x.csv", len(lines) + 1),
                counterparty_name=who if with_ids else who.lower(),
                bank_transaction_id=f"T{d}-{k}" if with_ids else ""))
    return Statement("", "EUR", lines, format="test")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=st.lists(day_lines, min_size=1, max_size=10),
       windows=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.booleans()),
                        min_size=1, max_size=5))
def test_overlapping_exports_in_any_order_store_each_line_once(
    days: list[list[tuple[int, str]]], windows: list[tuple[int, int, bool]]
) -> None:
    total = sum(len(d) for d in days)
    with TemporaryDirectory() as tmp:
        eng = make_engine(str(Path(tmp) / "i.db"))
        upgrade(eng)
        with unit_of_work(eng) as conn:
            orgs.add_account(conn, ACCOUNT, "asset", "EUR")
        imported_days: set[int] = set()
        for a, b, with_ids in windows:
            first, last = sorted((min(a, len(days) - 1), min(b, len(days) - 1)))
            with unit_of_work(eng) as conn:
                out = statements.store_file(conn, ACCOUNT, "x.csv", "sha", "test",
                                            [export(days, first, last, with_ids)])
            expected_new = sum(len(days[d]) for d in range(first, last + 1)
                               if d not in imported_days)
            assert out.new == expected_new
            imported_days.update(range(first, last + 1))
        with unit_of_work(eng) as conn:
            stored = statements.count_lines(conn, ACCOUNT)
        assert stored == sum(len(days[d]) for d in imported_days) <= total
        eng.dispose()
