"""One run at a time in an output folder: a lock file, held while the run writes its logs.

Two runs writing into one folder at once truncate and interleave each other's files, and both
report success. The writer takes ``LOCK_NAME`` in the folder before it opens a log file: an
exclusive ``flock`` on it, with the holder's pid and start time written inside for the error
the next run gets. The operating system drops the lock when its process dies, so a lock file
left behind by a killed run is stale and simply taken over. Two ``run_test`` calls in one
process conflict as well: each opens the file anew, and a ``flock`` belongs to the open file.

Released when the writer closes: the file is removed, then unlocked. A run that opened it
just before the removal finds, once it holds the lock, that the name no longer leads to its
file, and tries again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path

from asyncgen._errors import OutputError
from asyncgen._log import get_logger

LOCK_NAME = ".asyncgen.lock"
_ATTEMPTS = 5  # a lock file removed under us this many times in a row: give up

_log = get_logger("asyncgen")


class FolderLock:
    """The lock of one output folder; ``release`` it when the run's files are closed."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_NAME
        self._fd: int | None = None
        for _ in range(_ATTEMPTS):
            fd = self._open()
            if self._lock(fd):
                self._fd = fd
                self._write_holder()
                return
        raise OutputError(f"cannot lock {self.path}: it keeps being removed by another run")

    def release(self) -> None:
        """Remove the lock file and unlock it (safe to call twice)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(fd)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot create the lock file {self.path}: {exc.strerror}") from exc

    def _lock(self, fd: int) -> bool:
        """Lock ``fd``; False if it is no longer the file of that name (removed meanwhile)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(
                    f"another run is writing to {self.path.parent} ({holder or 'holder unknown'}; "
                    f"lock file {self.path}): wait for it to end, or write to another folder"
                ) from None
            raise OutputError(f"cannot lock {self.path}: {exc.strerror}") from exc
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
        return same

    def _write_holder(self) -> None:
        assert self._fd is not None
        stale = _read(self._fd)
        if stale:  # the OS released it: its process ended without removing the file
            _log.warning("stale lock taken over", path=str(self.path), holder=stale)
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        text = f"pid {os.getpid()} since {started}".encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text, 0)


def _read(fd: int) -> str:
    """What the lock file says about its holder (empty if nothing)."""
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
