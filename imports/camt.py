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

Pure: no database, no matching.  Uses ``imports.xmlsafe`` for all XML.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from imports.limits import check_size
from imports.model import (
    Balance,
    Diagnostic,
    ImportFileError,
    Origin,
    ReadResult,
    Severity,
    Statement,
    StatementLine,
)
from imports.xmlsafe import XmlDocument, XmlSyntaxError, gc_paused, local_name, parse_bytes
from ledger.money import Money, MoneyError, PrecisionError, currency_digits

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


def sniff(head: bytes) -> bool:
    """True if the first bytes look like an ISO 20022 camt.052/053/054 document."""
    return bool(_SNIFF_RE.search(head))


def read(path: str | Path, *, strict_balances: bool = True) -> ReadResult:
    """Read a camt.053/052/054 file into statements and diagnostics.

    ``strict_balances=False`` reports an opening balance plus entries that do
    not reach the closing balance as a warning instead of an error.  Never raises on bad content; raises :class:`ImportFileError` only when the
    file is refused as a whole (too large, unreadable, unsafe XML).
    """
    check_size(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return read_bytes(data, str(path), strict_balances=strict_balances)


def read_bytes(data: bytes, file: str, *, strict_balances: bool = True) -> ReadResult:
    """Like :func:`read`, for bytes already in memory (``file`` names them in diagnostics)."""
    result = ReadResult()
    try:
        doc = parse_bytes(data, file)
    except XmlSyntaxError as exc:
        result.diagnostics.append(Diagnostic(file, exc.line, exc.message))
        return result
    with gc_paused():
        _Reader(doc, file, result, strict_balances).run()
    return result


# --------------------------------------------------------------------------- helpers


def _text(el: Element | None) -> str:
    if el is None or el.text is None:
        return ""
    return el.text.strip()


def _date_of(el: Element | None, q: dict[str, str]) -> date | None:
    """``<X><Dt>2024-01-02</Dt></X>`` or ``<X><DtTm>2024-01-02T10:00:00</DtTm></X>``."""
    if el is None:
        return None
    raw = _text(el.find(q["Dt"])) or _text(el.find(q["DtTm"]))
    if not raw:
        return None
    return date.fromisoformat(raw[:10])


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


class _EntryError(Exception):
    """Internal: an entry cannot be read; the diagnostic is already recorded."""


class _Reader:
    def __init__(
        self, doc: XmlDocument, file: str, result: ReadResult, strict_balances: bool = True
    ) -> None:
        self.strict_balances = strict_balances
        self.doc = doc
        self.file = file
        self.result = result
        self.q = _Q("{" + doc.namespace + "}" if doc.namespace else "")

    # -- diagnostics -----------------------------------------------------------------
    def diag(
        self,
        el: Element | None,
        message: str,
        location: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        line = self.doc.line(el) if el is not None else None
        self.result.diagnostics.append(Diagnostic(self.file, line, message, severity, location))

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
        entries = [n for s in statements for n in s.findall(q["Ntry"])]
        details = [
            t for n in entries for nd in n.findall(q["NtryDtls"]) for t in nd.findall(q["TxDtls"])
        ]
        doc.locate(st_name, statements)
        doc.locate("Bal", [b for s in statements for b in s.findall(q["Bal"])])
        doc.locate("Ntry", entries)
        doc.locate("TxDtls", details)
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
        first_amt = _f(st, q["Ntry"], q["Amt"])
        if not currency:
            for bal in balances:
                if bal.kind in ("OPBD", "CLBD", "PRCD"):
                    currency = bal.amount.currency
                    break
            else:
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
        seen_ids: set[str] = set()
        for k, ntry in enumerate(st.findall(q["Ntry"]), start=1):
            try:
                lines = self.entry(ntry, f"{where}/Ntry[{k}]", statement, created)
            except _EntryError:
                continue
            for line in lines:
                bid = line.bank_transaction_id
                if bid:
                    if bid in seen_ids:
                        self.warn(
                            ntry,
                            f"bank transaction id {bid!r} appears twice in this statement",
                            line.origin.location,
                        )
                    seen_ids.add(bid)
            statement.lines.extend(lines)
        if len(self.result.errors) == errors_before:  # a refused entry would skew the sum
            self.check_balances(statement, st, where)
        self.result.statements.append(statement)

    def _iso_date(self, el: Element | None) -> date | None:
        raw = _text(el)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            self.warn(el, f"not a date: {raw!r}")
            return None

    def check_balances(self, st: Statement, el: Element, where: str) -> None:
        # Balances that the bank's own entries do not reach mean a missing, pending
        # or misread entry: refused by default, like MT940.
        o, c = st.opening, st.closing
        if o is None or c is None or o.amount.currency != c.amount.currency:
            return
        total = 0
        for line in st.lines:
            if line.amount.currency != o.amount.currency:
                return
            total += line.amount.minor
        expected = Money(o.amount.minor + total, o.amount.currency)
        if expected != c.amount:
            self.diag(
                el,
                f"balances do not add up: opening {o.amount} on {o.date} plus "
                f"{len(st.lines)} line(s) totalling {Money(total, o.amount.currency)} gives "
                f"{expected}, but the closing balance on {c.date} is {c.amount}",
                where,
                Severity.ERROR if self.strict_balances else Severity.WARNING,
            )

    # -- amounts ---------------------------------------------------------------------
    def money(self, amt: Element, where: str, owner: Element) -> Money:
        text = _text(amt)
        ccy = amt.get("Ccy", "").strip()
        try:
            value = Decimal(text)
            if value.is_finite() and value.adjusted() >= _MAX_INTEGER_DIGITS:
                self.diag(owner, f"amount {text} {ccy} is implausibly large; refused", where)
                raise _EntryError
            return Money.of(value, ccy)
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
            day = _date_of(b.find(q["Dt"]), q)
        except ValueError:
            day = None
        if day is None:
            self.diag(b, f"balance {kind} has no valid date", where)
            return None
        return Balance(kind=kind, date=day, amount=money)

    def amount_details(
        self, holder: Element, sign: int, where: str, owner: Element
    ) -> dict[str, Any]:
        """Instructed amount and exchange rate from ``holder/AmtDtls``."""
        q = self.q
        out: dict[str, Any] = {}
        details = holder.find(q["AmtDtls"])
        if details is None:
            return out
        instd = _f(details, q["InstdAmt"], q["Amt"])
        if instd is not None:
            out["instructed_amount"] = self.money(instd, where + "/AmtDtls/InstdAmt", owner) * sign
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
        return out

    def charges(self, holder: Element, where: str, owner: Element) -> Money | None:
        """Charges stated on an entry or transaction (positive = charged to the account)."""
        q = self.q
        blocks = holder.findall(q["Chrgs"])
        if not blocks:
            return None
        for blk in blocks:
            total = blk.find(q["TtlChrgsAndTaxAmt"])
            if total is not None:
                return self.money(total, where + "/Chrgs", owner)
        sums: dict[str, int] = {}
        for blk in blocks:
            records = blk.findall(q["Rcrd"]) or [blk]  # 001.03+ wraps them in Rcrd
            for rec in records:
                amt = rec.find(q["Amt"])
                if amt is None:
                    continue
                m = self.money(amt, where + "/Chrgs", owner)
                if _text(rec.find(q["CdtDbtInd"])) == "CRDT":
                    m = -m  # a charge refunded to the account
                sums[m.currency] = sums.get(m.currency, 0) + m.minor
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
        self, ntry: Element, where: str, st: Statement, created: date | None
    ) -> list[StatementLine]:
        q = self.q
        status_el = ntry.find(q["Sts"])
        status = ""
        if status_el is not None:
            status = (
                _text(status_el.find(q["Cd"]))
                or _text(status_el.find(q["Prtry"]))
                or _text(status_el)
            )
        if status in _NOT_BOOKED:
            self.warn(ntry, f"entry not booked (status {status}): skipped", where)
            return []
        amt = ntry.find(q["Amt"])
        if amt is None:
            self.diag(ntry, "entry has no amount (<Amt>)", where)
            raise _EntryError
        amount = self.money(amt, where + "/Amt", ntry)
        indicator = _text(ntry.find(q["CdtDbtInd"]))
        if indicator not in ("CRDT", "DBIT"):
            self.diag(ntry, f"entry has no credit/debit indicator (CdtDbtInd {indicator!r})", where)
            raise _EntryError
        sign = -1 if indicator == "DBIT" else 1
        if st.currency and amount.currency != st.currency:
            self.diag(
                ntry,
                f"entry amount is in {amount.currency} but the account is in {st.currency}",
                where,
            )
            raise _EntryError
        reversal = _text(ntry.find(q["RvslInd"])).lower() in ("true", "1")
        try:
            booking = _date_of(ntry.find(q["BookgDt"]), q)
            value = _date_of(ntry.find(q["ValDt"]), q)
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
        entry_id = _text(ntry.find(q["AcctSvcrRef"])) or _text(ntry.find(q["NtryRef"]))
        details = [t for nd in ntry.findall(q["NtryDtls"]) for t in nd.findall(q["TxDtls"])]
        base: dict[str, Any] = {
            "account": st.account,
            "booking_date": booking,
            "value_date": value,
            "reversal": reversal,
        }
        own = st.account.replace(" ", "").upper()

        if len(details) <= 1:
            td = details[0] if details else None
            fields = self.detail_fields(td, ntry, sign * (-1 if reversal else 1), own)
            fields.update(self.amount_details(ntry, sign, where, ntry))
            charges = self.charges(ntry, where, ntry)
            if td is not None:
                fields.update(self.amount_details(td, sign, where + "/NtryDtls/TxDtls", ntry))
                td_charges = self.charges(td, where + "/NtryDtls/TxDtls", ntry)
                if td_charges is not None:
                    charges = td_charges
            bid = entry_id
            if not bid and td is not None:
                refs = td.find(q["Refs"])
                if refs is not None:
                    bid = _text(refs.find(q["AcctSvcrRef"])) or _text(refs.find(q["UETR"]))
            return [
                StatementLine(
                    amount=amount * sign,
                    origin=Origin(self.file, self.doc.line(ntry), where, self.doc.raw(ntry)),
                    bank_transaction_id=bid,
                    charges=charges,
                    **base,
                    **fields,
                )
            ]

        # A batch: one line per transaction detail, each with its own amount.
        amounts: list[Money | None] = []
        for j, td in enumerate(details, start=1):
            loc = f"{where}/NtryDtls/TxDtls[{j}]"
            amounts.append(self.detail_amount(td, amount.currency, sign, loc))
        missing = [j for j, a in enumerate(amounts, start=1) if a is None]
        if len(missing) == len(details):
            self.warn(
                ntry,
                f"batch of {len(details)} transaction details without their own amounts: "
                "kept as one line of the entry amount",
                where,
            )
            fields = self.detail_fields(details[0], ntry, sign * (-1 if reversal else 1), own)
            texts = []
            for td in details:
                text = self.remittance(td, None)
                if text and text not in texts:
                    texts.append(text)
            fields["remittance"] = " | ".join(texts) or fields.get("remittance", "")
            fields.update(self.amount_details(ntry, sign, where, ntry))
            return [
                StatementLine(
                    amount=amount * sign,
                    origin=Origin(self.file, self.doc.line(ntry), where, self.doc.raw(ntry)),
                    bank_transaction_id=entry_id,
                    charges=self.charges(ntry, where, ntry),
                    **base,
                    **fields,
                )
            ]
        if missing:
            td = details[missing[0] - 1]
            self.diag(
                td,
                f"transaction detail {missing[0]} of a batch has no amount in "
                f"{amount.currency}; the batch cannot be split",
                f"{where}/NtryDtls/TxDtls[{missing[0]}]",
            )
            raise _EntryError
        total = sum(a.minor for a in amounts if a is not None)
        if total != amount.minor * sign:
            self.diag(
                ntry,
                f"entry amount {amount * sign} but its {len(details)} transaction details add "
                f"up to {Money(total, amount.currency)}",
                where,
            )
        if self.charges(ntry, where, ntry) is not None:
            self.warn(ntry, "charges stated for the whole batch are not split per line", where)
        lines = []
        for j, (td, part) in enumerate(zip(details, amounts), start=1):
            assert part is not None
            loc = f"{where}/NtryDtls/TxDtls[{j}]"
            part_sign = -1 if part.minor < 0 else 1
            fields = self.detail_fields(td, ntry, part_sign * (-1 if reversal else 1), own)
            fields.update(self.amount_details(td, part_sign, loc, td))
            lines.append(
                StatementLine(
                    amount=part,
                    origin=Origin(self.file, self.doc.line(td), loc, self.doc.raw(td)),
                    bank_transaction_id=f"{entry_id}/{j}" if entry_id else "",
                    charges=self.charges(td, loc, td),
                    **base,
                    **fields,
                )
            )
        return lines

    def detail_amount(
        self, td: Element, currency: str, entry_sign: int, where: str
    ) -> Money | None:
        """The amount of one transaction detail in the entry's currency, signed."""
        q = self.q
        candidates = [
            td.find(q["Amt"]),
            _f(td, q["AmtDtls"], q["TxAmt"], q["Amt"]),
            _f(td, q["AmtDtls"], q["CntrValAmt"], q["Amt"]),
        ]
        for amt in candidates:
            if amt is not None and amt.get("Ccy", "").strip().upper() == currency:
                m = self.money(amt, where, td)
                indicator = _text(td.find(q["CdtDbtInd"]))
                s = entry_sign if not indicator else (-1 if indicator == "DBIT" else 1)
                return m * s
        return None

    def remittance(self, td: Element | None, ntry: Element | None) -> str:
        q = self.q
        if td is not None:
            rmt = td.find(q["RmtInf"])
            if rmt is not None:
                ustrd = [el.text or "" for el in rmt.findall(q["Ustrd"])]
                if any(u.strip() for u in ustrd):
                    return _squash(ustrd)
                parts: list[str] = []
                for strd in rmt.findall(q["Strd"]):
                    for cri in strd.findall(q["CdtrRefInf"]):
                        parts.extend(_text(r) for r in cri.findall(q["Ref"]))
                    parts.extend(_text(a) for a in strd.findall(q["AddtlRmtInf"]))
                if any(parts):
                    return _squash(parts)
            info = _text(td.find(q["AddtlTxInf"]))
            if info:
                return _squash([info])
        if ntry is not None:
            return _squash([_text(ntry.find(q["AddtlNtryInf"]))])
        return ""

    def detail_fields(
        self, td: Element | None, ntry: Element, direction: int, own: str
    ) -> dict[str, Any]:
        """Reference, remittance, counterparty and bank code of a line.

        ``direction`` > 0 when money came in under the original payment (a
        credit, or the reversal of a debit): the counterparty is then the debtor.
        """
        q = self.q
        reference = ""
        name = account = ""
        code_holder = ntry
        if td is not None:
            refs = td.find(q["Refs"])
            if refs is not None:
                e2e = _text(refs.find(q["EndToEndId"]))
                if e2e and e2e.upper() != "NOTPROVIDED":
                    reference = e2e
            if not reference:
                reference = _text(_f(td, q["RmtInf"], q["Strd"], q["CdtrRefInf"], q["Ref"]))
            parties = td.find(q["RltdPties"])
            if parties is not None:
                first, second = ("Dbtr", "Cdtr") if direction > 0 else ("Cdtr", "Dbtr")
                name, account = self.party(parties, first)
                if not name and not account:
                    # Fall back on the other party unless it is the account owner.
                    n2, a2 = self.party(parties, second)
                    if a2.replace(" ", "").upper() != own:
                        name, account = n2, a2
            td_code = td.find(q["BkTxCd"])
            if td_code is not None and len(td_code):
                code_holder = td
        return {
            "reference": reference,
            "remittance": self.remittance(td, ntry),
            "counterparty_name": name,
            "counterparty_account": account,
            "bank_code": self.bank_code(code_holder.find(q["BkTxCd"])),
        }

    def party(self, parties: Element, role: str) -> tuple[str, str]:
        q = self.q
        party = parties.find(q[role])
        name = ""
        if party is not None:
            name = _text(party.find(q["Nm"])) or _text(_f(party, q["Pty"], q["Nm"]))
        account = ""
        acct = _f(parties, q[role + "Acct"], q["Id"])
        if acct is not None:
            account = _text(acct.find(q["IBAN"])) or _text(_f(acct, q["Othr"], q["Id"]))
        return name, account

    def bank_code(self, btc: Element | None) -> str:
        if btc is None:
            return ""
        q = self.q
        domain = btc.find(q["Domn"])
        if domain is not None:
            parts = [
                _text(domain.find(q["Cd"])),
                _text(_f(domain, q["Fmly"], q["Cd"])),
                _text(_f(domain, q["Fmly"], q["SubFmlyCd"])),
            ]
            if any(parts):
                return "/".join(parts)
        return _text(_f(btc, q["Prtry"], q["Cd"]))
