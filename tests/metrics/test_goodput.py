"""SLO evaluation and goodput, exactly, on hand-made request times."""

from __future__ import annotations

import numpy as np
import pytest

from asyncgen._engine.series import UNSET
from asyncgen._errors import SettingsError
from asyncgen._metrics.goodput import (
    ServiceLevelObjectives,
    evaluate,
    met_all,
    observed_at,
    request_latencies,
    slo_masks,
)
from asyncgen._metrics.measurements import RequestTimes

MS = 1_000_000


def _times(
    *,
    first_ms: list[float | None],
    done_ms: list[float | None],
    tokens: list[int],
    failed: list[bool] | None = None,
    scheduled_ms: list[float] | None = None,
) -> RequestTimes:
    n = len(done_ms)
    scheduled = np.asarray([int(t * MS) for t in scheduled_ms or [0.0] * n], dtype=np.int64)

    def stamps(values: list[float | None]) -> np.ndarray:
        return np.asarray(
            [UNSET if v is None else int(v * MS) for v in values], dtype=np.int64
        ) + np.where([v is None for v in values], 0, scheduled)

    return RequestTimes(
        samples=np.arange(n, dtype=np.int64),
        scheduled_ns=scheduled,
        issued_ns=scheduled.copy(),
        first_token_ns=stamps(first_ms),
        completed_ns=stamps(done_ms),
        output_tokens=np.asarray(tokens, dtype=np.int64),
        failed=np.asarray(failed or [False] * n, dtype=np.bool_),
    )


def test_tpot_is_vllms_and_one_token_has_none() -> None:
    times = _times(first_ms=[100, 100, 100], done_ms=[500, 100, 140], tokens=[5, 0, 0])
    lat = request_latencies(times)
    assert lat.ttft_ns.tolist() == [100 * MS, 100 * MS, 100 * MS]
    assert lat.e2e_ns.tolist() == [500 * MS, 100 * MS, 140 * MS]
    # (500 - 100) / (5 - 1) = 100 ms; no count (LoadGen stores 0 for 1 token): TPOT 0, meets
    assert lat.tpot_ns.tolist() == [100 * MS, 0.0, 0.0]


def test_latencies_count_from_the_scheduled_time_and_ttft_defaults_to_e2e() -> None:
    times = _times(first_ms=[30, None], done_ms=[50, 80], tokens=[3, 3], scheduled_ms=[10.0, 20.0])
    lat = request_latencies(times)
    assert lat.ttft_ns.tolist() == [30 * MS, 80 * MS]  # no first token: TTFT = E2E
    assert lat.e2e_ns.tolist() == [50 * MS, 80 * MS]


def test_a_failed_or_missing_request_meets_nothing() -> None:
    slos = ServiceLevelObjectives(e2e_ms=1000, tpot_ms=1000)
    times = _times(
        first_ms=[1, 1, None], done_ms=[2, 2, None], tokens=[2, 2, 0], failed=[False, True, False]
    )
    lat = request_latencies(times)
    assert lat.answered.tolist() == [True, False, False]
    masks = slo_masks(slos, lat)
    assert masks["e2e"].tolist() == [True, False, False]
    assert masks["tpot"].tolist() == [True, False, False]
    assert met_all(slos, lat).tolist() == [True, False, False]


def test_masks_per_slo_and_all_at_once() -> None:
    slos = ServiceLevelObjectives(ttft_ms=200, tpot_ms=50, e2e_ms=1000)
    # TTFT ms, E2E ms, tokens -> TPOT (e2e - ttft)/(tokens - 1)
    times = _times(
        first_ms=[100, 300, 100, 100],
        done_ms=[500, 600, 900, 1200],
        tokens=[9, 9, 9, 9],  # TPOT 50, 37.5, 100, 137.5
    )
    lat = request_latencies(times)
    masks = slo_masks(slos, lat)
    assert masks["ttft"].tolist() == [True, False, True, True]
    assert masks["tpot"].tolist() == [True, True, False, False]  # 50 <= 50 meets
    assert masks["e2e"].tolist() == [True, True, True, False]
    assert met_all(slos, lat).tolist() == [True, False, False, False]


