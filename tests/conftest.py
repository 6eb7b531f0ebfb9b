"""Test-suite wiring: benchmarks run only when asked for."""

from __future__ import annotations

import pytest


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
