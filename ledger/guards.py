"""Database-level guards used by migrations: append-only tables.

A posted row is never updated or deleted.  The application never tries; these
triggers make the database itself refuse it, on SQLite and on PostgreSQL, so a
stray script or a hand-typed SQL statement cannot rewrite history either
(``solidarity verify`` catches whoever drops the triggers first).
"""

from __future__ import annotations

from typing import Any

APPEND_ONLY_MESSAGE = "append-only: posted rows cannot be updated or deleted; post a reversal"


def create_append_only(op: Any, table: str) -> None:
    """Create triggers refusing UPDATE and DELETE on ``table``."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table}: {APPEND_ONLY_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION solidarity_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '%: " + APPEND_ONLY_MESSAGE + "', TG_TABLE_NAME "
            "USING ERRCODE = 'restrict_violation'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION solidarity_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION solidarity_append_only()"
        )
    else:  # pragma: no cover - only the two supported back ends
        raise RuntimeError(f"no append-only guard for {dialect}")


def drop_append_only(op: Any, table: str) -> None:
    """Drop the triggers created by :func:`create_append_only`."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
