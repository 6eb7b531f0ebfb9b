"""Reference exchange rates: reading rate files and looking a rate up as of a date.

This module owns the *reference* rates against which every transfer loss is
measured: the European Central Bank's euro reference rates (the ``eurofxref``
CSV and XML files, daily and historical), a simple ``date,currency,rate_per_eur``
CSV for currencies the ECB does not publish (MAD, CDF, ...), and the fixed
parities of the CFA and Comorian francs and the Cape Verdean escudo, which are
built in and always win over any file.

Everything here is pure: readers turn a file into :class:`Rate` values plus
``file:line`` diagnostics, and :class:`RateTable` answers look-ups in memory.
Storing rates in the database is the caller's business.  A rate is always
``Decimal`` units of the currency per 1 EUR, as the ECB publishes it.  A missing
or stale rate is an error naming the currency and the date, never a silent 1.0.

Must not import ``imports``, ``rules`` or ``reports``.
"""

from __future__ import annotations

import csv
import io
import os
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import defusedxml.sax
from defusedxml import DefusedXmlException

from ledger.errors import LedgerError
from ledger.money import CurrencyError, Money, check_currency, currency_digits

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_MAX_RATE_FILE_BYTES",
    "ECB_SOURCE",
    "EUR",
    "EUR_SOURCE",
    "FIXED_PARITIES",
    "FIXED_PARITY_SOURCE",
    "Rate",
    "RateDiagnostic",
    "RateError",
    "RateMissingError",
    "RateStaleError",
    "RateTable",
    "RatesReadResult",
    "parse_ecb_csv",
    "parse_ecb_xml",
    "parse_simple_csv",
    "read_rates_file",
]

EUR = "EUR"

#: Units of the currency per 1 EUR, fixed by treaty.  They are not market rates:
#: the CFA francs (BCEAO, BEAC), the Comorian franc and the Cape Verdean escudo
#: are pegged to the euro, so any difference from these figures is bank margin.
FIXED_PARITIES: Mapping[str, Decimal] = {
    "XOF": Decimal("655.957"),
    "XAF": Decimal("655.957"),
    "KMF": Decimal("491.96775"),
    "CVE": Decimal("110.265"),
}
FIXED_PARITY_SOURCE = "fixed parity"
ECB_SOURCE = "ECB"
EUR_SOURCE = "euro"  # 1 EUR = 1 EUR by definition

#: Default maximum age of a rate: a week covers weekends and the ECB's holidays.
DEFAULT_MAX_AGE_DAYS = 7
#: The largest rate file read (bytes).  The full ECB history is about 2 MB as CSV
#: and 10 MB as XML; anything far bigger is not a rate file.
DEFAULT_MAX_RATE_FILE_BYTES = 64 * 1024 * 1024

# Conversions divide by rates, which is inexact; 40 significant digits leave
# the final half-even rounding to the currency's digits as the only rounding
# that can change a result.
_PRECISION = 40
_ONE = Decimal(1)


# -- errors --------------------------------------------------------------------


class RateError(LedgerError):
    """No usable reference rate for a conversion."""


class RateMissingError(RateError):
    """No reference rate for the currency on or before the date."""

    def __init__(self, currency: str, on: date) -> None:
        self.currency = currency
        self.on = on
        super().__init__(f"no reference rate for {currency} on or before {on.isoformat()}")


class RateStaleError(RateError):
    """The latest reference rate before the date is older than allowed."""

    def __init__(self, currency: str, on: date, found: date, max_age_days: int) -> None:
        self.currency = currency
        self.on = on
        self.found = found
        self.age_days = (on - found).days
        self.max_age_days = max_age_days
        super().__init__(
            f"the latest reference rate for {currency} before {on.isoformat()} is from "
            f"{found.isoformat()} ({self.age_days} days old, the maximum is {max_age_days})"
        )


# -- values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """``per_eur`` units of ``currency`` for 1 EUR on ``date``, and where that came from."""

    date: date
    currency: str
    per_eur: Decimal
    source: str = ""

    def __post_init__(self) -> None:
        # Cheap checks only: the ECB history builds a quarter of a million of these.
        if type(self.per_eur) is not Decimal or not self.per_eur.is_finite() or self.per_eur <= 0:
            raise ValueError(f"a rate must be a positive Decimal, not {self.per_eur!r}")


