"""What ``workers`` refuses before anything starts, and what ``workers=1`` never does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import asyncgen
from asyncgen.testing import FakeClock
from tests.run.scale_out import _suts

REPO = Path(__file__).resolve().parents[3]


def _run(settings: asyncgen.TestSettings, tmp_path: Path, **options: Any) -> None:
    asyncgen.run(
        options.pop("sut", _suts.NullSUT),
        options.pop("qsl", _suts.qsl),
        settings,
        log_settings=asyncgen.LogSettings(
            log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path))
        ),
        audit_config=None,
        **options,
    )


SERVER = asyncgen.TestSettings(scenario=asyncgen.TestScenario.Server, server_target_qps=100)


@pytest.mark.parametrize("scenario", ["SingleStream", "MultiStream"])
def test_a_closed_loop_cannot_be_split(tmp_path: Path, scenario: str) -> None:
    settings = asyncgen.TestSettings(scenario=asyncgen.TestScenario[scenario])
    with pytest.raises(asyncgen.SettingsError, match="one closed loop"):
        _run(settings, tmp_path, workers=2)
    assert not list(tmp_path.iterdir())  # refused before any file was opened


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"server_max_concurrency": 8}, "server_max_concurrency"),
        ({"server_concurrency": 4}, "server_concurrency"),
        ({"server_multi_turn": True}, "server_multi_turn"),
    ],
)
def test_queries_that_wait_on_completions_cannot_be_split(
    tmp_path: Path, fields: dict[str, Any], named: str
) -> None:
    settings = attrs.evolve(SERVER, **fields)
    with pytest.raises(asyncgen.SettingsError, match=f"workers=2: {named} make each query wait"):
        _run(settings, tmp_path, workers=2)
    assert not list(tmp_path.iterdir())  # refused before any file was opened


def test_an_instance_is_not_a_factory(tmp_path: Path) -> None:
    with pytest.raises(asyncgen.ConfigError, match="not an instance of NullSUT"):
        _run(SERVER, tmp_path, sut=_suts.NullSUT(), workers=2)
    with pytest.raises(asyncgen.ConfigError, match="not an instance of SimulatedQSL"):
        _run(SERVER, tmp_path, qsl=_suts.qsl(), workers=2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "at least 1"),
        ({"workers": 1, "ray_address": "auto"}, "needs workers > 1"),
        ({"workers": 2, "clock": FakeClock()}, "must be a MonotonicClock"),
    ],
)
def test_bad_scale_out_options(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(asyncgen.SettingsError, match=message):
        _run(SERVER, tmp_path, **options)


def test_one_worker_never_imports_ray(tmp_path: Path) -> None:
    program = f"""
import sys
import asyncgen
from tests.run.scale_out import _suts
settings = asyncgen.TestSettings(scenario=asyncgen.TestScenario.Server, server_target_qps=500,
                                 min_duration_ms=100, min_query_count=10)
log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir={str(tmp_path)!r}))
asyncgen.run(_suts.NullSUT(), _suts.qsl(), settings, log_settings=log, audit_config=None)
assert "ray" not in sys.modules, "a one-worker run imported ray"
print("no ray")
"""
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no ray"
