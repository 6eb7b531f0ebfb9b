"""Properties of the journal: any valid sequence of posts and reversals keeps every
currency at zero, the maintained balances equal the summed postings, and reversing
restores every balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import journal
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.money import Money, currency_digits
from tests.helpers import basic_chart

ACCOUNTS = {
    "EUR": ["Assets:Bank:Network:EUR", "Income:Contributions", "Expenses:Bank fees"],
    "CAD": ["Assets:Bank:CSQ:CAD", "Income:Contributions:CSQ"],
    "XOF": ["Assets:Bank:Mutual:XOF"],
}


@st.composite
def entries(draw: st.DrawFn) -> EntryDraft:
    cur = draw(st.sampled_from(["EUR", "CAD"]))
    accs = ACCOUNTS[cur]
    n = draw(st.integers(min_value=1, max_value=3))
    legs = [PostingDraft(draw(st.sampled_from(accs)),
                         Money(draw(st.integers(-10**12, 10**12)), cur)) for _ in range(n)]
    total = sum(p.amount.minor for p in legs)
    legs.append(PostingDraft(draw(st.sampled_from(accs)), Money(-total, cur)))
    return EntryDraft(date(2026, 1, draw(st.integers(1, 28))), "generated", tuple(legs))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(entries(), st.booleans()), min_size=1, max_size=12))
def test_posts_and_reversals_keep_every_invariant(ops: list[tuple[EntryDraft, bool]]) -> None:
    with TemporaryDirectory() as tmp:
        eng = make_engine(str(Path(tmp) / "p.db"))
        upgrade(eng)
        with unit_of_work(eng) as conn:
            basic_chart(conn)
            before_each: list[dict[str, int]] = []
            for draft, undo in ops:
                before = {r.code: r.balance.minor for r in journal.balances(conn)}
                eid, _ = journal.post(conn, draft)
                if undo:
                    journal.reverse(conn, eid, date(2026, 2, 1))
                    after = {r.code: r.balance.minor for r in journal.balances(conn)}
                    assert after == before  # reversing restores every balance
                before_each.append(before)
            rep = journal.verify(conn)
            assert rep.ok, rep.problems  # zero sums, chain and maintained == summed
            per_currency: dict[str, int] = {}
            for r in journal.balances(conn):
                per_currency[r.currency] = per_currency.get(r.currency, 0) + r.balance.minor
            assert all(v == 0 for v in per_currency.values())
        eng.dispose()


LOCALES = ["en_US", "fr_FR", "fr_CA", "en_AU", "sv_SE", "es_ES", "fr_BF", "de_DE"]


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**13, 10**13), st.sampled_from(["EUR", "XOF", "KWD", "CAD", "SEK", "JPY"]),
       st.sampled_from(LOCALES))
def test_money_formats_and_parses_back_in_each_locale(minor: int, cur: str, locale: str) -> None:
    m = Money(minor, cur)
    text = m.format(locale, currency_symbol=False)
    assert Money.parse(text, cur, locale) == m


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**9, max_value=10**9),
       st.sampled_from(["EUR", "XOF", "KWD"]))
def test_money_of_is_exact_or_refuses(value: Decimal, cur: str) -> None:
    digits = currency_digits(cur)
    if value == value.quantize(Decimal(1).scaleb(-digits)):
        assert Money.of(value, cur).amount == value
    else:
        try:
            Money.of(value, cur)
        except ValueError:
            return
        raise AssertionError("excess precision accepted")