@dataclass(frozen=True, slots=True)
class RateDiagnostic:
    """One problem found in a rate file: ``file:line: message`` (``line`` None: whole file)."""

    file: str
    line: int | None
    message: str
    severity: str = "error"  # "error" refuses the file, "warning" does not

    @property
    def is_error(self) -> bool:
        """True for an error, False for a warning."""
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        prefix = "" if self.is_error else "warning: "
        return f"{where}: {prefix}{self.message}"


@dataclass(frozen=True, slots=True)
class RatesReadResult:
    """What a rate file held: its rates, its diagnostics and the format recognised.

    A caller should store nothing from a file with errors (``ok`` is False):
    a half-imported history would make look-ups silently use older rates.
    """

    rates: tuple[Rate, ...]
    diagnostics: tuple[RateDiagnostic, ...]
    format: str  # "ecb-csv", "ecb-xml", "simple-csv" or "unknown"

    @property
    def errors(self) -> tuple[RateDiagnostic, ...]:
        """The diagnostics that refuse the file."""
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[RateDiagnostic, ...]:
        """The diagnostics that do not refuse the file."""
        return tuple(d for d in self.diagnostics if not d.is_error)

    @property
    def ok(self) -> bool:
        """True when the file has no error."""
        return not any(d.is_error for d in self.diagnostics)


# -- parsing helpers -----------------------------------------------------------

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


def _parse_date(text: str) -> date | None:
    """ISO ``2025-05-09`` (historical files) or ``09 May 2025`` (the daily CSV)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    parts = text.split()
    if len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit():
        month = _MONTHS.get(parts[1].lower())
        if month is not None:
            try:
                return date(int(parts[2]), month, int(parts[0]))
            except ValueError:
                return None
    return None


def _parse_rate(text: str) -> Decimal | None:
    """A positive finite decimal written with a dot, else None."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0:
        return None
    return value


class _Collector:
    """Gathers rates and diagnostics of one file, refusing conflicting duplicates and
    ignoring (once per currency, with a warning) rates given for EUR and the fixed
    parities."""

    def __init__(self, file: str, source: str) -> None:
        self.file = file
        self.source = source
        self.rates: list[Rate] = []
        self.diagnostics: list[RateDiagnostic] = []
        self._seen: dict[tuple[date, str], tuple[Decimal, int | None]] = {}
        self._warned: set[str] = set()

    def error(self, line: int | None, message: str) -> None:
        self.diagnostics.append(RateDiagnostic(self.file, line, message))

    def warning(self, line: int | None, message: str) -> None:
        self.diagnostics.append(RateDiagnostic(self.file, line, message, "warning"))

    def overridden(self, currency: str, line: int | None) -> bool:
        """True (with a warning the first time) when the file may not set this currency."""
        if currency == EUR:
            if currency not in self._warned:
                self._warned.add(currency)
                self.warning(line, "rates for EUR are ignored: 1 EUR is always 1 EUR")
            return True
        parity = FIXED_PARITIES.get(currency)
        if parity is not None:
            if currency not in self._warned:
                self._warned.add(currency)
                self.warning(
                    line,
                    f"rates for {currency} are ignored: its fixed parity of "
                    f"{parity} per EUR always applies",
                )
            return True
        return False

    def add(self, day: date, currency: str, value: Decimal, line: int | None) -> None:
        key = (day, currency)
        previous = self._seen.get(key)
        if previous is not None:
            if previous[0] != value:
                where = f" (line {previous[1]})" if previous[1] is not None else ""
                self.error(
                    line,
                    f"two different rates for {currency} on {day.isoformat()}: "
                    f"{previous[0]}{where} and {value}",
                )
            return
        self._seen[key] = (value, line)
        self.rates.append(Rate(day, currency, value, self.source))


def _header_currencies(cells: list[str], out: _Collector, line: int) -> list[tuple[int, str]]:
    """Columns of a wide ECB header that hold a usable currency, as (index, code)."""
    columns: list[tuple[int, str]] = []
    for index, cell in enumerate(cells[1:], start=1):
        name = cell.strip()
        if not name:
            continue  # the ECB ends every line with a comma
        try:
            code = check_currency(name)
        except CurrencyError:
            out.error(line, f"column {index + 1}: unknown currency code {name!r}")
            continue
        if out.overridden(code, line):
            continue
        if any(code == seen for _, seen in columns):
            out.error(line, f"column {index + 1}: {code} appears twice in the header")
            continue
        columns.append((index, code))
    return columns


