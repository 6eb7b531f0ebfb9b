"""Each euro traced: contributions earmarked to the transfers that spent them, and
the figures of the flows and contributions reports.

**Contributions** are the credits to a union's ``Income:Contributions:<union>``
account (the account's organisation, else the organisation named by the last
part of the code), summed per union and day and valued in EUR at that day's
reference rate (:func:`contributions_by_day`; one set-based query).

**Earmarking** (:func:`compute_flows`) replays the period in date order — on one
day, contributions first, then arrivals and voids, then sends — over a *pool*
per organisation: lots of EUR, each tagged with the union whose money it is.

- A contribution adds a lot of its union to the union's own pool.
- A send of value ``V`` (sent + sender's fees, EUR at the send date) takes
  ``V`` from the sender's pool: first the lots that arrived by the transfer it
  forwards (``previous``), then the lots of the union it names (``source``),
  then first in, first out.  What the pool cannot cover is taken from the
  sender's *other funds* (money not traced to a contribution of the period),
  reported on a line of its own.
- The pieces taken (union → EUR) share the hop's outcome pro rata, in exact
  integer cents (cumulative rounding, so every column and every piece adds up):
  settled → value received, fees, exchange; pending at the period end →
  sender's fees (lost at once) and in transit; void → sender's fees and the
  rest returned to the sender's pool.
- What a hop delivers to a union or the Network becomes lots of the same unions
  in the receiver's pool (dated on arrival, tagged with the hop), so a
  Network → mutual hop that names its ``previous`` inherits the union shares
  of the money it forwards, and an untagged one spends the Network's pool
  first in, first out.  What a hop delivers to a mutual (kind ``mutual`` or
  ``other``: the South) has *arrived*.

Hence, per union and exactly in EUR cents::

    contributed = arrived + lost (fees + exchange) + in transit + held

where *held* is what is still in a pool (the union's or the Network's), valued
at the reference rate of the day it entered that pool.  Rate moves while money
sits in a bank are not transfer losses and are not measured here.  Only the
period's contributions and the transfers sent in it are traced; money held
before the period start is *other funds*.

Must not import ``imports``, ``rules`` or ``reports``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median_low
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from ledger.money import Money, currency_digits
from ledger.pledges import PledgeView, list_pledges
from ledger.rates import DEFAULT_MAX_AGE_DAYS, EUR, RateTable
from ledger.rates_store import load_rate_table
from ledger.tables import Account, JournalEntry, Organisation, Posting, Transfer

__all__ = [
    "CONTRIBUTIONS_ROOT",
    "OTHER_FUNDS",
    "SOUTH_KINDS",
    "ContributionRow",
    "ContributionsResult",
    "CorridorFlow",
    "FlowLinkData",
    "FlowsResult",
    "HopFlow",
    "SouthFlow",
    "UnionFlow",
    "apportion",
    "compute_contributions",
    "compute_flows",
    "contributions_by_day",
    "eur_minor",
]

CONTRIBUTIONS_ROOT = "Income:Contributions"
#: Organisation kinds that receive money in the South (money reaching them has arrived).
SOUTH_KINDS = frozenset({"mutual", "other"})
#: Pseudo-union of money a sender spent beyond what the period's contributions gave it.
OTHER_FUNDS = "(other funds)"
_RATIO = Decimal("0.0001")


# -- money helpers -----------------------------------------------------------------

def _rate_fraction(per_eur: Decimal) -> tuple[int, int]:
    """``per_eur`` as ``numerator / 10**exp`` integers."""
    _sign, digits, exp = per_eur.as_tuple()
    n = int("".join(map(str, digits)))
    assert isinstance(exp, int)
    return (n * 10**exp, 1) if exp >= 0 else (n, 10**-exp)


def _div_half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q % 2 == 1):
        q += 1
    return q


def eur_minor(minor: int, currency: str, per_eur: Decimal) -> int:
    """``minor`` units of ``currency`` in EUR cents at ``per_eur``, rounded half-even once
    (the same figure as :meth:`ledger.rates.RateTable.to_eur`, in integer arithmetic)."""
    if currency == EUR:
        return minor
    n, scale = _rate_fraction(per_eur)
    shift = 2 - currency_digits(currency)
    num = minor * scale * (10**shift if shift >= 0 else 1)
    den = n * (10**-shift if shift < 0 else 1)
    return _div_half_even(num, den)


def apportion(pieces: Sequence[int], part: int) -> list[int]:
    """Split ``part`` over ``pieces`` pro rata, in integers that add up to ``part``.

    Cumulative rounding: piece *i* gets ``⌊part·Cᵢ/T⌋ − ⌊part·Cᵢ₋₁/T⌋`` where ``C``
    are cumulative piece sums and ``T`` their total; a zero total splits nothing
    but the first piece.
    """
    total = sum(pieces)
    if total == 0:
        return [part] + [0] * (len(pieces) - 1) if pieces else []
    out, cum, prev = [], 0, 0
    for p in pieces:
        cum += p
        now = part * cum // total
        out.append(now - prev)
        prev = now
    return out


def _ratio(a: int, b: int) -> Decimal | None:
    if b == 0:
        return None
    return (Decimal(a) / Decimal(b)).quantize(_RATIO, ROUND_HALF_EVEN)


# -- contributions -----------------------------------------------------------------

def contributions_by_day(
    conn: Connection,
    start: date,
    end: date,
    rates: RateTable | None = None,
    max_rate_age: int | None = DEFAULT_MAX_AGE_DAYS,
) -> pd.DataFrame:
    """Contributions per union and day: columns ``org_id, union, currency, day, minor,
    eur`` (int64 minor units; ``minor`` positive = received).  One grouped query.

    Raises :class:`ledger.rates.RateError` when a day's rate is missing or stale.
    """
    q = (
        select(Account.organisation_id, Account.code, Posting.currency,
               JournalEntry.entry_date, func.sum(Posting.amount_minor))
        .select_from(Posting)
        .join(Account, Account.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Account.code.like(CONTRIBUTIONS_ROOT + ":%"),
               JournalEntry.entry_date >= start, JournalEntry.entry_date <= end)
        .group_by(Account.organisation_id, Account.code, Posting.currency,
                  JournalEntry.entry_date)
    )
    rows = conn.execute(q).all()
    names = {int(i): n for i, n in conn.execute(select(Organisation.id, Organisation.name))}
    by_name = {n: i for i, n in names.items()}
    cols = ["org_id", "union", "currency", "day", "minor", "eur"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("org_id", "minor", "eur")
                                           else "object") for c in cols})
    if rates is None:
        rates = load_rate_table(conn, start, end, {r[2] for r in rows},
                                3660 if max_rate_age is None else max_rate_age)
    per_rate: dict[tuple[str, date], Decimal] = {}
    org_ids, unions, curs, days, minors, eurs = [], [], [], [], [], []
    for oid, code, cur, day, total in rows:
        if oid is None:
            oid = by_name.get(code.rsplit(":", 1)[-1])
            if oid is None:
                continue  # a contributions account of no known organisation: not a union's
        key = (cur, day)
        r = per_rate.get(key)
        if r is None:
            r = per_rate[key] = rates.per_eur(cur, day, max_rate_age)
        minor = -int(total)
        org_ids.append(int(oid))
        unions.append(names[int(oid)])
        curs.append(cur)
        days.append(day)
        minors.append(minor)
        eurs.append(eur_minor(minor, cur, r))
    df = pd.DataFrame({"org_id": pd.Series(org_ids, dtype="int64"), "union": unions,
                       "currency": curs, "day": days,
                       "minor": pd.Series(minors, dtype="int64"),
                       "eur": pd.Series(eurs, dtype="int64")})
    # Two accounts of one union on one day (rare) become one lot.
    return (df.groupby(["org_id", "union", "currency", "day"], as_index=False, sort=True)
            [["minor", "eur"]].sum())


# -- results -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class UnionFlow:
    """Per union, EUR cents at reference rates (see the module docstring)."""

    union: str
    currency: str
    contributed: int
    contributed_local: int
    sent_south: int
    arrived: int
    arrived_local: dict[str, int]
    lost_fees: int
    lost_exchange: int
    in_transit: int
    held: int
    held_by_others: int  # part of ``held`` in another organisation's pool (the Network)

    @property
    def lost(self) -> int:
        """Fees + exchange."""
        return self.lost_fees + self.lost_exchange

    @property
    def pass_through(self) -> Decimal | None:
        """Arrived ÷ contributed, to 0.0001 (None when nothing was contributed)."""
        return _ratio(self.arrived, self.contributed)


@dataclass(frozen=True, slots=True)
class SouthFlow:
    """What one southern organisation received, and from which unions' money."""

    organisation: str
    currency: str
    transfers: int
    received_eur: int
    received_local: dict[str, int]
    from_unions: dict[str, int]


