"""The Server workload settings: what runs, what cannot, and that the defaults change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from asyncgen._config.settings import WORKLOAD_FIELDS
from asyncgen._config.validate import validate_settings
from asyncgen._errors import SettingsError
from asyncgen.settings import TestMode, TestScenario, TestSettings

SERVER = TestScenario.Server


@pytest.mark.parametrize(
    "changes",
    [
        {"server_arrival": "constant", "server_ramp_up_ms": 2000},
        {"server_arrival": "gamma", "server_burstiness": 0.25},
        {"server_arrival": "trace", "server_trace_path": "t.jsonl", "server_trace_speed": 3.0},
        {"server_max_concurrency": 8, "server_multi_turn": True, "server_think_time_ms": 1.5},
        {"server_concurrency": 4, "server_multi_turn": True},
        {"server_arrival": "gamma", "mode": TestMode.FindPeakPerformance},
    ],
)
def test_these_run(changes: dict[str, Any]) -> None:
    validate_settings(TestSettings(scenario=SERVER, **changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scenario": TestScenario.Offline, "server_concurrency": 2}, "applies to the Server"),
        ({"server_arrival": "uniform"}, "server_arrival must be one of"),
        ({"server_burstiness": 0.0}, "server_burstiness must be a positive"),
        ({"server_trace_speed": float("inf")}, "server_trace_speed must be a positive"),
        ({"server_think_time_ms": -1.0, "server_multi_turn": True}, "server_think_time_ms"),
        ({"server_arrival": "trace"}, "go together"),
        ({"server_trace_path": "t.jsonl"}, "go together"),
        (
            {"server_arrival": "trace", "server_trace_path": "t", "server_ramp_up_ms": 5},
            "does not apply to a trace",
        ),
        ({"server_concurrency": 2, "server_arrival": "gamma"}, "leave server_arrival unset"),
        ({"server_concurrency": 2, "server_max_concurrency": 2}, "server_max_concurrency"),
        ({"server_think_time_ms": 5.0}, "needs server_multi_turn"),
        ({"server_multi_turn": True, "server_coalesce_queries": True}, "does not combine"),
        (
            {"server_concurrency": 2, "mode": TestMode.FindPeakPerformance},
            "FindPeakPerformance searches an arrival rate",
        ),
        ({"server_multi_turn": 1}, "server_multi_turn must be a bool"),
        ({"server_concurrency": -1}, "server_concurrency must be an integer"),
    ],
)
def test_these_cannot(changes: dict[str, Any], message: str) -> None:
    settings = TestSettings(**{"scenario": SERVER, **changes})
    with pytest.raises(SettingsError, match=message):
        validate_settings(settings)


def test_the_defaults_are_the_reference_run() -> None:
    defaults = TestSettings()
    assert {name: getattr(defaults, name) for name in WORKLOAD_FIELDS} == {
        "server_arrival": "poisson",
        "server_burstiness": 1.0,
        "server_trace_path": "",
        "server_trace_speed": 1.0,
        "server_ramp_up_ms": 0,
        "server_max_concurrency": 0,
        "server_concurrency": 0,
        "server_multi_turn": False,
        "server_think_time_ms": 0.0,
    }
