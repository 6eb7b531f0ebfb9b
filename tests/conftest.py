"""Test-suite wiring: database back ends and benchmarks.

Every test that takes ``engine`` runs on SQLite and on PostgreSQL.  The
PostgreSQL run reads ``SOLIDARITY_TEST_POSTGRES_URL`` (``.ci/run`` sets it) and
each test gets a schema of its own, dropped afterwards; without the variable
those tests are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ledger.db import make_engine, upgrade

PG_ENV = "SOLIDARITY_TEST_POSTGRES_URL"
from tests.helpers import SAMPLE_DATA as SHARED_DATA  # noqa: F401

TEST_DATA = Path(__file__).resolve().parent / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The default run skips tests/benchmarks; `pytest tests/benchmarks --benchmark-only`
    # (or --benchmark-enable) runs them.
    wanted = config.getoption("benchmark_only", False) or config.getoption(
        "benchmark_enable", False
    )
    if wanted:
        return
    skip = pytest.mark.skip(reason="benchmark: run with `pytest tests/benchmarks --benchmark-only`")
    for item in items:
        if "benchmarks" in item.path.parts:
            item.add_marker(skip)


def postgres_url() -> str | None:
    """The PostgreSQL URL for tests, normalised to the psycopg 3 driver."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        return None
    url = make_url(raw)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each back end, schema not yet created."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on each back end with the schema at the newest migration."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An SQLite engine only (for tests about the embedded default)."""
    eng = make_engine(str(tmp_path / "ledger.db"))
    upgrade(eng)
    yield eng
    eng.dispose()
