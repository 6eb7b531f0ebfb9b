"""The journal on SQLite and PostgreSQL: posting rules, append-only, verify."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text

from ledger import journal, orgs
from ledger.conversion import conversion_draft
from ledger.db import unit_of_work
from ledger.domain import EntryDraft, PostingDraft
from ledger.errors import (
    AccountError,
    ClosedPeriodError,
    IdempotencyConflictError,
    InvalidInputError,
    UnbalancedEntryError,
)
from ledger.money import Money
from tests.helpers import basic_chart, eur_entry

D = date(2026, 3, 2)


@pytest.fixture
def ledger_engine(engine: Engine) -> Engine:
    with unit_of_work(engine) as conn:
        basic_chart(conn)
    return engine


def test_a_balanced_entry_is_posted_and_moves_the_maintained_balances(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        eid, created = journal.post(conn, eur_entry(D, 4_800_000))
    assert (eid, created) == (1, True)
    with unit_of_work(ledger_engine) as conn:
        rows = {r.code: r.balance for r in journal.balances(conn)}
        assert rows["Assets:Bank:Network:EUR"] == Money.of("48000.00", "EUR")
        assert rows["Income:Contributions"] == Money.of("-48000.00", "EUR")
        assert journal.verify(conn).ok


def test_an_unbalanced_entry_is_refused_and_nothing_is_written(ledger_engine: Engine) -> None:
    bad = EntryDraft(D, "Oops", (PostingDraft("Assets:Bank:Network:EUR", Money(100, "EUR")),
                                 PostingDraft("Income:Contributions", Money(-99, "EUR"))))
    with pytest.raises(UnbalancedEntryError, match="off by 0.01 EUR"), unit_of_work(ledger_engine) as conn:
        journal.post(conn, bad)
    with unit_of_work(ledger_engine) as conn:
        assert journal.verify(conn).entries == 0


def test_each_currency_must_balance_on_its_own(ledger_engine: Engine) -> None:
    bad = EntryDraft(D, "Mixed", (PostingDraft("Assets:Bank:Network:EUR", Money(100, "EUR")),
                                  PostingDraft("Income:Contributions:CSQ", Money(-100, "CAD"))))
    with pytest.raises(UnbalancedEntryError), unit_of_work(ledger_engine) as conn:
        journal.post(conn, bad)


@pytest.mark.parametrize(
    ("account", "currency", "message"),
    [("Assets:Nowhere", "EUR", "unknown account"), ("Assets:Bank:Mutual:XOF", "EUR", "holds XOF")],
)
def test_unknown_or_wrong_currency_accounts_are_refused(
    ledger_engine: Engine, account: str, currency: str, message: str
) -> None:
    m = Money(100, currency)
    bad = EntryDraft(D, "x", (PostingDraft(account, m), PostingDraft("Income:Contributions", -m)))
    with pytest.raises(AccountError, match=message), unit_of_work(ledger_engine) as conn:
        journal.post(conn, bad)


def test_a_closed_account_refuses_later_postings(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        orgs.close_account(conn, "Income:Contributions", date(2026, 2, 28))
    with pytest.raises(AccountError, match="closed on 2026-02-28"), unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(D, 100))


def test_the_same_idempotency_key_twice_is_a_no_op(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        first = journal.post(conn, eur_entry(D, 100, key="bank:123"))
    with unit_of_work(ledger_engine) as conn:
        again = journal.post(conn, eur_entry(D, 100, key="bank:123"))
    assert first == (1, True) and again == (1, False)
    with pytest.raises(IdempotencyConflictError, match="different content"), unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(D, 101, key="bank:123"))


def test_reversal_restores_every_balance_and_points_at_the_original(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        eid, _ = journal.post(conn, eur_entry(D, 12_345))
        rid = journal.reverse(conn, eid, date(2026, 3, 3))
    with unit_of_work(ledger_engine) as conn:
        assert journal.balances(conn) == []
        assert journal.get_entry(conn, rid).reverses_id == eid
        with pytest.raises(InvalidInputError, match="already reversed"):
            journal.reverse(conn, eid, date(2026, 3, 4))


def test_nothing_is_posted_or_reversed_into_a_closed_period(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        eid, _ = journal.post(conn, eur_entry(date(2026, 1, 15), 100))
        journal.close_period(conn, date(2026, 1, 31))
    with pytest.raises(ClosedPeriodError), unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(date(2026, 1, 31), 100))
    with pytest.raises(ClosedPeriodError), unit_of_work(ledger_engine) as conn:
        journal.reverse(conn, eid, date(2026, 1, 20))
    with unit_of_work(ledger_engine) as conn:
        journal.reverse(conn, eid, date(2026, 2, 1))  # into the open period: fine


def test_balances_at_a_date_and_roll_up_of_a_subtree(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(date(2026, 1, 5), 1_000))
        journal.post(conn, eur_entry(date(2026, 2, 5), 2_000))
        m = Money.of("100.00", "CAD")
        journal.post(conn, EntryDraft(D, "CSQ", (PostingDraft("Assets:Bank:CSQ:CAD", m),
                                                 PostingDraft("Income:Contributions:CSQ", -m))))
    with unit_of_work(ledger_engine) as conn:
        jan = {r.code: r.balance for r in journal.balances(conn, at=date(2026, 1, 31))}
        assert jan == {"Assets:Bank:Network:EUR": Money(1_000, "EUR"),
                       "Income:Contributions": Money(-1_000, "EUR")}
        bank = journal.rollup(journal.balances(conn, prefix="Assets:Bank"))
        assert bank == {"CAD": Money(10_000, "CAD"), "EUR": Money(3_000, "EUR")}


def test_a_conversion_balances_each_currency_through_trading_accounts(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        draft = conversion_draft(conn, D, "Assets:Bank:CSQ:CAD", Money.of("10000.00", "CAD"),
                                 "Assets:Bank:Network:EUR", Money.of("6734.01", "EUR"),
                                 "CSQ sends its contributions")
        eid, _ = journal.post(conn, draft)
    with unit_of_work(ledger_engine) as conn:
        e = journal.get_entry(conn, eid)
        assert str(e.rate) == "0.673401"
        bal = {r.code: r.balance for r in journal.balances(conn)}
        assert bal["Equity:Trading:CAD"] == Money.of("10000.00", "CAD")
        assert bal["Equity:Trading:EUR"] == Money.of("-6734.01", "EUR")
        assert journal.verify(conn).ok


def test_the_database_itself_refuses_update_and_delete_of_posted_rows(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(D, 100))
    for sql in ("UPDATE posting SET amount_minor = 1", "DELETE FROM posting",
                "UPDATE journal_entry SET description = 'x'", "DELETE FROM journal_entry"):
        with pytest.raises(Exception, match="append-only"), ledger_engine.begin() as conn:
            conn.execute(text(sql))


def _drop_guards(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for t in ("posting", "journal_entry"):
                conn.execute(text(f"DROP TRIGGER {t}_no_update"))
                conn.execute(text(f"DROP TRIGGER {t}_no_delete"))
        else:
            for t in ("posting", "journal_entry"):
                conn.execute(text(f"DROP TRIGGER {t}_append_only ON {t}"))


def test_verify_finds_a_row_altered_behind_the_softwares_back(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        for i in range(1, 6):
            journal.post(conn, eur_entry(D, 100 * i))
    _drop_guards(ledger_engine)
    with ledger_engine.begin() as conn:
        conn.execute(text("UPDATE journal_entry SET description = 'Forged' WHERE id = 3"))
    with unit_of_work(ledger_engine) as conn:
        rep = journal.verify(conn)
    assert not rep.ok and rep.first_bad_entry == 3
    assert "altered" in rep.problems[0]


def test_verify_finds_a_changed_amount_and_the_broken_balance(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(D, 100))
        journal.post(conn, eur_entry(D, 200))
    _drop_guards(ledger_engine)
    with ledger_engine.begin() as conn:
        conn.execute(text("UPDATE posting SET amount_minor = 150 WHERE entry_id = 2 AND line_no = 1"))
    with unit_of_work(ledger_engine) as conn:
        rep = journal.verify(conn)
    assert rep.first_bad_entry == 2
    assert any("sum to zero" in p for p in rep.problems)
    assert any("maintained balance" in p for p in rep.problems)


def test_verify_finds_a_deleted_entry(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        for i in range(1, 5):
            journal.post(conn, eur_entry(D, i))
    _drop_guards(ledger_engine)
    with ledger_engine.begin() as conn:
        conn.execute(text("DELETE FROM posting WHERE entry_id = 2"))
        conn.execute(text("DELETE FROM journal_entry WHERE id = 2"))
    with unit_of_work(ledger_engine) as conn:
        rep = journal.verify(conn)
    assert rep.first_bad_entry == 2 and "missing" in rep.problems[0]


def test_verify_finds_an_entry_inserted_at_the_end(ledger_engine: Engine) -> None:
    with unit_of_work(ledger_engine) as conn:
        journal.post(conn, eur_entry(D, 1))
    with ledger_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO journal_entry (id, entry_date, description, kind, created_at, created_by,"
            " content_hash, prev_hash, hash) SELECT 2, entry_date, 'Ghost', kind, created_at,"
            " created_by, content_hash, hash, hash FROM journal_entry WHERE id = 1"))
    with unit_of_work(ledger_engine) as conn:
        rep = journal.verify(conn)
    assert not rep.ok and rep.first_bad_entry == 2


def test_the_bulk_path_posts_many_entries_in_one_chain(ledger_engine: Engine) -> None:
    drafts = [eur_entry(date(2026, 1 + i % 12, 1), 100 + i, key=f"k{i}") for i in range(2_000)]
    with unit_of_work(ledger_engine) as conn:
        res = journal.post_many(conn, drafts)
    assert res.new_count == 2_000 and res.ids[-1] == 2_000
    with unit_of_work(ledger_engine) as conn:
        again = journal.post_many(conn, drafts)
        assert again.new_count == 0
        rep = journal.verify(conn)
    assert rep.ok and rep.entries == 2_000 and rep.postings == 4_000


def test_a_refused_draft_in_a_batch_writes_nothing(ledger_engine: Engine) -> None:
    m = Money(1, "EUR")
    drafts = [eur_entry(D, 1), EntryDraft(D, "bad", (PostingDraft("Assets:Nope", m),
                                                      PostingDraft("Income:Contributions", -m)))]
    with pytest.raises(AccountError), unit_of_work(ledger_engine) as conn:
        journal.post_many(conn, drafts)
    with unit_of_work(ledger_engine) as conn:
        assert journal.verify(conn).entries == 0
