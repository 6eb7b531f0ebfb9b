"""Part of a big read done by a forked child, the rest by the reader itself.

Reading is pure (bytes in, columns out), so a child forked from the reader can
read part of a file (the second part of a big CSV file, the second half of the
entries of a parsed camt statement) and send its columns back pickled while
the parent reads the rest.  On a two-core machine that takes the reading of a
million-line CSV file from about 7 s to about 4.5 s.

The split is an optimisation and never a requirement: it is used only where
``fork`` is safe (POSIX other than macOS, no other thread running, more than
one CPU) and not turned off by ``SOLIDARITY_READ_WORKERS=1``.  When the child
cannot be started, dies, or its work raises, the parent does that part itself,
so the result (and any error, with its own traceback) is the one a plain
serial read gives.
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
_NOTHING = object()

#: ``SOLIDARITY_READ_WORKERS=1`` reads every file in one process.
WORKERS_ENV = "SOLIDARITY_READ_WORKERS"


def can_fork() -> bool:
    """True when a child can share the work here (see the module docstring)."""
    if os.environ.get(WORKERS_ENV, "").strip() == "1":
        return False
    if not hasattr(os, "fork") or sys.platform == "darwin":
        return False
    if threading.active_count() != 1:  # forking a threaded process can deadlock the child
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpus > 1


class Pending(Generic[T]):
    """The result of ``work``, computed by a forked child or, failing that, here.

    Use as a context manager: leaving the block without asking for the result
    (the parent's own part failed) stops the child.
    """

    def __init__(self, work: Callable[[], T], *, fork: bool = True) -> None:
        self._work = work
        self._pid = 0
        self._fd = -1
        self._spool: Any = None
        if fork and can_fork():
            self._start()

    def _start(self) -> None:
        # The result travels through an unlinked temporary file (written at disk-cache
        # speed, mapped by the parent without a copy); the pipe only says it is there.
        try:
            spool = tempfile.TemporaryFile(prefix="solidarity-read-")  # noqa: SIM115
            read_fd, write_fd = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            spool.close()
            os.close(read_fd)
            os.close(write_fd)
            return
        if pid == 0:  # the child: do the work, leave it in the spool, leave without cleanup
            status = 1
            try:
                os.close(read_fd)
                pickle.dump(self._work(), spool, protocol=pickle.HIGHEST_PROTOCOL)
                spool.flush()
                os.write(write_fd, b"1")
                status = 0
            finally:  # no atexit handlers, no flushing of the parent's buffers
                os._exit(status)
        os.close(write_fd)
        self._pid, self._fd, self._spool = pid, read_fd, spool

    @property
    def forked(self) -> bool:
        """True while a child is doing the work."""
        return self._pid != 0

    def result(self) -> T:
        """The work's result: the child's if it delivered, else computed here."""
        if not self._pid:
            return self._work()
        try:
            delivered = os.read(self._fd, 1) == b"1"  # EOF (b"") if the child died
        except OSError:
            delivered = False
        value = self._delivered() if delivered else _NOTHING
        self._reap()
        return self._work() if value is _NOTHING else cast(T, value)

    def _delivered(self) -> object:
        try:
            with mmap.mmap(self._spool.fileno(), 0, access=mmap.ACCESS_READ) as view:
                return pickle.loads(view)
        except Exception:  # noqa: BLE001 - a damaged result: the parent does the work
            return _NOTHING

    def _reap(self) -> None:
        os.close(self._fd)
        self._spool.close()
        os.waitpid(self._pid, 0)
        self._pid, self._fd = 0, -1

    def cancel(self) -> None:
        """Stop the child if it is still running (nothing is computed then)."""
        if self._pid:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class JoinedTexts:
    """A column of texts travelling as one string (see :func:`pack_texts`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __reduce__(self) -> tuple[type[JoinedTexts], tuple[str]]:
        return JoinedTexts, (self.text,)


_NUL = "\x00"
#: Columns shorter than this go as they are; the first this many values tell
#: whether the texts are mostly distinct.
_SAMPLE = 1024


def pack_texts(values: list[Any]) -> list[Any] | JoinedTexts:
    """``values`` ready to be pickled for the parent: a long column of mostly distinct
    texts (raw lines, references) as one string joined by NUL, anything else as it is.

    Pickle writes and reads a string object per value: half a million of them cost
    ~0.15 s to write and as much to read, where one joined string is copied and
    split in a few milliseconds.  Mostly repeated texts (counterparty names) stay a
    list: pickle sends each distinct object once and the parent shares them too.
    A text holding a NUL, or a value that is not a text, keeps the column a list.
    """
    if len(values) < _SAMPLE or type(values[0]) is not str:
        return values
    if len(set(values[:_SAMPLE])) * 2 < _SAMPLE:
        return values
    try:
        joined = _NUL.join(values)
    except TypeError:  # None or a number among the texts
        return values
    if joined.count(_NUL) != len(values) - 1:
        return values
    return JoinedTexts(joined)


def unpack_texts(packed: list[Any] | JoinedTexts) -> list[Any]:
    """The column :func:`pack_texts` packed."""
    return packed.text.split(_NUL) if isinstance(packed, JoinedTexts) else packed
