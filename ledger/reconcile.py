"""Reconciliation of a bank account: stored matches between statement lines and
postings, and the figures of the auditor's reconciliation statement.

Matches are recorded, never recomputed: an automatic run only considers lines
and postings that no active match holds, so re-running never undoes a manual
match and never matches a line twice.  Undoing a match stamps it (the row
stays for the audit trail).  A difference disappears only through
:func:`writeoff`, which posts an explicit adjustment entry.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, exists, func, insert, select, update

from ledger import journal
from ledger.bulk import bulk_insert
from ledger.domain import EntryDraft, PostingDraft
from ledger.errors import InvalidInputError, LedgerError, NotFoundError
from ledger.journal import current_actor
from ledger.matching import MatchConfig, match
from ledger.money import Money
from ledger.tables import (
    Account,
    BankStatement,
    JournalEntry,
    Posting,
    ReconMatch,
    ReconMatchLine,
    ReconMatchPosting,
)
from ledger.tables import StatementLine as LineRow

STAGE_MANUAL = 0
STAGE_RULE = 4
STAGE_WRITEOFF = 5
STAGE_ERROR = 6  # a line flagged as the bank's error, or a posting as the books' error


@dataclass(frozen=True, slots=True)
class AccountRef:
    """The reconciled account: id, code, currency."""

    id: int
    code: str
    currency: str


def account_ref(conn: Connection, code: str) -> AccountRef:
    """The account ``code``, or a clear error."""
    row = conn.execute(select(Account.id, Account.currency).where(Account.code == code)).first()
    if row is None:
        raise NotFoundError(f"--account: unknown account {code!r} (see `solidarity account list`)")
    return AccountRef(int(row[0]), code, row[1])


def _active_lines(account_id: int):  # type: ignore[no-untyped-def]
    return (select(ReconMatchLine.line_id)
            .join(ReconMatch, ReconMatch.id == ReconMatchLine.match_id)
            .where(ReconMatch.account_id == account_id, ReconMatch.undone_at.is_(None)))


def _active_postings(account_id: int):  # type: ignore[no-untyped-def]
    return (select(ReconMatchPosting.posting_id)
            .join(ReconMatch, ReconMatch.id == ReconMatchPosting.match_id)
            .where(ReconMatch.account_id == account_id, ReconMatch.undone_at.is_(None)))


def unmatched_frames(
    conn: Connection, acc: AccountRef, start: date | None = None, end: date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The account's lines and postings no active match holds, as matching frames."""
    lq = select(LineRow.id.label("line_id"), LineRow.booking_date.label("date"),
                LineRow.amount_minor, LineRow.currency, LineRow.bank_transaction_id,
                LineRow.reference, LineRow.counterparty_name.label("counterparty"),
                LineRow.remittance.label("text")).where(
        LineRow.account_id == acc.id, LineRow.id.not_in(_active_lines(acc.id)))
    pq = (select(Posting.id.label("posting_id"), Posting.entry_id,
                 JournalEntry.entry_date.label("date"), Posting.amount_minor, Posting.currency,
                 func.coalesce(Posting.bank_ref, "").label("bank_ref"),
                 func.coalesce(JournalEntry.reference, "").label("reference"),
                 (JournalEntry.description + " " + func.coalesce(Posting.memo, "")).label("text"))
          .join(JournalEntry, JournalEntry.id == Posting.entry_id)
          .where(Posting.account_id == acc.id, Posting.id.not_in(_active_postings(acc.id))))
    if start:
        lq = lq.where(LineRow.booking_date >= start)
        pq = pq.where(JournalEntry.entry_date >= start)
    if end:
        lq = lq.where(LineRow.booking_date <= end)
        pq = pq.where(JournalEntry.entry_date <= end)
    lq = lq.order_by(LineRow.booking_date, LineRow.id)
    pq = pq.order_by(JournalEntry.entry_date, Posting.id)
    lines = pd.DataFrame(conn.execute(lq).mappings().all(),
                         columns=["line_id", "date", "amount_minor", "currency",
                                  "bank_transaction_id", "reference", "counterparty", "text"])
    posts = pd.DataFrame(conn.execute(pq).mappings().all(),
                         columns=["posting_id", "entry_id", "date", "amount_minor", "currency",
                                  "bank_ref", "reference", "text"])
    for df, key in ((lines, "line_id"), (posts, "posting_id")):
        df[key] = df[key].astype("int64")
        df["amount_minor"] = df["amount_minor"].astype("int64")
    return lines, posts


