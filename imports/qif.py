"""QIF (Quicken Interchange Format) reader: bank, cash, credit-card and asset/liability records.

A QIF file is a series of sections, each opened by a header line
(``!Type:Bank``, ``!Type:CCard``, ``!Type:Cash``, ``!Type:Oth A``,
``!Type:Oth L``, ``!Account``, ...), holding records of one-letter fields,
one field a line, each record ended by ``^``.  Read per transaction record:

* ``D`` date → ``booking_date``; ``T`` amount (``U``, the same amount in newer
  Quicken, is used only when ``T`` is absent); ``P`` payee →
  ``counterparty_name``; ``M`` memo → ``remittance`` (repeated ``M`` lines are
  joined); ``N`` check or reference number → ``reference``;
* ignored on purpose: ``C`` cleared status, ``A`` address lines, ``F`` and
  ``X`` extensions, and the split lines ``S``/``E``/``$``/``%`` (the record's
  total ``T`` is the bank movement);
* ``L`` category is ignored too: it is the Quicken user's own bookkeeping
  (``Food:Groceries``, ``[Savings]``), not a code from the bank, so it is not
  put in ``bank_code``;
* an ``!Account`` block gives the account name (its ``N`` field) of the
  sections that follow: it becomes the statement's and the lines' ``account``.
  Lines are grouped into one statement per account name.

Investment sections (``!Type:Invst``) are skipped with a warning; lists
(``!Type:Cat``, ``Class``, ``Memorized``, ``Security``, ``Prices``) are
skipped silently; an unknown ``!Type:`` is skipped with a warning.

QIF has no standard date format; choices, per file:

* ``M/D/YY``, ``M/D/YYYY``, ``M/D'YY`` (Quicken), ``D/M/YYYY`` (European
  exports; ``.`` and ``-`` separate too) and ``YYYY-MM-DD`` are read; spaces
  inside (`` 8/ 2'13``) are ignored;
* day/month order is decided for the whole file: a first number above 12
  means day first, a second number above 12 means month first; when no date
  tells, month first (Quicken's US order) with one warning;
* two-digit years: after an apostrophe (``8/12'13``) the year is 20YY; after
  ``/`` (or ``.``, ``-``) 00–69 is 20YY and 70–99 is 19YY.

Amounts: ``-1,000.00``, ``75.46``, ``1.000,00`` and ``1 000,00`` are read
exactly; a comma followed by one or two final digits is a decimal comma, and a
lone dot followed by three digits is a thousands separator in a file whose
other amounts use a decimal comma.  More decimals than the currency has are
refused.

QIF states no currency: ``currency_hint`` (the import's ``--currency`` or the
ledger account's currency) is required.  No balances and no bank transaction
ids are stated: storage fingerprints the lines.  Bytes are read as UTF-8
(BOM tolerated), else Windows-1252, else Latin-1, with a warning.

Pure: no database, no matching.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from imports.limits import gc_paused, read_limited
from imports.model import (
    Origin,
    ReadResult,
    Severity,
    Statement,
    StatementLine,
)
from imports.text import decode_text
from ledger.money import Money, MoneyError, PrecisionError, check_currency, currency_digits

__all__ = ["NO_CURRENCY_MESSAGE", "read", "read_bytes", "sniff"]

NO_CURRENCY_MESSAGE = "QIF files carry no currency; pass --currency CODE"

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SNIFF_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*!(?:type:|account|option:|clear:)", re.IGNORECASE)
#: Section types read as bank movements (``Oth S`` is the German asset account).
_CASH_TYPES = {"bank", "cash", "ccard", "oth a", "oth l", "oth s"}
_INVESTMENT_TYPES = {"invst", "port"}
#: Lists, not transactions: skipped without a word.
_LIST_TYPES = {"cat", "class", "memorized", "security", "prices", "payee", "budget"}
#: Field letters of a non-investment record that are read or knowingly ignored.
_CASH_FIELDS = frozenset("DTUPMNLCASE$%FX")
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_NUM_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(['/.-])(\d{2}|\d{4})$")
_AMOUNT_RE = re.compile(r"^[+-]?[\d.,]*\d[\d.,]*$")
_DECIMAL_COMMA = re.compile(r",\d{1,2}$")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
#: Amounts of 10^15 or more major units are refused before any arithmetic.
_MAX_INTEGER_DIGITS = 15


def sniff(head: bytes) -> bool:
    """True if the first bytes look like QIF (a ``!Type:``, ``!Account`` or ``!Option:`` header)."""
    return bool(_SNIFF_RE.match(head))


def read(
    path: str | Path, *, currency_hint: str | None = None, encoding: str | None = None
) -> ReadResult:
    """Read a QIF file into statements (one per account) and diagnostics.

    ``currency_hint`` is the currency of every amount (QIF states none);
    without it the file is refused with one error.  ``encoding`` forces a
    codec instead of UTF-8 → Windows-1252 → Latin-1.  Never raises on bad
    content; :class:`ImportFileError` only when the file is refused as a whole
    (too large, unreadable, undecodable with the forced ``encoding``).
    """
    data = read_limited(path)
    return read_bytes(data, str(path), currency_hint=currency_hint, encoding=encoding)


def read_bytes(
    data: bytes, file: str, *, currency_hint: str | None = None, encoding: str | None = None
) -> ReadResult:
    """Like :func:`read`, for bytes already in memory (``file`` names them in diagnostics)."""
    result = ReadResult()
    text = decode_text(data, file, encoding, result)
    with gc_paused():
        _Parser(file, result, currency_hint).run(text)
    return result


# --------------------------------------------------------------------------- structure


@dataclass
class _Record:
    number: int  # 1-based, over every record of the file
    line: int  # line of the first field
    fields: list[tuple[int, str, str]] = field(default_factory=list)  # (line, letter, value)
    raw: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"record {self.number}"


@dataclass
class _Section:
    kind: str  # "cash", "account", "investment", "list", "other"
    header: str  # the header as written, e.g. "!Type:Bank"
    line: int
    account: str = ""
    records: list[_Record] = field(default_factory=list)


@dataclass
class _Txn:
    record: _Record
    section: _Section
    date_text: str = ""
    date_line: int = 0
    amount_text: str = ""
    amount_line: int = 0
    payee: str = ""
    memo: list[str] = field(default_factory=list)
    number: str = ""
    category: str = ""
    other_amount: tuple[int, str] | None = None  # the U line beside a T line


class _Parser:
    def __init__(self, file: str, result: ReadResult, currency_hint: str | None) -> None:
        self.file = file
        self.result = result
        self.hint = (currency_hint or "").strip()
        self.currency = ""
        self.decimal_comma = False
        self.day_first = False

    def diag(self, line: int | None, message: str, location: str | None = None) -> None:
        self.result.report(self.file, line, message, Severity.ERROR, location)

    def warn(self, line: int | None, message: str, location: str | None = None) -> None:
        self.result.report(self.file, line, message, Severity.WARNING, location)

    # -- pass 1: lines → sections of records ---------------------------------------------
    def sections(self, text: str) -> list[_Section] | None:
        sections: list[_Section] = []
        section: _Section | None = None
        record: _Record | None = None
        count = 0
        account = ""
        seen_header = False

        def close(rec: _Record | None, sec: _Section | None) -> None:
            nonlocal account
            if rec is None or sec is None:
                return
            sec.records.append(rec)
            if sec.kind == "account":
                name = next((v for _, k, v in rec.fields if k == "N"), "")
                if name:
                    account = name

        for no, raw in enumerate(_LINE_BREAK.split(text), start=1):
            line = self.clean(raw, no)
            stripped = line.strip()
            if not stripped:
                continue
            if not seen_header:
                if not stripped.startswith("!"):
                    self.diag(
                        no, "not a QIF file: no !Type: or !Account header before the first record"
                    )
                    return None
                seen_header = True
            if stripped.startswith("!"):
                if record is not None:
                    self.warn(
                        record.line,
                        f"{record.location} has no closing ^ before the header at line {no}; "
                        "read as ended there",
                        record.location,
                    )
                    close(record, section)
                    record = None
                new = self.header(stripped, no, account)
                if new is not None:
                    section = new
                    sections.append(section)
                continue
            if stripped.startswith("^"):
                close(record, section)
                record = None
                continue
            if record is None:
                count += 1
                record = _Record(count, no)
            record.fields.append((no, stripped[0], stripped[1:].strip()))
            record.raw.append(line)
        if record is not None:
            if section is not None and section.kind in ("cash", "investment"):
                self.warn(
                    record.line,
                    f"the last record ({record.location}) has no closing ^; read as a record",
                    record.location,
                )
            close(record, section)
        return sections

    def clean(self, raw: str, no: int) -> str:
        line = raw.replace("\t", " ") if "\t" in raw else raw
        if _CONTROL.search(line):
            codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(line)}))
            self.warn(no, f"control character {codes} replaced by a space")
            line = _CONTROL.sub(" ", line)
        return line.rstrip()

    def header(self, text: str, no: int, account: str) -> _Section | None:
        """The section a header line opens, or None for option lines."""
        lowered = text.lower()
        if lowered.startswith(("!option:", "!clear:")):
            return None
        if lowered.startswith("!account"):
            return _Section("account", text, no)
        if lowered.startswith("!type:"):
            kind = " ".join(lowered[6:].split())
            if kind in _CASH_TYPES:
                return _Section("cash", text, no, account)
            if kind in _INVESTMENT_TYPES:
                return _Section("investment", text, no, account)
            if kind in _LIST_TYPES:
                return _Section("list", text, no)
        self.warn(no, f"unknown section {text!r}; its records are skipped", text)
        return _Section("other", text, no)

    # -- pass 2: records → transactions --------------------------------------------------
    def run(self, text: str) -> None:
        sections = self.sections(text)
        if sections is None:
            return
        txns: list[_Txn] = []
        for section in sections:
            if section.kind == "cash":
                txns += [t for r in section.records if (t := self.transaction(r, section))]
            elif section.kind == "investment" and section.records:
                self.warn(
                    section.line,
                    f"investment records are not read: {len(section.records)} record(s) of "
                    f"{section.header} skipped",
                    section.header,
                )
        if not txns:
            return
        if self.hint:
            try:
                self.currency = check_currency(self.hint)
            except MoneyError:
                self.diag(None, f"currency {self.hint!r} is not an ISO 4217 code")
        else:
            self.diag(None, NO_CURRENCY_MESSAGE)
        self.decimal_comma = any(_DECIMAL_COMMA.search(_squeeze(t.amount_text)) for t in txns)
        self.day_first = self.date_order(txns)
        self.build(txns)

    def transaction(self, record: _Record, section: _Section) -> _Txn | None:
        txn = _Txn(record, section)
        amount_u: tuple[int, str] | None = None
        where = record.location
        for no, letter, value in record.fields:
            if letter == "D":
                if txn.date_line:
                    self.repeated(no, "date (D)", record)
                    continue
                txn.date_text, txn.date_line = value, no
            elif letter == "T":
                if txn.amount_line:
                    self.repeated(no, "amount (T)", record)
                    continue
                txn.amount_text, txn.amount_line = value, no
            elif letter == "U":
                if amount_u is not None:
                    self.repeated(no, "amount (U)", record)
                    continue
                amount_u = (no, value)
            elif letter == "M":
                if value:
                    txn.memo.append(value)
            elif letter in ("P", "N", "L"):
                attr = {"P": "payee", "N": "number", "L": "category"}[letter]
                if getattr(txn, attr):
                    self.warn(no, f"a second {letter} line in {where}; the first is kept", where)
                else:
                    setattr(txn, attr, value)
            elif letter not in _CASH_FIELDS:
                self.warn(no, f"unknown field {letter!r} ignored", where)
        if amount_u is not None:
            if txn.amount_line:
                txn.other_amount = amount_u
            else:
                txn.amount_line, txn.amount_text = amount_u
        missing = [what for what, ok in (("date (D)", txn.date_line), ("amount (T)", txn.amount_line))
                   if not ok]
        if missing:
            self.diag(
                record.line, f"{where} has no {' and no '.join(missing)}; it cannot be read", where
            )
            return None
        return txn

    def repeated(self, no: int, what: str, record: _Record) -> None:
        # Two dates or amounts in one record are two transactions run together:
        # keeping one would drop the other silently.
        self.diag(
            no,
            f"a second {what} in {record.location} (first line {record.line}); "
            "is a ^ missing before this line?",
            record.location,
        )

    # -- dates ---------------------------------------------------------------------------
    def date_order(self, txns: list[_Txn]) -> bool:
        """True when the file's numeric dates are day first (see the module docstring)."""
        day_first: _Txn | None = None
        month_first: _Txn | None = None
        differing: _Txn | None = None
        for t in txns:
            m = _NUM_DATE.match(_squeeze(t.date_text))
            if not m:
                continue
            a, b = int(m.group(1)), int(m.group(2))
            if a > 12 and b <= 12 and day_first is None:
                day_first = t
            elif b > 12 and a <= 12 and month_first is None:
                month_first = t
            if a != b and differing is None:
                differing = t
        if day_first is not None and month_first is not None:
            self.diag(
                month_first.date_line,
                f"dates are written day first (line {day_first.date_line}: "
                f"{day_first.date_text!r}) and month first (line {month_first.date_line}: "
                f"{month_first.date_text!r}); cannot tell the order",
            )
            return True
        if day_first is not None:
            return True
        if month_first is None and differing is not None:
            self.warn(
                differing.date_line,
                "the dates do not tell whether the day or the month comes first; "
                "read as month/day (Quicken's US order)",
            )
        return False

    def date(self, txn: _Txn) -> date | None:
        text = _squeeze(txn.date_text)
        where = txn.record.location
        iso = _ISO_DATE.match(text)
        if iso:
            year, month, day = int(iso.group(1)), int(iso.group(2)), int(iso.group(3))
        else:
            m = _NUM_DATE.match(text)
            if not m:
                self.diag(
                    txn.date_line,
                    f"date {txn.date_text!r} is not M/D/Y, D/M/Y, M/D'YY or YYYY-MM-DD",
                    where,
                )
                return None
            a, b, sep, y = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
            day, month = (a, b) if self.day_first else (b, a)
            year = int(y)
            if len(y) == 2:
                year += 2000 if sep == "'" or year <= 69 else 1900
        if not (1 <= month <= 12 and 1 <= year and 1 <= day and (
            day <= 28 or day <= calendar.monthrange(year, month)[1]
        )):
            order = "D/M/Y" if self.day_first else "M/D/Y"
            self.diag(
                txn.date_line,
                f"date {txn.date_text!r} is not a date (read as {order})" if not iso
                else f"date {txn.date_text!r} is not a date",
                where,
            )
            return None
        return date(year, month, day)

    # -- amounts -------------------------------------------------------------------------
    def amount(self, txn: _Txn) -> Decimal | None:
        text = _squeeze(txn.amount_text)
        where = txn.record.location
        value = _parse_amount(text, self.decimal_comma)
        if value is None:
            self.diag(txn.amount_line, f"amount {txn.amount_text!r} is not a number", where)
            return None
        if value and value.adjusted() >= _MAX_INTEGER_DIGITS:
            self.diag(txn.amount_line, f"amount {txn.amount_text} is implausibly large; refused",
                      where)
            return None
        return value

    def money(self, txn: _Txn, value: Decimal) -> Money | None:
        try:
            return Money.of(value, self.currency)
        except PrecisionError:
            self.diag(
                txn.amount_line,
                f"amount {txn.amount_text} {self.currency} has more decimals than "
                f"{self.currency} allows ({currency_digits(self.currency)}); "
                "refused rather than rounded",
                txn.record.location,
            )
        except (MoneyError, ArithmeticError) as exc:
            self.diag(txn.amount_line, f"bad amount {txn.amount_text!r}: {exc}",
                      txn.record.location)
        return None

    # -- statements ----------------------------------------------------------------------
    def build(self, txns: list[_Txn]) -> None:
        by_account: dict[str, tuple[_Section, list[StatementLine]]] = {}
        for txn in txns:
            day = self.date(txn)
            value = self.amount(txn)
            if day is None or value is None or not self.currency:
                continue
            amount = self.money(txn, value)
            if amount is None:
                continue
            record = txn.record
            if txn.other_amount is not None:
                u_line, u_text = txn.other_amount
                if _parse_amount(_squeeze(u_text), self.decimal_comma) != value:
                    self.warn(
                        u_line,
                        f"U amount {u_text!r} differs from T amount {txn.amount_text!r}; "
                        "T is kept",
                        record.location,
                    )
            if txn.payee.casefold() == "opening balance" and txn.category.startswith("["):
                self.warn(
                    record.line,
                    f"{record.location} looks like Quicken's opening balance (payee "
                    f"{txn.payee!r}, category {txn.category!r}); it is read as a movement",
                    record.location,
                )
            line = StatementLine(
                account=txn.section.account,
                booking_date=day,
                amount=amount,
                origin=Origin(self.file, record.line, record.location, "\n".join(record.raw)),
                counterparty_name=" ".join(txn.payee.split()),
                reference=txn.number,
                remittance=" ".join(" ".join(txn.memo).split()),
            )
            by_account.setdefault(txn.section.account, (txn.section, []))[1].append(line)
        if len(by_account) > 1:
            names = ", ".join(repr(a) for a in by_account)
            self.warn(
                None,
                f"the file holds the transactions of {len(by_account)} accounts ({names}); "
                "each is a statement of its own",
            )
        for account, (section, lines) in by_account.items():
            days = [ln.booking_date for ln in lines]
            self.result.statements.append(
                Statement(
                    account=account,
                    currency=self.currency,
                    lines=lines,
                    period_start=min(days),
                    period_end=max(days),
                    origin=Origin(self.file, section.line, section.header),
                    format="qif",
                )
            )


