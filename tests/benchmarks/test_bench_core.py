"""Core benchmarks: the bulk posting path and the balance list.

Targets (issue 2, 2-core machine): 100,000 two-posting entries in ≤ 2 s on
SQLite; the full balance list in ≤ 50 ms at 10^6 postings.
Run: pytest tests/benchmarks/test_bench_core.py --benchmark-only
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import journal, orgs
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.money import Money

N_UNIONS = 200
_counter = itertools.count()


def _fresh(tmp: Path) -> Engine:
    eng = make_engine(str(tmp / f"bench{next(_counter)}.db"))
    upgrade(eng)
    with unit_of_work(eng) as conn:
        orgs.add_account(conn, "Assets:Bank:Network:EUR", "asset", "EUR")
        for u in range(N_UNIONS):
            orgs.add_account(conn, f"Income:Contributions:U{u:03d}", "income", "EUR")
    return eng


def _drafts(n: int, start: int = 0) -> list[EntryDraft]:
    base = date(2026, 1, 1)
    out = []
    for i in range(start, start + n):
        m = Money(100 + i % 5000, "EUR")
        out.append(EntryDraft(base + timedelta(days=i % 365), f"Member contribution {i}", (
            PostingDraft("Assets:Bank:Network:EUR", m),
            PostingDraft(f"Income:Contributions:U{i % N_UNIONS:03d}", -m))))
    return out


def test_bulk_post_100k_entries_sqlite(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    drafts = _drafts(100_000)

    def setup():  # type: ignore[no-untyped-def]
        return (_fresh(tmp_path),), {}

    def run(eng: Engine) -> None:
        with unit_of_work(eng) as conn:
            res = journal.post_many(conn, drafts)
        assert res.new_count == 100_000

    benchmark.pedantic(run, setup=setup, rounds=3, iterations=1)


@pytest.fixture(scope="module")
def million_postings(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    eng = _fresh(tmp_path_factory.mktemp("million"))
    for chunk in range(5):
        with unit_of_work(eng) as conn:
            journal.post_many(conn, _drafts(100_000, chunk * 100_000))
    return eng


def test_balance_list_at_one_million_postings(benchmark, million_postings: Engine) -> None:  # type: ignore[no-untyped-def]
    def run() -> int:
        with unit_of_work(million_postings) as conn:
            return len(journal.balances(conn))

    assert benchmark(run) == N_UNIONS + 1
