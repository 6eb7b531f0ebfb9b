"""Plain-data views of statements, for golden files, ``--json`` and dry runs."""

from __future__ import annotations

from typing import Any

from imports.model import Balance, Statement, StatementLine


def _money(m: Any) -> dict[str, str] | None:
    return None if m is None else {"amount": m.to_decimal_string(), "currency": m.currency}


def line_to_dict(line: StatementLine) -> dict[str, Any]:
    """A JSON-ready dict of a line (amounts as decimal strings, dates ISO)."""
    return {
        "account": line.account,
        "booking_date": line.booking_date.isoformat(),
        "value_date": line.value_date.isoformat() if line.value_date else None,
        "amount": line.amount.to_decimal_string(),
        "currency": line.amount.currency,
        "counterparty_name": line.counterparty_name,
        "counterparty_account": line.counterparty_account,
        "reference": line.reference,
        "remittance": line.remittance,
        "bank_transaction_id": line.bank_transaction_id,
        "bank_code": line.bank_code,
        "charges": _money(line.charges),
        "instructed_amount": _money(line.instructed_amount),
        "exchange_rate": str(line.exchange_rate) if line.exchange_rate is not None else None,
        "source_currency": line.source_currency,
        "target_currency": line.target_currency,
        "reversal": line.reversal,
        "origin": {"line": line.origin.line, "location": line.origin.location},
    }


def balance_to_dict(b: Balance | None) -> dict[str, str] | None:
    """A JSON-ready dict of a stated balance."""
    if b is None:
        return None
    return {"kind": b.kind, "date": b.date.isoformat(), **(_money(b.amount) or {})}


def statement_to_dict(st: Statement) -> dict[str, Any]:
    """A JSON-ready dict of a statement header (without its lines)."""
    return {
        "account": st.account,
        "currency": st.currency,
        "statement_id": st.statement_id,
        "format": st.format,
        "period_start": st.period_start.isoformat() if st.period_start else None,
        "period_end": st.period_end.isoformat() if st.period_end else None,
        "opening": balance_to_dict(st.opening),
        "closing": balance_to_dict(st.closing),
        "lines": len(st.lines),
    }
