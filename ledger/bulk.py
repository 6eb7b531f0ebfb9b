"""Bulk paths: many rows into the database, and a paused collector while building them.

Imports and bulk posts move 10^5..10^6 rows.  SQLAlchemy's per-row work costs
more than the database's own insert at that size, so rows go to the driver's
``executemany`` directly, each value through its column type's own bind
processor (or the driver's own adapter), so what is stored is exactly what an
ORM insert would store.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing gc_paused (the readers do) must not load the database layer
    from sqlalchemy import Connection, Table


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building or storing large batches.

    A big statement creates millions of small objects and no reference cycles;
    with the collector running, each full collection walks every one of them
    and the work becomes several times slower.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, object]]) -> None:
    """Insert many rows given as dicts (all with the same keys); see :func:`insert_tuples`."""
    if not rows:
        return
    cols = tuple(rows[0].keys())
    getter = itemgetter(*cols)
    tuples = [(getter(r),) for r in rows] if len(cols) == 1 else [getter(r) for r in rows]
    insert_tuples(conn, table, cols, tuples)


def _driver_adapter(dialect: Any, values: Sequence[Any]) -> Any:
    """The adapter the sqlite3 driver itself would call on each value of this column, if any.

    SQLAlchemy leaves dates to the sqlite3 module, which adapts every value
    with a Python call inside ``executemany``; applied here once per distinct
    value instead, the stored text is the same.
    """
    if dialect.name != "sqlite":
        return None  # psycopg sends dates in binary itself
    adapters = getattr(dialect.dbapi, "adapters", None)
    protocol = getattr(dialect.dbapi, "PrepareProtocol", None)
    if not adapters or protocol is None:
        return None
    sample = next((v for v in values if v is not None), None)
    return adapters.get((type(sample), protocol)) if sample is not None else None


def _constant(table: Table, name: str, values: Sequence[Any], dialect: Any) -> str | None:
    """The SQL literal of a column holding one value in every row, on SQLite.

    Written into the statement once instead of bound for every row (the account,
    statement, import, file name and currency of a statement's lines): a sixth of
    SQLite's insert time at a million rows.  The literal is SQLAlchemy's own
    rendering for the column's type, so the stored value is what binding stores.
    """
    if dialect.paramstyle != "qmark" or not values:
        return None
    first = values[0]
    if not (first is None or isinstance(first, (int, str, date))) or isinstance(first, datetime):
        return None  # other types (Decimal: 1.0 == 1.00) are bound row by row
    if values.count(first) != len(values):
        return None
    from sqlalchemy import literal
    from sqlalchemy.exc import CompileError

    try:
        return str(literal(first, table.c[name].type).compile(
            dialect=dialect, compile_kwargs={"literal_binds": True}))
    except (CompileError, NotImplementedError):
        return None


def insert_tuples(conn: Connection, table: Table, columns: Sequence[str],
                  rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows given as tuples in the order of ``columns``; see :func:`insert_columns`."""
    if rows:
        with gc_paused():  # a million fresh references, no cycles
            insert_columns(conn, table, {name: list(map(itemgetter(i), rows))
                                         for i, name in enumerate(columns)})


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert many rows given as equal-length columns, one driver ``executemany`` per chunk.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert
    itself at 10^5 rows.  Each column goes through its type's own bind
    processor once per distinct value (bulk rows repeat dates, flags and
    timestamps), so what is stored is exactly what an ORM insert would store.
    """
    names = list(columns)
    if not names:
        return
    size = len(columns[names[0]])
    if not size:
        return
    dialect = conn.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    values: list[Sequence[Any]] = []
    slots: list[str] = []
    for name in names:
        col = columns[name]
        constant = _constant(table, name, col, dialect)
        if constant is not None:
            slots.append(constant)
            continue
        proc = table.c[name].type.bind_processor(dialect) or _driver_adapter(dialect, col)
        if proc is not None:
            converted = {v: proc(v) for v in set(col) if v is not None}
            col = list(map(converted.get, col))  # None stays None
        values.append(col)
        slots.append(mark)
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(slots)})"
    if not values:  # every column constant: still one row per value
        values = [range(size)]
        sql = (f"INSERT INTO {table.name} ({', '.join(names)}) "
               f"SELECT {', '.join(slots)} WHERE ? IS NOT NULL")
    # Rows go to the driver as a stream: zip hands out one tuple that the driver
    # releases before asking for the next, so a million rows build no list at all.
    rows = zip(*values, strict=True)
    dbapi: Any = conn.dialect.dbapi
    cursor: Any = conn.connection.cursor()  # the driver's: it takes any iterable of rows
    try:
        with gc_paused():
            cursor.executemany(sql, rows)
    except dbapi.Error as exc:  # the error SQLAlchemy itself would raise
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
    finally:
        cursor.close()