@dataclass(frozen=True, slots=True)
class CorridorFlow:
    """Chains of hops with the same currencies (``CAD→EUR→XOF``)."""

    corridor: str
    transfers: int
    settled: int
    sent_eur: int
    lost_eur: int
    median_loss_eur: int | None  # lower median over settled chains
    median_loss_ratio: Decimal | None
    worst_reference: str | None
    worst_loss_eur: int | None


@dataclass(frozen=True, slots=True)
class HopFlow:
    """One hop as the report lists it (status as of the period end)."""

    reference: str
    origin: str
    destination: str
    status: str
    send_date: date
    receive_date: date | None
    sent: Money
    received: Money | None
    value_sent_eur: int
    value_received_eur: int | None
    loss_eur: int | None
    fees_eur: int | None
    exchange_eur: int | None
    days_in_transit: int | None
    corridor: str
    unions: dict[str, int]  # EUR taken from each union's money


@dataclass(frozen=True, slots=True)
class FlowLinkData:
    """An aggregated flow between two named nodes (``Lost``/``Held``/``In transit`` too)."""

    source: str
    target: str
    eur: int
    style: str = "normal"  # normal | loss | held


@dataclass(frozen=True, slots=True)
class FlowsResult:
    """Everything the flows report shows."""

    start: date
    end: date
    unions: list[UnionFlow]
    other_funds: UnionFlow | None
    south: list[SouthFlow]
    corridors: list[CorridorFlow]
    hops: list[HopFlow]
    months: list[date]
    monthly_contributed: dict[str, list[int]]  # cumulative, per union, at each month end
    monthly_arrived: dict[str, list[int]]
    links: list[FlowLinkData]
    kinds: dict[str, str] = field(default_factory=dict)  # organisation → kind

    def totals(self) -> dict[str, int]:
        """Sums over the unions (and other funds) of each figure."""
        rows = self.unions + ([self.other_funds] if self.other_funds else [])
        return {k: sum(getattr(u, k) for u in rows) for k in
                ("contributed", "sent_south", "arrived", "lost_fees", "lost_exchange",
                 "in_transit", "held")}


