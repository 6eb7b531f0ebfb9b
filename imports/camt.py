"""ISO 20022 camt reader: camt.053 statements, camt.052 reports, camt.054 notifications.

Every version from 001.02 to 001.13 is recognised by its namespace; the parts
this reader uses did not change shape across them, except where noted
(``Sts`` became ``Sts/Cd``, parties moved under ``Pty`` in 001.08+).

What becomes a statement line:

* an entry (``Ntry``) with zero or one transaction detail (``TxDtls``) is one
  line of the entry amount;
* an entry with several ``TxDtls`` (a batch booking) is split into one line
  per ``TxDtls`` with its own amount, and the amounts must add up to the
  entry amount (else an error: the statement would no longer reconcile);
* entries not yet booked (``Sts`` PDNG, INFO, FUTR) are skipped with a warning.

Amounts are exact: an amount with more decimals than its currency allows is
refused (``8.851 EUR``); trailing zeros (``8.850``) are exact and accepted.

Lines are handed over as columns (:class:`~imports.model.LineTable`), no
StatementLine object per line; the tree is lxml's when lxml is installed
(see :mod:`imports.xmlsafe`).  The fields of the entries are read a few
thousand entries at a time as values (:data:`_ENTRY_SPECS`, through
:meth:`~imports.xmlsafe.XmlDocument.extract`); elements are touched again only
for batches, charges, currency exchanges and structured-only remittance.  The
entries of a big statement are read by two processes (:meth:`_Reader.entries`).
A bank transaction id seen twice in a statement is reported on the line that
repeats it.

Pure: no database, no matching.  Uses ``imports.xmlsafe`` for all XML.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from imports.forked import Pending, can_fork, pack_texts, unpack_texts
from imports.limits import read_limited
from imports.model import (
    Balance,
    Diagnostic,
    LineTable,
    Origin,
    ReadResult,
    Severity,
    Statement,
)
from imports.xmlsafe import (
    ATTR,
    CHILDREN,
    COUNT,
    TEXT,
    TEXTS,
    Detach,
    Detached,
    DetachFailed,
    Element,
    PathSpec,
    XmlDocument,
    XmlSyntaxError,
    gc_paused,
    local_name,
    parse_bytes,
)
from ledger.money import Money, MoneyError, PrecisionError, check_currency, currency_digits

__all__ = ["read", "read_bytes", "sniff"]

_NS_RE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.001\.(\d{2})$")
_SNIFF_RE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.")

#: message → (container element, statement element)
_CONTAINERS = {
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_KNOWN_VERSIONS = range(2, 14)
_NOT_BOOKED = {"PDNG", "INFO", "FUTR"}
#: Amounts of 10^15 or more major units are refused before any arithmetic.
_MAX_INTEGER_DIGITS = 15
#: Statements with this many entries are read in two processes (see :meth:`_Reader.entries`).
SPLIT_ENTRIES = 10_000
#: This process's share of a split statement's entries: the child sends its lines
#: back pickled.  Both parse their own slices, so the split is near even; on
#: 100,000 entries 50, 55, 58 and 62 % read within the noise of each other.
_PARENT_SHARE = 0.55
#: The entries are parsed a slice at a time, when their tags allow it
#: (:func:`~imports.xmlsafe.parse_bytes`); the line of a transaction detail may be
#: asked for (batches, diagnostics).
_DETACH = Detach("Ntry", ("TxDtls",))


def sniff(head: bytes) -> bool:
    """True if the first bytes look like an ISO 20022 camt.052/053/054 document."""
    return bool(_SNIFF_RE.search(head))


def read(path: str | Path, *, strict_balances: bool = True) -> ReadResult:
    """Read a camt.053/052/054 file into statements and diagnostics.

    ``strict_balances=False`` reports an opening balance plus entries that do
    not reach the closing balance as a warning instead of an error.  Never raises on bad content; raises :class:`ImportFileError` only when the
    file is refused as a whole (too large, unreadable, unsafe XML).
    """
    data = read_limited(path)
    return read_bytes(data, str(path), strict_balances=strict_balances)


def read_bytes(data: bytes, file: str, *, strict_balances: bool = True) -> ReadResult:
    """Like :func:`read`, for bytes already in memory (``file`` names them in diagnostics)."""
    # One pause of the garbage collector for the tree and the lines read from it.
    # The tree (with ElementTree, millions of objects without cycles) is freed by
    # reference counting before the collector runs again: no collection walks it.
    with gc_paused():
        try:
            return _read(data, file, strict_balances, _DETACH)
        except DetachFailed:  # a slice of entries did not read on its own: read it whole
            return _read(data, file, strict_balances, _DETACH._replace(cut=False))


def _read(data: bytes, file: str, strict_balances: bool, detach: Detach) -> ReadResult:
    result = ReadResult()
    try:
        doc = parse_bytes(data, file, prefer_lxml=True, detach=detach)
    except XmlSyntaxError as exc:
        result.report(file, exc.line, exc.message)
        return result
    _Reader(doc, file, result, strict_balances).run()
    return result


# --------------------------------------------------------------------------- helpers


def _text(el: Element | None) -> str:
    if el is None:
        return ""
    text = el.text
    return text.strip() if text else ""


def _f(el: Element | None, *tags: str) -> Element | None:
    """Follow ``tags`` one child at a time (plain finds stay in C; paths do not)."""
    for tag in tags:
        if el is None:
            return None
        el = el.find(tag)
    return el


def _squash(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


class _Q(dict):  # type: ignore[type-arg]
    """Qualified tag names for one namespace, built on first use."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, key: str) -> str:
        value = self.prefix + key
        self[key] = value
        return value


