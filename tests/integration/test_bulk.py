"""Bulk inserts store exactly what a row-by-row ORM insert stores.

On SQLite a column with one value in every row is written into the statement
as a literal instead of bound per row; the stored values must not differ.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from ledger import orgs
from ledger.bulk import insert_columns
from ledger.db import unit_of_work
from ledger.tables import Account, BankImport, BankStatement
from ledger.tables import StatementLine as LineRow

ACCOUNT = "Assets:Bank:Test:EUR"
AWKWARD = "O'Brien ? %s :x \\ \u00e9\u20ac '' \"q\""


def _parents(conn: Any) -> tuple[int, int, int]:
    orgs.add_account(conn, ACCOUNT, "asset", "EUR")
    acc = Account.__table__.c
    account = conn.execute(select(acc.id).where(acc.code == ACCOUNT)).scalar_one()
    imp = conn.execute(insert(BankImport).values(
        account_id=account, file_name=AWKWARD, sha256="0" * 64, format="csv", actor="t",
        imported_at=datetime(2026, 1, 1, tzinfo=UTC), statements=1, lines=3, new_lines=3, known_lines=0,
    ).returning(BankImport.__table__.c.id)).scalar_one()
    st = conn.execute(insert(BankStatement).values(
        account_id=account, statement_key="k", currency="EUR", format="csv", import_id=imp,
    ).returning(BankStatement.__table__.c.id)).scalar_one()
    return account, st, imp


def _columns(account: int, st: int, imp: int, n: int, constant: bool) -> dict[str, list[Any]]:
    """Columns whose values are the same in every row, or differ in the last row."""
    def col(value: Any, other: Any) -> list[Any]:
        return [value] * n if constant else [value] * (n - 1) + [other]

    return {
        "account_id": [account] * n, "statement_id": [st] * n, "import_id": [imp] * n,
        "line_key": [f"id:{i}-{constant}" for i in range(n)],
        "match_key": [f"m{i}-{constant}" for i in range(n)],
        "booking_date": col(date(2026, 2, 28), date(2026, 3, 1)),
        "value_date": col(None, date(2026, 3, 2)),
        "amount_minor": col(-9_007_199_254_740_993, 5),
        "currency": ["EUR"] * n,
        "counterparty_name": col(AWKWARD, "x"), "counterparty_account": col("", "y"),
        "reference": col("", "z"), "remittance": col("\n\t", "w"),
        "bank_transaction_id": col("", "t"), "bank_code": col("", "c"),
        "reversal": col(False, True), "source_file": col(AWKWARD, "other.csv"),
        "source_line": col(7, 8), "raw": col(AWKWARD, "raw"),
    }


def test_constant_columns_store_what_bound_values_store(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        parents = _parents(conn)
        insert_columns(conn, LineRow.__table__, _columns(*parents, 3, constant=True))
        insert_columns(conn, LineRow.__table__, _columns(*parents, 3, constant=False))
    names = [c.name for c in LineRow.__table__.c if c.name not in ("id", "line_key", "match_key")]
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(
            select(*(LineRow.__table__.c[c] for c in names)).order_by(LineRow.__table__.c.id))]
    constant, bound = rows[:3], rows[3:5]  # the last bound row is the different one
    assert constant[0] == constant[1] == constant[2] == bound[0] == bound[1]
    first = dict(zip(names, constant[0], strict=True))
    assert first["counterparty_name"] == AWKWARD and first["raw"] == AWKWARD
    assert first["booking_date"] == date(2026, 2, 28) and first["value_date"] is None
    assert first["amount_minor"] == -9_007_199_254_740_993 and first["reversal"] is False
    assert first["remittance"] == "\n\t"


def test_a_single_row_and_all_columns_constant(engine: Engine) -> None:
    with unit_of_work(engine) as conn:
        parents = _parents(conn)
        one = {k: v[:1] for k, v in _columns(*parents, 2, constant=True).items()}
        insert_columns(conn, LineRow.__table__, one)
    with engine.connect() as conn:
        assert conn.execute(select(LineRow.__table__.c.raw)).scalars().all() == [AWKWARD]


def test_a_refused_row_raises_sqlalchemys_error_and_stores_nothing(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), unit_of_work(engine) as conn:
        parents = _parents(conn)
        cols = _columns(*parents, 4, constant=False)
        cols["line_key"][3] = cols["line_key"][0]  # the same key twice in one account
        insert_columns(conn, LineRow.__table__, cols)
    with engine.connect() as conn:
        assert conn.execute(select(LineRow.__table__.c.id)).first() is None