# -- the three formats ---------------------------------------------------------


def parse_ecb_csv(text: str, file: str = "<rates>") -> tuple[list[Rate], list[RateDiagnostic]]:
    """Read the ECB's wide CSV: the historical ``eurofxref-hist.csv`` or the daily
    ``eurofxref.csv``.

    The header is ``Date`` then one currency per column (the daily file puts a
    space after each comma, both end every line with a comma); each row is a date
    (``2025-05-09`` or ``09 May 2025``) and one rate per currency, ``N/A`` or
    empty when the ECB did not quote it that day.
    """
    out = _Collector(file, ECB_SOURCE)
    reader = csv.reader(io.StringIO(text))
    columns: list[tuple[int, str]] | None = None
    # One row per date, so duplicates are checked per row, not per cell: the
    # full history has a quarter of a million cells and must read in well
    # under a second.
    day_lines: dict[date, int] = {}
    rates = out.rates
    for cells in reader:
        line = reader.line_num
        if not cells or not any(c.strip() for c in cells):
            continue
        if columns is None:
            if cells[0].strip().lower() != "date":
                out.error(line, "expected the ECB header 'Date,USD,JPY,...'")
                break
            columns = _header_currencies(cells, out, line)
            width = len(cells)
            continue
        raw_day = cells[0].strip()
        day = _parse_date(raw_day)
        if day is None:
            out.error(line, f"not a date: {raw_day!r} (expected 2025-05-09 or 09 May 2025)")
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            out.error(line, f"{len(cells)} columns, the header has {width}")
            continue
        earlier: dict[str, Decimal] | None = None
        if day in day_lines:
            earlier = {r.currency: r.per_eur for r in rates if r.date == day}
        else:
            day_lines[day] = line
        for index, code in columns:
            if index >= len(cells):
                break
            cell = cells[index].strip()
            if not cell or cell == "N/A":
                continue
            value = _parse_rate(cell)
            if value is None:
                out.error(line, f"{code}: not a positive rate: {cell!r}")
                continue
            if earlier is None:
                rates.append(Rate(day, code, value, ECB_SOURCE))
                continue
            previous = earlier.get(code)
            if previous is None:
                rates.append(Rate(day, code, value, ECB_SOURCE))
            elif previous != value:
                out.error(
                    line,
                    f"two different rates for {code} on {day.isoformat()}: "
                    f"{previous} (line {day_lines[day]}) and {value}",
                )
    if columns is None and not out.diagnostics:
        out.error(None, "empty file: no ECB header")
    return out.rates, out.diagnostics


class _StopParsing(Exception):
    """Internal: stop reading an XML file that is not an ECB file."""


