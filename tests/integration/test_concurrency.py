"""Eight treasurers posting at once on PostgreSQL keep one chain and exact balances."""

from __future__ import annotations

import multiprocessing as mp
from datetime import date

import pytest
from sqlalchemy import Engine

from ledger import journal
from ledger.db import make_engine, unit_of_work, upgrade
from tests.helpers import basic_chart, eur_entry

WRITERS = 8
POSTS_EACH = 25


def _writer(url: str, worker: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    eng = make_engine(url)
    done = 0
    try:
        for i in range(POSTS_EACH):
            # Every writer also re-posts one shared key: exactly one of them may create it.
            key = "shared-key" if i == 0 else f"w{worker}-{i}"
            with unit_of_work(eng) as conn:
                _eid, created = journal.post(conn, eur_entry(date(2026, 3, 1), 100, key=key),
                                             actor=f"treasurer-{worker}")
            done += int(created)
        out.put(("ok", done))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out.put(("error", repr(exc)))
    finally:
        eng.dispose()


@pytest.mark.parametrize("db_url", ["postgres", "sqlite"], indirect=True)
def test_eight_concurrent_writers_keep_one_linear_chain(db_url: str) -> None:
    eng: Engine = make_engine(db_url)
    upgrade(eng)
    with unit_of_work(eng) as conn:
        basic_chart(conn)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(db_url, w, q)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(kind == "ok" for kind, _ in results), results
    created = sum(n for _, n in results)
    expected = WRITERS * (POSTS_EACH - 1) + 1
    assert created == expected
    with unit_of_work(eng) as conn:
        rep = journal.verify(conn)
        bal = {r.code: r.balance.minor for r in journal.balances(conn)}
    assert rep.ok, rep.problems
    assert rep.entries == expected
    assert bal["Assets:Bank:Network:EUR"] == 100 * expected
    eng.dispose()
