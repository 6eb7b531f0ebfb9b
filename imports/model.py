"""The normalised statement model every reader produces.

A reader never raises on bad input: it returns diagnostics carrying
``file:line`` so the user sees every problem at once.  Exceptions below are
for bugs and for refusing a whole file (size limits, unsafe XML).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from ledger.lines import LineColumns
from ledger.money import Money


class ImportFileError(Exception):
    """A file refused as a whole (too large, unsafe XML, unknown format)."""


class Severity(str, Enum):
    """How bad a diagnostic is: an error refuses the import, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a file, located as precisely as the format allows."""

    file: str
    line: int | None
    message: str
    severity: Severity = Severity.ERROR
    location: str | None = None  # XML path, sheet!cell, MT940 tag...

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        extra = f" [{self.location}]" if self.location else ""
        prefix = "" if self.severity is Severity.ERROR else "warning: "
        return f"{where}: {prefix}{self.message}{extra}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a line came from: file, line or row number, and a format-specific path."""

    file: str
    line: int | None = None
    location: str | None = None  # e.g. "Stmt[1]/Ntry[3]/NtryDtls/TxDtls[2]", "Sheet1!A12"
    raw: str = ""  # the raw row / XML fragment / MT940 record, as read


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One movement on a bank account, whatever format it came from."""

    account: str  # IBAN or the bank's account id, as stated in the file ('' if unknown)
    booking_date: date
    amount: Money  # signed: credit to the account > 0, debit < 0
    origin: Origin
    value_date: date | None = None
    counterparty_name: str = ""
    counterparty_account: str = ""
    reference: str = ""  # end-to-end id / payment reference
    remittance: str = ""  # free text / remittance information
    bank_transaction_id: str = ""  # the bank's own unique id when present
    bank_code: str = ""  # BTC / GVC / OFX TRNTYPE / D-C code as given
    charges: Money | None = None  # charges stated on the line (positive = charged)
    instructed_amount: Money | None = None  # original/instructed amount in another currency
    exchange_rate: Decimal | None = None  # rate given by the bank for that conversion
    source_currency: str = ""  # CcyXchg SrcCcy
    target_currency: str = ""  # CcyXchg TrgtCcy
    reversal: bool = False


@dataclass(frozen=True, slots=True)
class Balance:
    """A balance stated by the bank on a date (kind: OPBD, CLBD, PRCD, CLAV, ...)."""

    kind: str
    date: date
    amount: Money


@dataclass(slots=True)
class Statement:
    """A statement: lines of one account and currency over a period, with stated balances."""

    account: str
    currency: str
    lines: Sequence[StatementLine] = field(default_factory=list)  # a list or a LineTable
    statement_id: str = ""
    opening: Balance | None = None
    closing: Balance | None = None
    other_balances: list[Balance] = field(default_factory=list)
    period_start: date | None = None
    period_end: date | None = None
    origin: Origin | None = None
    format: str = ""  # "csv", "xlsx", "camt.053.001.02", "mt940", "ofx1", "ofx2", ...


class LineTable(LineColumns, Sequence[StatementLine]):
    """Lines held as columns (what the CSV/XLSX reader builds), seen as a sequence of lines.

    Storage reads the columns; a line object is only built when asked for
    (golden files, ``--dry-run`` listings).
    """

    __slots__ = ()

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.size))]
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError("line index out of range")
        c = {name: col[index] for name, col in self.columns.items()}
        return StatementLine(
            account=c["account"],
            booking_date=c["booking_date"],
            amount=Money(c["amount_minor"], c["currency"]),
            origin=Origin(c["file"], c["line"], c["location"], c["raw"]),
            value_date=c["value_date"],
            counterparty_name=c["counterparty_name"],
            counterparty_account=c["counterparty_account"],
            reference=c["reference"],
            remittance=c["remittance"],
            bank_transaction_id=c["bank_transaction_id"],
            bank_code=c["bank_code"],
            charges=_money_or_none(c["charges_minor"], c["charges_currency"]),
            instructed_amount=_money_or_none(c["instructed_minor"], c["instructed_currency"]),
            exchange_rate=c["exchange_rate"],
            source_currency=c["source_currency"],
            target_currency=c["target_currency"],
            reversal=c["reversal"],
        )

    def __iter__(self) -> Any:
        return (self[i] for i in range(self.size))


def _money_or_none(minor: int | None, currency: str | None) -> Money | None:
    return None if minor is None or currency is None else Money(minor, currency)


@dataclass(slots=True)
class ReadResult:
    """What a reader returns: statements plus every diagnostic found."""

    statements: list[Statement] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(self, file: str, line: int | None, message: str,
               severity: Severity = Severity.ERROR, location: str | None = None) -> None:
        """Add a diagnostic."""
        self.diagnostics.append(Diagnostic(file, line, message, severity, location))

    @property
    def errors(self) -> list[Diagnostic]:
        """Diagnostics that refuse the import."""
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors

    @property
    def line_count(self) -> int:
        """Total statement lines read."""
        return sum(len(s.lines) for s in self.statements)
