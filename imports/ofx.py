"""OFX/QFX reader: version 1 (SGML, ``OFXHEADER:100``) and version 2 (XML).

Version 2 goes through :mod:`imports.xmlsafe` like every XML file.  Version 1
is SGML where leaf elements are usually left unclosed (``<TRNAMT>-13.00``
followed by the next tag); a small tolerant parser here turns it into the same
ElementTree shape, so one extraction serves both.  The project does not depend
on ofxtools (GPL).

Read: bank statements (``STMTRS``) and credit-card statements (``CCSTMTRS``),
however many a file holds, with all their ``STMTTRN`` (even spread over
several ``BANKTRANLIST``); ``LEDGERBAL`` is the closing balance, ``AVAILBAL``
is kept as ``CLAV``.  OFX states no opening balance.  A line's value date is
``DTAVAIL``, else ``DTUSER`` (the date the customer made the payment).

Pure: no database, no matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element

from imports.limits import read_limited
from imports.model import (
    Balance,
    Diagnostic,
    Origin,
    ReadResult,
    Severity,
    Statement,
    StatementLine,
)
from imports.xmlsafe import XmlDocument, XmlSyntaxError, gc_paused, parse_bytes
from ledger.money import Money, MoneyError, PrecisionError, currency_digits

__all__ = ["parse_sgml", "read", "read_bytes", "sniff"]

_IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_AMOUNT_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_SGML_TOKEN = re.compile(r"<!--.*?-->|<(/?)([A-Za-z0-9_.]+)[^>]*>", re.DOTALL)
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&apos;": "'", "&nbsp;": " "}
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|apos|nbsp|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")
_STATEMENT_TAGS = ("STMTRS", "CCSTMTRS")
#: Amounts of 10^15 or more major units are refused before any arithmetic.
_MAX_INTEGER_DIGITS = 15


def sniff(head: bytes) -> bool:
    """True if the first bytes look like OFX/QFX (an ``OFXHEADER`` or an ``<OFX>`` root)."""
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return h.startswith(b"OFXHEADER") or b"<?OFX" in head or b"<OFX>" in head.upper()


def read(path: str | Path) -> ReadResult:
    """Read an OFX (1.x SGML or 2.x XML) or QFX file into statements and diagnostics.

    Never raises on bad content; :class:`ImportFileError` only when the file is
    refused as a whole (too large, unreadable, unsafe XML).
    """
    data = read_limited(path)
    return read_bytes(data, str(path))


def read_bytes(data: bytes, file: str) -> ReadResult:
    """Like :func:`read`, for bytes already in memory (``file`` names them in diagnostics)."""
    result = ReadResult()
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    with gc_paused():
        if head.startswith(b"<?xml") or (b"<?OFX" in data[:4096] and not head.startswith(b"OFX")):
            try:
                doc = parse_bytes(data, file)
            except XmlSyntaxError as exc:
                result.diagnostics.append(Diagnostic(file, exc.line, exc.message))
                return result
            for tag in (*_STATEMENT_TAGS, "STMTTRN"):
                doc.locate(tag)
            _Extractor(file, result, _XmlPlaces(doc), "ofx2").run(doc.root)
        elif head.startswith(b"OFXHEADER") or b"<OFX>" in data[:65536].upper():
            text = _decode_sgml(data)
            tree = parse_sgml(text, file, result)
            if tree is not None:
                root, places = tree
                _Extractor(file, result, places, "ofx1").run(root)
        else:
            result.diagnostics.append(
                Diagnostic(file, 1, "not an OFX file: no OFXHEADER and no <OFX> element")
            )
    return result


# --------------------------------------------------------------------------- OFX 1 (SGML)


def _decode_sgml(data: bytes) -> str:
    header = data[:1024].decode("latin-1").upper()
    candidates = ["utf-8", "cp1252", "latin-1"]
    if "ENCODING:UTF-8" in header:
        candidates = ["utf-8", "cp1252", "latin-1"]
    elif "CHARSET:1252" in header:
        candidates = ["cp1252", "latin-1"]
    elif "CHARSET:ISO-8859-1" in header or "CHARSET:8859-1" in header:
        candidates = ["latin-1"]
    for enc in candidates:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        s = m.group(0)
        if s.startswith("&#"):
            code = int(s[3:-1], 16) if s.startswith("&#x") else int(s[2:-1])
            return chr(code) if 0 < code <= 0x10FFFF else s
        return _ENTITIES[s]

    return _ENTITY_RE.sub(one, text) if "&" in text else text


@dataclass
class _SgmlPlaces:
    text: str
    spans: dict[Element, tuple[int, int, int]]  # element → (line, start, end)

    def line(self, el: Element) -> int | None:
        span = self.spans.get(el)
        return span[0] if span else None

    def raw(self, el: Element) -> str:
        span = self.spans.get(el)
        return self.text[span[1] : span[2]] if span else ""


class _XmlPlaces:
    def __init__(self, doc: XmlDocument) -> None:
        self.doc = doc

    def line(self, el: Element) -> int | None:
        return self.doc.line(el)

    def raw(self, el: Element) -> str:
        return self.doc.raw(el) if self.doc.line(el) is not None else ""


def parse_sgml(text: str, file: str, result: ReadResult) -> tuple[Element, _SgmlPlaces] | None:
    """Parse OFX 1 SGML into an ElementTree ``<OFX>`` element, tolerating unclosed leaves.

    A tag followed by text is a leaf and closes itself at the next tag; a tag
    followed by another tag is an aggregate and must be closed by its end tag.
    Problems are added to ``result`` as diagnostics; returns None when no
    ``<OFX>`` element is found.
    """
    start = text.upper().find("<OFX>")
    if start < 0:
        result.diagnostics.append(Diagnostic(file, 1, "not an OFX file: no <OFX> element"))
        return None
    holder = Element("#document")
    stack: list[Element] = [holder]
    leaf_open = False  # the top of the stack is a leaf holding text
    spans: dict[Element, tuple[int, int, int]] = {}
    opened: dict[Element, tuple[int, int]] = {}
    line = text.count("\n", 0, start) + 1
    pos = start

    def close(el: Element, end: int) -> None:
        ln, st = opened.pop(el)
        spans[el] = (ln, st, end)

    for m in _SGML_TOKEN.finditer(text, start):
        between = text[pos : m.start()]
        line += between.count("\n")
        value = between.strip()
        if value:
            top = stack[-1]
            if top is holder:
                result.diagnostics.append(
                    Diagnostic(file, line, f"text outside the <OFX> element: {value[:40]!r}")
                )
            elif len(top):
                result.diagnostics.append(
                    Diagnostic(
                        file,
                        line,
                        f"text {value[:40]!r} inside <{top.tag}>, which holds other elements",
                        Severity.WARNING,
                    )
                )
            else:
                top.text = _unescape(value)
                leaf_open = True
        pos = m.end()
        token_line = line
        line += m.group(0).count("\n")
        name = m.group(2)
        if name is None:  # comment
            continue
        tag = name.upper()
        if m.group(1):  # end tag
            if leaf_open and stack[-1].tag != tag:
                close(stack.pop(), m.start())
            leaf_open = False
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].tag == tag:
                    while len(stack) > depth:
                        close(stack.pop(), m.end())
                    break
            else:
                result.diagnostics.append(
                    Diagnostic(
                        file,
                        token_line,
                        f"</{tag}> closes nothing that is open; ignored",
                        Severity.WARNING,
                    )
                )
            continue
        if leaf_open:
            close(stack.pop(), m.start())
            leaf_open = False
        el = Element(tag)
        stack[-1].append(el)
        stack.append(el)
        opened[el] = (token_line, m.start())
    tail = text[pos:].strip()
    if tail and stack[-1] is not holder and not len(stack[-1]):
        stack[-1].text = _unescape(tail)
        leaf_open = True
    if leaf_open:
        close(stack.pop(), len(text))
    if len(stack) > 1:
        unclosed = stack[-1]
        result.diagnostics.append(
            Diagnostic(
                file,
                opened[unclosed][0],
                f"the file ends inside <{unclosed.tag}>: it looks truncated",
            )
        )
        while len(stack) > 1:
            close(stack.pop(), len(text))
    root = holder.find("OFX")
    if root is None:
        result.diagnostics.append(Diagnostic(file, 1, "not an OFX file: no <OFX> element"))
        return None
    return root, _SgmlPlaces(text, spans)


# --------------------------------------------------------------------------- extraction


def _text(el: Element | None) -> str:
    if el is None or el.text is None:
        return ""
    return el.text.strip()


def _first(el: Element, tag: str) -> Element | None:
    return next(el.iter(tag), None)


class _Extractor:
    def __init__(
        self, file: str, result: ReadResult, places: _SgmlPlaces | _XmlPlaces, fmt: str
    ) -> None:
        self.file = file
        self.result = result
        self.places = places
        self.fmt = fmt

    def diag(
        self,
        el: Element | None,
        message: str,
        location: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        line = self.places.line(el) if el is not None else None
        self.result.diagnostics.append(Diagnostic(self.file, line, message, severity, location))

    def run(self, root: Element) -> None:
        if root.tag != "OFX":
            self.diag(None, f"not an OFX file: the root element is <{root.tag}>")
            return
        for status in root.iter("STATUS"):
            code = _text(status.find("CODE"))
            if code and code != "0" and _text(status.find("SEVERITY")) == "ERROR":
                msg = _text(status.find("MESSAGE"))
                self.diag(status, f"the bank reported error {code}{': ' + msg if msg else ''}")
        found = [el for el in root.iter() if el.tag in _STATEMENT_TAGS]
        if not found:
            self.diag(None, "no bank or credit-card statement (STMTRS/CCSTMTRS) in the file")
            return
        counters = dict.fromkeys(_STATEMENT_TAGS, 0)
        for rs in found:
            counters[rs.tag] += 1
            self.statement(rs, f"{rs.tag}[{counters[rs.tag]}]")

    def date(self, el: Element | None, owner: Element, where: str, what: str) -> date | None:
        raw = _text(el)
        if not raw:
            return None
        digits = raw[:8]
        try:
            if len(digits) != 8 or not digits.isdigit():
                raise ValueError
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        except ValueError:
            self.diag(owner, f"{what} {raw!r} is not a date (YYYYMMDD...)", where)
            return None

    def money(self, el: Element, currency: str, owner: Element, where: str) -> Money | None:
        raw = _text(el)
        if not _AMOUNT_RE.match(raw):
            self.diag(owner, f"amount {raw!r} is not a number", where)
            return None
        # OFX allows a comma as the decimal mark (and some banks use it).
        value = Decimal(raw.replace(",", "."))
        if value.adjusted() >= _MAX_INTEGER_DIGITS:
            self.diag(owner, f"amount {raw} {currency} is implausibly large; refused", where)
            return None
        try:
            return Money.of(value, currency)
        except PrecisionError:
            self.diag(
                owner,
                f"amount {raw} {currency} has more decimals than {currency} allows "
                f"({currency_digits(currency)}); refused rather than rounded",
                where,
            )
        except (MoneyError, ArithmeticError) as exc:
            self.diag(owner, f"bad amount {raw!r} {currency!r}: {exc}", where)
        return None

    def statement(self, rs: Element, where: str) -> None:
        currency = _text(rs.find("CURDEF")).upper()
        # iter(), not find(): OFX 1 files sometimes leave BANKTRANLIST unclosed, which
        # nests the balances inside it.
        acct = _first(rs, "BANKACCTFROM")
        if acct is None:
            acct = _first(rs, "CCACCTFROM")
        account = _text(acct.find("ACCTID")) if acct is not None else ""
        compact = account.replace(" ", "").upper()
        if _IBAN_RE.match(compact):
            account = compact
        if not currency:
            self.diag(rs, "statement has no currency (CURDEF)", where)
        if acct is None or not account:
            self.diag(rs, "statement has no account (BANKACCTFROM/ACCTID)", where, Severity.WARNING)
        lists = list(rs.iter("BANKTRANLIST"))
        starts = [
            d for d in (self.date(t.find("DTSTART"), t, where, "DTSTART") for t in lists) if d
        ]
        ends = [d for d in (self.date(t.find("DTEND"), t, where, "DTEND") for t in lists) if d]
        closing = self.balance(_first(rs, "LEDGERBAL"), "CLBD", currency, rs, where)
        avail = self.balance(_first(rs, "AVAILBAL"), "CLAV", currency, rs, where)
        lines: list[StatementLine] = []
        statement = Statement(
            account=account,
            currency=currency,
            lines=lines,
            closing=closing,
            other_balances=[avail] if avail else [],
            period_start=min(starts) if starts else None,
            period_end=max(ends) if ends else None,
            origin=Origin(self.file, self.places.line(rs), where),
            format=self.fmt,
        )
        for k, trn in enumerate(rs.iter("STMTTRN"), start=1):
            line = self.transaction(trn, f"{where}/STMTTRN[{k}]", account, currency)
            if line is not None:
                lines.append(line)
        self.result.statements.append(statement)

    def balance(
        self, el: Element | None, kind: str, currency: str, rs: Element, where: str
    ) -> Balance | None:
        if el is None or not currency:
            return None
        amt = el.find("BALAMT")
        day = self.date(el.find("DTASOF"), rs, where, f"{el.tag}/DTASOF")
        if amt is None or day is None:
            self.diag(rs, f"{el.tag} needs BALAMT and DTASOF", where)
            return None
        money = self.money(amt, currency, rs, f"{where}/{el.tag}")
        return Balance(kind, day, money) if money is not None else None

    def transaction(
        self, trn: Element, where: str, account: str, currency: str
    ) -> StatementLine | None:
        errors_before = len(self.result.errors)
        posted = self.date(trn.find("DTPOSTED"), trn, where, "DTPOSTED")
        if posted is None and trn.find("DTPOSTED") is None:
            self.diag(trn, "transaction has no posting date (DTPOSTED)", where)
        amt = trn.find("TRNAMT")
        amount = None
        if amt is None:
            self.diag(trn, "transaction has no amount (TRNAMT)", where)
        elif currency:
            amount = self.money(amt, currency, trn, where)
        if trn.find("CURRENCY") is not None:
            self.diag(
                trn,
                "transaction amount in another currency (CURRENCY) is not supported",
                where,
            )
        if posted is None or amount is None or len(self.result.errors) != errors_before:
            return None
        value = self.date(trn.find("DTAVAIL"), trn, where, "DTAVAIL") or self.date(
            trn.find("DTUSER"), trn, where, "DTUSER"
        )
        name = _text(trn.find("NAME")) or _text(trn.find("PAYEE/NAME"))
        to = trn.find("BANKACCTTO")
        if to is None:
            to = trn.find("CCACCTTO")
        fields: dict[str, object] = {}
        orig = trn.find("ORIGCURRENCY")
        if orig is not None:
            fields["source_currency"] = _text(orig.find("CURSYM")).upper()
            fields["target_currency"] = currency
            rate = _text(orig.find("CURRATE"))
            try:
                fields["exchange_rate"] = Decimal(rate) if rate else None
            except ArithmeticError:
                self.diag(trn, f"exchange rate {rate!r} is not a number", where, Severity.WARNING)
        fitid = _text(trn.find("FITID"))
        if not fitid:
            self.diag(
                trn,
                "transaction has no FITID; a fingerprint will identify it",
                where,
                Severity.WARNING,
            )
        return StatementLine(
            account=account,
            booking_date=posted,
            value_date=value,
            amount=amount,
            origin=Origin(self.file, self.places.line(trn), where, self.places.raw(trn)),
            counterparty_name=name,
            counterparty_account=_text(to.find("ACCTID")) if to is not None else "",
            reference=_text(trn.find("CHECKNUM")) or _text(trn.find("REFNUM")),
            remittance=" ".join(_text(trn.find("MEMO")).split()),
            bank_transaction_id=fitid,
            bank_code=_text(trn.find("TRNTYPE")),
            **fields,  # type: ignore[arg-type]
        )