class _EcbXmlHandler(ContentHandler):
    """SAX handler for the ECB's gesmes envelope: ``Cube time=`` holds ``Cube currency= rate=``.

    The full history is some 200,000 elements, so the per-element path avoids
    work: currency codes are checked once each, the line number is asked for
    only to report a problem, and duplicates are checked against the day's rates.
    """

    def __init__(self, out: _Collector) -> None:
        super().__init__()
        self.out = out
        self.locator: Any = None
        self.depth = 0
        self.day: date | None = None
        self.day_depth: int | None = None  # depth of the open <Cube time=...>
        self.day_line: int | None = None
        self.day_values: dict[str, Decimal] = {}
        self.day_lines: dict[date, int | None] = {}
        self.codes: dict[str, str | None] = {}  # as written -> code, None: skip

    def setDocumentLocator(self, locator: Any) -> None:
        self.locator = locator

    def _line(self) -> int | None:
        return self.locator.getLineNumber() if self.locator is not None else None

    def _code(self, currency: str) -> str | None:
        code: str | None
        try:
            code = check_currency(currency)
        except CurrencyError:
            self.out.error(self._line(), f"unknown currency code {currency!r}")
            code = None
        else:
            if self.out.overridden(code, self._line()):
                code = None
        self.codes[currency] = code
        return code

    def _open_day(self, time: str) -> None:
        self.day_depth = self.depth
        self.day = _parse_date(time.strip())
        self.day_values = {}
        if self.day is None:
            self.out.error(self._line(), f"not a date: time={time!r}")
        elif self.day in self.day_lines:
            # The same day again: its rates must agree with the first time.
            self.day_values = {r.currency: r.per_eur for r in self.out.rates if r.date == self.day}
        else:
            self.day_lines[self.day] = self._line()

    def startElement(self, name: str, attrs: Any) -> None:
        self.depth += 1
        if self.depth == 1 and name.rsplit(":", 1)[-1] != "Envelope":
            self.out.error(self._line(), f"expected the ECB gesmes:Envelope, found <{name}>")
            raise _StopParsing
        if name != "Cube" and name.rsplit(":", 1)[-1] != "Cube":
            return
        currency = attrs.get("currency")
        if currency is None:
            time = attrs.get("time")
            if time is not None:
                self._open_day(time)
            return  # else the outer <Cube>
        if self.day_depth is None:
            self.out.error(self._line(), "a rate outside a <Cube time=...> element")
            return
        day = self.day
        if day is None:
            return  # its bad time= is already reported
        code = self.codes[currency] if currency in self.codes else self._code(currency)
        if code is None:
            return
        raw = attrs.get("rate") or ""
        value = _parse_rate(raw.strip())
        if value is None:
            self.out.error(self._line(), f"{code}: not a positive rate: {raw.strip()!r}")
            return
        previous = self.day_values.get(code)
        if previous is None:
            self.day_values[code] = value
            self.out.rates.append(Rate(day, code, value, ECB_SOURCE))
        elif previous != value:
            self.out.error(
                self._line(),
                f"two different rates for {code} on {day.isoformat()}: "
                f"{previous} (line {self.day_lines[day]}) and {value}",
            )

    def endElement(self, name: str) -> None:
        if self.depth == self.day_depth:
            self.day = None
            self.day_depth = None
        self.depth -= 1


