"""The journal: posting, reversing, closing periods, balances and verification.

Every write goes through :func:`post_many` (a single post is a batch of one), so
the checks, the hash chain and the maintained balances have one implementation.
Writers serialise on the ``chain_head`` row (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), which keeps the chain one line even
with several treasurers posting at once.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from ledger.bulk import insert_tuples
from ledger.db import is_postgres
from ledger.domain import EntryDraft, PostedEntry, PostingDraft
from ledger.errors import (
    AccountError,
    ClosedPeriodError,
    IdempotencyConflictError,
    InvalidInputError,
    LedgerError,
    NotFoundError,
    UnbalancedEntryError,
)
from ledger.money import Money
from ledger.orgs import subtree
from ledger.tables import Account, ChainHead, ClosedPeriod, JournalEntry, Posting

GENESIS_HASH = "0" * 64


def current_actor(actor: str | None = None) -> str:
    """Who is writing: ``actor`` if given, else the operating-system user."""
    if actor:
        return actor[:100]
    try:
        return getpass.getuser()[:100]
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"


# -- hashing -----------------------------------------------------------------

_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def content_hash(draft: EntryDraft) -> str:
    """SHA-256 of an entry's canonical content (what it says, not where it sits).

    The canonical form is a JSON array in a fixed field order: date,
    description, reference, kind, reversed entry, rate, then the postings
    as [account, minor units, currency, memo, bank reference].
    """
    doc = [
        draft.entry_date.isoformat(),
        draft.description,
        draft.reference,
        draft.kind,
        draft.reverses_id,
        None if draft.rate is None else str(draft.rate),
        [[p.account, p.amount.minor, p.amount.currency, p.memo, p.bank_ref]
         for p in draft.postings],
    ]
    return hashlib.sha256(_CANONICAL.encode(doc).encode("utf-8")).hexdigest()


def chain_hash(
    entry_id: int, prev_hash: str, c_hash: str, idempotency_key: str | None, created_by: str
) -> str:
    """The chained hash: position, previous hash, content hash and who posted it."""
    raw = "|".join([str(entry_id), prev_hash, c_hash, idempotency_key or "", created_by])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# -- validation --------------------------------------------------------------

def check_draft(draft: EntryDraft) -> None:
    """Refuse an entry with fewer than two postings or not balanced in every currency."""
    if not draft.description or not draft.description.strip():
        raise InvalidInputError("an entry needs a description")
    if len(draft.postings) < 2:
        raise UnbalancedEntryError("an entry needs at least two postings")
    for p in draft.postings:
        if not isinstance(p.amount, Money):
            raise InvalidInputError(f"posting to {p.account}: amount must be Money")
    off = {cur: total for cur, total in draft.totals().items() if total != 0}
    if off:
        detail = ", ".join(
            f"{Money(t, c).to_decimal_string()} {c}" for c, t in sorted(off.items())
        )
        raise UnbalancedEntryError(f"postings do not sum to zero: off by {detail}")


@dataclass(frozen=True, slots=True)
class _Acc:
    id: int
    currency: str
    opened_on: date
    closed_on: date | None


def _lock_chain(conn: Connection) -> tuple[int, str]:
    q = select(ChainHead.last_id, ChainHead.last_hash).where(ChainHead.id == 1)
    if is_postgres(conn):
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise LedgerError("this database has no ledger yet: run `solidarity init` first")
    return int(row[0]), str(row[1])


def closed_through(conn: Connection) -> date | None:
    """The last closed date, or None when no period is closed."""
    return conn.execute(select(func.max(ClosedPeriod.closed_through))).scalar()


def _accounts(conn: Connection, codes: Iterable[str]) -> dict[str, _Acc]:
    wanted = sorted(set(codes))
    out: dict[str, _Acc] = {}
    for i in range(0, len(wanted), 900):
        chunk = wanted[i : i + 900]
        for r in conn.execute(
            select(Account.code, Account.id, Account.currency, Account.opened_on, Account.closed_on)
            .where(Account.code.in_(chunk))
        ):
            out[r[0]] = _Acc(int(r[1]), r[2], r[3], r[4])
    return out


def _existing_keys(conn: Connection, keys: list[str]) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for i in range(0, len(keys), 900):
        for k, eid, ch in conn.execute(
            select(JournalEntry.idempotency_key, JournalEntry.id, JournalEntry.content_hash)
            .where(JournalEntry.idempotency_key.in_(keys[i : i + 900]))
        ):
            out[k] = (int(eid), ch)
    return out


@dataclass(frozen=True, slots=True)
class PostResult:
    """What a batch post did: the id of each draft's entry, and which were new."""

    ids: tuple[int, ...]
    created: tuple[bool, ...]

    @property
    def new_count(self) -> int:
        """Entries actually written (not idempotent repeats)."""
        return sum(self.created)


