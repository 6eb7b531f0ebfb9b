"""The normalised statement model every reader produces.

A reader never raises on bad input: it returns diagnostics carrying
``file:line`` so the user sees every problem at once.  Exceptions below are
for bugs and for refusing a whole file (size limits, unsafe XML).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum

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

    def fingerprint(self, occurrence: int) -> str:
        """Stable key when the bank gives no transaction id.

        Account, dates, amount, counterparty and reference, plus the
        occurrence number among identical lines of the same statement.
        """
        parts = [
            self.account,
            self.booking_date.isoformat(),
            self.value_date.isoformat() if self.value_date else "",
            str(self.amount.minor),
            self.amount.currency,
            self.counterparty_name.strip().casefold(),
            self.counterparty_account.replace(" ", "").upper(),
            self.reference.strip(),
            str(occurrence),
        ]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


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
    lines: list[StatementLine] = field(default_factory=list)
    statement_id: str = ""
    opening: Balance | None = None
    closing: Balance | None = None
    other_balances: list[Balance] = field(default_factory=list)
    period_start: date | None = None
    period_end: date | None = None
    origin: Origin | None = None
    format: str = ""  # "csv", "xlsx", "camt.053.001.02", "mt940", "ofx1", "ofx2", ...


@dataclass(slots=True)
class ReadResult:
    """What a reader returns: statements plus every diagnostic found."""

    statements: list[Statement] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

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