def store_match(
    conn: Connection, acc: AccountRef, line_ids: Sequence[int], posting_ids: Sequence[int],
    stage: int, method: str, actor: str, score: int | Decimal | None = None,
    reason: str | None = None,
) -> int:
    """Record one match (the caller has checked it); return its id."""
    mid = conn.execute(insert(ReconMatch).values(
        account_id=acc.id, stage=stage, method=method,
        score=None if score is None else str(score), reason=reason, created_by=actor,
        created_at=datetime.now(UTC)).returning(ReconMatch.id)).scalar_one()
    if line_ids:
        conn.execute(insert(ReconMatchLine), [{"match_id": mid, "line_id": i} for i in line_ids])
    if posting_ids:
        conn.execute(insert(ReconMatchPosting),
                     [{"match_id": mid, "posting_id": i} for i in posting_ids])
    return int(mid)


@dataclass
class ReconcileOutcome:
    """What an automatic run did."""

    account: str
    matched: dict[int, int] = field(default_factory=dict)  # stage -> matches stored
    created_entries: list[int] = field(default_factory=list)
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    unmatched_lines: int = 0
    unmatched_postings: int = 0


def reconcile(
    conn: Connection, account: str, start: date | None = None, end: date | None = None,
    config: MatchConfig | None = None, posting_rules: Sequence[Any] = (),
    actor: str | None = None,
) -> ReconcileOutcome:
    """Match what is still unmatched on ``account`` (stages 1-3), then apply the
    posting rules to the lines left (stage 4: entry and match in one step)."""
    who = current_actor(actor)
    acc = account_ref(conn, account)
    lines, posts = unmatched_frames(conn, acc, start, end)
    out = ReconcileOutcome(account)
    result = match(lines, posts, config or MatchConfig())
    frame, ml, mp = result.match_frame, result.match_lines, result.match_postings
    if len(frame):
        _bulk_store(conn, acc, frame, ml, mp, who)
        out.matched = result.stage_counts()
    out.ambiguous = [{"lines": list(a.line_ids), "postings": list(a.posting_ids),
                      "stage": a.stage, "reason": a.reason} for a in result.ambiguous]
    left = lines[lines["line_id"].isin(result.unmatched_line_ids)]
    if posting_rules and len(left):
        from ledger.posting_rules import apply_posting_rules

        for prop in apply_posting_rules(list(posting_rules), left):
            day = left.loc[left["line_id"] == prop.line_id, "date"].iloc[0]
            amount = Money(prop.amount_minor, prop.currency)
            eid, _ = journal.post(conn, EntryDraft(
                entry_date=day if isinstance(day, date) else pd.Timestamp(day).date(),
                description=prop.description,
                postings=(PostingDraft(account, amount, memo=f"rule {prop.rule_id}"),
                          PostingDraft(prop.counter_account, -amount)),
                kind="bankrule", idempotency_key=f"recon-rule:{acc.id}:{prop.line_id}"), who)
            pid = conn.execute(select(Posting.id).where(
                Posting.entry_id == eid, Posting.account_id == acc.id)).scalar_one()
            store_match(conn, acc, [prop.line_id], [int(pid)], STAGE_RULE, "rule", who, 100,
                        f"rule {prop.rule_id}")
            out.created_entries.append(eid)
            out.matched[STAGE_RULE] = out.matched.get(STAGE_RULE, 0) + 1
    out.unmatched_lines = len(result.unmatched_line_ids) - len(out.created_entries)
    out.unmatched_postings = len(result.unmatched_posting_ids)
    return out


