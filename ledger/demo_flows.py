"""The demo's solidarity flows: reference rates, pledges and transfers.

Two parts, because the other demo steps see the ledger at different times:

- :func:`union_transfers` runs inside the demo's base build (before the bank
  statements are written from the ledger): it writes plausible demo rates to
  ``<folder>/rates/demo-rates-2026.csv`` (not official figures; the demo needs no
  network and no shared data), imports them, records each union's pledge (1 EUR
  per declared member for 2026) and sends each quarter's contributions from the
  unions to the Network, each a two-phase transfer with its fees and margin.
- :func:`network_transfers` runs as demo step 30, after the eligibility facts
  exist: the Network forwards the money to the Burkina Faso and Côte d'Ivoire
  mutuals in XOF (SHA, a 15 EUR Network fee, a 20 EUR correspondent deduction, a
  5,000 XOF receiving fee), one at a visibly bad rate, the last one still in
  transit at the year end.

Must not import ``imports``, ``rules`` or ``reports``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ledger import journal
from ledger.gate import Gate, IneligibleError, allow_all
from ledger.money import Money
from ledger.pledges import add_pledge
from ledger.rates_store import import_rate_files, load_rate_table
from ledger.transfers import receive_transfer, send_transfer

YEAR = 2026
#: Currencies with demo rates: base units per EUR (``ledger.demo.DEMO_RATES``).
RATE_BASES = {"CAD": "1.4850", "SEK": "11.2000", "AUD": "1.6500", "MAD": "10.8000"}
#: Union, currency, the sender's fee per transfer, the bank's margin on the conversion.
UNION_PLAN = [
    ("CSQ", "CAD", "25.00", Decimal("0.0035")),
    ("SNES-FSU", "EUR", None, Decimal(0)),
    ("Sveriges Lärare", "SEK", "50.00", Decimal("0.0050")),
    ("AEU", "AUD", "30.00", Decimal("0.0040")),
]
UNION_SEND_DATES = [date(YEAR, 3, 27), date(YEAR, 6, 26), date(YEAR, 9, 28), date(YEAR, 12, 14)]
BURKINA = "MS-Éducation Burkina"
IVORY_COAST = "Mutuelle des agents CI"
PARITY = Decimal("655.957")


def _bank(org: str, currency: str) -> str:
    return f"Assets:Bank:{org}:{currency}"


def _slug(name: str) -> str:
    return "".join(ch for ch in name.upper() if ch.isalpha())[:4]


def write_demo_rates(folder: Path) -> Path:
    """Write every weekday's demo rate for 2026 in the simple CSV format; return the file.

    The values wander deterministically within ±0.5 % of their base.
    """
    target = folder / "rates" / f"demo-rates-{YEAR}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = ["date,currency,rate_per_eur"]
    day = date(YEAR, 1, 1)
    while day.year == YEAR:
        if day.weekday() < 5:
            n = day.timetuple().tm_yday
            for cur, base in RATE_BASES.items():
                step = ((n * 7 + len(cur) * 3) % 21) - 10  # -10 … +10
                rate = (Decimal(base) * (1 + Decimal(step) / 2000)).quantize(Decimal("0.0001"))
                lines.append(f"{day.isoformat()},{cur},{rate}")
        day += timedelta(days=1)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _next_weekday(day: date, days: int) -> date:
    out = day + timedelta(days=days)
    while out.weekday() >= 5:
        out += timedelta(days=1)
    return out


def union_transfers(conn: Connection, folder: Path, actor: str | None) -> int:
    """Rates, pledges and the unions' quarterly transfers to the Network; return the
    number of transfers settled."""
    import_rate_files(conn, [write_demo_rates(folder)])
    for union, *_ in UNION_PLAN:
        add_pledge(conn, union, date(YEAR, 1, 1), date(YEAR, 12, 31), actor=actor,
                   note="1 EUR per member, Network solidarity fund")
    rates = load_rate_table(conn, date(YEAR, 1, 1), date(YEAR, 12, 31))
    network = _bank("Network", "EUR")
    n = 0
    for quarter, sent_on in enumerate(UNION_SEND_DATES, start=1):
        for union, cur, fee, margin in UNION_PLAN:
            account = _bank(union, cur)
            balance = next(b.balance for b in journal.balances(conn, at=sent_on, prefix=account)
                           if b.code == account)
            fee_m = Money.of(fee, cur) if fee else Money.zero(cur)
            amount = balance - fee_m
            ref = f"{_slug(union)}-NET-{YEAR}-Q{quarter}"
            send_transfer(conn, reference=ref, from_org=union, to_org="Network",
                          from_account=account, amount=amount.amount, fee=fee_m.amount or None,
                          bearer="OUR" if fee else "SHA", on=sent_on, gate=allow_all,
                          actor=actor)
            arrived_on = _next_weekday(sent_on, 2 if cur != "EUR" else 1)
            value = rates.to_eur(amount, sent_on)
            got = (value.amount * (1 - margin)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
            receive_transfer(conn, ref, account=network, amount=got, on=arrived_on, actor=actor)
            n += 1
    return n


#: (reference, mutual, send date, EUR sent, days in transit, rate the bank applied or None
#: for the parity, settled?)
NETWORK_PLAN: list[tuple[str, str, date, str, int, Decimal | None, bool]] = [
    ("NET-BF-2026-Q1", BURKINA, date(YEAR, 4, 7), "16000.00", 4, None, True),
    ("NET-CI-2026-Q1", IVORY_COAST, date(YEAR, 4, 7), "12000.00", 4, None, True),
    ("NET-BF-2026-Q2", BURKINA, date(YEAR, 7, 7), "16000.00", 3, None, True),
    # The correspondent converted at 650 francs instead of the parity: a visible exchange loss.
    ("NET-CI-2026-Q2", IVORY_COAST, date(YEAR, 7, 7), "12000.00", 8, Decimal("650.000"), True),
    ("NET-BF-2026-Q3", BURKINA, date(YEAR, 10, 6), "16000.00", 4, None, True),
    ("NET-CI-2026-Q3", IVORY_COAST, date(YEAR, 10, 6), "12000.00", 5, None, True),
    ("NET-BF-2026-Q4", BURKINA, date(YEAR, 12, 21), "16000.00", 4, None, True),
    # Sent just before the year end and still in transit on 31 December.
    ("NET-CI-2026-Q4", IVORY_COAST, date(YEAR, 12, 28), "12000.00", 0, None, False),
]
NETWORK_FEE = "15.00"
INTERMEDIARY = Decimal("20.00")
RECEIVER_FEE = 5000


def network_transfers(conn: Connection, actor: str | None, gate: Gate,
                      note: Callable[[str], Any] = lambda _m: None) -> tuple[int, int]:
    """The Network's transfers to the two mutuals; return ``(settled, pending)``.

    The Q3 Burkina hop names the CSQ Q3 transfer as the money it forwards, so its
    corridor reads CAD→EUR→XOF.  A hop the gate refuses is skipped and noted.
    """
    settled = pending = 0
    network = _bank("Network", "EUR")
    for ref, mutual, sent_on, amount, days, applied, arrives in NETWORK_PLAN:
        previous = "CSQ-NET-2026-Q3" if ref == "NET-BF-2026-Q3" else None
        try:
            send_transfer(conn, reference=ref, from_org="Network", to_org=mutual,
                          from_account=network, amount=amount, fee=NETWORK_FEE, bearer="SHA",
                          on=sent_on, gate=gate, previous=previous, actor=actor)
        except IneligibleError as exc:
            note(f"{ref} not sent: {exc}")
            continue
        if not arrives:
            pending += 1
            continue
        rate = applied or PARITY
        converted = ((Decimal(amount) - INTERMEDIARY) * rate).quantize(Decimal(1), ROUND_HALF_EVEN)
        receive_transfer(conn, ref, account=_bank(mutual, "XOF"),
                         amount=converted - RECEIVER_FEE, on=sent_on + timedelta(days=days),
                         receiver_fee=str(RECEIVER_FEE), intermediary=INTERMEDIARY,
                         intermediary_currency="EUR", actor=actor)
        settled += 1
    return settled, pending
