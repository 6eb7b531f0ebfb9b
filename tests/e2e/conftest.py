"""Shared wiring of the CLI tests: ``run("cmd", ...)`` against a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.cli import main


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = str(tmp_path / "cli.db")
    runner = CliRunner()

    def _run(*args: str) -> Result:
        return runner.invoke(main, ["--db", db, *args], catch_exceptions=False)

    return _run