class _Paths:
    """The lookups of the parts read element by element, compiled once per document.

    Each is ``Element.find`` one step at a time (see :meth:`XmlDocument.path`),
    fast on the lxml tree too; statement-level code uses ``find`` directly.
    A path of several steps follows the first match of each, like ``_f``.
    The fields of every entry are read at once instead (:data:`_ENTRY_SPECS`).
    """

    def __init__(self, doc: XmlDocument) -> None:
        p, c = doc.path, doc.children
        self.entry_details, self.tx_details = c("NtryDtls"), c("TxDtls")
        # under Ntry or TxDtls
        self.amount_details, self.charges = p("AmtDtls"), c("Chrgs")
        self.remittance = p("RmtInf")
        # under RmtInf and Strd
        self.structured, self.creditor_refs, self.refs_in = c("Strd"), c("CdtrRefInf"), c("Ref")
        self.more_remittance = c("AddtlRmtInf")
        # under Chrgs and Rcrd
        self.total_charges, self.records = p("TtlChrgsAndTaxAmt"), c("Rcrd")
        self.amount, self.indicator = p("Amt"), p("CdtDbtInd")


def _texts(*paths: tuple[str, ...]) -> list[PathSpec]:
    return [(TEXT, path, None) for path in paths]


#: Domain, family, sub-family and proprietary code of ``BkTxCd`` (under Ntry or TxDtls).
_BANK_CODE_SPECS = _texts(
    ("BkTxCd", "Domn", "Cd"),
    ("BkTxCd", "Domn", "Fmly", "Cd"),
    ("BkTxCd", "Domn", "Fmly", "SubFmlyCd"),
    ("BkTxCd", "Prtry", "Cd"),
)


def _party_specs(role: str) -> list[PathSpec]:
    # name, name under Pty (001.08+), IBAN, other account id
    return _texts(
        ("RltdPties", role, "Nm"),
        ("RltdPties", role, "Pty", "Nm"),
        ("RltdPties", role + "Acct", "Id", "IBAN"),
        ("RltdPties", role + "Acct", "Id", "Othr", "Id"),
    )


#: ``AmtDtls`` (under Ntry or TxDtls): how many, its instructed amount and currency,
#: and the ``CcyXchg`` of its first part that has one (see :meth:`_Reader.amount_details`).
_AMOUNT_DETAILS_SPECS: list[PathSpec] = [
    (COUNT, ("AmtDtls",), None),
    (TEXT, ("AmtDtls", "InstdAmt", "Amt"), None),
    (ATTR, ("AmtDtls", "InstdAmt", "Amt"), "Ccy"),
    (TEXT, ("AmtDtls", "*", "CcyXchg"), None),
]

#: What is read of each transaction detail (TxDtls), in the order
#: :meth:`_Reader.detail_fields`, :meth:`_Reader.remittance` and
#: :meth:`_Reader.detail_amount` unpack it.
_DETAIL_SPECS: list[PathSpec] = [
    *_texts(("Refs", "EndToEndId"), ("Refs", "AcctSvcrRef"), ("Refs", "UETR"),
            ("RmtInf", "Strd", "CdtrRefInf", "Ref"), ("RmtInf",)),  # 0-4
    (TEXTS, ("RmtInf", "Ustrd"), None),  # 5
    (COUNT, ("RmtInf", "Strd"), None),  # 6
    *_texts(("AddtlTxInf",), ("RltdPties",)),  # 7, 8
    *_party_specs("Dbtr"),  # 9-12
    *_party_specs("Cdtr"),  # 13-16
    (CHILDREN, ("BkTxCd",), None),  # 17
    *_BANK_CODE_SPECS,  # 18-21
    (COUNT, ("Chrgs",), None),  # 22
    *_AMOUNT_DETAILS_SPECS,  # 23-26
    # a batch's own amounts: Amt, AmtDtls/TxAmt/Amt, AmtDtls/CntrValAmt/Amt, CdtDbtInd
    (TEXT, ("AmtDtls", "TxAmt", "Amt"), None), (ATTR, ("AmtDtls", "TxAmt", "Amt"), "Ccy"),  # 27
    (TEXT, ("AmtDtls", "CntrValAmt", "Amt"), None),  # 29
    (ATTR, ("AmtDtls", "CntrValAmt", "Amt"), "Ccy"),
    (TEXT, ("Amt",), None), (ATTR, ("Amt",), "Ccy"),  # 31, 32
    (TEXT, ("CdtDbtInd",), None),  # 33
]
#: What is read of each entry (Ntry), in the order :meth:`_Reader.entry` unpacks it,
#: followed by :data:`_DETAIL_SPECS` under its first ``NtryDtls/TxDtls``.
_ENTRY_SPECS: list[PathSpec] = [
    *_texts(("Sts", "Cd"), ("Sts", "Prtry"), ("Sts",)),  # 0-2
    (TEXT, ("Amt",), None), (ATTR, ("Amt",), "Ccy"),  # 3, 4
    *_texts(("CdtDbtInd",), ("RvslInd",)),  # 5, 6
    *_texts(("BookgDt", "Dt"), ("BookgDt", "DtTm"), ("ValDt", "Dt"), ("ValDt", "DtTm")),  # 7-10
    *_texts(("AcctSvcrRef",), ("NtryRef",), ("AddtlNtryInf",)),  # 11-13
    *_BANK_CODE_SPECS,  # 14-17
    *_AMOUNT_DETAILS_SPECS,  # 18-21
    (COUNT, ("Chrgs",), None),  # 22
    (COUNT, ("NtryDtls",), None),  # 23
    (COUNT, ("NtryDtls", "TxDtls"), None),  # 24
]
_FIRST_DETAIL = len(_ENTRY_SPECS)
_ENTRY_SPECS += [(mode, ("NtryDtls", "TxDtls", *steps), attr) for mode, steps, attr in _DETAIL_SPECS]
#: Entries read at a time (parsed, when detached, then read by XmlDocument.extract,
#: turned into lines and freed).  A slice of 256 entries (~2 MiB of tree) stays in
#: the processor's cache meanwhile: the 100,000-entry file reads in 1.24-1.46 s in
#: one process against 1.67-1.78 s with slices of 2,048 (alternating runs).
_EXTRACT_CHUNK = 256
#: Extra fields of a line without amount details.
_NO_EXTRA: dict[str, Any] = {}