def _squeeze(text: str) -> str:
    return _SPACES.sub("", text)


def _parse_amount(text: str, decimal_comma_file: bool) -> Decimal | None:
    """Exact value of an amount with any of the usual separators, or None if it is not one."""
    if not _AMOUNT_RE.match(text):
        return None
    sign = ""
    if text[0] in "+-":
        sign, text = ("-" if text[0] == "-" else ""), text[1:]
    last = max(text.rfind("."), text.rfind(","))
    if last < 0:
        integer, fraction = text, ""
    else:
        mark = text[last]
        other = "," if mark == "." else "."
        tail = text[last + 1 :]
        if other in text:
            decimal = True  # both marks: the last one is the decimal mark
        elif text.count(mark) > 1:
            decimal = False  # 1.000.000 / 1,000,000
        elif mark == ",":
            decimal = 1 <= len(tail) <= 2
        else:
            decimal = not (decimal_comma_file and len(tail) == 3)
        if decimal:
            integer, fraction = text[:last], tail
        else:
            integer, fraction = text, ""
        if other in integer and mark in integer:
            return None
        groups = re.split(r"[.,]", integer)
        if len(groups) > 1 and (
            not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])
        ):
            return None
        integer = "".join(groups)
        if not fraction.isdigit() and fraction:
            return None
    if not integer and not fraction:
        return None
    try:
        return Decimal(f"{sign}{integer or '0'}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the pattern allows digits only
        return None
