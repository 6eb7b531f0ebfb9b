"""Benchmarks: a synthetic year of 200 organisations, 100,000 contributions and
10,000 transfers; the flows report (≤ 3 s) and the contributions report (≤ 2 s).

Run: ``.venv/bin/pytest tests/benchmarks/test_bench_flows.py --benchmark-only``.
Transfers are inserted as rows (their journal entries do not matter to the
reports), contributions are real journal entries.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import journal, orgs
from ledger.bulk import bulk_insert
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.flows import compute_contributions, compute_flows
from ledger.money import Money
from ledger.pledges import add_pledge
from ledger.rates import Rate
from ledger.rates_store import store_rates
from ledger.tables import Transfer
from reports.contributions import build_contributions_report
from reports.flows import build_flows_report
from reports.render import render_bytes

UNIONS, MUTUALS = 150, 49
CONTRIBUTIONS, TRANSFERS = 100_000, 10_000
START, END = date(2026, 1, 1), date(2026, 12, 31)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    rnd = random.Random(2026)
    folder: Path = tmp_path_factory.mktemp("bench-flows")
    engine = make_engine(str(folder / "bench.db"))
    upgrade(engine)
    from decimal import Decimal

    with unit_of_work(engine) as conn:
        store_rates(conn, [Rate(START + timedelta(d), "CAD",
                                Decimal("1.4850") + Decimal(d % 9) / 1000, "bench")
                           for d in range(365)])
        orgs.add_org(conn, "Network", "network", "FR", "EUR")
        orgs.add_account(conn, "Assets:Bank:Network:EUR", "asset", "EUR", org="Network")
        unions = []
        for i in range(UNIONS):
            cur = "CAD" if i % 5 == 0 else "EUR"
            name = f"Union {i:03d}"
            orgs.add_org(conn, name, "union", "CA" if cur == "CAD" else "FR", cur, 1000 + i,
                         "2026")
            orgs.add_account(conn, f"Assets:Bank:{name}:{cur}", "asset", cur, org=name)
            orgs.add_account(conn, f"Income:Contributions:{name}", "income", cur, org=name)
            add_pledge(conn, name, START, END, actor="bench")
            unions.append((name, cur))
        for i in range(MUTUALS):
            orgs.add_org(conn, f"Mutual {i:02d}", "mutual", "BF", "XOF")
        drafts = []
        for n in range(CONTRIBUTIONS):
            name, cur = unions[n % UNIONS]
            m = Money(rnd.randint(100, 50_000), cur)
            drafts.append(EntryDraft(START + timedelta(rnd.randrange(365)), "c", (
                PostingDraft(f"Assets:Bank:{name}:{cur}", m),
                PostingDraft(f"Income:Contributions:{name}", -m))))
        journal.post_many(conn, drafts, "bench")
        ids = {o.name: o.id for o in orgs.list_orgs(conn)}
        acc = orgs.list_accounts(conn, "Assets:Bank:Network")[0].id
        rows = []
        now = datetime.now(UTC)
        for n in range(TRANSFERS):
            to_network = n < TRANSFERS * 6 // 10
            origin = unions[n % UNIONS][0] if to_network else "Network"
            dest = "Network" if to_network else f"Mutual {n % MUTUALS:02d}"
            sent_on = START + timedelta(rnd.randrange(350))
            value = rnd.randint(10_000, 2_000_000)
            fees = rnd.randint(0, 2_000)
            exch = rnd.randint(-100, 3_000)
            pending = not to_network and n % 40 == 0
            rows.append({
                "reference": f"B-{n:05d}", "status": "pending" if pending else "settled",
                "origin_org_id": ids[origin], "destination_org_id": ids[dest],
                "source_org_id": None, "previous_id": None, "charge_bearer": "SHA",
                "send_date": sent_on, "sender_account_id": acc, "sent_minor": value - fees,
                "sent_currency": "EUR", "sender_fee_minor": 0, "sender_fee_currency": "EUR",
                "send_entry_id": 1, "receive_date": None if pending else sent_on + timedelta(3),
                "received_minor": None if pending else (value - fees - exch) * 6559 // 1000,
                "received_currency": None if pending else ("EUR" if to_network else "XOF"),
                "value_sent_eur_minor": value,
                "value_received_eur_minor": None if pending else value - fees - exch,
                "loss_eur_minor": None if pending else fees + exch,
                "fees_eur_minor": fees, "exchange_eur_minor": None if pending else exch,
                "days_in_transit": None if pending else 3, "created_by": "bench",
                "created_at": now,
            })
        bulk_insert(conn, Transfer.__table__, rows)
    yield engine
    engine.dispose()


def test_flows_report_of_a_synthetic_year(benchmark, year: Engine) -> None:  # type: ignore[no-untyped-def]
    def run() -> int:
        with unit_of_work(year) as conn:
            res = compute_flows(conn, START, END)
        return len(render_bytes(build_flows_report(res), "json", "en"))

    assert benchmark.pedantic(run, rounds=3, iterations=1) > 0


def test_contributions_report_of_a_synthetic_year(benchmark, year: Engine) -> None:  # type: ignore[no-untyped-def]
    def run() -> int:
        with unit_of_work(year) as conn:
            res = compute_contributions(conn, START, END)
        return len(render_bytes(build_contributions_report(res), "json", "en"))

    assert benchmark.pedantic(run, rounds=3, iterations=1) > 0
