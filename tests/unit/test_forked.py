"""The forked helper of big reads: same result as doing the work here, whatever happens."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from imports import forked
from imports.forked import Pending

needs_fork = pytest.mark.skipif(not forked.can_fork(), reason="no fork here (or one CPU)")


@needs_fork
def test_the_child_does_the_work_and_sends_it_back(tmp_path: Path) -> None:
    marker = tmp_path / "pid"

    def work() -> dict[str, object]:
        marker.write_text(str(os.getpid()))
        return {"rows": list(range(1000)), "text": "é" * 10}

    with Pending(work) as job:
        assert job.forked
        got = job.result()
    assert got == {"rows": list(range(1000)), "text": "é" * 10}
    assert int(marker.read_text()) != os.getpid()  # done by another process


@needs_fork
def test_work_that_fails_in_the_child_is_done_here_and_raises_here() -> None:
    with Pending(lambda: 1 // 0) as job, pytest.raises(ZeroDivisionError):
        job.result()


@needs_fork
def test_a_child_that_dies_leaves_the_work_to_the_parent(tmp_path: Path) -> None:
    def work() -> int:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return 42

    parent = os.getpid()
    with Pending(work) as job:
        assert job.result() == 42


@needs_fork
def test_leaving_without_the_result_stops_the_child(tmp_path: Path) -> None:
    marker = tmp_path / "done"

    def work() -> None:
        import time

        time.sleep(5)
        marker.write_text("finished")

    with pytest.raises(RuntimeError), Pending(work) as job:
        pid = job._pid
        raise RuntimeError("the parent's own part failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    assert not marker.exists()


def test_workers_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.WORKERS_ENV, "1")
    assert not forked.can_fork()
    with Pending(os.getpid) as job:
        assert not job.forked
        assert job.result() == os.getpid()


def test_no_fork_when_asked_not_to() -> None:
    with Pending(os.getpid, fork=False) as job:
        assert not job.forked and job.result() == os.getpid()


def _refuse_to_load(parent: int) -> None:
    raise ValueError(f"cannot be loaded in {parent}")


class _Unloadable:
    """Pickles fine in the child, cannot be unpickled."""

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return _refuse_to_load, (os.getpid(),)


@needs_fork
def test_a_result_that_cannot_be_loaded_is_computed_here(tmp_path: Path) -> None:
    calls = tmp_path / "calls"

    def work() -> _Unloadable:
        with calls.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return _Unloadable()

    with Pending(work) as job:
        got = job.result()
    assert isinstance(got, _Unloadable)
    assert calls.read_text().split()[-1] == str(os.getpid())  # the child's, then this one