def parse_ecb_xml(data: bytes, file: str = "<rates>") -> tuple[list[Rate], list[RateDiagnostic]]:
    """Read the ECB's XML (``eurofxref-daily.xml``, ``eurofxref-hist.xml``).

    Parsed with defusedxml: a DTD, entity declaration or external reference
    refuses the file (the ECB's files have none).
    """
    out = _Collector(file, ECB_SOURCE)
    try:
        defusedxml.sax.parseString(
            data,
            _EcbXmlHandler(out),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
    except _StopParsing:
        pass
    except SAXParseException as exc:
        out.error(exc.getLineNumber(), f"not well-formed XML: {exc.getMessage()}")
    except DefusedXmlException:
        out.error(None, "XML with a DTD, entities or external references is refused")
    if not out.rates and not out.diagnostics:
        out.error(None, "no rates found: expected <Cube time=...><Cube currency=... rate=.../>")
    return out.rates, out.diagnostics


_SIMPLE_COLUMNS = ("date", "currency", "rate_per_eur")


def parse_simple_csv(
    text: str, file: str = "<rates>", source: str | None = None
) -> tuple[list[Rate], list[RateDiagnostic]]:
    """Read a ``date,currency,rate_per_eur`` CSV (header required, columns in any
    order, other columns ignored): ISO dates, ISO 4217 codes, rates > 0 with a dot.

    ``source`` labels the rates (default: the file's name).
    """
    out = _Collector(file, source if source is not None else f"file {Path(file).name}")
    reader = csv.reader(io.StringIO(text))
    positions: dict[str, int] | None = None
    for cells in reader:
        line = reader.line_num
        if not cells or not any(c.strip() for c in cells):
            continue
        if positions is None:
            names = [c.strip().lower() for c in cells]
            missing = [c for c in _SIMPLE_COLUMNS if c not in names]
            if missing:
                out.error(
                    line,
                    "expected the header date,currency,rate_per_eur "
                    f"(missing: {', '.join(missing)})",
                )
                break
            positions = {c: names.index(c) for c in _SIMPLE_COLUMNS}
            needed = max(positions.values()) + 1
            continue
        if len(cells) < needed:
            out.error(line, f"{len(cells)} columns, expected at least {needed}")
            continue
        raw_day = cells[positions["date"]].strip()
        day = _parse_date(raw_day) if raw_day else None
        if day is None:
            out.error(line, f"not a date: {raw_day!r} (expected YYYY-MM-DD)")
            continue
        raw_cur = cells[positions["currency"]].strip()
        try:
            code = check_currency(raw_cur)
        except CurrencyError:
            out.error(line, f"unknown currency code {raw_cur!r}")
            continue
        raw_rate = cells[positions["rate_per_eur"]].strip()
        value = _parse_rate(raw_rate)
        if value is None:
            out.error(line, f"not a positive rate: {raw_rate!r}")
            continue
        if out.overridden(code, line):
            continue
        out.add(day, code, value, line)
    if positions is None and not out.diagnostics:
        out.error(None, "empty file: expected the header date,currency,rate_per_eur")
    return out.rates, out.diagnostics


def _max_file_bytes() -> int:
    raw = os.environ.get("SOLIDARITY_MAX_RATE_FILE_BYTES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_RATE_FILE_BYTES


def read_rates_file(path: str | Path, *, max_bytes: int | None = None) -> RatesReadResult:
    """Read a reference-rate file, recognising its format by its content.

    XML → ECB gesmes file; a CSV whose header has ``date``, ``currency`` and
    ``rate_per_eur`` → the simple format; a CSV whose header starts with
    ``Date`` → the ECB's wide CSV.  Never raises for a bad file: an unreadable,
    too large (``max_bytes``, default 64 MiB or ``SOLIDARITY_MAX_RATE_FILE_BYTES``)
    or unrecognised file gives one error diagnostic and no rates.
    """
    p = Path(path)
    name = str(path)
    limit = _max_file_bytes() if max_bytes is None else max_bytes

    def refused(message: str) -> RatesReadResult:
        return RatesReadResult((), (RateDiagnostic(name, None, message),), "unknown")

    try:
        size = p.stat().st_size
        if size > limit:
            return refused(f"file is {size} bytes, above the limit of {limit} bytes")
        with p.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        return refused(f"cannot read: {exc.strerror or exc}")
    if len(data) > limit:
        return refused(f"file is larger than the limit of {limit} bytes")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.lstrip().startswith(b"<"):
        rates, diags = parse_ecb_xml(data, name)
        return RatesReadResult(tuple(rates), tuple(diags), "ecb-xml")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return RatesReadResult((), (RateDiagnostic(name, line, "not UTF-8 text"),), "unknown")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    header = [c.strip().lower() for c in first.split(",")]
    if all(c in header for c in _SIMPLE_COLUMNS):
        rates, diags = parse_simple_csv(text, name)
        return RatesReadResult(tuple(rates), tuple(diags), "simple-csv")
    if header and header[0] == "date":
        rates, diags = parse_ecb_csv(text, name)
        return RatesReadResult(tuple(rates), tuple(diags), "ecb-csv")
    return refused(
        "not a reference-rate file: expected an ECB eurofxref CSV or XML file, "
        "or a CSV with the header date,currency,rate_per_eur"
    )


# -- look-up -------------------------------------------------------------------


class RateTable:
    """Reference rates in memory, looked up as of a date.

    Per currency, dates are kept sorted next to their values so a look-up is
    one bisection.  EUR (1) and the :data:`FIXED_PARITIES` are answered for any
    date and cannot be overridden: rows given for them are ignored.  When two
    rows give the same currency and date, the later one wins (so a caller can
    feed corrections after the originals).
    """

    __slots__ = ("_dates", "_sources", "_values")

    def __init__(self, rates: Iterable[Rate] = ()) -> None:
        self._build((r.date, r.currency, r.per_eur, r.source) for r in rates)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[date, str, Decimal]], source: str = "") -> RateTable:
        """Build from ``(date, currency, per_eur)`` rows, e.g. a database query."""
        table = cls.__new__(cls)
        table._build((d, c, v, source) for d, c, v in rows)
        return table

    def _build(self, rows: Iterable[tuple[date, str, Decimal, str]]) -> None:
        by_currency: dict[str, dict[date, tuple[Decimal, str]]] = {}
        known: dict[str, str] = {}
        for day, currency, value, source in rows:
            code = known.get(currency)
            if code is None:
                code = known[currency] = check_currency(currency)
            if code == EUR or code in FIXED_PARITIES:
                continue
            if type(value) is not Decimal:
                # A rate from a database may arrive as text; never as a float.
                if not isinstance(value, str):
                    raise TypeError(f"rate for {code} on {day}: expected Decimal, got {value!r}")
                parsed = _parse_rate(value.strip())
                if parsed is None:
                    raise ValueError(f"rate for {code} on {day}: not a positive rate: {value!r}")
                value = parsed
            elif not value.is_finite() or value <= 0:
                raise ValueError(f"rate for {code} on {day}: must be positive, got {value}")
            by_currency.setdefault(code, {})[day] = (value, source)
        self._dates: dict[str, list[date]] = {}
        self._values: dict[str, list[Decimal]] = {}
        self._sources: dict[str, list[str]] = {}
        for code, entries in by_currency.items():
            days = sorted(entries)
            self._dates[code] = days
            self._values[code] = [entries[d][0] for d in days]
            self._sources[code] = [entries[d][1] for d in days]

    def __len__(self) -> int:
        """Number of (currency, date) rates held, fixed parities not counted."""
        return sum(len(v) for v in self._dates.values())

    def currencies(self) -> frozenset[str]:
        """Currencies with a rate: those held, EUR and the fixed parities."""
        return frozenset(self._dates) | {EUR} | frozenset(FIXED_PARITIES)

    def lookup(
        self, currency: str, on: date, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
    ) -> Rate:
        """The rate that applies to ``currency`` on ``on``: the latest on or before it.

        EUR and fixed parities apply on any date.  Raises :class:`RateMissingError`
        when there is none, :class:`RateStaleError` when the latest one is more
        than ``max_age_days`` old (``None``: any age).
        """
        code = check_currency(currency)
        if code == EUR:
            return Rate(on, EUR, _ONE, EUR_SOURCE)
        parity = FIXED_PARITIES.get(code)
        if parity is not None:
            return Rate(on, code, parity, FIXED_PARITY_SOURCE)
        days = self._dates.get(code)
        index = bisect_right(days, on) - 1 if days else -1
        if index < 0:
            raise RateMissingError(code, on)
        found = days[index]  # type: ignore[index]
        if max_age_days is not None:
            if max_age_days < 0:
                raise ValueError("max_age_days cannot be negative")
            if (on - found).days > max_age_days:
                raise RateStaleError(code, on, found, max_age_days)
        return Rate(found, code, self._values[code][index], self._sources[code][index])

    def per_eur(
        self, currency: str, on: date, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
    ) -> Decimal:
        """Units of ``currency`` per 1 EUR on ``on`` (see :meth:`lookup`)."""
        return self.lookup(currency, on, max_age_days).per_eur

    def convert(
        self,
        money: Money,
        to_currency: str,
        on: date,
        max_age_days: int | None = DEFAULT_MAX_AGE_DAYS,
    ) -> Money:
        """``money`` in ``to_currency`` at the reference rates of ``on``.

        Between two non-euro currencies the cross rate goes through the euro
        (``amount × per_eur(to) / per_eur(from)``) with no intermediate rounding.
        The only rounding is the last step: half-even to the target currency's
        digits (cents for EUR, whole francs for XOF), so EUR 6,680.00 is
        XOF 4,381,792.76 → 4,381,793.
        """
        target = check_currency(to_currency)
        if money.currency == target:
            return money
        to_rate = self.per_eur(target, on, max_age_days)
        from_rate = self.per_eur(money.currency, on, max_age_days)
        return _scaled(money, to_rate, from_rate, target)

    def to_eur(
        self, money: Money, on: date, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
    ) -> Money:
        """``money`` in EUR at the reference rate of ``on``, rounded half-even to cents."""
        return self.convert(money, EUR, on, max_age_days)


def _scaled(money: Money, numerator: Decimal, denominator: Decimal, target: str) -> Money:
    """``money × numerator / denominator`` in ``target``, rounded half-even once."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        exact = Decimal(money.minor).scaleb(-money.digits) * numerator / denominator
        minor = exact.scaleb(currency_digits(target)).to_integral_value(ROUND_HALF_EVEN)
    return Money(int(minor), target)