class _EntryError(Exception):
    """Internal: an entry cannot be read; the diagnostic is already recorded."""


class _Line(NamedTuple):
    """One statement line as a row of the columns storage reads (``ledger.lines.COLUMNS``).

    A statement's rows become one :class:`~imports.model.LineTable`: no
    StatementLine, Origin and Money objects per line unless someone asks for them.
    The reader builds plain tuples in this order (see :meth:`_Reader.line`).
    """

    account: str
    booking_date: date
    value_date: date | None
    amount_minor: int
    currency: str
    counterparty_name: str
    counterparty_account: str
    reference: str
    remittance: str
    bank_transaction_id: str
    bank_code: str
    charges_minor: int | None
    charges_currency: str | None
    instructed_minor: int | None
    instructed_currency: str | None
    exchange_rate: Decimal | None
    source_currency: str
    target_currency: str
    reversal: bool
    file: str
    line: int | None
    location: str
    raw: str


def _columns(rows: list[tuple[Any, ...]], doc: XmlDocument) -> dict[str, list[Any]]:
    """The columns of ``rows`` (tuples in the order of :class:`_Line`, as built by
    :meth:`_Reader.line`), whose ``raw`` still holds the source element: its line
    and raw text are looked up for all rows at once."""
    if not rows:
        return LineTable.empty()
    columns = dict(zip(_Line._fields, map(list, zip(*rows)), strict=True))
    columns["line"], columns["raw"] = doc.lines_and_raws(columns["raw"])
    return columns


