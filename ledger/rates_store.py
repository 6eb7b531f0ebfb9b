"""Reference rates in the database: storing what ``ledger.rates`` read, loading a
:class:`~ledger.rates.RateTable` back for a date range, listing what is known.

Storing is idempotent: a rate already known for the same date and currency with
the same value (``1.4850`` and ``1.485`` are the same value) adds nothing; a
*different* value for a date and currency already stored refuses the whole
command with ``file:line`` — a published reference rate is never silently
rewritten.  Several files are stored in the caller's one transaction, so either
every file goes in or none does.

Must not import ``imports``, ``rules`` or ``reports``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, func, select

from ledger.bulk import bulk_insert
from ledger.errors import LedgerError
from ledger.money import check_currency
from ledger.rates import (
    DEFAULT_MAX_AGE_DAYS,
    EUR,
    EUR_SOURCE,
    FIXED_PARITIES,
    FIXED_PARITY_SOURCE,
    Rate,
    RateTable,
    read_rates_file,
)
from ledger.tables import ReferenceRate

__all__ = [
    "CurrencyRates",
    "RateFileOutcome",
    "RatesRefused",
    "import_rate_files",
    "list_rates",
    "load_rate_table",
    "rate_on",
    "store_rates",
]


class RatesRefused(LedgerError):
    """Rate files refused: every problem as ``file:line: message``; nothing stored."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        head = self.problems[0] if self.problems else "rates refused"
        more = f" (and {len(self.problems) - 1} more problem(s))" if len(self.problems) > 1 else ""
        super().__init__(f"{head}{more}; nothing was stored")


@dataclass(frozen=True, slots=True)
class RateFileOutcome:
    """What one file brought: rates read, new ones stored, ones already known."""

    file: str
    format: str
    rates: int
    new: int
    known: int
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CurrencyRates:
    """A summary of the stored rates of one currency."""

    currency: str
    count: int
    first: date | None
    last: date | None
    latest_per_eur: Decimal
    source: str


