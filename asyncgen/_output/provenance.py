"""The version block at the top of the detail log: what produced these files."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path

REFERENCE_VERSION = "6.0.17"  # the LoadGen whose semantics and file formats asyncgen follows


@functools.cache
def version_entries(version: str) -> tuple[tuple[str, object], ...]:
    """``loadgen_*`` keys in the reference's order, describing this asyncgen installation."""
    package = Path(__file__).parent
    sources = sorted(package.rglob("*.py"))
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    built = dt.datetime.fromtimestamp(newest)
    sha1 = {
        "/" + p.relative_to(package.parent).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sources
    }
    return (
        ("loadgen_version", f"{REFERENCE_VERSION} @ asyncgen-{version}"),
        ("loadgen_build_date_local", built.isoformat()),
        ("loadgen_build_date_utc", built.astimezone(dt.UTC).replace(tzinfo=None).isoformat()),
        ("loadgen_git_commit_date", ""),
        ("loadgen_git_log_message", f"asyncgen {version}"),
        ("loadgen_git_status_message", ""),
        ("loadgen_file_sha1", sha1),
    )


def test_datetime() -> str:
    """Local time as ``%Y-%m-%dT%H:%M:%SZ`` (the reference appends Z to local time too)."""
    return dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def power_timestamp(epoch_ns: int) -> str:
    """``MM-DD-YYYY HH:MM:SS.mmm`` in UTC, the format MLPerf power tooling aligns against."""
    t = dt.datetime.fromtimestamp(epoch_ns // 1_000_000_000, tz=dt.UTC)
    return t.strftime("%m-%d-%Y %H:%M:%S") + f".{(epoch_ns // 1_000_000) % 1000:03d}"
