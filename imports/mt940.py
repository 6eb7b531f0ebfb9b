"""SWIFT MT940 reader: customer statements from any bank, with every quirk seen in the wild.

A small hand-written parser rather than the ``mt-940`` package: every
statement line and every diagnostic must carry its source line number, and
``mt-940`` throws that away while tokenising.  The grammar is small:

* records start with a tag at the beginning of a line (``:20:``, ``:25:``,
  ``:28C:``, ``:60F:``/``:60M:``, ``:61:``, ``:86:``, ``:62F:``/``:62M:``,
  ``:64:``, ``:65:``); other lines continue the current record;
* a message may be wrapped in a SWIFT envelope (``{1:...}{2:...}{4:`` ...
  ``-}``) or end with ``-``; a file may hold many messages and statements;
* ``:61:`` is ``YYMMDD[MMDD](C|D|RC|RD)[funds code]amount[type][ref][//bank ref]``
  with optional supplementary details on the next line;
* ``:86:`` is free text, or German ``?20``-style sub-fields (``>20`` at
  Triodos), or the Dutch ``/EREF/.../REMI/...`` slash style.

Choices (documented because banks disagree):

* an impossible date (30 February, a real export) is read as the last day of
  that month, with a warning naming the original text;
* SOH/STX/ETX transmission framing is dropped silently, tabs become spaces,
  any other control character becomes a space with a warning;
* bytes are read as UTF-8, else Windows-1252, else Latin-1 (with a warning);
  pass ``encoding=`` to force one (e.g. ``cp852`` for some Hungarian banks);
* the opening balance plus the lines must equal the closing balance of each
  statement, else an error with both dates and amounts.

Pure: no database, no matching.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from imports.limits import read_limited
from imports.model import (
    Balance,
    Origin,
    ReadResult,
    Severity,
    Statement,
    StatementLine,
)
from imports.text import decode_text
from ledger.money import Money, MoneyError, PrecisionError, currency_digits

__all__ = ["parse_details", "read", "read_bytes", "sniff"]

_TAG_RE = re.compile(r"^:(\d{2}[A-Z]?|NS|\d{3}):(.*)$")
_END_RE = re.compile(r"^-(\}.*|[A-Z]{0,4})?\s*$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SNIFF_20 = re.compile(rb"(?:^|[\r\n{:])\s*:20:")
_SNIFF_OTHER = re.compile(rb"[\r\n]:(?:25|28C?|60[FM]|61):")
_BALANCE_RE = re.compile(r"^([CD])(\d{6})([A-Z]{3})(\d[\d,.]*)$")
_LINE61_RE = re.compile(
    r"^(?P<vdate>\d{6})(?P<edate>\d{4}|\s{4})?"
    r"(?P<mark>RC|RD|EC|ED|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>\d[\d,.]*)"
    r"(?P<type>[NFS][A-Z0-9 ]{3})?"
    r"(?P<rest>.*)$"
)
_NO_REFERENCE = {"", "NONREF", "NOTPROVIDED", "EREF", "NONE"}
_IGNORED_TAGS = {"21", "13", "13D", "34F", "90C", "90D", "NS", "940", "941", "942"}
_FRAMING = dict.fromkeys(map(ord, "\x01\x02\x03"), None)
#: Amounts of 10^15 or more major units are refused before any arithmetic.
_MAX_INTEGER_DIGITS = 15
_IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")


def sniff(head: bytes) -> bool:
    """True if the first bytes look like an MT940 statement (a ``:20:`` and a ``:25:``/``:60F:``)."""
    return bool(_SNIFF_20.search(head)) and bool(_SNIFF_OTHER.search(head))


def read(
    path: str | Path, *, encoding: str | None = None, strict_balances: bool = True
) -> ReadResult:
    """Read an MT940 file into statements and diagnostics.

    ``strict_balances=False`` reports balances that do not add up as warnings
    instead of errors (for a bank known to send such files).  Never raises on bad content; :class:`ImportFileError` only when the file
    is refused as a whole (too large, unreadable).
    """
    data = read_limited(path)
    return read_bytes(data, str(path), encoding=encoding, strict_balances=strict_balances)


def read_bytes(
    data: bytes, file: str, *, encoding: str | None = None, strict_balances: bool = True
) -> ReadResult:
    """Like :func:`read`, for bytes already in memory (``file`` names them in diagnostics)."""
    result = ReadResult()
    text = decode_text(data, file, encoding, result)
    _Parser(file, result, strict_balances).run(text)
    return result


# --------------------------------------------------------------------------- :86: details


def _squash(text: str) -> str:
    return " ".join(text.split())


_SEPA_KEYS = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|COAM|OAMT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_SLASH_KEYS = re.compile(
    r"/(EREF|KREF|MARF|CSID|REMI|NAME|IBAN|BIC|ORDP|BENM|CNTP|TRTP|ISDT|RTRN|PREF|ADDR|"
    r"CITY|ULTC|ULTD|ULTB|PURP|CDTRREFTP|CDTRREF|USTD|STRD|OCMT|CHGS|EXCH|SVCL|IREF|MREF)(?=/)"
)
_STRUCTURED_RE = re.compile(r"^(\d{3})?([?>])\d{2}")
_OCMT_RE = re.compile(r"/OCMT/([A-Z]{3})(\d+(?:,\d*)?)/?")
_CHGS_RE = re.compile(r"/CHGS/([A-Z]{3})(\d+(?:,\d*)?)/?")


def parse_details(lines: list[str]) -> dict[str, str]:
    """Split an ``:86:`` record into remittance, reference, counterparty and code.

    Returns a dict with the keys ``remittance``, ``reference``,
    ``counterparty_name``, ``counterparty_account`` and ``gvc`` (German
    business transaction code), each possibly empty.
    """
    out = {
        "remittance": "",
        "reference": "",
        "counterparty_name": "",
        "counterparty_account": "",
        "gvc": "",
    }
    joined = "".join(lines)
    m = _STRUCTURED_RE.match(joined)
    if m:
        out["gvc"] = m.group(1) or ""
        sep = re.escape(m.group(2))
        body = joined[len(m.group(1) or "") :]
        parts = re.split(sep + r"(\d{2})", body)
        fields: dict[str, str] = {}
        for code, value in zip(parts[1::2], parts[2::2]):
            fields[code] = fields.get(code, "") + value
        purpose = "".join(
            fields.get(f"{n}", "") for n in [*range(20, 30), *range(60, 64)] if f"{n}" in fields
        )
        out["counterparty_name"] = _squash(fields.get("32", "") + fields.get("33", ""))
        out["counterparty_account"] = fields.get("31", "").strip() or fields.get("38", "").strip()
        keys = list(_SEPA_KEYS.finditer(purpose))
        if keys:
            values: dict[str, str] = {}
            for i, k in enumerate(keys):
                end = keys[i + 1].start() if i + 1 < len(keys) else len(purpose)
                values.setdefault(k.group(1), purpose[k.end() : end])
            eref = values.get("EREF", "").strip()
            if eref.upper() not in _NO_REFERENCE:
                out["reference"] = eref
            out["remittance"] = _squash(values.get("SVWZ", "") or purpose)
        else:
            out["remittance"] = _squash(purpose) or _squash(fields.get("00", ""))
        return out
    if joined.startswith("/") and _SLASH_KEYS.search(joined):
        keys = list(_SLASH_KEYS.finditer(joined))
        values = {}
        for i, k in enumerate(keys):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(joined)
            value = joined[k.end() : end]
            # "/REMI/USTD//text/": a key is followed by one or two slashes
            value = value.lstrip("/")
            values.setdefault(k.group(1), value.rstrip("/") if k.group(1) != "CNTP" else value)
        eref = values.get("EREF", "").strip()
        if eref.upper() not in _NO_REFERENCE:
            out["reference"] = eref
        elif values.get("CDTRREF", "").strip():
            out["reference"] = values["CDTRREF"].strip()
        remi = values.get("USTD") or values.get("REMI") or values.get("CDTRREF") or ""
        out["remittance"] = _squash(remi)
        out["counterparty_name"] = _squash(values.get("NAME", ""))
        out["counterparty_account"] = values.get("IBAN", "").strip()
        if "CNTP" in values:  # /CNTP/account/BIC/name/city/
            cntp = values["CNTP"].split("/")
            if not out["counterparty_account"] and cntp and cntp[0].strip():
                out["counterparty_account"] = cntp[0].strip()
            if not out["counterparty_name"] and len(cntp) > 2:
                out["counterparty_name"] = _squash(cntp[2])
        return out
    out["remittance"] = _squash(" ".join(lines))
    return out


# --------------------------------------------------------------------------- parsing


@dataclass
class _Txn:
    line: int
    content: list[str]
    details: list[str] = field(default_factory=list)
    details_line: int | None = None


@dataclass
class _Stmt:
    line: int
    reference: str = ""
    number: str = ""
    account: str = ""
    currency: str = ""
    opening: Balance | None = None
    closing: Balance | None = None
    others: list[Balance] = field(default_factory=list)
    txns: list[_Txn] = field(default_factory=list)
    broken: bool = False
    implicit: bool = False
    closing_line: int | None = None


class _Parser:
    def __init__(self, file: str, result: ReadResult, strict_balances: bool = True) -> None:
        self.file = file
        self.result = result
        self.strict_balances = strict_balances
        self.seen_ids: dict[tuple[str, str], list[StatementLine]] = {}

    def diag(self, line: int | None, message: str, location: str | None = None) -> None:
        self.result.report(self.file, line, message, Severity.ERROR, location)

    def warn(self, line: int | None, message: str, location: str | None = None) -> None:
        self.result.report(self.file, line, message, Severity.WARNING, location)

    # -- pass 1: physical lines → tagged records ------------------------------------
    def records(self, text: str) -> list[tuple[str, int, list[str]]]:
        records: list[tuple[str, int, list[str]]] = []
        current: list[str] | None = None
        for no, raw in enumerate(_LINE_BREAK.split(text), start=1):
            line = raw.translate(_FRAMING).replace("\t", " ")
            bad = [c for c in line if ord(c) < 32 or 0x7F <= ord(c) < 0xA0]
            if bad:
                codes = ", ".join(sorted({f"U+{ord(c):04X}" for c in bad}))
                self.warn(no, f"control character {codes} replaced by a space")
                line = "".join(" " if c in bad else c for c in line)
            line = line.rstrip()
            if not line.strip():
                continue
            if line.startswith("{"):
                # SWIFT envelope {1:..}{2:..}{3:..}{4: — the text block starts after {4:
                i = line.find("{4:")
                if i < 0:
                    continue
                records.append(("{4:", no, []))
                current = None
                line = line[i + 3 :]
                if not line.strip():
                    continue
            if _END_RE.match(line):
                records.append(("-", no, []))
                current = None
                continue
            m = _TAG_RE.match(line)
            if m:
                current = [m.group(2)]
                records.append((m.group(1), no, current))
            elif current is not None:
                current.append(line)
            # else: bank header lines before the first tag ("ABNANL2A", "940 00")
        return records

    # -- pass 2: records → statements -------------------------------------------------
    def run(self, text: str) -> None:
        records = self.records(text)
        if not any(tag not in ("{4:", "-") for tag, _, _ in records):
            self.diag(1, "not an MT940 statement: no :20:, :25: or :61: tag found")
            return
        statements: list[_Stmt] = []
        st: _Stmt | None = None
        attach: _Txn | None = None
        previous: _Stmt | None = None
        for tag, no, content in records:
            if tag in ("{4:", "-"):
                st, attach = None, None
                continue
            if tag == "20":
                st = _Stmt(no, reference=" ".join(c.strip() for c in content).strip())
                statements.append(st)
                previous, attach = st, None
                continue
            if tag in ("940", "941", "942"):
                continue
            if st is None:
                st = _Stmt(no, implicit=True)
                if previous is not None:
                    st.account, st.currency = previous.account, previous.currency
                    self.warn(
                        no,
                        f":{tag}: comes after the end of a statement without a new :20:; "
                        f"read with the account and currency of the statement at line "
                        f"{previous.line}",
                        f":{tag}:",
                    )
                else:
                    self.warn(no, "statement has no :20: reference", f":{tag}:")
                statements.append(st)
                previous = st
            if tag == "86":
                if attach is not None:
                    if attach.details_line is None:
                        attach.details_line = no
                    attach.details.extend(content)
                # else: information for the account owner about the whole statement
                continue
            attach = None
            if tag == "25":
                if st.txns:
                    self.diag(
                        no,
                        ":25: (account) inside the transactions of a statement; "
                        "expected :86: or :61: here",
                        ":25:",
                    )
                    st.broken = True
                else:
                    st.account = " ".join(c.strip() for c in content).strip()
            elif tag in ("28", "28C"):
                st.number = " ".join(c.strip() for c in content).strip()
            elif tag in ("60F", "60M"):
                bal = self.balance(tag, no, content, "OPBD")
                if bal is not None:
                    st.opening = bal
                    st.currency = bal.amount.currency
                else:
                    st.broken = True
            elif tag == "61":
                if st.closing is not None:
                    self.diag(no, ":61: after the closing balance (:62F:)", ":61:")
                    st.broken = True
                txn = _Txn(no, content)
                st.txns.append(txn)
                attach = txn
            elif tag in ("62F", "62M"):
                bal = self.balance(tag, no, content, "CLBD")
                if bal is not None:
                    st.closing = bal
                    st.closing_line = no
                else:
                    st.broken = True
            elif tag == "64":
                bal = self.balance(tag, no, content, "CLAV")
                if bal is not None:
                    st.others.append(bal)
            elif tag == "65":
                bal = self.balance(tag, no, content, "FWAV")
                if bal is not None:
                    st.others.append(bal)
            elif tag not in _IGNORED_TAGS:
                self.warn(no, f"unknown tag :{tag}: ignored", f":{tag}:")
        for st in statements:
            self.build(st)
        self.check_duplicate_ids()

    def check_duplicate_ids(self) -> None:
        # A bank reference that repeats is not a transaction id: keeping it would make
        # the import treat distinct lines as one.  Fall back on fingerprints.
        for (account, bid), lines in self.seen_ids.items():
            if len(lines) < 2:
                continue
            self.warn(
                lines[1].origin.line,
                f"bank reference {bid!r} is used by {len(lines)} lines; not used as "
                "a transaction id",
                ":61:",
            )
            for st in self.result.statements:
                if st.account == account:
                    st.lines = [
                        _replace_id(ln) if ln.bank_transaction_id == bid else ln for ln in st.lines
                    ]

    # -- values -----------------------------------------------------------------------
    def date6(self, text: str, line: int, what: str) -> date | None:
        yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:6])
        year = 2000 + yy if yy < 80 else 1900 + yy
        return self._date(year, mm, dd, text, line, what)

    def _date(self, year: int, mm: int, dd: int, text: str, line: int, what: str) -> date | None:
        if not 1 <= mm <= 12 or dd < 1:
            self.diag(line, f"{what} {text!r} is not a date")
            return None
        last = calendar.monthrange(year, mm)[1]
        if dd > last:
            self.warn(
                line,
                f"{what} {text!r} does not exist; read as {date(year, mm, last)} "
                "(last day of the month)",
            )
            dd = last
        return date(year, mm, dd)

    def money(self, text: str, currency: str, line: int, tag: str) -> Money | None:
        try:
            value = Decimal(text.replace(",", "."))
        except InvalidOperation:
            self.diag(line, f"amount {text!r} is not a number", tag)
            return None
        if value.adjusted() >= _MAX_INTEGER_DIGITS:
            self.diag(line, f"amount {text} {currency} is implausibly large; refused", tag)
            return None
        try:
            return Money.of(value, currency)
        except PrecisionError:
            self.diag(
                line,
                f"amount {text} {currency} has more decimals than {currency} allows "
                f"({currency_digits(currency)}); refused rather than rounded",
                tag,
            )
        except (MoneyError, ArithmeticError) as exc:
            self.diag(line, f"bad amount {text!r} {currency!r}: {exc}", tag)
        return None

    def balance(self, tag: str, line: int, content: list[str], kind: str) -> Balance | None:
        text = "".join(c.strip() for c in content)
        m = _BALANCE_RE.match(text)
        if not m:
            self.diag(
                line, f"balance :{tag}: is not D/C, YYMMDD, currency, amount: {text!r}", f":{tag}:"
            )
            return None
        day = self.date6(m.group(2), line, f"balance date of :{tag}:")
        amount = self.money(m.group(4), m.group(3), line, f":{tag}:")
        if day is None or amount is None:
            return None
        return Balance(kind, day, -amount if m.group(1) == "D" else amount)

    # -- statement lines --------------------------------------------------------------
    def build(self, st: _Stmt) -> None:
        errors_before = len(self.result.errors)
        if st.txns and not st.currency:
            self.diag(
                st.txns[0].line,
                "no opening balance (:60F:) before the transactions: the currency is unknown",
                ":61:",
            )
            st.broken = True
        for bal in (st.closing, *st.others):
            if bal is not None and st.currency and bal.amount.currency != st.currency:
                self.diag(
                    st.line,
                    f"balance {bal.kind} is in {bal.amount.currency} but the opening balance "
                    f"is in {st.currency}",
                )
                st.broken = True
        lines: list[StatementLine] = []
        if st.currency:
            for txn in st.txns:
                line = self.transaction(txn, st)
                if line is not None:
                    lines.append(line)
        parts = [p for p in (st.reference, st.number) if p]
        statement = Statement(
            account=st.account,
            currency=st.currency,
            lines=lines,
            statement_id="/".join(parts),
            opening=st.opening,
            closing=st.closing,
            other_balances=st.others,
            period_start=st.opening.date if st.opening else None,
            period_end=st.closing.date if st.closing else None,
            origin=Origin(self.file, st.line, ":20:" if not st.implicit else None),
            format="mt940",
        )
        self.result.statements.append(statement)
        for ln in lines:
            if ln.bank_transaction_id:
                self.seen_ids.setdefault((st.account, ln.bank_transaction_id), []).append(ln)
        if st.broken or len(self.result.errors) != errors_before:
            return
        o, c = st.opening, st.closing
        if o is not None and c is not None:
            total = sum(ln.amount.minor for ln in lines)
            expected = Money(o.amount.minor + total, o.amount.currency)
            if expected != c.amount:
                report = self.diag if self.strict_balances else self.warn
                report(
                    st.closing_line,
                    f"balances do not add up: opening {o.amount} on {o.date} plus "
                    f"{len(lines)} line(s) totalling {Money(total, o.amount.currency)} gives "
                    f"{expected}, but the closing balance on {c.date} is {c.amount}",
                    ":62F:",
                )

    def transaction(self, txn: _Txn, st: _Stmt) -> StatementLine | None:
        first = txn.content[0].strip() if txn.content else ""
        m = _LINE61_RE.match(first)
        if not m:
            self.diag(
                txn.line,
                f":61: is not YYMMDD[MMDD](C|D|RC|RD)amount...: {first!r}",
                ":61:",
            )
            return None
        value = self.date6(m["vdate"], txn.line, "value date")
        if value is None:
            return None
        booking = value
        edate = (m["edate"] or "").strip()
        if edate:
            mm, dd = int(edate[:2]), int(edate[2:])
            entry = self._date(value.year, mm, dd, edate, txn.line, "entry date")
            if entry is None:
                return None
            # The entry date has no year: around new year it belongs to the next or
            # the previous one (value 31 Dec, entry 02 Jan).
            if entry - value > timedelta(days=180):
                entry = self._date(value.year - 1, mm, dd, edate, txn.line, "entry date")
            elif value - entry > timedelta(days=180):
                entry = self._date(value.year + 1, mm, dd, edate, txn.line, "entry date")
            if entry is None:
                return None
            booking = entry
        amount = self.money(m["amount"], st.currency, txn.line, ":61:")
        if amount is None:
            return None
        mark = m["mark"]
        if mark in ("D", "RC", "ED"):
            amount = -amount
        reversal = mark in ("RC", "RD")
        rest = m["rest"]
        customer_ref, _, bank_ref = rest.partition("//")
        customer_ref = customer_ref.strip()
        bank_ref = bank_ref.strip()
        supplementary = [c.strip() for c in txn.content[1:]]
        details = parse_details(txn.details) if txn.details else {}
        reference = details.get("reference", "")
        if not reference and customer_ref.upper() not in _NO_REFERENCE:
            reference = customer_ref
        counterparty_account = details.get("counterparty_account", "")
        if not counterparty_account:
            for s in supplementary:
                candidate = s.replace(" ", "").upper()
                if _IBAN_RE.match(candidate):
                    counterparty_account = candidate
                    break
        type_code = (m["type"] or "").strip()
        gvc = details.get("gvc", "")
        bank_code = "/".join(p for p in (type_code, gvc) if p)
        extras: dict[str, Any] = {}
        everything = "".join(supplementary) + "".join(txn.details)
        sign = -1 if amount.minor < 0 else 1
        ocmt = _OCMT_RE.search(everything)
        if ocmt:
            instructed = self.money(ocmt.group(2), ocmt.group(1), txn.line, ":61:")
            if instructed is not None:
                extras["instructed_amount"] = instructed * sign
        chgs = _CHGS_RE.search(everything)
        if chgs:
            extras["charges"] = self.money(chgs.group(2), chgs.group(1), txn.line, ":61:")
        raw = ":61:" + "\n".join(txn.content)
        if txn.details:
            raw += "\n:86:" + "\n".join(txn.details)
        return StatementLine(
            account=st.account,
            booking_date=booking,
            value_date=value,
            amount=amount,
            origin=Origin(self.file, txn.line, ":61:", raw),
            counterparty_name=details.get("counterparty_name", ""),
            counterparty_account=counterparty_account,
            reference=reference,
            remittance=details.get("remittance", "")
            or _squash(" ".join(s for s in supplementary if s != counterparty_account)),
            bank_transaction_id="" if bank_ref.upper() in _NO_REFERENCE else bank_ref,
            bank_code=bank_code,
            reversal=reversal,
            **extras,
        )


def _replace_id(line: StatementLine) -> StatementLine:
    from dataclasses import replace

    return replace(line, bank_transaction_id="")
