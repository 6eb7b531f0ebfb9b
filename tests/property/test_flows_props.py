"""Property: whatever the transfers, every euro contributed is accounted for.

For any contributions and any hops (union → Network → mutual, settled at any
loss or gain, pending, voided, forwarding or naming a source), per union and in
EUR cents at the reference rates::

    arrived + lost (fees + exchange) + in transit + held = contributed

and the totals agree too (money beyond the contributions is "other funds").
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import journal, orgs
from ledger.db import make_engine, unit_of_work, upgrade
from ledger.domain import EntryDraft, PostingDraft
from ledger.flows import compute_flows
from ledger.gate import allow_all
from ledger.money import Money
from ledger.transfers import receive_transfer, send_transfer, void_transfer

UNIONS = ("U1", "U2", "U3")
MUTUALS = ("M1", "M2")
_TEMPLATE: Path | None = None


def template() -> Path:
    """A migrated database with the chart, built once and copied for each example."""
    global _TEMPLATE
    if _TEMPLATE is None:
        folder = Path(tempfile.mkdtemp(prefix="flows-props-"))
        engine = make_engine(str(folder / "t.db"))
        upgrade(engine)
        with unit_of_work(engine) as conn:
            orgs.add_org(conn, "Network", "network", "FR", "EUR")
            orgs.add_account(conn, "Assets:Bank:Network:EUR", "asset", "EUR", org="Network")
            for u in UNIONS:
                orgs.add_org(conn, u, "union", "FR", "EUR")
                orgs.add_account(conn, f"Assets:Bank:{u}:EUR", "asset", "EUR", org=u)
                orgs.add_account(conn, f"Income:Contributions:{u}", "income", "EUR", org=u)
            for mu in MUTUALS:
                orgs.add_org(conn, mu, "mutual", "BF", "XOF")
                orgs.add_account(conn, f"Assets:Bank:{mu}:XOF", "asset", "XOF", org=mu)
        engine.dispose()
        _TEMPLATE = folder / "t.db"
    return _TEMPLATE


contribution = st.tuples(st.sampled_from(UNIONS), st.integers(0, 60), st.integers(1, 500_000))
hop = st.fixed_dictionaries({
    "day": st.integers(0, 60),
    "frm": st.sampled_from(UNIONS + ("Network",)),
    "to": st.sampled_from(MUTUALS + ("Network",)),
    "amount": st.integers(1, 400_000),
    "fee": st.integers(0, 3_000),
    "outcome": st.sampled_from(["settled", "pending", "void"]),
    "delay": st.integers(0, 10),
    "rate_bps": st.integers(-200, 50),  # received vs parity, in basis points
    "forward": st.booleans(),
    "source": st.one_of(st.none(), st.sampled_from(UNIONS)),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contribution, max_size=12), st.lists(hop, max_size=10))
def test_every_contributed_euro_is_arrived_lost_in_transit_or_held(contribs, hops) -> None:  # type: ignore[no-untyped-def]
    folder = Path(tempfile.mkdtemp(prefix="flows-ex-"))
    try:
        shutil.copy(template(), folder / "t.db")
        engine = make_engine(str(folder / "t.db"))
        start = date(2026, 1, 1)
        with unit_of_work(engine) as conn:
            for u, day, cents in contribs:
                m = Money(cents, "EUR")
                journal.post(conn, EntryDraft(start + timedelta(day), "c", (
                    PostingDraft(f"Assets:Bank:{u}:EUR", m),
                    PostingDraft(f"Income:Contributions:{u}", -m))))
            to_network: list[str] = []
            for n, h in enumerate(sorted(hops, key=lambda h: h["day"])):
                frm, to = h["frm"], h["to"]
                if frm == to or (frm in UNIONS and to != "Network"):
                    to = "Network" if frm in UNIONS else MUTUALS[n % 2]
                ref = f"H-{n}"
                on = start + timedelta(h["day"])
                previous = to_network[-1] if frm == "Network" and h["forward"] and to_network \
                    else None
                send_transfer(conn, reference=ref, from_org=frm, to_org=to,
                              from_account=f"Assets:Bank:{frm}:EUR", amount=_eur(h["amount"]),
                              fee=_eur(h["fee"]), on=on, gate=allow_all, previous=previous,
                              source_org=h["source"])
                if h["outcome"] == "void":
                    void_transfer(conn, ref, on + timedelta(h["delay"]))
                elif h["outcome"] == "settled":
                    when = on + timedelta(h["delay"])
                    if to == "Network":
                        got = h["amount"] * (10_000 + h["rate_bps"]) // 10_000
                        receive_transfer(conn, ref, account="Assets:Bank:Network:EUR",
                                         amount=_eur(max(got, 0)), on=when)
                        to_network.append(ref)
                    else:
                        xof = h["amount"] * 655957 * (10_000 + h["rate_bps"]) // 1_000_000_000
                        receive_transfer(conn, ref, account=f"Assets:Bank:{to}:XOF",
                                         amount=str(max(xof, 0)), on=when)
            res = compute_flows(conn, start, date(2026, 12, 31))
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows = res.unions + ([res.other_funds] if res.other_funds else [])
    for r in rows:
        assert r.arrived + r.lost + r.in_transit + r.held == r.contributed, r
    assert sum(r.contributed for r in res.unions) == sum(c[2] for c in contribs)
    t = res.totals()
    assert t["arrived"] + t["lost_fees"] + t["lost_exchange"] + t["in_transit"] + t["held"] \
        == t["contributed"]
    assert sum(s.received_eur for s in res.south) == sum(r.arrived for r in rows)


def _eur(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