class _Reader:
    def __init__(
        self, doc: XmlDocument, file: str, result: ReadResult, strict_balances: bool = True
    ) -> None:
        self.strict_balances = strict_balances
        self.doc = doc
        self.file = file
        self.result = result
        self.q = _Q("{" + doc.namespace + "}" if doc.namespace else "")
        self.paths = _Paths(doc)
        self._balance_date = (doc.path("Dt", "Dt"), doc.path("Dt", "DtTm"))
        # Statements repeat a few dates and one or two currencies thousands of times.
        self._days: dict[str, date] = {}
        self._currencies: dict[str, tuple[str, int]] = {}

    # -- diagnostics -----------------------------------------------------------------
    def diag(
        self,
        el: Element | None,
        message: str,
        location: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        line = self.doc.line(el) if el is not None else None
        self.result.report(self.file, line, message, severity, location)

    def warn(self, el: Element | None, message: str, location: str | None = None) -> None:
        self.diag(el, message, location, Severity.WARNING)

    # -- document --------------------------------------------------------------------
    def run(self) -> None:
        doc, q = self.doc, self.q
        root = doc.root
        m = _NS_RE.match(doc.namespace)
        container = None
        if m:
            message, version = m.group(1), int(m.group(2))
            if version not in _KNOWN_VERSIONS:
                self.warn(None, f"{message} version 001.{version:02d} has not been tested")
            container = root.find(q[_CONTAINERS[message][0]])
            fmt = f"{message}.001.{version:02d}"
        else:
            # Some banks drop the namespace: recognise the message by its container.
            for message, (cont, _) in _CONTAINERS.items():
                container = root.find(q[cont])
                if container is not None:
                    fmt = message
                    self.warn(None, f"no camt namespace on the root element; read as {message}")
                    break
        if local_name(root.tag) != "Document" or container is None:
            found = local_name(root.tag)
            ns = f" in namespace {doc.namespace}" if doc.namespace else ""
            self.result.diagnostics.append(
                Diagnostic(
                    self.file,
                    1,
                    f"not a camt.052/053/054 document: root element <{found}>{ns}",
                )
            )
            return
        cont_name, st_name = _CONTAINERS[message]
        statements = container.findall(q[st_name])
        doc.locate(cont_name, [container])
        if not statements:
            self.diag(
                container,
                f"no statement: <{cont_name}> holds no <{st_name}> element",
                cont_name,
            )
            return
        doc.locate(st_name, statements)
        doc.locate("Bal", [b for s in statements for b in s.findall(q["Bal"])])
        for i, st in enumerate(statements, start=1):
            self.statement(st, f"{st_name}[{i}]", fmt)

    # -- statement -------------------------------------------------------------------
    def statement(self, st: Element, where: str, fmt: str) -> None:
        q = self.q
        acct = st.find(q["Acct"])
        account = ""
        currency = ""
        if acct is not None:
            ident = acct.find(q["Id"])
            if ident is not None:
                account = _text(ident.find(q["IBAN"])) or _text(_f(ident, q["Othr"], q["Id"]))
            currency = _text(acct.find(q["Ccy"])).upper()
        balances: list[Balance] = []
        for b in st.findall(q["Bal"]):
            bal = self.balance(b, f"{where}/Bal")
            if bal is not None:
                balances.append(bal)
        entries = self.doc.detached(st)
        if not currency:
            for bal in balances:
                if bal.kind in ("OPBD", "CLBD", "PRCD"):
                    currency = bal.amount.currency
                    break
            else:
                first_amt = _f(next(iter(entries.read(0, 1)), None), q["Amt"])
                self.doc.release()
                if first_amt is not None:
                    currency = first_amt.get("Ccy", "").strip().upper()
                elif balances:
                    currency = balances[0].amount.currency
        opening = closing = None
        others: list[Balance] = []
        for bal in balances:
            if bal.kind == "OPBD" and opening is None:
                opening = bal
            elif bal.kind == "CLBD" and closing is None:
                closing = bal
            else:
                others.append(bal)
        if opening is None:
            prcd = next((b for b in others if b.kind == "PRCD"), None)
            if prcd is not None:  # previously closed booked balance opens this one
                opening = prcd
                others.remove(prcd)
        for bal in (opening, closing):
            if bal is not None and currency and bal.amount.currency != currency:
                self.warn(
                    st,
                    f"balance {bal.kind} is in {bal.amount.currency} but the account is in "
                    f"{currency}",
                    where,
                )
        period = st.find(q["FrToDt"])
        period_start = period_end = None
        if period is not None:
            period_start = self._iso_date(period.find(q["FrDtTm"]))
            period_end = self._iso_date(period.find(q["ToDtTm"]))
        created = self._iso_date(st.find(q["CreDtTm"]))
        statement = Statement(
            account=account,
            currency=currency,
            statement_id=_text(st.find(q["Id"])),
            opening=opening,
            closing=closing,
            other_balances=others,
            period_start=period_start,
            period_end=period_end,
            origin=Origin(self.file, self.doc.line(st), where),
            format=fmt,
        )
        errors_before = len(self.result.errors)
        own = account.replace(" ", "").upper()
        table = self.entries(entries, where, statement, created, own)
        ids = [bid for bid in table.columns["bank_transaction_id"] if bid]
        if len(set(ids)) != len(ids):  # some id repeats: say where, in order
            seen_ids: set[str] = set()
            for bid, line, location in zip(table.columns["bank_transaction_id"],
                                           table.columns["line"], table.columns["location"],
                                           strict=True):
                if bid:
                    if bid in seen_ids:
                        self.result.report(self.file, line, f"bank transaction id {bid!r} "
                                           "appears twice in this statement", Severity.WARNING,
                                           location)
                    seen_ids.add(bid)
        statement.lines = table
        if len(self.result.errors) == errors_before:  # a refused entry would skew the sum
            self.check_balances(statement, table, st, where)
        self.result.statements.append(statement)

    def entries(self, entries: Detached, where: str, st: Statement, created: date | None,
                own: str) -> LineTable:
        """The lines of ``entries``, their problems added to the result.

        The entries are read a chunk at a time (parsed then, when the document was
        parsed without them: see :func:`~imports.xmlsafe.parse_bytes`), their fields
        at once (:meth:`XmlDocument.extract`, :data:`_ENTRY_SPECS`), then turned into
        lines.  A statement of :data:`SPLIT_ENTRIES` entries or more is read by two
        processes: a child forked after parsing reads the last entries (and sends back
        their columns and problems) while this process reads the first
        (:data:`_PARENT_SHARE`), so the result is the one-process result.
        """
        doc = self.doc

        def part(lo: int, hi: int) -> tuple[dict[str, list[Any]], list[Diagnostic]]:
            kept, self.result.diagnostics = self.result.diagnostics, []
            columns = LineTable.empty()
            try:
                for start in range(lo, hi, _EXTRACT_CHUNK):
                    chunk = entries.read(start, min(hi, start + _EXTRACT_CHUNK))
                    values = zip(*doc.extract(chunk, _ENTRY_SPECS), strict=True)
                    rows: list[tuple[Any, ...]] = []
                    for k, (ntry, e) in enumerate(zip(chunk, values, strict=True), start + 1):
                        try:
                            rows.extend(self.entry(ntry, e, f"{where}/Ntry[{k}]", st, created,
                                                   own))
                        except _EntryError:
                            continue
                    for name, column in _columns(rows, doc).items():
                        columns[name] += column
                doc.release()
                return columns, self.result.diagnostics
            finally:
                self.result.diagnostics = kept

        n = len(entries)
        if n < SPLIT_ENTRIES or not can_fork():
            cols, diagnostics = part(0, n)
            self.result.diagnostics.extend(diagnostics)
            return LineTable(cols)
        cut = int(n * _PARENT_SHARE)

        def packed_part(lo: int, hi: int) -> tuple[dict[str, Any], list[Diagnostic]]:
            cols, diagnostics = part(lo, hi)
            return {name: pack_texts(values) for name, values in cols.items()}, diagnostics

        with Pending(lambda: packed_part(cut, n)) as rest:
            parts = [part(0, cut), rest.result()]
        columns = LineTable.empty()
        for cols, diagnostics in parts:
            self.result.diagnostics.extend(diagnostics)
            for name, values in cols.items():
                columns[name].extend(unpack_texts(values))
        return LineTable(columns)

    def _iso_date(self, el: Element | None) -> date | None:
        raw = _text(el)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            self.warn(el, f"not a date: {raw!r}")
            return None

    def day(self, dt: str | None, dttm: str | None) -> date | None:
        """The date of ``X/Dt`` or else ``X/DtTm`` as read (``2024-01-02``, or
        ``2024-01-02T10:00:00`` whose time is dropped), or None.

        Raises ValueError for text that is not a date.
        """
        raw = dt or dttm
        if not raw:
            return None
        key = raw[:10]
        day = self._days.get(key)
        if day is None:
            day = self._days[key] = date.fromisoformat(key)
        return day


    def check_balances(self, st: Statement, lines: LineTable, el: Element, where: str) -> None:
        # Balances that the bank's own entries do not reach mean a missing, pending
        # or misread entry: refused by default, like MT940.
        o, c = st.opening, st.closing
        if o is None or c is None or o.amount.currency != c.amount.currency:
            return
        currency = o.amount.currency
        if any(ccy != currency for ccy in lines.columns["currency"]):
            return
        total = sum(lines.columns["amount_minor"])
        expected = Money(o.amount.minor + total, currency)
        if expected != c.amount:
            self.diag(
                el,
                f"balances do not add up: opening {o.amount} on {o.date} plus "
                f"{len(lines)} line(s) totalling {Money(total, currency)} gives "
                f"{expected}, but the closing balance on {c.date} is {c.amount}",
                where,
                Severity.ERROR if self.strict_balances else Severity.WARNING,
            )

    # -- amounts ---------------------------------------------------------------------
    def money(self, amt: Element, where: str, owner: Element) -> Money:
        """The amount of an ``Amt`` element (see :meth:`minor_units`)."""
        return Money(*self.minor_units(_text(amt), amt.get("Ccy", ""), where, owner))

    def minor_units(self, text: str, ccy: str, where: str, owner: Element) -> tuple[int, str]:
        """The amount ``text`` (stripped) in currency ``ccy`` (as written in its
        ``Ccy`` attribute) in minor units and its currency code, exactly.

        Reports a diagnostic on ``owner`` and raises :class:`_EntryError` when the
        amount is not a number, too large or more precise than its currency.
        """
        ccy = ccy.strip()
        # The common case, "1234.50" in a known currency, without Decimal.  Anything
        # else (signs, exponents, more decimals than the currency has, 16+ integer
        # digits, unknown codes) goes through Decimal and Money.of, which decide and
        # word every refusal.
        known = self._currencies.get(ccy) or self._currency(ccy)
        if known is not None:
            code, digits = known
            whole, dot, frac = text.partition(".")
            if 0 < len(whole) <= _MAX_INTEGER_DIGITS and whole.isascii() and whole.isdigit():
                if not dot:
                    return int(whole) * 10**digits, code
                if 0 < len(frac) <= digits and frac.isascii() and frac.isdigit():
                    return int(whole + frac) * 10 ** (digits - len(frac)), code
        try:
            value = Decimal(text)
            if value.is_finite() and value.adjusted() >= _MAX_INTEGER_DIGITS:
                self.diag(owner, f"amount {text} {ccy} is implausibly large; refused", where)
                raise _EntryError
            money = Money.of(value, ccy)
            return money.minor, money.currency
        except PrecisionError:
            digits = currency_digits(ccy)
            self.diag(
                owner,
                f"amount {text} {ccy} has more decimals than {ccy} allows ({digits}); "
                "refused rather than rounded",
                where,
            )
        except (ArithmeticError, MoneyError) as exc:  # decimal errors are ArithmeticErrors
            msg = str(exc) if isinstance(exc, MoneyError) else "not a number"
            self.diag(owner, f"bad amount {text!r} {ccy!r}: {msg}", where)
        raise _EntryError

    def _currency(self, ccy: str) -> tuple[str, int] | None:
        """``(code, digits)`` of a known currency code as written, else None."""
        try:
            code = check_currency(ccy)
        except MoneyError:
            return None
        known = self._currencies[ccy] = (code, currency_digits(code))
        return known

    def balance(self, b: Element, where: str) -> Balance | None:
        q = self.q
        tp = _f(b, q["Tp"], q["CdOrPrtry"])
        kind = (_text(tp.find(q["Cd"])) or _text(tp.find(q["Prtry"]))) if tp is not None else ""
        where = f"{where}[{kind or '?'}]"
        amt = b.find(q["Amt"])
        if amt is None:
            self.diag(b, f"balance {kind} has no amount", where)
            return None
        try:
            money = self.money(amt, where, b)
        except _EntryError:
            return None
        if _text(b.find(q["CdtDbtInd"])) == "DBIT":
            money = -money
        try:
            dt, dttm = self._balance_date
            day = self.day(_text(dt(b, None)), _text(dttm(b, None)))
        except ValueError:
            day = None
        if day is None:
            self.diag(b, f"balance {kind} has no valid date", where)
            return None
        return Balance(kind=kind, date=day, amount=money)

    def amount_details(
        self,
        values: tuple[Any, ...],
        sign: int,
        where: str,
        owner: Element,
        base: dict[str, Any] = _NO_EXTRA,
    ) -> dict[str, Any]:
        """``base`` with the instructed amount of ``AmtDtls`` added (a new dict when
        there is an ``AmtDtls``); ``values`` as read by :data:`_AMOUNT_DETAILS_SPECS`.

        When its last value (the exchange) is not None, the caller adds the exchange
        with :meth:`exchange`.
        """
        count, instructed, instructed_currency, _ = values
        if not count:
            return base
        out = dict(base)
        if instructed is not None:
            out["instructed_amount"] = Money(*self.minor_units(
                instructed, instructed_currency, where + "/AmtDtls/InstdAmt", owner)) * sign
        return out

    def exchange(self, holder: Element, where: str, owner: Element, out: dict[str, Any]) -> None:
        """Add to ``out`` the currencies and rate of the first ``CcyXchg`` in
        ``holder/AmtDtls`` (``out`` as returned by :meth:`amount_details`)."""
        details = self.paths.amount_details(holder, None)
        if details is None:
            return
        q = self.q
        for part in details:
            xchg = part.find(q["CcyXchg"])
            if xchg is None:
                continue
            out["source_currency"] = _text(xchg.find(q["SrcCcy"])).upper()
            out["target_currency"] = _text(xchg.find(q["TrgtCcy"])).upper()
            rate = _text(xchg.find(q["XchgRate"]))
            if rate:
                try:
                    out["exchange_rate"] = Decimal(rate)
                except ArithmeticError:
                    self.warn(owner, f"exchange rate {rate!r} is not a number", where)
            break

    def charges(self, holder: Element, where: str, owner: Element) -> Money | None:
        """Charges stated on an entry or transaction (positive = charged to the account)."""
        paths = self.paths
        blocks = paths.charges(holder)
        if not blocks:
            return None
        for blk in blocks:
            total = paths.total_charges(blk, None)
            if total is not None:
                return self.money(total, where + "/Chrgs", owner)
        sums: dict[str, int] = {}
        for blk in blocks:
            records = paths.records(blk) or [blk]  # 001.03+ wraps them in Rcrd
            for rec in records:
                amt = paths.amount(rec, None)
                if amt is None:
                    continue
                minor, ccy = self.minor_units(_text(amt), amt.get("Ccy", ""), where + "/Chrgs",
                                              owner)
                if _text(paths.indicator(rec, None)) == "CRDT":
                    minor = -minor  # a charge refunded to the account
                sums[ccy] = sums.get(ccy, 0) + minor
        if not sums:
            return None
        ccy, minor = next(iter(sums.items()))
        if len(sums) > 1:
            self.warn(
                owner, f"charges in several currencies; only the {ccy} charges are kept", where
            )
        return Money(minor, ccy)

    # -- entries ---------------------------------------------------------------------
    def entry(
        self, ntry: Element, e: tuple[Any, ...], where: str, st: Statement, created: date | None,
        own: str,
    ) -> list[tuple[Any, ...]]:
        """The lines of one entry (see :meth:`line`); ``e`` its values
        (:data:`_ENTRY_SPECS`), ``own`` the statement's account, normalised."""
        (status_code, status_proprietary, status, amount_text, amount_ccy, indicator,
         reversal_text, booking_dt, booking_dttm, value_dt, value_dttm, servicer_ref, entry_ref,
         entry_info) = e[:14]
        entry_codes, entry_amounts = e[14:18], e[18:22]
        entry_charges, entry_details, first_details = e[22:25]
        status = status_code or status_proprietary or status or ""
        if status in _NOT_BOOKED:
            self.warn(ntry, f"entry not booked (status {status}): skipped", where)
            return []
        if amount_text is None:
            self.diag(ntry, "entry has no amount (<Amt>)", where)
            raise _EntryError
        minor, currency = self.minor_units(amount_text, amount_ccy, where + "/Amt", ntry)
        indicator = indicator or ""
        if indicator not in ("CRDT", "DBIT"):
            self.diag(ntry, f"entry has no credit/debit indicator (CdtDbtInd {indicator!r})", where)
            raise _EntryError
        sign = -1 if indicator == "DBIT" else 1
        if st.currency and currency != st.currency:
            self.diag(
                ntry,
                f"entry amount is in {currency} but the account is in {st.currency}",
                where,
            )
            raise _EntryError
        reversal = (reversal_text or "").lower() in ("true", "1")
        try:
            booking = self.day(booking_dt, booking_dttm)
            value = self.day(value_dt, value_dttm)
        except ValueError as exc:
            self.diag(ntry, f"bad date in entry: {exc}", where)
            raise _EntryError from None
        if booking is None:
            if value is not None:
                booking = value
                self.warn(ntry, "entry has no booking date; its value date is used", where)
            elif created is not None:
                booking = created
                self.warn(
                    ntry, "entry has no booking or value date; the message date is used", where
                )
            else:
                self.diag(ntry, "entry has no booking date", where)
                raise _EntryError
        entry_id = servicer_ref or entry_ref or ""
        direction = -sign if reversal else sign

        # The transaction details: read with the entry when it holds one NtryDtls
        # with at most one TxDtls, else element by element.
        details: list[Element] | None = None
        rows: list[tuple[Any, ...]]
        if entry_details == 0:
            rows = []
        elif entry_details == 1 and first_details <= 1:
            rows = [e[_FIRST_DETAIL:]] if first_details else []
        else:
            details = self.details(ntry)
            rows = list(zip(*self.doc.extract(details, _DETAIL_SPECS), strict=True))

        if len(rows) <= 1:
            td = rows[0] if rows else None
            fields = self.detail_fields(td, entry_codes, entry_info, direction, own, ntry,
                                        details, 0)
            extra = self.amount_details(entry_amounts, sign, where, ntry)
            if entry_amounts[3] is not None:
                self.exchange(ntry, where, ntry, extra)
            charges = self.charges(ntry, where, ntry) if entry_charges else None
            bid = entry_id
            if td is not None:
                td_where = where + "/NtryDtls/TxDtls"
                extra = self.amount_details(td[23:27], sign, td_where, ntry, extra)
                if td[26] is not None:
                    self.exchange(self.detail(ntry, details, 0), td_where, ntry, extra)
                if td[22]:
                    td_charges = self.charges(self.detail(ntry, details, 0), td_where, ntry)
                    if td_charges is not None:
                        charges = td_charges
                if not bid:
                    bid = td[1] or td[2] or ""
            return [
                self.line(
                    st, booking, value, reversal, minor * sign, currency, fields, extra, charges,
                    bid, where, ntry,
                )
            ]
        amount = Money(minor, currency)

        # A batch: one line per transaction detail, each with its own amount.
        assert details is not None  # a batch is read element by element
        amounts: list[Money | None] = []
        for j, td in enumerate(rows):
            loc = f"{where}/NtryDtls/TxDtls[{j + 1}]"
            amounts.append(self.detail_amount(td, amount.currency, sign, loc, details[j]))
        missing = [j for j, a in enumerate(amounts, start=1) if a is None]
        if len(missing) == len(rows):
            self.warn(
                ntry,
                f"batch of {len(rows)} transaction details without their own amounts: "
                "kept as one line of the entry amount",
                where,
            )
            fields = self.detail_fields(rows[0], entry_codes, entry_info, direction, own, ntry,
                                        details, 0)
            texts = []
            for j, td in enumerate(rows):
                text = self.remittance(td, None, ntry, details, j)
                if text and text not in texts:
                    texts.append(text)
            reference, remittance, name, account, code = fields
            fields = (reference, " | ".join(texts) or remittance, name, account, code)
            extra = self.amount_details(entry_amounts, sign, where, ntry)
            if entry_amounts[3] is not None:
                self.exchange(ntry, where, ntry, extra)
            charges = self.charges(ntry, where, ntry) if entry_charges else None
            return [
                self.line(
                    st, booking, value, reversal, minor * sign, currency, fields, extra, charges,
                    entry_id, where, ntry,
                )
            ]
        if missing:
            self.diag(
                details[missing[0] - 1],
                f"transaction detail {missing[0]} of a batch has no amount in "
                f"{amount.currency}; the batch cannot be split",
                f"{where}/NtryDtls/TxDtls[{missing[0]}]",
            )
            raise _EntryError
        total = sum(a.minor for a in amounts if a is not None)
        if total != amount.minor * sign:
            self.diag(
                ntry,
                f"entry amount {amount * sign} but its {len(rows)} transaction details add "
                f"up to {Money(total, amount.currency)}",
                where,
            )
        if entry_charges and self.charges(ntry, where, ntry) is not None:
            self.warn(ntry, "charges stated for the whole batch are not split per line", where)
        lines = []
        for j, (td, part) in enumerate(zip(rows, amounts, strict=True)):
            assert part is not None
            loc = f"{where}/NtryDtls/TxDtls[{j + 1}]"
            part_sign = -1 if part.minor < 0 else 1
            td_el = details[j]
            fields = self.detail_fields(td, entry_codes, entry_info,
                                        part_sign * (-1 if reversal else 1), own, ntry, details, j)
            extra = self.amount_details(td[23:27], part_sign, loc, td_el)
            if td[26] is not None:
                self.exchange(td_el, loc, td_el, extra)
            charges = self.charges(td_el, loc, td_el) if td[22] else None
            bid = f"{entry_id}/{j + 1}" if entry_id else ""
            lines.append(
                self.line(
                    st, booking, value, reversal, part.minor, part.currency, fields, extra,
                    charges, bid, loc, td_el,
                )
            )
        return lines

    def details(self, ntry: Element) -> list[Element]:
        """The transaction details of an entry, in order (those of every NtryDtls)."""
        tx_dtls = self.paths.tx_details
        return [t for nd in self.paths.entry_details(ntry) for t in tx_dtls(nd)]

    def detail(self, ntry: Element, details: list[Element] | None, j: int) -> Element:
        """Transaction detail ``j`` of ``ntry``; ``details`` its details if already found."""
        return (details if details is not None else self.details(ntry))[j]

    def line(
        self,
        st: Statement,
        booking: date,
        value: date | None,
        reversal: bool,
        minor: int,
        currency: str,
        fields: tuple[str, str, str, str, str],
        extra: dict[str, Any],
        charges: Money | None,
        bid: str,
        where: str,
        source: Element,
    ) -> tuple[Any, ...]:
        """One line as a tuple in the order of :class:`_Line`; ``fields`` as from
        :meth:`detail_fields`, ``extra`` as from :meth:`amount_details`.

        ``source`` is the element whose line and raw text the line keeps: it stands
        in the ``raw`` place until :func:`_columns` looks them all up at once.
        """
        reference, remittance, name, account, code = fields
        if extra:
            instructed = extra.get("instructed_amount")
            instructed_minor = instructed.minor if instructed is not None else None
            instructed_currency = instructed.currency if instructed is not None else None
            rate = extra.get("exchange_rate")
            source_currency = extra.get("source_currency", "")
            target_currency = extra.get("target_currency", "")
        else:
            instructed_minor = instructed_currency = rate = None
            source_currency = target_currency = ""
        return (
            st.account,  # account
            booking,  # booking_date
            value,  # value_date
            minor,  # amount_minor
            currency,  # currency
            name,  # counterparty_name
            account,  # counterparty_account
            reference,
            remittance,
            bid,  # bank_transaction_id
            code,  # bank_code
            charges.minor if charges is not None else None,  # charges_minor
            charges.currency if charges is not None else None,  # charges_currency
            instructed_minor,
            instructed_currency,
            rate,  # exchange_rate
            source_currency,
            target_currency,
            reversal,
            self.file,
            None,  # line
            where,  # location
            source,  # raw, for now
        )

    def detail_amount(
        self, td: tuple[Any, ...], currency: str, entry_sign: int, where: str, td_el: Element
    ) -> Money | None:
        """The amount of one transaction detail (its values ``td``) in the entry's
        currency, signed: its ``Amt``, else ``AmtDtls/TxAmt/Amt``, else
        ``AmtDtls/CntrValAmt/Amt``, the first in that currency."""
        for text, ccy in ((td[31], td[32]), (td[27], td[28]), (td[29], td[30])):
            if text is not None and ccy.strip().upper() == currency:
                m = Money(*self.minor_units(text, ccy, where, td_el))
                indicator = td[33]
                s = entry_sign if not indicator else (-1 if indicator == "DBIT" else 1)
                return m * s
        return None

    def remittance(
        self,
        td: tuple[Any, ...] | None,
        entry_info: str | None,
        ntry: Element,
        details: list[Element] | None,
        j: int,
    ) -> str:
        """The remittance text of a line: the detail's unstructured texts, else its
        structured references, else its additional information, else (when
        ``entry_info`` is not None) the entry's additional information.  ``td`` are
        the values of detail ``j`` of ``ntry`` (see :meth:`detail`)."""
        if td is not None:
            if td[4] is not None:  # RmtInf
                ustrd: list[str] = td[5]
                if "".join(ustrd).strip():  # any non-blank
                    return _squash(ustrd)
                if td[6]:  # Strd
                    parts = self.structured_remittance(self.detail(ntry, details, j))
                    if any(parts):
                        return _squash(parts)
            if td[7]:  # AddtlTxInf
                return _squash([td[7]])
        if entry_info is not None:
            return _squash([entry_info])
        return ""

    def structured_remittance(self, td: Element) -> list[str]:
        """The creditor references and additional texts of every ``RmtInf/Strd``."""
        paths = self.paths
        parts: list[str] = []
        rmt = paths.remittance(td, None)
        for strd in paths.structured(rmt):
            for cri in paths.creditor_refs(strd):
                parts.extend(_text(r) for r in paths.refs_in(cri))
            parts.extend(_text(a) for a in paths.more_remittance(strd))
        return parts

    def detail_fields(
        self,
        td: tuple[Any, ...] | None,
        entry_codes: tuple[str | None, ...],
        entry_info: str | None,
        direction: int,
        own: str,
        ntry: Element,
        details: list[Element] | None,
        j: int,
    ) -> tuple[str, str, str, str, str]:
        """Reference, remittance, counterparty name and account, and bank code of a
        line whose transaction detail ``j`` of ``ntry`` has the values ``td`` (None: no
        detail).

        ``direction`` > 0 when money came in under the original payment (a
        credit, or the reversal of a debit): the counterparty is then the debtor.
        """
        remittance = self.remittance(td, entry_info or "", ntry, details, j)
        if td is None:
            return "", remittance, "", "", _bank_code(entry_codes)
        reference = ""
        name = account = ""
        e2e = td[0]
        if e2e and e2e.upper() != "NOTPROVIDED":
            reference = e2e
        if not reference:
            reference = td[3] or ""
        if td[8] is not None:  # RltdPties
            debtor, creditor = td[9:13], td[13:17]
            first, second = (debtor, creditor) if direction > 0 else (creditor, debtor)
            name, account = first[0] or first[1] or "", first[2] or first[3] or ""
            if not name and not account:
                # Fall back on the other party unless it is the account owner.
                n2, a2 = second[0] or second[1] or "", second[2] or second[3] or ""
                if a2.replace(" ", "").upper() != own:
                    name, account = n2, a2
        code = _bank_code(td[18:22] if td[17] else entry_codes)
        return reference, remittance, name, account, code


def _bank_code(codes: tuple[str | None, ...]) -> str:
    """``Domn/Cd``, ``Fmly/Cd`` and ``SubFmlyCd`` of a ``BkTxCd`` joined, else its
    proprietary code (``codes`` as read by :data:`_BANK_CODE_SPECS`)."""
    domain, family, sub_family, proprietary = codes
    if domain or family or sub_family:
        return "/".join((domain or "", family or "", sub_family or ""))
    return proprietary or ""