def post_many(
    conn: Connection, drafts: Sequence[EntryDraft], actor: str | None = None
) -> PostResult:
    """Post entries in the caller's transaction with set-based inserts.

    Checks every draft first (balance, accounts, currencies, dates, closed
    period, idempotency) so that nothing is written if any draft is refused.
    """
    who = current_actor(actor)
    for d in drafts:
        check_draft(d)
    last_id, last_hash = _lock_chain(conn)
    closed = closed_through(conn)
    accounts = _accounts(conn, (p.account for d in drafts for p in d.postings))

    keys = [d.idempotency_key for d in drafts if d.idempotency_key]
    known = _existing_keys(conn, keys) if keys else {}
    seen_in_batch: dict[str, tuple[int, str]] = {}

    ids: list[int] = []
    created: list[bool] = []
    entry_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    deltas: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    now = datetime.now(UTC)

    for d in drafts:
        c_hash = content_hash(d)
        if d.idempotency_key:
            prior = known.get(d.idempotency_key) or seen_in_batch.get(d.idempotency_key)
            if prior is not None:
                if prior[1] != c_hash:
                    raise IdempotencyConflictError(
                        f"idempotency key {d.idempotency_key!r} was already used for entry "
                        f"#{prior[0]} with different content"
                    )
                ids.append(prior[0])
                created.append(False)
                continue
        if closed is not None and d.entry_date <= closed:
            raise ClosedPeriodError(
                f"{d.entry_date} is in a closed period (closed through {closed}); "
                "post into an open period"
            )
        for p in d.postings:
            acc = accounts.get(p.account)
            if acc is None:
                raise AccountError(f"unknown account {p.account!r} (see `solidarity account list`)")
            if acc.currency != p.amount.currency:
                raise AccountError(
                    f"account {p.account!r} holds {acc.currency}, not {p.amount.currency}"
                )
            if d.entry_date < acc.opened_on:
                raise AccountError(f"account {p.account!r} opens on {acc.opened_on}")
            if acc.closed_on is not None and d.entry_date > acc.closed_on:
                raise AccountError(f"account {p.account!r} was closed on {acc.closed_on}")
        last_id += 1
        h = chain_hash(last_id, last_hash, c_hash, d.idempotency_key, who)
        entry_rows.append((
            last_id, d.entry_date, d.description, d.reference, d.kind, d.idempotency_key,
            d.reverses_id, None if d.rate is None else str(d.rate), now, who, c_hash,
            last_hash, h,
        ))
        for n, p in enumerate(d.postings, start=1):
            aid = accounts[p.account].id
            minor = p.amount.minor
            posting_rows.append((last_id, n, aid, minor, p.amount.currency, p.memo, p.bank_ref))
            slot = deltas[aid]
            if minor >= 0:
                slot[0] += minor
            else:
                slot[1] -= minor
        if d.idempotency_key:
            seen_in_batch[d.idempotency_key] = (last_id, c_hash)
        last_hash = h
        ids.append(last_id)
        created.append(True)

    if entry_rows:
        insert_tuples(conn, JournalEntry.__table__, _ENTRY_COLUMNS, entry_rows)
        insert_tuples(conn, Posting.__table__, _POSTING_COLUMNS, posting_rows)
        _apply_deltas(conn, deltas)
        conn.execute(update(ChainHead).where(ChainHead.id == 1)
                     .values(last_id=last_id, last_hash=last_hash))
    return PostResult(tuple(ids), tuple(created))


