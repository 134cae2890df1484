"""Two runs into one output folder at once: the second is refused before it opens a file, the
first runs on undisturbed; the lock is released when a run ends, and a lock left by a killed
process is stale and taken over."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen._output.lock import LOCK_NAME
from asyncgen.sut import QuerySample
from tests.faults._support import ScriptedSUT, assert_consistent, fast_settings, log_to
from tests.helpers import ListQSL

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.asyncio
async def test_a_second_run_test_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    release = asyncio.Event()
    first_started = asyncio.Event()

    async def held(sample: QuerySample) -> None:
        first_started.set()
        await release.wait()
        sample.complete(b"\x01")

    settings = fast_settings(TestScenario.Offline, TestMode.AccuracyOnly, drain_timeout_ms=60_000)
    first = asyncio.ensure_future(
        asyncgen.run_test(
            ScriptedSUT(held),
            ListQSL(),
            settings,
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    )
    await first_started.wait()
    second_sut = ScriptedSUT(held)
    with pytest.raises(asyncgen.OutputError) as info:
        await asyncgen.run_test(
            second_sut, ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
        )
    assert f"another run is writing to {tmp_path} (pid {os.getpid()} since " in str(info.value)
    assert second_sut.calls == 0
    release.set()
    result = await first
    assert result.valid and result.accuracy_entries == 64  # untouched by the second
    assert not (tmp_path / LOCK_NAME).exists()  # released
    assert_consistent(tmp_path)
    # and the folder is free again
    again = await asyncgen.run_test(
        ScriptedSUT(held), ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
    )
    assert again.valid


def _cli(outdir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "asyncgen", "run", "-s", "Server", "--qps", "200",
        "--sut", "tests.cli._suts:fast_sut", "--progress", "plain",
        "--progress-interval", "0.05", "--audit-config", "none", "-o", str(outdir), *extra,
    ]  # fmt: skip


def test_a_second_cli_run_into_the_same_folder_exits_2(tmp_path: Path) -> None:
    with subprocess.Popen(
        _cli(tmp_path, "--duration-ms", "60000"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as first:
        assert first.stdout is not None
        for line in first.stdout:  # queries are flowing: the folder is in use
            if line.startswith("["):
                break
        second = subprocess.run(
            _cli(tmp_path, "--duration-ms", "100"),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=30)
    assert second.returncode == 2
    assert f"asyncgen run: error: another run is writing to {tmp_path} (pid {first.pid}" in (
        second.stderr
    )
    assert "Traceback" not in second.stderr
    assert first.returncode == 130  # the first ran on and was interrupted, files intact
    assert_consistent(tmp_path)


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    holder = textwrap.dedent(
        f"""
        import fcntl, os, sys
        fd = os.open({str(tmp_path / LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"pid %d since then" % os.getpid())
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        settings = fast_settings(TestScenario.Offline, TestMode.AccuracyOnly)
        with pytest.raises(asyncgen.OutputError, match=f"pid {proc.pid} since then"):
            asyncgen.run(
                ScriptedSUT(_answer),
                ListQSL(),
                settings,
                log_settings=log_to(tmp_path),
                audit_config=None,
            )
        proc.kill()  # SIGKILL: the lock file stays, the lock goes with the process
    assert (tmp_path / LOCK_NAME).read_text().startswith(f"pid {proc.pid}")
    result = asyncgen.run(
        ScriptedSUT(_answer), ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
    )
    assert result.valid
    assert not (tmp_path / LOCK_NAME).exists()
    assert_consistent(tmp_path)


async def _answer(sample: QuerySample) -> None:
    await asyncio.sleep(0)
    sample.complete(b"\x02")