# -- the replay ------------------------------------------------------------------------

class _Lot:
    __slots__ = ("amount", "union", "via")

    def __init__(self, amount: int, union: str, via: int | None) -> None:
        self.amount = amount
        self.union = union
        self.via = via


class _Pool:
    """One organisation's lots: first in, first out, indexed by union and by hop."""

    __slots__ = ("by_union", "by_via", "fifo", "shortfall")

    def __init__(self) -> None:
        self.shortfall = 0  # what the last take could not find in the pool
        self.fifo: deque[_Lot] = deque()
        self.by_union: dict[str, deque[_Lot]] = defaultdict(deque)
        self.by_via: dict[int, list[_Lot]] = defaultdict(list)

    def add(self, lot: _Lot) -> None:
        if lot.amount <= 0:
            return
        self.fifo.append(lot)
        self.by_union[lot.union].append(lot)
        if lot.via is not None:
            self.by_via[lot.via].append(lot)

    @staticmethod
    def _drain(lots: Iterable[_Lot], need: int, got: dict[str, int]) -> int:
        for lot in lots:
            if need <= 0:
                break
            if lot.amount <= 0:
                continue
            n = min(lot.amount, need)
            lot.amount -= n
            need -= n
            got[lot.union] = got.get(lot.union, 0) + n
        return need

    def take(self, need: int, via: int | None, union: str | None,
             fifo: bool = True) -> dict[str, int]:
        got: dict[str, int] = {}
        if via is not None and via in self.by_via:
            need = self._drain(self.by_via[via], need, got)
        if need > 0 and union is not None and union in self.by_union:
            q = self.by_union[union]
            need = self._drain(q, need, got)
            while q and q[0].amount <= 0:
                q.popleft()
        if need > 0 and fifo:
            q = self.fifo
            while need > 0 and q:
                lot = q[0]
                if lot.amount > 0:
                    n = min(lot.amount, need)
                    lot.amount -= n
                    need -= n
                    got[lot.union] = got.get(lot.union, 0) + n
                if lot.amount <= 0:
                    q.popleft()
        self.shortfall = need
        if need > 0:
            got[OTHER_FUNDS] = got.get(OTHER_FUNDS, 0) + need
        return got