def _locate(path: Path, fmt: str, rate: Rate) -> int | None:
    """The line of ``rate`` in its file, to point a conflict at it (best effort).

    ``ledger.rates`` keeps lines only in diagnostics; a conflict with the database
    is found after reading, so the line is looked for again in the text.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError:
        return None
    iso = rate.date.isoformat()
    long = f"{rate.date.day:02d} {rate.date.strftime('%B')} {rate.date.year}"
    in_day = False
    for n, text in enumerate(lines, start=1):
        if fmt == "simple-csv":
            cells = [c.strip().upper() for c in text.split(",")]
            if iso in text and rate.currency in cells:
                return n
        elif fmt == "ecb-csv":
            first = text.split(",", 1)[0].strip()
            if first in (iso, long):
                return n
        else:  # ecb-xml: the currency's Cube after its day's Cube
            if f"'{iso}'" in text or f'"{iso}"' in text:
                in_day = True
            if in_day and (f"'{rate.currency}'" in text or f'"{rate.currency}"' in text):
                return n
    return None


def store_rates(
    conn: Connection, rates: Sequence[Rate], *, file: str = "<rates>", fmt: str = "simple-csv"
) -> tuple[int, int, list[str]]:
    """Store ``rates`` (EUR and fixed parities never are); return ``(new, known, conflicts)``.

    ``conflicts`` are ``file:line: message`` texts for rates that differ from the
    stored value of the same date and currency; when there are any, nothing is
    inserted and the caller refuses the command.
    """
    wanted = [r for r in rates if r.currency != EUR and r.currency not in FIXED_PARITIES]
    if not wanted:
        return 0, 0, []
    lo = min(r.date for r in wanted)
    hi = max(r.date for r in wanted)
    currencies = sorted({r.currency for r in wanted})
    stored: dict[tuple[date, str], str] = {
        (d, c): v
        for d, c, v in conn.execute(
            select(ReferenceRate.rate_date, ReferenceRate.currency, ReferenceRate.per_eur).where(
                ReferenceRate.rate_date >= lo,
                ReferenceRate.rate_date <= hi,
                ReferenceRate.currency.in_(currencies),
            )
        )
    }
    new_rows: list[dict[str, object]] = []
    known = 0
    conflicts: list[str] = []
    now = datetime.now(UTC)
    seen: set[tuple[date, str]] = set()
    for r in wanted:
        key = (r.date, r.currency)
        if key in seen:
            continue
        seen.add(key)
        prior = stored.get(key)
        if prior is None:
            new_rows.append({"rate_date": r.date, "currency": r.currency,
                             "per_eur": str(r.per_eur), "source": (r.source or "file")[:100],
                             "imported_at": now})
        elif Decimal(prior) == r.per_eur:
            known += 1
        else:
            line = _locate(Path(file), fmt, r)
            where = f"{file}:{line}" if line is not None else file
            conflicts.append(
                f"{where}: {r.currency} on {r.date.isoformat()} is {r.per_eur} here but "
                f"{prior} is already stored; a reference rate is never rewritten"
            )
    if conflicts:
        return 0, known, conflicts
    bulk_insert(conn, ReferenceRate.__table__, new_rows)
    return len(new_rows), known, []


def import_rate_files(conn: Connection, paths: Iterable[str | Path]) -> list[RateFileOutcome]:
    """Read and store reference-rate files (ECB CSV/XML, simple CSV), all or nothing.

    Raises :class:`RatesRefused` listing every ``file:line`` problem — read
    errors and conflicts with stored rates — when any file has one.
    """
    outcomes: list[RateFileOutcome] = []
    problems: list[str] = []
    for p in paths:
        res = read_rates_file(p)
        if not res.ok:
            problems += [str(d) for d in res.errors]
            continue
        new, known, conflicts = store_rates(conn, res.rates, file=str(p), fmt=res.format)
        problems += conflicts
        outcomes.append(RateFileOutcome(str(p), res.format, len(res.rates), new, known,
                                        tuple(str(w) for w in res.warnings)))
    if problems:
        raise RatesRefused(problems)
    return outcomes


def load_rate_table(
    conn: Connection,
    start: date | None = None,
    end: date | None = None,
    currencies: Iterable[str] | None = None,
    lookback_days: int = DEFAULT_MAX_AGE_DAYS,
) -> RateTable:
    """The stored rates as a :class:`RateTable`, from ``start − lookback_days`` to ``end``.

    ``lookback_days`` keeps the rate that applies on ``start`` itself (the latest
    on or before it); ``None`` bounds load everything.
    """
    cols = (ReferenceRate.rate_date, ReferenceRate.currency, ReferenceRate.per_eur,
            ReferenceRate.source)
    q = select(*cols)
    wanted: list[str] | None = None
    if currencies is not None:
        wanted = sorted({check_currency(c) for c in currencies} - {EUR} - set(FIXED_PARITIES))
        if not wanted:
            return RateTable()
        q = q.where(ReferenceRate.currency.in_(wanted))
    older: list[Rate] = []
    if start is not None:
        lo = start - timedelta(days=max(lookback_days, 0))
        q = q.where(ReferenceRate.rate_date >= lo)
        # The latest rate before the window too, so that a look-up finds it and says
        # "stale, from <date>" rather than "missing".
        last = select(ReferenceRate.currency, func.max(ReferenceRate.rate_date).label("d")) \
            .where(ReferenceRate.rate_date < lo).group_by(ReferenceRate.currency)
        if wanted is not None:
            last = last.where(ReferenceRate.currency.in_(wanted))
        sub = last.subquery()
        older = [Rate(d, c, Decimal(v), s) for d, c, v, s in conn.execute(
            select(*cols).join(sub, (sub.c.currency == ReferenceRate.currency)
                               & (sub.c.d == ReferenceRate.rate_date)))]
    if end is not None:
        q = q.where(ReferenceRate.rate_date <= end)
    return RateTable([*older, *(Rate(d, c, Decimal(v), s) for d, c, v, s in conn.execute(q))])


def rate_on(
    conn: Connection, currency: str, on: date, max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
) -> Rate:
    """The reference rate of ``currency`` that applies on ``on`` (latest on or before it).

    Raises :class:`ledger.rates.RateMissingError` / ``RateStaleError`` — never a guess.
    """
    code = check_currency(currency)
    q = (select(ReferenceRate.rate_date, ReferenceRate.per_eur, ReferenceRate.source)
         .where(ReferenceRate.currency == code, ReferenceRate.rate_date <= on)
         .order_by(ReferenceRate.rate_date.desc()).limit(1))
    rows = [(d, code, Decimal(v)) for d, v, _s in conn.execute(q)]
    return RateTable.from_rows(rows).lookup(code, on, max_age_days)


def list_rates(conn: Connection) -> list[CurrencyRates]:
    """One line per currency: stored count, first and last date, latest rate;
    then EUR and the fixed parities, which need no file."""
    out: list[CurrencyRates] = []
    agg = conn.execute(
        select(ReferenceRate.currency, func.count(), func.min(ReferenceRate.rate_date),
               func.max(ReferenceRate.rate_date))
        .group_by(ReferenceRate.currency).order_by(ReferenceRate.currency)
    ).all()
    for cur, n, first, last in agg:
        latest = conn.execute(
            select(ReferenceRate.per_eur, ReferenceRate.source)
            .where(ReferenceRate.currency == cur, ReferenceRate.rate_date == last)
        ).first()
        assert latest is not None
        out.append(CurrencyRates(cur, int(n), first, last, Decimal(latest[0]), latest[1]))
    out.append(CurrencyRates(EUR, 0, None, None, Decimal(1), EUR_SOURCE))
    out += [CurrencyRates(c, 0, None, None, v, FIXED_PARITY_SOURCE)
            for c, v in sorted(FIXED_PARITIES.items())]
    return out
