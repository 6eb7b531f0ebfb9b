"""Writers of bank files (camt.053, CSV, XLSX) for the demo and the tests.

The fund's own statements do not exist as public samples, so the demo writes
realistic CAD/EUR/SEK/XOF statements in the formats banks give treasurers,
and imports them back through the same readers a treasurer would use.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from ledger.money import Money

CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


@dataclass(frozen=True, slots=True)
class BankLineSpec:
    """One line to write: signed amount (credit to the account > 0)."""

    booking_date: date
    amount: Money
    counterparty: str = ""
    counterparty_account: str = ""
    reference: str = ""
    remittance: str = ""
    transaction_id: str = ""
    value_date: date | None = None


def _amt(m: Money) -> str:
    return format(abs(m.amount), "f")


def write_camt053(
    path: Path,
    iban: str,
    currency: str,
    opening: Money,
    opening_date: date,
    lines: Sequence[BankLineSpec],
    closing_date: date,
    statement_id: str,
) -> Money:
    """Write a camt.053.001.02 statement; return its closing balance."""
    closing = opening
    for ln in lines:
        closing = closing + ln.amount

    def bal(code: str, m: Money, d: date) -> str:
        ind = "CRDT" if m.minor >= 0 else "DBIT"
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
                f'<Amt Ccy="{currency}">{_amt(m)}</Amt><CdtDbtInd>{ind}</CdtDbtInd>'
                f"<Dt><Dt>{d.isoformat()}</Dt></Dt></Bal>")

    entries = []
    for ln in lines:
        credit = ln.amount.minor >= 0
        party = "Dbtr" if credit else "Cdtr"
        acct = "DbtrAcct" if credit else "CdtrAcct"
        vd = (ln.value_date or ln.booking_date).isoformat()
        entries.append(
            f'<Ntry><Amt Ccy="{currency}">{_amt(ln.amount)}</Amt>'
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{ln.booking_date.isoformat()}</Dt></BookgDt><ValDt><Dt>{vd}</Dt></ValDt>"
            f"<AcctSvcrRef>{escape(ln.transaction_id)}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            "<NtryDtls><TxDtls>"
            f"<Refs><EndToEndId>{escape(ln.reference or 'NOTPROVIDED')}</EndToEndId></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{_amt(ln.amount)}</Amt></TxAmt></AmtDtls>'
            f"<RltdPties><{party}><Nm>{escape(ln.counterparty)}</Nm></{party}>"
            + (f"<{acct}><Id><IBAN>{escape(ln.counterparty_account)}</IBAN></Id></{acct}>"
               if ln.counterparty_account else "")
            + f"</RltdPties><RmtInf><Ustrd>{escape(ln.remittance)}</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls></Ntry>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{CAMT053_NS}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{escape(statement_id)}</MsgId><CreDtTm>{closing_date.isoformat()}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{escape(statement_id)}</Id><CreDtTm>{closing_date.isoformat()}T18:00:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{opening_date.isoformat()}T00:00:00</FrDtTm>"
        f"<ToDtTm>{closing_date.isoformat()}T23:59:59</ToDtTm></FrToDt>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        + bal("OPBD", opening, opening_date) + bal("CLBD", closing, closing_date)
        + "\n".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    )
    path.write_text(xml, encoding="utf-8")
    return closing


GENERIC_EN_HEADER = ["Date", "Value date", "Description", "Reference", "Counterparty",
                     "Counterparty account", "Amount", "Currency", "Transaction id"]


def _generic_row(ln: BankLineSpec) -> list[str]:
    return [ln.booking_date.isoformat(), (ln.value_date or ln.booking_date).isoformat(),
            ln.remittance, ln.reference, ln.counterparty, ln.counterparty_account,
            ln.amount.to_decimal_string(), ln.amount.currency, ln.transaction_id]


def write_csv_generic_en(path: Path, lines: Iterable[BankLineSpec]) -> None:
    """Write lines in the ``generic-en`` CSV layout (ISO dates, signed amounts)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(GENERIC_EN_HEADER)
        w.writerows(_generic_row(ln) for ln in lines)


def _fr_amount(m: Money) -> str:
    whole, _, frac = format(abs(m.amount), "f").partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return " ".join(groups) + ("," + frac if frac else "")


def write_csv_semicolon_fr(path: Path, lines: Sequence[BankLineSpec]) -> None:
    """Write lines in the ``generic-semicolon-fr`` layout (dd/mm/yyyy, Débit/Crédit, 1 234,56)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["Date", "Date valeur", "Libellé", "Référence", "Contrepartie",
                    "IBAN contrepartie", "Débit", "Crédit", "Devise"])
        for ln in lines:
            debit = _fr_amount(ln.amount) if ln.amount.minor < 0 else ""
            credit = _fr_amount(ln.amount) if ln.amount.minor >= 0 else ""
            w.writerow([ln.booking_date.strftime("%d/%m/%Y"),
                        (ln.value_date or ln.booking_date).strftime("%d/%m/%Y"),
                        ln.remittance, ln.reference, ln.counterparty, ln.counterparty_account,
                        debit, credit, ln.amount.currency])


def write_xlsx_generic_en(path: Path, lines: Sequence[BankLineSpec], title: str) -> None:
    """Write lines as an XLSX export with a title block above the ``generic-en`` header,
    real Excel dates and amounts as text (as many banks do, to keep the decimals)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Statement"
    ws.append([title])
    ws.append([f"Exported {date.today().isoformat()}"])
    ws.append([])
    ws.append(GENERIC_EN_HEADER)
    for ln in lines:
        row = _generic_row(ln)
        ws.append([ln.booking_date, ln.value_date or ln.booking_date, *row[2:]])
    wb.save(path)