_ENTRY_COLUMNS = ("id", "entry_date", "description", "reference", "kind", "idempotency_key",
                  "reverses_id", "rate", "created_at", "created_by", "content_hash",
                  "prev_hash", "hash")
_POSTING_COLUMNS = ("entry_id", "line_no", "account_id", "amount_minor", "currency", "memo",
                    "bank_ref")


def _apply_deltas(conn: Connection, deltas: dict[int, list[int]]) -> None:
    acc = Account.__table__
    stmt = (
        acc.update()
        .where(acc.c.id == bindparam("aid"))
        .values(
            debits_minor=acc.c.debits_minor + bindparam("dr"),
            credits_minor=acc.c.credits_minor + bindparam("cr"),
            balance_minor=acc.c.balance_minor + bindparam("dr") - bindparam("cr"),
        )
    )
    # Sorted ids: concurrent writers touch rows in the same order (no deadlock).
    params = [{"aid": k, "dr": v[0], "cr": v[1]} for k, v in sorted(deltas.items())]
    conn.execute(stmt, params)


def post(conn: Connection, draft: EntryDraft, actor: str | None = None) -> tuple[int, bool]:
    """Post one entry; return ``(entry id, created)`` (``created`` is False for a repeat)."""
    res = post_many(conn, [draft], actor)
    return res.ids[0], res.created[0]


# -- reading -----------------------------------------------------------------

def get_entry(conn: Connection, entry_id: int) -> PostedEntry:
    """One posted entry with its postings."""
    row = conn.execute(select(JournalEntry).where(JournalEntry.id == entry_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no journal entry #{entry_id}")
    legs = conn.execute(
        select(Account.code, Posting.amount_minor, Posting.currency, Posting.memo, Posting.bank_ref)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id).order_by(Posting.line_no)
    ).all()
    return PostedEntry(
        id=row["id"], entry_date=row["entry_date"], description=row["description"],
        reference=row["reference"], kind=row["kind"], reverses_id=row["reverses_id"],
        rate=Decimal(row["rate"]) if row["rate"] is not None else None, hash=row["hash"],
        created_by=row["created_by"],
        postings=tuple(PostingDraft(c, Money(int(a), cur), m, b) for c, a, cur, m, b in legs),
    )


def reverse(
    conn: Connection,
    entry_id: int,
    on: date | None = None,
    actor: str | None = None,
    description: str | None = None,
) -> int:
    """Post the reversal of entry ``entry_id`` (every posting negated); return its id."""
    original = get_entry(conn, entry_id)
    already = conn.execute(
        select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id)
    ).first()
    if already:
        raise InvalidInputError(f"entry #{entry_id} was already reversed by entry #{already[0]}")
    when = on or date.today()
    if when < original.entry_date:
        raise InvalidInputError(
            f"a reversal cannot be dated before the entry it reverses ({original.entry_date})"
        )
    draft = EntryDraft(
        entry_date=when,
        description=description or f"Reversal of #{entry_id}: {original.description}",
        postings=tuple(PostingDraft(p.account, -p.amount, p.memo, p.bank_ref)
                       for p in original.postings),
        reference=original.reference,
        kind="reversal",
        rate=original.rate,
        reverses_id=entry_id,
    )
    return post(conn, draft, actor)[0]


def close_period(conn: Connection, through: date, actor: str | None = None) -> None:
    """Close every date up to ``through``: nothing can be posted or reversed there again."""
    current = closed_through(conn)
    if current is not None and through <= current:
        raise InvalidInputError(f"periods are already closed through {current}")
    _lock_chain(conn)
    conn.execute(insert(ClosedPeriod).values(
        closed_through=through, closed_at=datetime.now(UTC), closed_by=current_actor(actor)
    ))


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """Balance of one account (debit positive) in its currency."""

    code: str
    type: str
    currency: str
    balance: Money


