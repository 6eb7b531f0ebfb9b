"""Pledges: what a union promised to give, per member, over a period.

A pledge is ``rate`` per member per ``year`` or per ``month`` (default 1.00 EUR
per member per year) over ``[period_start, period_end]``, for a declared number
of members (default: the organisation's member count declared for the period —
``YYYY`` of the start date, else its ``YYYY-MM``).

Expected contribution (exact, in the pledge currency)::

    per month:  members × rate × months
    per year:   members × rate × months / 12     (rounded half-even to the currency)

where ``months`` counts the calendar months the period touches (2026-01-01 →
2026-12-31 is 12; 2026-07-01 → 2026-12-31 is 6): a yearly pledge over part of a
year is pro rata by whole months, so a full calendar year gives exactly
``members × rate``.

Must not import ``imports``, ``rules`` or ``reports``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Connection, insert, select

from ledger.errors import InvalidInputError, NotFoundError
from ledger.journal import current_actor
from ledger.money import Money, MoneyError
from ledger.orgs import org_id
from ledger.tables import MemberCount, Organisation, Pledge

__all__ = [
    "FREQUENCIES",
    "PledgeView",
    "add_pledge",
    "declared_members",
    "expected_minor",
    "list_pledges",
    "months_in_period",
]

FREQUENCIES = ("year", "month")


@dataclass(frozen=True, slots=True)
class PledgeView:
    """A stored pledge with its expected contribution."""

    id: int
    organisation: str
    organisation_id: int
    period_start: date
    period_end: date
    rate: Money
    frequency: str
    members: int
    months: int
    expected: Money
    note: str | None


def months_in_period(start: date, end: date) -> int:
    """Calendar months the period touches (both ends included)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def expected_minor(members: int, rate_minor: int, frequency: str, months: int) -> int:
    """Expected contribution in minor units (see the module docstring)."""
    total = members * rate_minor * months
    if frequency == "month":
        return total
    return int((Decimal(total) / 12).to_integral_value(ROUND_HALF_EVEN))


def declared_members(conn: Connection, organisation_id: int, start: date) -> int | None:
    """Members declared for the year of ``start``, else for its month, else None."""
    for period in (str(start.year), f"{start.year}-{start.month:02d}"):
        row = conn.execute(
            select(MemberCount.members).where(MemberCount.organisation_id == organisation_id,
                                              MemberCount.period == period)
        ).first()
        if row is not None:
            return int(row[0])
    return None


def add_pledge(
    conn: Connection,
    org: str,
    start: date,
    end: date,
    *,
    rate: Decimal | str = "1.00",
    currency: str = "EUR",
    per: str = "year",
    members: int | None = None,
    note: str | None = None,
    actor: str | None = None,
) -> PledgeView:
    """Record a pledge of ``org``; return it with its expected contribution."""
    oid = org_id(conn, org)
    if end < start:
        raise InvalidInputError(f"the pledge ends ({end}) before it starts ({start})")
    freq = per.strip().lower()
    if freq not in FREQUENCIES:
        raise InvalidInputError(f"--per must be year or month, not {per!r}")
    try:
        rate_m = Money.of(rate, currency)
    except MoneyError as exc:
        raise InvalidInputError(f"pledge rate: {exc}") from None
    if rate_m.minor <= 0:
        raise InvalidInputError(f"the pledge rate must be positive, not {rate_m}")
    if members is None:
        members = declared_members(conn, oid, start)
        if members is None:
            raise InvalidInputError(
                f"{org} has no member count declared for {start.year} or "
                f"{start.year}-{start.month:02d}: pass --members or run "
                f"`solidarity org members {org!r} N --period {start.year}`"
            )
    if members < 0:
        raise InvalidInputError("member count cannot be negative")
    overlap = conn.execute(
        select(Pledge.id).where(Pledge.organisation_id == oid, Pledge.period_start <= end,
                                Pledge.period_end >= start)
    ).first()
    if overlap is not None:
        raise InvalidInputError(
            f"{org} already has pledge #{overlap[0]} overlapping {start} – {end}; "
            "a contribution must belong to one pledge"
        )
    pid = conn.execute(
        insert(Pledge).values(
            organisation_id=oid, period_start=start, period_end=end, rate_minor=rate_m.minor,
            currency=rate_m.currency, frequency=freq, members=members, note=note,
            created_by=current_actor(actor), created_at=datetime.now(UTC),
        ).returning(Pledge.id)
    ).scalar_one()
    return _get(conn, int(pid))


def _view(r: object) -> PledgeView:
    m = r._mapping  # type: ignore[attr-defined]
    months = months_in_period(m["period_start"], m["period_end"])
    rate_minor = int(m["rate_minor"])
    return PledgeView(
        id=int(m["id"]), organisation=m["name"], organisation_id=int(m["organisation_id"]),
        period_start=m["period_start"], period_end=m["period_end"],
        rate=Money(rate_minor, m["currency"]), frequency=m["frequency"],
        members=int(m["members"]), months=months,
        expected=Money(expected_minor(int(m["members"]), rate_minor, m["frequency"], months),
                       m["currency"]),
        note=m["note"],
    )


def _query():  # type: ignore[no-untyped-def]
    return (select(Pledge.id, Pledge.organisation_id, Organisation.name, Pledge.period_start,
                   Pledge.period_end, Pledge.rate_minor, Pledge.currency, Pledge.frequency,
                   Pledge.members, Pledge.note)
            .join(Organisation, Organisation.id == Pledge.organisation_id))


def _get(conn: Connection, pid: int) -> PledgeView:
    row = conn.execute(_query().where(Pledge.id == pid)).first()
    if row is None:
        raise NotFoundError(f"no pledge #{pid}")
    return _view(row)


def list_pledges(
    conn: Connection, org: str | None = None, year: int | None = None
) -> list[PledgeView]:
    """Pledges by organisation and start, optionally one organisation's or those touching a year."""
    q = _query().order_by(Organisation.name, Pledge.period_start)
    if org is not None:
        q = q.where(Pledge.organisation_id == org_id(conn, org))
    if year is not None:
        q = q.where(Pledge.period_start <= date(year, 12, 31),
                    Pledge.period_end >= date(year, 1, 1))
    return [_view(r) for r in conn.execute(q)]