def _bulk_store(conn: Connection, acc: AccountRef, frame: pd.DataFrame, ml: pd.DataFrame,
                mp: pd.DataFrame, who: str) -> None:
    """Store many matches with set-based inserts (ids allocated in one pass)."""
    now = datetime.now(UTC)
    first = int(conn.execute(select(func.coalesce(func.max(ReconMatch.id), 0))).scalar_one()) + 1
    rows = [{"id": first + int(no), "account_id": acc.id, "stage": int(st), "method": "auto",
             "score": str(int(sc)), "reason": str(rs), "created_by": who, "created_at": now}
            for no, st, sc, rs in zip(frame["match_no"].tolist(), frame["stage"].tolist(),
                                       frame["score"].tolist(), frame["reason"].tolist())]
    bulk_insert(conn, ReconMatch.__table__, rows)
    bulk_insert(conn, ReconMatchLine.__table__, [
        {"match_id": first + int(no), "line_id": int(li)}
        for no, li in zip(ml["match_no"].tolist(), ml["line_id"].tolist())])
    bulk_insert(conn, ReconMatchPosting.__table__, [
        {"match_id": first + int(no), "posting_id": int(pi)}
        for no, pi in zip(mp["match_no"].tolist(), mp["posting_id"].tolist())])
    if conn.dialect.name == "postgresql":
        # Explicit ids bypassed the sequence: move it past them.
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('recon_match', 'id'), "
            "(SELECT MAX(id) FROM recon_match))")


def _check_free(conn: Connection, acc: AccountRef, line_ids: Sequence[int],
                posting_ids: Sequence[int]) -> tuple[int, int]:
    """Refuse ids that are not this account's or already matched; return the two sums."""
    lines: dict[int, int] = dict(conn.execute(select(LineRow.id, LineRow.amount_minor).where(
        LineRow.id.in_(line_ids), LineRow.account_id == acc.id)).all())
    for i in line_ids:
        if i not in lines:
            raise NotFoundError(f"bank line {i} is not a line of {acc.code}")
    posts: dict[int, int] = dict(conn.execute(select(Posting.id, Posting.amount_minor).where(
        Posting.id.in_(posting_ids), Posting.account_id == acc.id)).all())
    for i in posting_ids:
        if i not in posts:
            raise NotFoundError(f"posting {i} is not a posting on {acc.code}")
    taken_l = set(conn.execute(_active_lines(acc.id).where(
        ReconMatchLine.line_id.in_(line_ids))).scalars())
    taken_p = set(conn.execute(_active_postings(acc.id).where(
        ReconMatchPosting.posting_id.in_(posting_ids))).scalars())
    if taken_l or taken_p:
        what = [f"line {i}" for i in sorted(taken_l)] + [f"posting {i}" for i in sorted(taken_p)]
        raise InvalidInputError(f"already matched: {', '.join(what)} (unmatch first)")
    return sum(int(v) for v in lines.values()), sum(int(v) for v in posts.values())


def manual_match(conn: Connection, account: str, line_ids: Sequence[int],
                 posting_ids: Sequence[int], actor: str | None = None,
                 note: str | None = None) -> int:
    """Match lines and postings by hand; their sums must be equal (else: write off)."""
    if not line_ids or not posting_ids:
        raise InvalidInputError("a match needs at least one bank line and one posting")
    acc = account_ref(conn, account)
    lsum, psum = _check_free(conn, acc, line_ids, posting_ids)
    if lsum != psum:
        diff = Money(lsum - psum, acc.currency)
        raise InvalidInputError(
            f"lines total {Money(lsum, acc.currency)} but postings total "
            f"{Money(psum, acc.currency)} (difference {diff}); use `reconcile writeoff`")
    return store_match(conn, acc, line_ids, posting_ids, STAGE_MANUAL, "manual",
                       current_actor(actor), None, note or "manual")


def unmatch(conn: Connection, match_id: int, actor: str | None = None) -> None:
    """Undo a match (it stays recorded, stamped with who undid it and when)."""
    row = conn.execute(select(ReconMatch.undone_at).where(ReconMatch.id == match_id)).first()
    if row is None:
        raise NotFoundError(f"no match #{match_id}")
    if row[0] is not None:
        raise InvalidInputError(f"match #{match_id} was already undone on {row[0]:%Y-%m-%d}")
    conn.execute(update(ReconMatch).where(ReconMatch.id == match_id).values(
        undone_at=datetime.now(UTC), undone_by=current_actor(actor)))