def balances(
    conn: Connection, at: date | None = None, prefix: str | None = None,
    include_zero: bool = False,
) -> list[BalanceRow]:
    """Balances per account.  Without ``at`` they come from the maintained columns
    (no journal scan); with ``at`` they are summed from postings up to that date."""
    if at is None:
        q = select(Account.code, Account.type, Account.currency, Account.balance_minor)
    else:
        sums = (
            select(Posting.account_id, func.sum(Posting.amount_minor).label("bal"))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.entry_date <= at)
            .group_by(Posting.account_id)
            .subquery()
        )
        q = select(Account.code, Account.type, Account.currency,
                   func.coalesce(sums.c.bal, 0)).outerjoin(sums, sums.c.account_id == Account.id)
    if prefix:
        q = q.where(subtree(prefix))
    q = q.order_by(Account.code)
    out = [BalanceRow(c, t, cur, Money(int(b), cur)) for c, t, cur, b in conn.execute(q)]
    return out if include_zero else [r for r in out if r.balance.minor != 0]


def rollup(rows: Iterable[BalanceRow]) -> dict[str, Money]:
    """Totals per currency of a set of balance rows (a subtree's roll-up)."""
    out: dict[str, Money] = {}
    for r in rows:
        out[r.currency] = out.get(r.currency, Money.zero(r.currency)) + r.balance
    return dict(sorted(out.items()))


def register(
    conn: Connection, start: date | None = None, end: date | None = None,
    account: str | None = None, limit: int | None = None,
) -> list[PostedEntry]:
    """Entries in chain order, optionally within dates or touching an account subtree."""
    q = select(JournalEntry).order_by(JournalEntry.id)
    if start:
        q = q.where(JournalEntry.entry_date >= start)
    if end:
        q = q.where(JournalEntry.entry_date <= end)
    if account:
        touching = (select(Posting.entry_id).join(Account, Account.id == Posting.account_id)
                    .where(subtree(account)))
        q = q.where(JournalEntry.id.in_(touching))
    if limit:
        q = q.limit(limit)
    entries = conn.execute(q).mappings().all()
    if not entries:
        return []
    ids = [e["id"] for e in entries]
    legs: dict[int, list[PostingDraft]] = defaultdict(list)
    for i in range(0, len(ids), 900):
        for eid, code, amt, cur, memo, bref in conn.execute(
            select(Posting.entry_id, Account.code, Posting.amount_minor, Posting.currency,
                   Posting.memo, Posting.bank_ref)
            .join(Account, Account.id == Posting.account_id)
            .where(Posting.entry_id.in_(ids[i : i + 900]))
            .order_by(Posting.entry_id, Posting.line_no)
        ):
            legs[eid].append(PostingDraft(code, Money(int(amt), cur), memo, bref))
    return [
        PostedEntry(
            id=e["id"], entry_date=e["entry_date"], description=e["description"],
            reference=e["reference"], kind=e["kind"], reverses_id=e["reverses_id"],
            rate=Decimal(e["rate"]) if e["rate"] is not None else None, hash=e["hash"],
            created_by=e["created_by"], postings=tuple(legs[e["id"]]))
        for e in entries
    ]


# -- verification ------------------------------------------------------------

@dataclass(slots=True)
class VerifyReport:
    """What ``verify`` found: counts, and every problem (the first one first)."""

    entries: int = 0
    postings: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_entry: int | None = None

    @property
    def ok(self) -> bool:
        """True when the chain, the sums and the maintained balances all hold."""
        return not self.problems

    def fail(self, entry_id: int | None, message: str) -> None:
        """Record a problem (and the first entry found wrong)."""
        if entry_id is not None and self.first_bad_entry is None:
            self.first_bad_entry = entry_id
        self.problems.append(message)


