"""Plain domain values of the ledger (no database): organisations, accounts, entries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum

from babel import Locale

from ledger.errors import InvalidInputError
from ledger.money import Money


class OrgKind(str, Enum):
    """What an organisation is in the fund."""

    UNION = "union"
    NETWORK = "network"
    MUTUAL = "mutual"
    OTHER = "other"


class AccountType(str, Enum):
    """The five account types of double entry."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


# Unicode letters are welcome (Lärare, Éducation); colons separate levels.
_CODE_PART = re.compile(r"^[^\W_][\w \-.&'()/]*$")


def check_account_code(code: str) -> str:
    """Validate a hierarchical code ``Assets:Bank:Network:EUR`` and return it stripped."""
    code = code.strip()
    parts = code.split(":")
    if not code or any(not p or p != p.strip() or not _CODE_PART.match(p) for p in parts):
        raise InvalidInputError(
            f"invalid account code {code!r}: use parts separated by ':' "
            "(letters, digits, spaces, - _ . & ' ( ) /), e.g. Assets:Bank:Network:EUR"
        )
    if len(code) > 200:
        raise InvalidInputError(f"account code longer than 200 characters: {code[:40]}...")
    return code


# CLDR territories that are regions or placeholders, not countries.
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


def check_country(code: str) -> str:
    """Validate an ISO 3166 alpha-2 country code (``BF``, ``CA``)."""
    norm = code.strip().upper()
    if len(norm) != 2 or norm not in Locale("en").territories or norm in _NOT_COUNTRIES:
        raise InvalidInputError(f"unknown country code {code!r} (ISO 3166 alpha-2, e.g. BF, CA)")
    return norm


# IBAN lengths of the SWIFT registry for the countries the fund's banks are in
# (others are checked by the mod-97 rule and the general pattern only).
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "BF": 28, "BJ": 28, "CH": 21, "CI": 28, "CM": 27, "CV": 25, "DE": 22,
    "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "IE": 22, "IT": 27, "LU": 20, "MA": 28,
    "ML": 28, "MR": 27, "NE": 28, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24, "SN": 28,
    "TG": 28, "TN": 24,
}


def normalise_iban(iban: str) -> str:
    """Return the IBAN without spaces, upper-cased, if its ISO 13616 check digits hold."""
    s = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", s):
        raise InvalidInputError(f"invalid IBAN {iban!r}: expected country, check digits, account")
    expected = IBAN_LENGTHS.get(s[:2])
    if expected is not None and len(s) != expected:
        raise InvalidInputError(
            f"invalid IBAN {iban!r}: a {s[:2]} IBAN has {expected} characters, not {len(s)}"
        )
    rearranged = s[4:] + s[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(digits) % 97 != 1:
        raise InvalidInputError(f"invalid IBAN {iban!r}: check digits do not match")
    return s


def check_period(period: str) -> str:
    """Validate a period label: ``YYYY`` or ``YYYY-MM``."""
    if not re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2]))?", period.strip()):
        raise InvalidInputError(f"invalid period {period!r}: use YYYY or YYYY-MM")
    return period.strip()


@dataclass(frozen=True, slots=True)
class PostingDraft:
    """One leg of an entry to post: account code, signed amount (debit > 0), memo."""

    account: str
    amount: Money
    memo: str | None = None
    bank_ref: str | None = None


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry to post.  ``idempotency_key`` makes re-posting the same entry a no-op."""

    entry_date: date
    description: str
    postings: tuple[PostingDraft, ...]
    reference: str | None = None
    idempotency_key: str | None = None
    kind: str = "standard"
    rate: Decimal | None = None
    reverses_id: int | None = None

    def totals(self) -> dict[str, int]:
        """Sum of postings per currency, in minor units."""
        out: dict[str, int] = {}
        for p in self.postings:
            out[p.amount.currency] = out.get(p.amount.currency, 0) + p.amount.minor
        return out


@dataclass(frozen=True, slots=True)
class PostedEntry:
    """An entry as stored: id (its chain position), hash and postings."""

    id: int
    entry_date: date
    description: str
    reference: str | None
    kind: str
    reverses_id: int | None
    rate: Decimal | None
    hash: str
    created_by: str
    postings: tuple[PostingDraft, ...] = field(default_factory=tuple)
