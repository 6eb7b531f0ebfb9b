"""Organisations, their declared member counts, and the chart of accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, func, insert, select, update

from ledger.domain import (
    AccountType,
    OrgKind,
    check_account_code,
    check_country,
    check_period,
    normalise_iban,
)
from ledger.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from ledger.money import MoneyError, check_currency
from ledger.tables import Account, MemberCount, Organisation


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OrgView:
    """An organisation with its member counts by period."""

    id: int
    name: str
    kind: str
    country: str
    currency: str
    members: dict[str, int]


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as listed: code, type, currency, owner, IBAN, dates, balance."""

    id: int
    code: str
    type: str
    currency: str
    organisation: str | None
    iban: str | None
    opened_on: date
    closed_on: date | None
    balance_minor: int


def _currency(code: str) -> str:
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise InvalidInputError(str(exc)) from None


def add_org(
    conn: Connection,
    name: str,
    kind: str,
    country: str,
    currency: str,
    members: int | None = None,
    period: str | None = None,
) -> int:
    """Create an organisation (and its member count for ``period``); return its id."""
    name = name.strip()
    if not name:
        raise InvalidInputError("organisation name is empty")
    try:
        kind_v = OrgKind(kind.lower()).value
    except ValueError:
        raise InvalidInputError(
            f"unknown kind {kind!r}: use one of {', '.join(k.value for k in OrgKind)}"
        ) from None
    if conn.execute(select(Organisation.id).where(Organisation.name == name)).first():
        raise AlreadyExistsError(f"organisation {name!r} already exists")
    org_id = conn.execute(
        insert(Organisation).values(
            name=name, kind=kind_v, country=check_country(country),
            currency=_currency(currency), created_at=_now(),
        ).returning(Organisation.id)
    ).scalar_one()
    if members is not None:
        set_members(conn, name, period or str(date.today().year), members)
    elif period is not None:
        raise InvalidInputError("--period needs --members")
    return int(org_id)


def org_id(conn: Connection, name: str) -> int:
    """The id of organisation ``name``, or a clear error."""
    row = conn.execute(select(Organisation.id).where(Organisation.name == name.strip())).first()
    if row is None:
        raise NotFoundError(f"unknown organisation {name!r} (see `solidarity org list`)")
    return int(row[0])


def set_members(conn: Connection, org: str, period: str, members: int) -> None:
    """Declare (or correct) an organisation's member count for a period."""
    if members < 0:
        raise InvalidInputError("member count cannot be negative")
    oid, per = org_id(conn, org), check_period(period)
    exists = conn.execute(
        select(MemberCount.id).where(MemberCount.organisation_id == oid, MemberCount.period == per)
    ).first()
    if exists:
        conn.execute(update(MemberCount).where(MemberCount.id == exists[0])
                     .values(members=members, recorded_at=_now()))
    else:
        conn.execute(insert(MemberCount).values(
            organisation_id=oid, period=per, members=members, recorded_at=_now()))


def list_orgs(conn: Connection) -> list[OrgView]:
    """All organisations, by name, with their member counts."""
    counts: dict[int, dict[str, int]] = {}
    for oid, per, n in conn.execute(
        select(MemberCount.organisation_id, MemberCount.period, MemberCount.members)
        .order_by(MemberCount.period)
    ):
        counts.setdefault(oid, {})[per] = int(n)
    rows = conn.execute(select(Organisation).order_by(Organisation.name)).mappings()
    return [
        OrgView(r["id"], r["name"], r["kind"], r["country"], r["currency"], counts.get(r["id"], {}))
        for r in rows
    ]


def get_org(conn: Connection, name: str) -> OrgView:
    """One organisation by name."""
    oid = org_id(conn, name)
    return next(o for o in list_orgs(conn) if o.id == oid)


def add_account(
    conn: Connection,
    code: str,
    type_: str,
    currency: str,
    org: str | None = None,
    iban: str | None = None,
    opened_on: date | None = None,
) -> int:
    """Open an account; return its id.  Parent codes need not exist (they roll up)."""
    code = check_account_code(code)
    try:
        type_v = AccountType(type_.lower()).value
    except ValueError:
        raise InvalidInputError(
            f"unknown account type {type_!r}: use one of {', '.join(t.value for t in AccountType)}"
        ) from None
    if conn.execute(select(Account.id).where(Account.code == code)).first():
        raise AlreadyExistsError(f"account {code!r} already exists")
    oid = org_id(conn, org) if org else None
    acc_id = conn.execute(
        insert(Account).values(
            code=code, type=type_v, currency=_currency(currency), organisation_id=oid,
            iban=normalise_iban(iban) if iban else None,
            opened_on=opened_on or date(1900, 1, 1),
            debits_minor=0, credits_minor=0, balance_minor=0,
        ).returning(Account.id)
    ).scalar_one()
    return int(acc_id)


def ensure_account(conn: Connection, code: str, type_: str, currency: str) -> int:
    """Return the id of ``code``, opening it first if needed (used for trading and loss accounts)."""
    row = conn.execute(select(Account.id, Account.currency).where(Account.code == code)).first()
    if row is not None:
        if row[1] != currency:
            raise InvalidInputError(f"account {code!r} holds {row[1]}, not {currency}")
        return int(row[0])
    return add_account(conn, code, type_, currency)


def close_account(conn: Connection, code: str, on: date) -> None:
    """Close an account: nothing can be posted to it after ``on``."""
    row = conn.execute(select(Account.id, Account.opened_on).where(Account.code == code)).first()
    if row is None:
        raise NotFoundError(f"unknown account {code!r} (see `solidarity account list`)")
    if on < row[1]:
        raise InvalidInputError(f"account {code!r} cannot close before it opened ({row[1]})")
    conn.execute(update(Account).where(Account.id == row[0]).values(closed_on=on))


def list_accounts(conn: Connection, prefix: str | None = None) -> list[AccountView]:
    """Accounts by code, optionally only the subtree under ``prefix``."""
    q = (
        select(Account, Organisation.name.label("org_name"))
        .outerjoin(Organisation, Organisation.id == Account.organisation_id)
        .order_by(Account.code)
    )
    if prefix:
        q = q.where(subtree(prefix))
    return [
        AccountView(r["id"], r["code"], r["type"], r["currency"], r["org_name"], r["iban"],
                    r["opened_on"], r["closed_on"], int(r["balance_minor"]))
        for r in conn.execute(q).mappings()
    ]


def subtree(prefix: str):  # type: ignore[no-untyped-def]
    """SQL condition: the account is ``prefix`` or below it in the hierarchy."""
    p = prefix.rstrip(":")
    escaped = p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (Account.code == p) | Account.code.like(escaped + ":%", escape="\\")


def count_accounts(conn: Connection) -> int:
    """How many accounts exist."""
    return int(conn.execute(select(func.count()).select_from(Account)).scalar_one())