def verify(conn: Connection, max_problems: int = 50) -> VerifyReport:
    """Recompute the hash chain, every entry's per-currency zero sum, and the balances.

    Finds rows altered, deleted or inserted behind the software's back: an
    edited row no longer matches its hash, a deleted one leaves a gap, an
    inserted one breaks the chain after it.
    """
    rep = VerifyReport()
    codes = {int(i): (c, cur) for i, c, cur in conn.execute(
        select(Account.id, Account.code, Account.currency))}
    legs_by_entry: dict[int, list[tuple[int, int, str, str | None, str | None]]] = defaultdict(list)
    summed: dict[int, int] = defaultdict(int)
    for eid, aid, amt, cur, memo, bref in conn.execute(
        select(Posting.entry_id, Posting.account_id, Posting.amount_minor, Posting.currency,
               Posting.memo, Posting.bank_ref).order_by(Posting.entry_id, Posting.line_no)
    ):
        legs_by_entry[int(eid)].append((int(aid), int(amt), cur, memo, bref))
        summed[int(aid)] += int(amt)
        rep.postings += 1

    expected_id, prev = 0, GENESIS_HASH
    seen_entries: set[int] = set()
    for e in conn.execute(select(JournalEntry).order_by(JournalEntry.id)).mappings():
        if len(rep.problems) >= max_problems:
            break
        eid = int(e["id"])
        seen_entries.add(eid)
        rep.entries += 1
        expected_id += 1
        if eid != expected_id:
            rep.fail(expected_id, f"entry #{expected_id}: missing (deleted?) — chain jumps to #{eid}")
            expected_id = eid
        legs = legs_by_entry.get(eid, [])
        try:
            draft = EntryDraft(
                entry_date=e["entry_date"], description=e["description"], reference=e["reference"],
                kind=e["kind"], reverses_id=e["reverses_id"],
                rate=Decimal(e["rate"]) if e["rate"] is not None else None,
                idempotency_key=e["idempotency_key"],
                postings=tuple(PostingDraft(codes.get(a, (f"<account {a}>", c))[0], Money(m, c), memo, b)
                               for a, m, c, memo, b in legs),
            )
            c_hash = content_hash(draft)
        except Exception as exc:  # noqa: BLE001 - any unreadable row is a finding
            rep.fail(eid, f"entry #{eid}: unreadable ({exc})")
            prev = e["hash"]
            continue
        if e["prev_hash"] != prev:
            rep.fail(eid, f"entry #{eid}: previous-hash link broken (row inserted or chain rewritten)")
        if c_hash != e["content_hash"]:
            rep.fail(eid, f"entry #{eid}: content does not match its hash (altered row)")
        if chain_hash(eid, e["prev_hash"], e["content_hash"], e["idempotency_key"],
                      e["created_by"]) != e["hash"]:
            rep.fail(eid, f"entry #{eid}: chain hash does not match (altered row)")
        if len(legs) < 2:
            rep.fail(eid, f"entry #{eid}: fewer than two postings")
        off = {cur: t for cur, t in draft.totals().items() if t}
        if off:
            rep.fail(eid, f"entry #{eid}: postings do not sum to zero ({off})")
        for a, _m, c, _memo, _b in legs:
            if a in codes and codes[a][1] != c:
                rep.fail(eid, f"entry #{eid}: posting in {c} on an account holding {codes[a][1]}")
        prev = e["hash"]

    orphans = sorted(set(legs_by_entry) - seen_entries)
    if orphans:
        rep.fail(orphans[0], f"postings of entry #{orphans[0]} exist without their entry")
    head = conn.execute(select(ChainHead.last_id, ChainHead.last_hash)).first()
    if head is not None and (int(head[0]) != expected_id or head[1] != prev):
        rep.fail(None, f"chain head says #{head[0]} but the journal ends at #{expected_id} "
                       "(entries deleted or inserted at the end)")
    for aid, code, stored in conn.execute(select(Account.id, Account.code, Account.balance_minor)):
        if int(stored) != summed.get(int(aid), 0):
            rep.fail(None, f"account {code}: maintained balance {stored} != sum of postings "
                           f"{summed.get(int(aid), 0)} (minor units)")
    return rep