def writeoff(conn: Connection, account: str, line_ids: Sequence[int],
             posting_ids: Sequence[int], counter_account: str, tolerance: Money,
             on: date | None = None, actor: str | None = None,
             description: str | None = None) -> tuple[int, int]:
    """Match lines with postings whose sums differ by at most ``tolerance``, posting
    the difference to ``counter_account``; return (match id, adjustment entry id)."""
    acc = account_ref(conn, account)
    if not line_ids:
        raise InvalidInputError("a write-off needs at least one bank line")
    if tolerance.currency != acc.currency:
        raise InvalidInputError(f"--tolerance must be in {acc.currency}")
    lsum, psum = _check_free(conn, acc, line_ids, posting_ids)
    diff = Money(lsum - psum, acc.currency)
    if diff.minor == 0:
        raise InvalidInputError("no difference to write off; use `reconcile match`")
    if abs(diff) > tolerance:
        raise InvalidInputError(f"difference {diff} is above the write-off tolerance {tolerance}")
    day = on or max(conn.execute(select(LineRow.booking_date).where(LineRow.id.in_(line_ids)))
                    .scalars())
    who = current_actor(actor)
    eid, _ = journal.post(conn, EntryDraft(
        entry_date=day, description=description or f"Reconciliation write-off on {account}",
        postings=(PostingDraft(account, diff, memo="write-off"),
                  PostingDraft(counter_account, -diff)), kind="writeoff"), who)
    pid = conn.execute(select(Posting.id).where(Posting.entry_id == eid,
                                                Posting.account_id == acc.id)).scalar_one()
    mid = store_match(conn, acc, line_ids, [*posting_ids, int(pid)], STAGE_WRITEOFF, "writeoff",
                      who, None, f"write-off {diff}")
    return mid, eid


def flag_error(conn: Connection, account: str, line_ids: Sequence[int] = (),
               posting_ids: Sequence[int] = (), note: str = "",
               actor: str | None = None) -> int:
    """Record bank lines as the bank's errors, or postings as the books' errors.

    The statement then corrects them (± bank errors, ± book errors) instead of
    listing them as unrecorded or in transit; undo with :func:`unmatch`.
    """
    if bool(line_ids) == bool(posting_ids):
        raise InvalidInputError("flag either bank lines (--line) or postings (--posting), not both")
    if not note.strip():
        raise InvalidInputError("say what the error is (--note)")
    acc = account_ref(conn, account)
    _check_free(conn, acc, line_ids, posting_ids)
    method = "bank_error" if line_ids else "book_error"
    return store_match(conn, acc, line_ids, posting_ids, STAGE_ERROR, method,
                       current_actor(actor), None, note.strip()[:500])


# -- the reconciliation statement ----------------------------------------------

def period_bounds(period: str) -> tuple[date, date]:
    """``2026-03`` → (2026-03-01, 2026-03-31); ``2026`` → the whole year."""
    try:
        if len(period) == 4:
            y = int(period)
            return date(y, 1, 1), date(y, 12, 31)
        y, m = (int(x) for x in period.split("-"))
        return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
    except (ValueError, TypeError):
        raise InvalidInputError(f"--period: {period!r} is not YYYY-MM or YYYY") from None


@dataclass(frozen=True, slots=True)
class Item:
    """A reconciling item: a bank line or a posting, with its date and amount."""

    kind: str  # line | posting
    id: int
    on: date
    amount: Money
    text: str
    reference: str


