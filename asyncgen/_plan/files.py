"""Reading input files safely: what every reader of datasets and arrival traces shares.

A dataset or trace path that is no regular file is named for what it is — missing, a symlink loop, a
folder, a FIFO or a device — before anything reads it (a FIFO blocks, ``/dev/zero`` never
ends). JSON is parsed strictly: ``NaN`` and ``Infinity``, which Python's ``json`` accepts but
JSON has not (a server would refuse the request, or read something else), and values nested
too deeply for the parser are errors naming the file and the line.
"""

from __future__ import annotations

import errno
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asyncgen._errors import DatasetError

_NOT_FILES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular_file(path: Path) -> None:
    """Raise ``DatasetError`` saying what ``path`` is, if it is not a regular file."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DatasetError("is a symlink loop", path=str(path)) from None
        if exc.errno == errno.ENOENT:
            raise DatasetError("no such file", path=str(path)) from None
        raise DatasetError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    for test, what in _NOT_FILES:
        if test(mode):
            raise DatasetError(f"is {what}, not a file", path=str(path))


def read_text(path: Path) -> str:
    """The UTF-8 text of a regular file, or ``DatasetError`` naming it."""
    check_regular_file(path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read: {exc}", path=str(path)) from exc


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number (JSON numbers are finite)")


_DECODER = json.JSONDecoder(parse_constant=_not_json)


def parse_json(text: str, path: Path, line: int) -> Any:
    """One JSON value (the whole ``text``), strictly; ``DatasetError`` at ``path:line``."""
    return _strictly(json.loads, text, path, line, parse_constant=_not_json)


def decode_json(text: str, pos: int, path: Path, line: int) -> tuple[Any, int]:
    """The JSON value at ``pos`` of ``text`` and where it ends (``raw_decode``), strictly."""
    result: tuple[Any, int] = _strictly(_DECODER.raw_decode, text, path, line, pos)
    return result


def _strictly(parse: Callable[..., Any], text: str, path: Path, line: int, *args: Any,
              **kwargs: Any) -> Any:  # fmt: skip
    try:
        return parse(text, *args, **kwargs)
    except ValueError as exc:
        raise DatasetError(f"not valid JSON: {exc}", path=str(path), line=line) from None
    except RecursionError:
        raise DatasetError("JSON nested too deeply", path=str(path), line=line) from None
