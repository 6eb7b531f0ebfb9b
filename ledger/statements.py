"""Storing bank statements: idempotent, atomic, continuity-checked.

The readers in ``imports`` turn files into statements; this module stores them
against a ledger bank account.  It reads them through the small protocols
below, so the ledger core does not import the readers (the CLI wires them).

Each line gets two keys:

* ``line_key`` — the bank's transaction id when present, else a fingerprint of
  account, dates, amount, counterparty and reference plus the occurrence
  number among identical lines of the statement;
* ``match_key`` — account, booking date, amount and the occurrence among lines
  of the same date and amount: it does not depend on how a format spells the
  counterparty, so the same period imported from another format is recognised.

A line whose either key is already stored for the account is *already known*.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import methodcaller
from typing import Any, Protocol

from sqlalchemy import Connection, func, insert, select

from ledger.bulk import gc_paused, insert_columns
from ledger.errors import LedgerError, NotFoundError
from ledger.journal import current_actor
from ledger.lines import LineColumns
from ledger.money import Money
from ledger.tables import Account, BankImport, BankStatement
from ledger.tables import StatementLine as LineRow


class _Origin(Protocol):
    file: str
    line: int | None
    location: str | None
    raw: str


class LineLike(Protocol):
    """What storage reads from a statement line (``imports.model.StatementLine``)."""

    account: str
    booking_date: date
    value_date: date | None
    amount: Money
    counterparty_name: str
    counterparty_account: str
    reference: str
    remittance: str
    bank_transaction_id: str
    bank_code: str
    charges: Money | None
    instructed_amount: Money | None
    exchange_rate: Decimal | None
    reversal: bool
    origin: _Origin


class _Balance(Protocol):
    date: date
    amount: Money


class StatementLike(Protocol):
    """What storage reads from a statement (``imports.model.Statement``)."""

    account: str
    currency: str
    lines: Sequence[LineLike] | LineColumns
    statement_id: str
    opening: _Balance | None
    closing: _Balance | None
    period_start: date | None
    period_end: date | None
    format: str


class ImportRefused(LedgerError):
    """An import refused as a whole; ``problems`` lists every ``file:line: message``."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
        self.warnings = warnings or []


@dataclass
class FileOutcome:
    """Counts for one imported file."""

    file: str
    sha256: str
    format: str
    statements: int = 0
    lines: int = 0
    new: int = 0
    already_known: int = 0