@dataclass
class ReconciliationData:
    """The figures and detail of the reconciliation statement at ``end``."""

    account: str
    currency: str
    start: date
    end: date
    bank_balance: Money
    bank_balance_source: str  # statement | lines
    book_balance: Money
    deposits_in_transit: list[Item]
    outstanding_payments: list[Item]
    bank_credits_unrecorded: list[Item]
    bank_charges_unrecorded: list[Item]
    matched: list[dict[str, Any]]
    writeoffs: list[dict[str, Any]]
    bank_errors: list[Item] = field(default_factory=list)
    book_errors: list[Item] = field(default_factory=list)

    @staticmethod
    def _sum(items: Sequence[Item], cur: str) -> Money:
        return Money(sum(i.amount.minor for i in items), cur)

    @property
    def adjusted_bank(self) -> Money:
        """Bank balance + deposits in transit + outstanding payments (negative) ± bank errors."""
        c = self.currency
        return (self.bank_balance + self._sum(self.deposits_in_transit, c)
                + self._sum(self.outstanding_payments, c) + self._sum(self.bank_errors, c))

    @property
    def adjusted_book(self) -> Money:
        """Book balance + unrecorded bank credits + unrecorded charges (negative) ± book errors."""
        c = self.currency
        return (self.book_balance + self._sum(self.bank_credits_unrecorded, c)
                + self._sum(self.bank_charges_unrecorded, c) + self._sum(self.book_errors, c))

    @property
    def difference(self) -> Money:
        """Adjusted bank − adjusted book: zero when everything is explained."""
        return self.adjusted_bank - self.adjusted_book


def bank_balance(conn: Connection, acc: AccountRef, end: date) -> tuple[Money, str]:
    """The bank's balance at ``end``: the latest stated closing balance on or before
    it plus the lines after that, else the sum of all lines up to ``end``."""
    st = conn.execute(
        select(BankStatement.closing_date, BankStatement.closing_minor)
        .where(BankStatement.account_id == acc.id, BankStatement.closing_date.is_not(None),
               BankStatement.closing_date <= end)
        .order_by(BankStatement.closing_date.desc()).limit(1)).first()
    q = select(func.coalesce(func.sum(LineRow.amount_minor), 0)).where(
        LineRow.account_id == acc.id, LineRow.booking_date <= end)
    if st is None:
        return Money(int(conn.execute(q).scalar_one()), acc.currency), "lines"
    after = int(conn.execute(q.where(LineRow.booking_date > st[0])).scalar_one())
    return Money(int(st[1]) + after, acc.currency), "statement"