def test_observed_uses_the_reference_percentile_rule_with_failures_last() -> None:
    values = np.asarray([5.0, 1.0, 3.0, np.nan], dtype=np.float64)
    assert observed_at(values, 0.5) == 5.0  # sorted [1, 3, 5, nan][floor(4 * 0.5)]
    assert observed_at(values, 0.25) == 3.0
    assert observed_at(values, 0.75) is None  # falls on the failed request
    assert observed_at(np.zeros(0), 0.5) is None


def test_goodput_rates_shares_and_verdicts() -> None:
    slos = ServiceLevelObjectives(ttft_ms=200, e2e_ms=1000, percentile=0.5)
    times = _times(
        first_ms=[100, 300, 100, 100],
        done_ms=[500, 600, 900, 2000],  # the last answer 2 s after the start
        tokens=[10, 20, 30, 40],
    )
    good = evaluate(slos, times, start_ns=0)
    assert good.requests == 4 and good.answered_requests == 4
    assert good.good_requests == 2  # the first and the third
    assert good.output_tokens == 40
    assert good.duration_s == 2.0
    assert good.requests_per_second == 1.0
    assert good.output_tokens_per_second == 20.0
    assert good.achieved_requests_per_second == 2.0
    ttft, e2e = good.slos
    assert (ttft.name, ttft.limit_ms, ttft.observed_ms, ttft.share_met) == ("ttft", 200, 100, 0.75)
    assert ttft.holds
    assert (e2e.name, e2e.observed_ms, e2e.share_met) == ("e2e", 900, 0.75)
    assert e2e.holds and good.slos_met and good.missed == ()
    assert good.to_dict()["slos"]["e2e_ms"] == {
        "limit": 1000.0,
        "observed": 900.0,
        "share_met": 0.75,
        "met": True,
    }


def test_an_slo_holds_only_when_more_than_the_percentile_met_it() -> None:
    # 9 of 10 requests meet 100 ms: floor(10 * 0.9) = 9 is the first that missed
    times = _times(first_ms=[1] * 10, done_ms=[50] * 9 + [150], tokens=[2] * 10)
    at_p90 = evaluate(ServiceLevelObjectives(e2e_ms=100, percentile=0.9), times, 0)
    assert at_p90.slos[0].share_met == 0.9 and at_p90.slos[0].observed_ms == 150
    assert not at_p90.slos_met and at_p90.missed[0].name == "e2e"
    at_p89 = evaluate(ServiceLevelObjectives(e2e_ms=100, percentile=0.89), times, 0)
    assert at_p89.slos_met  # floor(8.9) = 8


def test_without_tokens_only_e2e_is_judged_and_token_rates_are_none() -> None:
    times = RequestTimes(
        samples=np.arange(2, dtype=np.int64),
        scheduled_ns=np.zeros(2, dtype=np.int64),
        issued_ns=np.zeros(2, dtype=np.int64),
        first_token_ns=None,
        completed_ns=np.asarray([10 * MS, 20 * MS], dtype=np.int64),
        output_tokens=None,
        failed=np.zeros(2, dtype=np.bool_),
    )
    good = evaluate(ServiceLevelObjectives(e2e_ms=15), times, 0)
    assert good.good_requests == 1 and good.output_tokens_per_second is None
    assert good.requests_per_second == 50.0


def test_an_empty_run_has_no_goodput() -> None:
    empty = _times(first_ms=[], done_ms=[], tokens=[])
    good = evaluate(ServiceLevelObjectives(e2e_ms=1), empty, 0)
    assert good.requests_per_second == 0.0 and not good.slos_met
    assert good.slos[0].observed_ms is None and good.slos[0].share_met == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ttft_ms": 0},
        {"tpot_ms": -1},
        {"e2e_ms": float("inf")},
        {"e2e_ms": "200"},
        {"e2e_ms": 1, "percentile": 99},
        {"e2e_ms": 1, "percentile": 0},
    ],
)
def test_bad_objectives_are_settings_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        ServiceLevelObjectives(**kwargs)  # type: ignore[arg-type]


def test_limits_keep_their_order_and_need_tokens() -> None:
    slos = ServiceLevelObjectives(e2e_ms=3, ttft_ms=1)
    assert slos.limits_ms() == {"ttft": 1.0, "e2e": 3.0}
    assert slos.needs_tokens
    assert not ServiceLevelObjectives(e2e_ms=3).needs_tokens