@dataclass
class ImportOutcome:
    """Counts for a whole import command, plus warnings kept from the readers."""

    files: list[FileOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def totals(self) -> dict[str, int]:
        """Statements, lines, new and already-known lines over all files."""
        return {
            "statements": sum(f.statements for f in self.files),
            "lines": sum(f.lines for f in self.files),
            "new": sum(f.new for f in self.files),
            "already_known": sum(f.already_known for f in self.files),
        }


def _h(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


_SEP = "\x1f"
_HEX = methodcaller("hexdigest")


def line_keys(account_id: int, lines: LineColumns) -> tuple[list[str], list[str]]:
    """``(line keys, match keys)`` of a statement's lines, in order (see the module docstring).

    The fingerprint hashes account, dates, amount, currency, counterparty and
    reference with the line's occurrence among identical lines; keys already
    stored depend on these exact bytes, so they never change.
    """
    c = lines.columns
    sha = hashlib.sha256
    iso: dict[Any, str] = {None: ""}
    for d in set(c["booking_date"]) | set(c["value_date"]):
        if d is not None:
            iso[d] = d.isoformat()
    # The bank's id when there is one (most camt and MT940 lines): no Python step
    # per line but a list comprehension.
    ids = list(map(str.strip, c["bank_transaction_id"]))
    line_keys_ = ["id:" + txid if txid else "" for txid in ids]
    if "" in ids:  # fingerprints of the others, counted in order
        seen_fp: Counter[tuple[Any, ...]] = Counter()
        for i, (txid, acc, bd, vd, minor, cur, name, cp, ref) in enumerate(zip(
                ids, c["account"], c["booking_date"], c["value_date"],
                c["amount_minor"], c["currency"], c["counterparty_name"],
                c["counterparty_account"], c["reference"], strict=True)):
            if txid:
                continue
            name, ref = name.strip().casefold(), ref.strip()
            ident = (bd, vd, minor, name, cp, ref)
            seen_fp[ident] += 1
            parts = (acc, iso[bd], iso[vd], str(minor), cur, name, cp.replace(" ", "").upper(),
                     ref, str(seen_fp[ident]))
            line_keys_[i] = f"fp:{sha(_SEP.join(parts).encode('utf-8')).hexdigest()[:60]}"
    # Occurrence of each (date, amount) pair so far, then one text per line,
    # hashed by C-level maps (no Python step per hash).
    seen_match: dict[tuple[Any, int], int] = {}
    get = seen_match.get
    occurrence = []
    for mk in zip(c["booking_date"], c["amount_minor"]):
        n = seen_match[mk] = get(mk, 0) + 1
        occurrence.append(n)
    texts = [f"{account_id}\x1f{iso[bd]}\x1f{minor}\x1f{cur}\x1f{n}".encode()
             for bd, minor, cur, n in zip(c["booking_date"], c["amount_minor"], c["currency"],
                                          occurrence, strict=True)]
    match_keys = list(map(_HEX, map(sha, texts)))
    return line_keys_, match_keys


def _norm_account(s: str) -> str:
    return "".join(s.split()).upper()


def _account_number(stated: str) -> bool:
    """True when a statement names its account by a number (IBAN, BBAN, bank/account id)
    that can be compared with the ledger account's IBAN; a name such as Quicken's
    "Checking" cannot."""
    return sum(ch.isdigit() for ch in stated) >= 6


def _account(conn: Connection, code: str) -> tuple[int, str, str | None]:
    row = conn.execute(select(Account.id, Account.currency, Account.iban, Account.type)
                       .where(Account.code == code)).first()
    if row is None:
        raise NotFoundError(f"--account: unknown account {code!r} (see `solidarity account list`)")
    if row[3] != "asset":
        raise LedgerError(f"--account: {code!r} is a {row[3]} account; statements go on a bank "
                          "(asset) account")
    return int(row[0]), row[1], row[2]


def check_statements(
    conn: Connection, account_id: int, currency: str, iban: str | None,
    statements: Sequence[StatementLike], tables: Sequence[LineColumns], allow_gap: bool,
) -> list[str]:
    """Every problem that refuses these statements (``tables``: their lines as columns):
    account, currency, continuity."""
    problems: list[str] = []
    for st, lines in zip(statements, tables, strict=True):
        where = _where(st, lines)
        stated = _norm_account(st.account or "")
        if iban and _account_number(stated) and stated != iban and not stated.endswith(iban[-10:]):
            problems.append(f"{where}: statement is for account {st.account}, but the ledger "
                            f"account's IBAN is {iban}")
        c = lines.columns
        currencies = c["currency"]
        if currencies.count(currency) != len(currencies):
            problems += [f"{file}:{line}: line in {cur} but the account holds {currency}"
                         for cur, file, line in zip(currencies, c["file"], c["line"], strict=True)
                         if cur != currency]
        if _stated_in(st.opening, currency) and _stated_in(st.closing, currency) and not allow_gap:
            assert st.opening is not None and st.closing is not None
            total = sum(m for m, cur in zip(c["amount_minor"], currencies, strict=True)
                        if cur == currency)
            if st.opening.amount.minor + total != st.closing.amount.minor:
                problems.append(
                    f"{where}: opening {st.opening.amount} on {st.opening.date} + lines "
                    f"{Money(total, currency)} != closing {st.closing.amount} on {st.closing.date}"
                    " (use --allow-gap to import anyway)")
    if not allow_gap:
        problems += _continuity(conn, account_id, statements, tables)
    return problems


def _stated_in(balance: _Balance | None, currency: str) -> bool:
    """A stated balance usable for checks: present and in the account's currency
    (a balance in another currency is reported by the reader as a warning)."""
    return balance is not None and balance.amount.currency == currency


def _continuity(conn: Connection, account_id: int, statements: Sequence[StatementLike],
                tables: Sequence[LineColumns]) -> list[str]:
    """A statement's opening must equal the previous statement's closing for the account."""
    stored = [
        (r[0], int(r[1]), r[2])
        for r in conn.execute(select(BankStatement.closing_date, BankStatement.closing_minor,
                                     BankStatement.period_start)
                              .where(BankStatement.account_id == account_id,
                                     BankStatement.closing_date.is_not(None)))
    ]
    chain = stored + [(s.closing.date, s.closing.amount.minor, s.period_start)
                      for s in statements if s.closing is not None
                      and _stated_in(s.closing, s.currency)]
    problems = []
    for st, lines in zip(statements, tables, strict=True):
        if st.opening is None or not _stated_in(st.opening, st.currency):
            continue
        opening_day = st.opening.date
        earlier = [c for c in chain if c[0] is not None and c[0] <= opening_day
                   and (c[2] is None or c[2] < opening_day)]
        if not earlier:
            continue
        prev_date, prev_minor, _ = max(earlier, key=lambda c: c[0])
        if (opening_day - prev_date).days > 1 and prev_date != opening_day:
            # Statements are not consecutive: a gap in coverage, said with dates.
            problems.append(
                f"{_where(st, lines)}: gap: the previous statement closes on {prev_date}, this one opens "
                f"on {opening_day} (use --allow-gap if the account had no movement)")
            continue
        if prev_minor != st.opening.amount.minor:
            cur = st.opening.amount.currency
            problems.append(
                f"{_where(st, lines)}: opening balance {st.opening.amount} on {opening_day} does not equal "
                f"the previous closing balance {Money(prev_minor, cur)} on {prev_date} "
                "(use --allow-gap to import anyway)")
    return problems


def _where(st: StatementLike, lines: LineColumns) -> str:
    if lines.size:
        return str(lines.columns["file"][0])
    origin = getattr(st, "origin", None)
    return origin.file if origin is not None else "statement"


def _existing(conn: Connection, account_id: int, keys: list[str],
              lo: date, hi: date) -> tuple[set[str], set[str]]:
    line_keys_: set[str] = set()
    match_keys: set[str] = set()
    if conn.execute(select(LineRow.id).where(LineRow.account_id == account_id).limit(1)).first() \
            is None:
        return line_keys_, match_keys  # the account's first statement: nothing to compare
    ids = [k for k in keys if k.startswith("id:")]
    for lk, mk in conn.execute(
        select(LineRow.line_key, LineRow.match_key).where(
            LineRow.account_id == account_id, LineRow.booking_date >= lo, LineRow.booking_date <= hi)
    ):
        line_keys_.add(lk)
        match_keys.add(mk)
    # A bank id is unique whatever the date the other export gave it.
    for i in range(0, len(ids), 900):
        line_keys_.update(r[0] for r in conn.execute(
            select(LineRow.line_key).where(LineRow.account_id == account_id,
                                           LineRow.line_key.in_(ids[i : i + 900]))))
    return line_keys_, match_keys


def store_file(
    conn: Connection,
    account_code: str,
    file_name: str,
    sha256: str,
    fmt: str,
    statements: Sequence[StatementLike],
    *,
    profile: str | None = None,
    actor: str | None = None,
    allow_gap: bool = False,
    progress: Callable[[int], None] | None = None,
) -> FileOutcome:
    """Store one file's statements in the caller's transaction (raises ImportRefused)."""
    with gc_paused():  # millions of key strings, no cycles
        return _store_file(conn, account_code, file_name, sha256, fmt, statements,
                           profile=profile, actor=actor, allow_gap=allow_gap, progress=progress)


def _store_file(
    conn: Connection, account_code: str, file_name: str, sha256: str, fmt: str,
    statements: Sequence[StatementLike], *, profile: str | None, actor: str | None,
    allow_gap: bool, progress: Callable[[int], None] | None,
) -> FileOutcome:
    account_id, currency, iban = _account(conn, account_code)
    tables = [LineColumns.of(st.lines) for st in statements]  # once: readers may give objects
    problems = check_statements(conn, account_id, currency, iban, statements, tables, allow_gap)
    if problems:
        raise ImportRefused(problems)
    outcome = FileOutcome(file_name, sha256, fmt, statements=len(statements))
    now = datetime.now(UTC)
    import_id = conn.execute(insert(BankImport).values(
        account_id=account_id, file_name=file_name[:500], sha256=sha256, format=fmt[:40],
        profile=profile, actor=current_actor(actor), imported_at=now,
        statements=0, lines=0, new_lines=0, known_lines=0,
    ).returning(BankImport.id)).scalar_one()
    dates = [d for t in tables for d in (min(t.columns["booking_date"], default=None),
                                         max(t.columns["booking_date"], default=None))
             if d is not None]
    for st, lines in zip(statements, tables, strict=True):
        lkeys, mkeys = line_keys(account_id, lines)
        outcome.lines += len(lkeys)
        st_id = _statement_row(conn, account_id, st, fmt, import_id, lkeys)
        if not lkeys:
            continue
        known_l, known_m = _existing(conn, account_id, lkeys, min(dates), max(dates))
        new = _new_lines(lkeys, mkeys, known_l, known_m)
        outcome.already_known += len(lkeys) - len(new)
        outcome.new += len(new)
        cols = lines.columns
        if len(new) < lines.size:  # some already known: keep the new ones only
            cols = lines.take(new)
            lkeys, mkeys = [lkeys[i] for i in new], [mkeys[i] for i in new]
        if new:
            insert_columns(conn, LineRow.__table__,
                           _line_rows(cols, account_id, st_id, import_id, lkeys, mkeys))
        if progress:
            progress(len(lkeys))
    conn.execute(BankImport.__table__.update().where(BankImport.__table__.c.id == import_id).values(
        statements=outcome.statements, lines=outcome.lines, new_lines=outcome.new,
        known_lines=outcome.already_known))
    return outcome


def _new_lines(lkeys: list[str], mkeys: list[str], known_l: set[str],
               known_m: set[str]) -> list[int]:
    """Indexes of the lines neither of whose keys is already known, nor repeated by an
    earlier line of the statement."""
    if (known_l.isdisjoint(lkeys) and known_m.isdisjoint(mkeys)
            and len(set(lkeys)) == len(lkeys) and len(set(mkeys)) == len(mkeys)):
        return list(range(len(lkeys)))  # the usual case, in a few set operations
    new: list[int] = []
    for i, (lk, mk) in enumerate(zip(lkeys, mkeys, strict=True)):
        if lk in known_l or mk in known_m:
            continue
        known_l.add(lk)
        known_m.add(mk)
        new.append(i)
    return new


def _statement_row(conn: Connection, account_id: int, st: StatementLike, fmt: str,
                   import_id: int, keys: Sequence[str]) -> int:
    op = st.opening if _stated_in(st.opening, st.currency) else None
    cl = st.closing if _stated_in(st.closing, st.currency) else None
    key = _h(st.statement_id or "", st.period_start, st.period_end,
             op.date if op else None, op.amount.minor if op else None,
             cl.date if cl else None, cl.amount.minor if cl else None,
             "" if (st.statement_id or op or cl) else ",".join(keys))
    existing = conn.execute(select(BankStatement.id).where(
        BankStatement.account_id == account_id, BankStatement.statement_key == key)).first()
    if existing:
        return int(existing[0])
    return int(conn.execute(insert(BankStatement).values(
        account_id=account_id, statement_key=key, bank_statement_id=(st.statement_id or None),
        currency=st.currency, period_start=st.period_start, period_end=st.period_end,
        opening_date=op.date if op else None, opening_minor=op.amount.minor if op else None,
        closing_date=cl.date if cl else None, closing_minor=cl.amount.minor if cl else None,
        format=fmt[:40], import_id=import_id,
    ).returning(BankStatement.id)).scalar_one())


#: statement_line column <- line column (texts are capped to the table's column lengths).
_COPIED = (
    ("booking_date", "booking_date"), ("value_date", "value_date"),
    ("amount_minor", "amount_minor"), ("currency", "currency"),
    ("counterparty_name", "counterparty_name"), ("counterparty_account", "counterparty_account"),
    ("reference", "reference"), ("remittance", "remittance"),
    ("bank_transaction_id", "bank_transaction_id"), ("bank_code", "bank_code"),
    ("charges_minor", "charges_minor"), ("charges_currency", "charges_currency"),
    ("instructed_minor", "instructed_minor"), ("instructed_currency", "instructed_currency"),
    ("source_file", "file"), ("source_line", "line"), ("source_location", "location"),
    ("raw", "raw"),
)


def _capped(values: list[Any], size: int | None) -> list[Any]:
    if size is None:
        return values
    try:
        longest = max(map(len, values), default=0)
    except TypeError:  # a None among the texts (one pass more, only then)
        longest = max(map(len, filter(None, values)), default=0)
    if longest <= size:
        return values
    return [v[:size] if v else v for v in values]


def _line_rows(cols: dict[str, list[Any]], account_id: int, st_id: int, import_id: int,
               lkeys: list[str], mkeys: list[str]) -> dict[str, list[Any]]:
    """``statement_line`` columns for these lines (a column with no value at all is left
    to its NULL default: fewer parameters per row)."""
    n = len(lkeys)
    out: dict[str, list[Any]] = {
        "account_id": [account_id] * n, "statement_id": [st_id] * n,
        "import_id": [import_id] * n, "line_key": lkeys, "match_key": mkeys,
    }
    table = LineRow.__table__
    for target, source in _COPIED:
        values, column = cols[source], table.c[target]
        if column.nullable and values.count(None) == n:
            continue
        out[target] = _capped(values, getattr(column.type, "length", None))
    if out.get("source_location") is not None:
        out["source_location"] = [v or None for v in out["source_location"]]
    if None in out["raw"]:
        out["raw"] = [v or "" for v in out["raw"]]
    rates = cols["exchange_rate"]
    if rates.count(None) != n:
        out["exchange_rate"] = [str(r) if r is not None else None for r in rates]
    out["reversal"] = list(map(bool, cols["reversal"]))
    return out


def count_lines(conn: Connection, account_code: str | None = None) -> int:
    """How many statement lines are stored (for one account, or all)."""
    q = select(func.count()).select_from(LineRow)
    if account_code:
        q = q.join(Account, Account.id == LineRow.account_id).where(Account.code == account_code)
    return int(conn.execute(q).scalar_one())


def list_imports(conn: Connection) -> list[dict[str, Any]]:
    """The import log: file, SHA-256, who, when and counts."""
    b = BankImport.__table__.c
    q = (select(b.id, Account.code.label("account"), b.file_name.label("file"), b.sha256,
                b.format, b.actor, b.imported_at, b.lines, b.new_lines.label("new"),
                b.known_lines.label("already_known"))
         .join(Account, Account.id == b.account_id).order_by(b.id))
    return [dict(r) for r in conn.execute(q).mappings()]


def iter_lines(conn: Connection, account_code: str, start: date | None = None,
               end: date | None = None) -> Iterable[Any]:
    """Stored lines of an account, by date (for reconciliation and reports)."""
    q = (select(LineRow).join(Account, Account.id == LineRow.account_id)
         .where(Account.code == account_code).order_by(LineRow.booking_date, LineRow.id))
    if start:
        q = q.where(LineRow.booking_date >= start)
    if end:
        q = q.where(LineRow.booking_date <= end)
    return conn.execute(q).mappings().all()


def previous_import(conn: Connection, account_code: str, sha256: str) -> FileOutcome | None:
    """The counts of an earlier import of the very same bytes into this account, if any.

    Imports are atomic, so a file whose SHA-256 was imported before is known
    line for line: re-importing it need not even be parsed.
    """
    b = BankImport.__table__.c
    row = conn.execute(
        select(b.file_name, b.format, b.statements, b.lines)
        .join(Account, Account.id == b.account_id)
        .where(Account.code == account_code, b.sha256 == sha256)
        .order_by(b.id.desc()).limit(1)).first()
    if row is None:
        return None
    return FileOutcome(row[0], sha256, row[1], statements=int(row[2]), lines=int(row[3]),
                       new=0, already_known=int(row[3]))


def record_repeat(conn: Connection, account_code: str, file_name: str, prev: FileOutcome,
                  actor: str | None = None) -> FileOutcome:
    """Log the re-import of an already imported file (nothing new is stored)."""
    account_id, _cur, _iban = _account(conn, account_code)
    conn.execute(insert(BankImport).values(
        account_id=account_id, file_name=file_name[:500], sha256=prev.sha256,
        format=prev.format[:40], profile=None, actor=current_actor(actor),
        imported_at=datetime.now(UTC), statements=prev.statements, lines=prev.lines,
        new_lines=0, known_lines=prev.lines))
    return FileOutcome(file_name, prev.sha256, prev.format, prev.statements, prev.lines, 0,
                       prev.lines)