def reconciliation_data(conn: Connection, account: str, period: str) -> ReconciliationData:
    """Everything the reconciliation statement of ``account`` for ``period`` shows."""
    start, end = period_bounds(period)
    acc = account_ref(conn, account)
    cur = acc.currency
    bank, source = bank_balance(conn, acc, end)
    book = Money(int(conn.execute(
        select(func.coalesce(func.sum(Posting.amount_minor), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id == acc.id, JournalEntry.entry_date <= end)).scalar_one()), cur)

    # Active matches whose every line and posting is dated on or before ``end``
    # explain themselves; anything else up to ``end`` is a reconciling item.
    m_lines = pd.DataFrame(conn.execute(
        select(ReconMatchLine.match_id, ReconMatchLine.line_id, LineRow.booking_date)
        .join(ReconMatch, ReconMatch.id == ReconMatchLine.match_id)
        .join(LineRow, LineRow.id == ReconMatchLine.line_id)
        .where(ReconMatch.account_id == acc.id, ReconMatch.undone_at.is_(None))).all(),
        columns=["match_id", "line_id", "on"])
    m_posts = pd.DataFrame(conn.execute(
        select(ReconMatchPosting.match_id, ReconMatchPosting.posting_id, JournalEntry.entry_date)
        .join(ReconMatch, ReconMatch.id == ReconMatchPosting.match_id)
        .join(Posting, Posting.id == ReconMatchPosting.posting_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(ReconMatch.account_id == acc.id, ReconMatch.undone_at.is_(None))).all(),
        columns=["match_id", "posting_id", "on"])
    methods: dict[int, str] = dict(conn.execute(select(ReconMatch.id, ReconMatch.method).where(
        ReconMatch.account_id == acc.id, ReconMatch.undone_at.is_(None))).all())
    errors = {mid for mid, m in methods.items() if m in ("bank_error", "book_error")}
    late = set(m_lines.loc[m_lines["on"] > end, "match_id"]) | set(
        m_posts.loc[m_posts["on"] > end, "match_id"])
    settled_lines = set(m_lines.loc[~m_lines["match_id"].isin(late), "line_id"])
    settled_posts = set(m_posts.loc[~m_posts["match_id"].isin(late), "posting_id"])

    lines = conn.execute(select(LineRow.id, LineRow.booking_date, LineRow.amount_minor,
                                LineRow.counterparty_name, LineRow.remittance, LineRow.reference)
                         .where(LineRow.account_id == acc.id, LineRow.booking_date <= end)
                         .order_by(LineRow.booking_date, LineRow.id)).all()
    posts = conn.execute(select(Posting.id, JournalEntry.entry_date, Posting.amount_minor,
                                JournalEntry.description, JournalEntry.reference)
                         .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                         .where(Posting.account_id == acc.id, JournalEntry.entry_date <= end)
                         .order_by(JournalEntry.entry_date, Posting.id)).all()
    error_lines = set(m_lines.loc[m_lines["match_id"].isin(errors), "line_id"])
    error_posts = set(m_posts.loc[m_posts["match_id"].isin(errors), "posting_id"])
    all_lines = [Item("line", i, d, Money(int(a), cur), " ".join(x for x in (n, r) if x), ref)
                 for i, d, a, n, r, ref in lines]
    all_posts = [Item("posting", i, d, Money(int(a), cur), desc, ref or "")
                 for i, d, a, desc, ref in posts]
    open_lines = [it for it in all_lines if it.id not in settled_lines]
    open_posts = [it for it in all_posts if it.id not in settled_posts]
    # A flagged error is corrected on its own side: the amount is taken back out.
    bank_errors = [Item("line", it.id, it.on, -it.amount, it.text, it.reference)
                   for it in all_lines if it.id in error_lines]
    book_errors = [Item("posting", it.id, it.on, -it.amount, it.text, it.reference)
                   for it in all_posts if it.id in error_posts]

    matched = []
    for mid, stage, method, score, reason, who, when in conn.execute(
        select(ReconMatch.id, ReconMatch.stage, ReconMatch.method, ReconMatch.score,
               ReconMatch.reason, ReconMatch.created_by, ReconMatch.created_at)
        .where(ReconMatch.account_id == acc.id, ReconMatch.undone_at.is_(None))
        .order_by(ReconMatch.id)):
        ml = m_lines.loc[m_lines["match_id"] == mid]
        mp = m_posts.loc[m_posts["match_id"] == mid]
        if mid in errors or mid in late or not len(ml) or ml["on"].max() < start:
            continue
        matched.append({"match": mid, "stage": stage, "method": method, "score": score,
                        "reason": reason, "by": who, "at": when,
                        "lines": ml["line_id"].tolist(), "postings": mp["posting_id"].tolist(),
                        "date": ml["on"].max()})
    writeoffs = [m for m in matched if m["method"] == "writeoff"]
    return ReconciliationData(
        account=account, currency=cur, start=start, end=end, bank_balance=bank,
        bank_balance_source=source, book_balance=book,
        deposits_in_transit=[p for p in open_posts if p.amount.minor > 0],
        outstanding_payments=[p for p in open_posts if p.amount.minor < 0],
        bank_credits_unrecorded=[ln for ln in open_lines if ln.amount.minor > 0],
        bank_charges_unrecorded=[ln for ln in open_lines if ln.amount.minor < 0],
        matched=matched, writeoffs=writeoffs, bank_errors=bank_errors, book_errors=book_errors,
    )


def line_amounts(conn: Connection, ids: Sequence[int]) -> dict[int, Money]:
    """Amounts of statement lines by id (for reports)."""
    return {int(i): Money(int(a), c) for i, a, c in conn.execute(
        select(LineRow.id, LineRow.amount_minor, LineRow.currency).where(LineRow.id.in_(ids)))}


def has_matches(conn: Connection, account: str) -> bool:
    """True when the account has at least one active match."""
    acc = account_ref(conn, account)
    return bool(conn.execute(select(exists().where(and_(
        ReconMatch.account_id == acc.id, ReconMatch.undone_at.is_(None))))).scalar())


__all__ = [
    "LedgerError", "ReconcileOutcome", "ReconciliationData", "manual_match", "reconcile",
    "reconciliation_data", "unmatch", "writeoff",
]
