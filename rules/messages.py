"""Rendering rule messages: a pre-split template plus values, in en, fr or es.

Templates were checked at load (plain field names only, no attribute or index
access, no conversion, at most a short numeric format), so rendering only
looks names up in a dict of values -- never ``str.format`` on user data.
Numbers are shown exactly up to four decimals; French and Spanish get a
decimal comma and a non-breaking space before ``%``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from string import Formatter

__all__ = ["display", "render", "template"]

_YES = {"en": "yes", "fr": "oui", "es": "sí"}
_NO = {"en": "no", "fr": "non", "es": "no"}
_MISSING_TEXT = "?"
_FOUR_PLACES = Decimal("0.0001")

Parts = tuple[tuple[str, "str | None", str], ...]


def template(text: str) -> Parts:
    """Split a checked message template into (literal, field or None, format spec) parts."""
    return tuple((literal, field, spec or "") for literal, field, spec, _ in Formatter().parse(text))


def display(value: object, spec: str, lang: str) -> str:
    """One value as message text: yes/no, exact numbers, ISO dates, '?' when unknown."""
    if value is None:
        return _MISSING_TEXT
    if isinstance(value, bool):
        return _YES.get(lang, "yes") if value else _NO.get(lang, "no")
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
        if spec:
            text = format(number, spec)
        elif number == number.to_integral_value():
            text = str(number.quantize(Decimal(1)))
        else:
            if number.as_tuple().exponent < -4:  # type: ignore[operator]
                number = number.quantize(_FOUR_PLACES)
            text = format(number.normalize(), "f")
        if lang != "en":
            # French and Spanish write 13,5 % (no thousands separators are produced).
            text = text.replace(".", ",")
            if text.endswith("%"):
                text = text[:-1] + "\u00a0%"
        return text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return " – ".join(display(v, spec, lang) for v in value)
    return str(value)


def render(parts: Parts, values: Mapping[str, object], lang: str) -> str:
    """Fill a split template with ``values`` (missing names show as '?')."""
    out: list[str] = []
    for literal, field, spec in parts:
        out.append(literal)
        if field is not None:
            out.append(display(values.get(field), spec, lang))
    return "".join(out)
