"""Plain-text tables and JSON output for the command line (no business logic)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ledger.money import Money

LANG_LOCALES = {"en": "en_GB", "fr": "fr_FR", "es": "es_ES"}


def locale_for(lang: str) -> str:
    """The babel locale used for a ``--lang`` value (a full locale passes through)."""
    return LANG_LOCALES.get(lang, lang)


def jsonable(value: Any) -> Any:
    """Turn domain values into JSON: Money → {amount, currency}, Decimal → text, dates ISO."""
    if isinstance(value, Money):
        return {"amount": value.to_decimal_string(), "currency": value.currency}
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def dumps(doc: Any) -> str:
    """One JSON document, stable key order, UTF-8 text."""
    return json.dumps(jsonable(doc), ensure_ascii=False, indent=2, sort_keys=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A simple aligned text table; columns listed in ``right`` are right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        parts = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