@dataclass
class _Acc:
    contributed: int = 0
    contributed_local: int = 0
    sent_south: int = 0
    arrived: int = 0
    arrived_local: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lost_fees: int = 0
    lost_exchange: int = 0
    in_transit: int = 0


def _month_ends(start: date, end: date) -> list[date]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _transfers_frame(conn: Connection, start: date, end: date) -> list[dict]:  # type: ignore[type-arg]
    cols = [Transfer.id, Transfer.reference, Transfer.status, Transfer.origin_org_id,
            Transfer.destination_org_id, Transfer.source_org_id, Transfer.previous_id,
            Transfer.send_date, Transfer.receive_date, Transfer.void_date,
            Transfer.sent_minor, Transfer.sent_currency, Transfer.sender_fee_minor,
            Transfer.sender_fee_currency, Transfer.received_minor, Transfer.received_currency,
            Transfer.value_sent_eur_minor, Transfer.value_received_eur_minor,
            Transfer.loss_eur_minor, Transfer.fees_eur_minor, Transfer.exchange_eur_minor,
            Transfer.days_in_transit]
    q = (select(*cols).where(and_(Transfer.send_date >= start, Transfer.send_date <= end))
         .order_by(Transfer.send_date, Transfer.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def compute_flows(
    conn: Connection,
    start: date,
    end: date,
    max_rate_age: int | None = DEFAULT_MAX_AGE_DAYS,
) -> FlowsResult:
    """Trace the period's contributions through the transfers sent in it (module docstring)."""
    orgs = {int(i): (n, k, c) for i, n, k, c in conn.execute(
        select(Organisation.id, Organisation.name, Organisation.kind, Organisation.currency))}
    contrib = contributions_by_day(conn, start, end, max_rate_age=max_rate_age)
    hops = _transfers_frame(conn, start, end)
    fee_rates: RateTable | None = None

    accs: dict[str, _Acc] = defaultdict(_Acc)
    pools: dict[int, _Pool] = defaultdict(_Pool)
    months = _month_ends(start, end)
    month_index = {(d.year, d.month): i for i, d in enumerate(months)}
    m_contrib: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    m_arrived: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    union_currency: dict[str, str] = {}
    held_adjust: dict[str, int] = defaultdict(int)  # refunds beyond what a union still held

    # Events: (day, order, seq, kind, payload); order 0 contributions, 1 arrivals/voids, 2 sends.
    events: list[tuple[date, int, int, str, object]] = []
    seq = 0
    for oid, union, cur, day, minor, eur in contrib.itertuples(index=False):
        events.append((day, 0, seq, "c", (int(oid), union, cur, int(minor), int(eur))))
        seq += 1
    by_id = {h["id"]: h for h in hops}
    for h in hops:
        h["pieces"] = {}
        status = h["status"]
        if status == "settled" and h["receive_date"] is not None and h["receive_date"] > end:
            status = "pending"
        if status == "void" and h["void_date"] is not None and h["void_date"] > end:
            status = "pending"
        h["as_of_status"] = status
        if status == "pending" and h["status"] != "pending":
            # Settled or voided after the period: its sender's fees, as stored at the send,
            # were overwritten by the full measurement; value them again.
            if fee_rates is None:
                fee_rates = load_rate_table(conn, start, end, None, 3660)
            h["sender_fee_eur"] = fee_rates.to_eur(
                Money(int(h["sender_fee_minor"]), h["sender_fee_currency"]), h["send_date"], None
            ).minor
        else:
            h["sender_fee_eur"] = int(h["fees_eur_minor"] or 0)
        events.append((h["send_date"], 2, seq, "s", h))
        seq += 1
        # An arrival on a later day comes before that day's sends (so it can be
        # forwarded); one on the send day itself right after its own send.
        if status == "settled":
            day = h["receive_date"]
            events.append((day, 2 if day == h["send_date"] else 1, seq, "r", h))
        elif status == "void":
            day = h["void_date"]
            events.append((day, 2 if day == h["send_date"] else 1, seq, "v", h))
        seq += 1
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    for day, _o, _s, kind, payload in events:
        if kind == "c":
            oid, union, cur, minor, eur = payload  # type: ignore[misc]
            a = accs[union]
            a.contributed += eur
            a.contributed_local += minor
            union_currency[union] = cur
            m_contrib[union][month_index[(day.year, day.month)]] += eur
            if eur >= 0:
                pools[oid].add(_Lot(eur, union, None))
            else:  # a refund: the union's own money leaves its pool, never another's
                pools[oid].take(-eur, None, union, fifo=False)
                held_adjust[union] -= pools[oid].shortfall
            continue
        h = payload  # type: ignore[assignment]
        if kind == "s":
            value = int(h["value_sent_eur_minor"] or 0)
            source = orgs[h["source_org_id"]][0] if h["source_org_id"] else None
            pool = pools[h["origin_org_id"]]
            got = pool.take(value, h["previous_id"], source)
            h["pieces"] = got
            if pool.shortfall:
                accs[OTHER_FUNDS].contributed += pool.shortfall
            if orgs[h["destination_org_id"]][1] in SOUTH_KINDS:
                for u, n in got.items():
                    accs[u].sent_south += n
            if h["as_of_status"] == "pending":
                unions = list(got)
                amounts = [got[u] for u in unions]
                fees = apportion(amounts, h["sender_fee_eur"])
                for u, n, f in zip(unions, amounts, fees):
                    accs[u].lost_fees += f
                    accs[u].in_transit += n - f
            continue
        unions = list(h["pieces"])
        amounts = [h["pieces"][u] for u in unions]
        if kind == "v":
            fees = apportion(amounts, int(h["loss_eur_minor"] or 0))
            pool = pools[h["origin_org_id"]]
            for u, n, f in zip(unions, amounts, fees):
                accs[u].lost_fees += f
                if u != OTHER_FUNDS:
                    pool.add(_Lot(n - f, u, None))
                else:
                    accs[u].contributed -= n - f  # other funds returned to their holder
            continue
        # arrival
        fees = apportion(amounts, int(h["fees_eur_minor"] or 0))
        exch = apportion(amounts, int(h["exchange_eur_minor"] or 0))
        dest = h["destination_org_id"]
        to_south = orgs[dest][1] in SOUTH_KINDS
        received = [n - f - x for n, f, x in zip(amounts, fees, exch)]
        local = apportion(received, int(h["received_minor"])) if to_south else []
        h["arrived_shares"] = dict(zip(unions, received))
        for i, u in enumerate(unions):
            a = accs[u]
            a.lost_fees += fees[i]
            a.lost_exchange += exch[i]
            if to_south:
                a.arrived += received[i]
                a.arrived_local[h["received_currency"]] += local[i]
                m_arrived[u][month_index[(day.year, day.month)]] += received[i]
            else:
                pools[dest].add(_Lot(received[i], u, h["id"]))

    # Held: what is left in every pool.
    held: dict[str, int] = defaultdict(int, held_adjust)
    held_elsewhere: dict[str, int] = defaultdict(int)
    held_links: dict[str, int] = defaultdict(int)
    for oid, pool in pools.items():
        for lot in pool.fifo:
            if lot.amount > 0:
                held[lot.union] += lot.amount
                held_links[orgs[oid][0]] += lot.amount
                if orgs[oid][0] != lot.union:
                    held_elsewhere[lot.union] += lot.amount

    def union_flow(name: str) -> UnionFlow:
        a = accs[name]
        return UnionFlow(name, union_currency.get(name, EUR), a.contributed, a.contributed_local,
                         a.sent_south, a.arrived, dict(sorted(a.arrived_local.items())),
                         a.lost_fees, a.lost_exchange, a.in_transit, held.get(name, 0),
                         held_elsewhere.get(name, 0))

    union_names = sorted(set(contrib["union"]) if len(contrib) else set())
    union_rows = [union_flow(u) for u in union_names]
    other = union_flow(OTHER_FUNDS) if OTHER_FUNDS in accs else None

    # Per southern organisation, per hop, per corridor.
    south: dict[int, dict] = {}  # type: ignore[type-arg]
    hop_rows: list[HopFlow] = []
    forwarded = {h["previous_id"] for h in hops if h["previous_id"] in by_id}
    corridors: dict[str, list[dict]] = defaultdict(list)  # type: ignore[type-arg]
    links: dict[tuple[str, str, str], int] = defaultdict(int)

    def corridor_of(h: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        chain = [h]
        while chain[-1]["previous_id"] in by_id and len(chain) < 20:
            chain.append(by_id[chain[-1]["previous_id"]])
        chain.reverse()
        curs = [c["sent_currency"] for c in chain]
        last = h["received_currency"] if h["as_of_status"] == "settled" else None
        curs.append(last or orgs[h["destination_org_id"]][2])
        return "→".join(curs), chain

    for h in hops:
        st = h["as_of_status"]
        origin, dest = orgs[h["origin_org_id"]][0], orgs[h["destination_org_id"]][0]
        corridor, chain = corridor_of(h)
        settled = st == "settled"
        value = int(h["value_sent_eur_minor"] or 0)
        hop_rows.append(HopFlow(
            reference=h["reference"], origin=origin, destination=dest, status=st,
            send_date=h["send_date"], receive_date=h["receive_date"] if settled else None,
            sent=Money(int(h["sent_minor"]), h["sent_currency"]),
            received=Money(int(h["received_minor"]), h["received_currency"]) if settled else None,
            value_sent_eur=value,
            value_received_eur=int(h["value_received_eur_minor"]) if settled else None,
            loss_eur=int(h["loss_eur_minor"]) if st != "pending" else None,
            fees_eur=int(h["fees_eur_minor"]) if st != "pending" else None,
            exchange_eur=int(h["exchange_eur_minor"]) if st != "pending" else None,
            days_in_transit=h["days_in_transit"] if settled else None,
            corridor=corridor, unions=dict(h["pieces"]),
        ))
        if st == "settled":
            links[(origin, dest, "normal")] += int(h["value_received_eur_minor"])
            links[(origin, "Lost", "loss")] += int(h["loss_eur_minor"])
        elif st == "pending":
            links[(origin, "In transit", "held")] += value - h["sender_fee_eur"]
            links[(origin, "Lost", "loss")] += h["sender_fee_eur"]
        else:
            links[(origin, "Lost", "loss")] += int(h["loss_eur_minor"] or 0)
        if settled and orgs[h["destination_org_id"]][1] in SOUTH_KINDS:
            s = south.setdefault(h["destination_org_id"], {
                "transfers": 0, "eur": 0, "local": defaultdict(int), "from": defaultdict(int)})
            s["transfers"] += 1
            s["eur"] += int(h["value_received_eur_minor"])
            s["local"][h["received_currency"]] += int(h["received_minor"])
            for u, n in h["arrived_shares"].items():
                s["from"][u] += n
        if h["id"] not in forwarded:
            corridors[corridor].append({"end": h, "chain": chain})
    for org_name, n in held_links.items():
        links[(org_name, "Held", "held")] += n

    south_rows = [
        SouthFlow(orgs[oid][0], orgs[oid][2], s["transfers"], s["eur"], dict(s["local"]),
                  dict(sorted(s["from"].items(), key=lambda kv: -kv[1])))
        for oid, s in sorted(south.items(), key=lambda kv: orgs[kv[0]][0])
    ]
    corridor_rows = []
    for name, chains in sorted(corridors.items()):
        done = [c for c in chains if all(x["as_of_status"] == "settled" for x in c["chain"])]
        sent = sum(int(c["chain"][0]["value_sent_eur_minor"] or 0) for c in chains)
        losses = [(sum(int(x["loss_eur_minor"]) for x in c["chain"]),
                   int(c["chain"][0]["value_sent_eur_minor"] or 0), c["end"]["reference"])
                  for c in done]
        worst = max(losses, key=lambda t: (t[0], t[2])) if losses else None
        corridor_rows.append(CorridorFlow(
            corridor=name, transfers=len(chains), settled=len(done), sent_eur=sent,
            lost_eur=sum(t[0] for t in losses),
            median_loss_eur=median_low([t[0] for t in losses]) if losses else None,
            median_loss_ratio=(median_low([_ratio(t[0], t[1]) or Decimal(0) for t in losses])
                               if losses else None),
            worst_reference=worst[2] if worst else None,
            worst_loss_eur=worst[0] if worst else None,
        ))

    def cumulative(series: dict[str, list[int]]) -> dict[str, list[int]]:
        out = {}
        for u in union_names:
            run, vals = 0, []
            for v in series.get(u, [0] * len(months)):
                run += v
                vals.append(run)
            out[u] = vals
        return out

    return FlowsResult(
        start=start, end=end, unions=union_rows, other_funds=other, south=south_rows,
        corridors=corridor_rows, hops=hop_rows, months=months,
        monthly_contributed=cumulative(m_contrib), monthly_arrived=cumulative(m_arrived),
        links=[FlowLinkData(s, t, n, style) for (s, t, style), n in sorted(links.items()) if n > 0],
        kinds={n: k for n, k, _c in orgs.values()},
    )


# -- contributions report ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContributionRow:
    """One union and period: pledge, expected and received, in the pledge currency and EUR."""

    union: str
    pledge_id: int | None
    period_start: date
    period_end: date
    members: int | None
    rate: Money | None
    frequency: str | None
    currency: str  # the pledge's (or, without pledge, the contributions')
    expected: int | None  # minor units of ``currency``
    received: int
    difference: int | None  # received − expected: negative = arrears, positive = surplus
    expected_eur: int | None
    received_eur: int
    difference_eur: int | None


@dataclass(frozen=True, slots=True)
class ContributionsResult:
    """The contributions report's figures: one row per pledge (and per union without one),
    and received per union and month in EUR."""

    start: date
    end: date
    rows: list[ContributionRow]
    months: list[date]
    monthly_eur: dict[str, list[int]]


def compute_contributions(
    conn: Connection,
    start: date,
    end: date,
    max_rate_age: int | None = DEFAULT_MAX_AGE_DAYS,
) -> ContributionsResult:
    """Pledges touching ``[start, end]`` against the contributions received in them.

    A contribution belongs to the pledge of its union whose period contains its
    date (pledges of one union do not overlap).  Received in the pledge currency
    is the sum itself when the contributions are in that currency, else their
    EUR value converted at the reference rate of the pledge's last day (the
    latest on or before it).  Expected in EUR uses that same rate.
    """
    pledges: list[PledgeView] = list_pledges(conn)
    pledges = [p for p in pledges if p.period_start <= end and p.period_end >= start]
    lo = min([start] + [p.period_start for p in pledges])
    hi = max([end] + [p.period_end for p in pledges])
    contrib = contributions_by_day(conn, lo, hi, max_rate_age=max_rate_age)
    rates = load_rate_table(conn, None, hi)
    rows: list[ContributionRow] = []
    used = pd.Series(False, index=contrib.index)
    days = pd.to_datetime(contrib["day"]) if len(contrib) else pd.Series(dtype="datetime64[ns]")
    for p in pledges:
        mask = ((contrib["org_id"] == p.organisation_id)
                & (days >= pd.Timestamp(p.period_start)) & (days <= pd.Timestamp(p.period_end)))
        used |= mask
        part = contrib[mask]
        received_eur = int(part["eur"].sum())
        per_eur = rates.per_eur(p.rate.currency, p.period_end, None)
        if len(part) and set(part["currency"]) == {p.rate.currency}:
            received = int(part["minor"].sum())
        elif p.rate.currency == EUR:
            received = received_eur
        else:
            received = rates.convert(Money(received_eur, EUR), p.rate.currency,
                                     p.period_end, None).minor
        expected = p.expected.minor
        expected_eur = eur_minor(expected, p.rate.currency, per_eur)
        rows.append(ContributionRow(
            union=p.organisation, pledge_id=p.id, period_start=p.period_start,
            period_end=p.period_end, members=p.members, rate=p.rate, frequency=p.frequency,
            currency=p.rate.currency, expected=expected, received=received,
            difference=received - expected, expected_eur=expected_eur,
            received_eur=received_eur, difference_eur=received_eur - expected_eur))
    in_window = (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end)) if len(contrib) else used
    rest = contrib[~used & in_window] if len(contrib) else contrib
    for (_oid, union, cur), part in rest.groupby(["org_id", "union", "currency"], sort=True):
        rows.append(ContributionRow(
            union=union, pledge_id=None, period_start=start, period_end=end, members=None,
            rate=None, frequency=None, currency=cur, expected=None,
            received=int(part["minor"].sum()), difference=None, expected_eur=None,
            received_eur=int(part["eur"].sum()), difference_eur=None))
    rows.sort(key=lambda r: (r.union, r.period_start))

    months = _month_ends(start, end)
    monthly: dict[str, list[int]] = {}
    if len(contrib):
        win = contrib[in_window].copy()
        win["month"] = [(d.year, d.month) for d in win["day"]]
        idx = {(d.year, d.month): i for i, d in enumerate(months)}
        for (union, month), eur in win.groupby(["union", "month"])["eur"].sum().items():
            monthly.setdefault(union, [0] * len(months))[idx[month]] = int(eur)
    return ContributionsResult(start, end, rows, months, dict(sorted(monthly.items())))
