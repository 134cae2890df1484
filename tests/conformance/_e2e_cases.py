"""The cases of the end-to-end comparison: one spec each, run by both runners.

Every run is short (min_duration 0-100 ms, small expected latencies) and uses a SUT that
answers inside ``issue_query`` with ``int32 [idx, 2*idx, 7]``. A case is ``exact`` when the
number of queries it issues does not depend on timing: Server, Offline, accuracy passes and
runs that stop on a query count (closed loops without a min_duration). SingleStream and
MultiStream runs that end on min_duration or max_duration issue as many queries as the machine
manages, so only their common prefix is compared.
"""

from __future__ import annotations

from typing import Any

SEEDS: dict[str, dict[str, Any]] = {
    "zero": {},
    "conf": {  # mlperf.conf 6.0 values: 64-bit, used mod 2**32
        "qsl_rng_seed": 2085463073848966840,
        "sample_index_rng_seed": 2747215439041700203,
        "schedule_rng_seed": 16159082839903944936,
    },
    "small": {"qsl_rng_seed": 7, "sample_index_rng_seed": 11, "schedule_rng_seed": 13},
}

# min_query_count 700 for SingleStream/MultiStream: both early-stopping estimates (p90 needs
# 64 queries, p99 662) are then always printed, so their lines have a fixed layout. No
# min_duration: the runs end on their 700th query, so the verdict never depends on the machine
# (ending on a duration made the reference's verdict depend on it: its stop rule counts from
# before its first query, its summary from that query, and a busy machine widens the gap).
BASE: dict[str, dict[str, Any]] = {
    "SingleStream": {
        "single_stream_expected_latency_ns": 1_000,
        "min_duration_ms": 0,
        "min_query_count": 700,
    },
    "MultiStream": {
        "multi_stream_expected_latency_ns": 2_000,
        "multi_stream_samples_per_query": 4,
        "min_duration_ms": 0,
        "min_query_count": 700,
    },
    # Latency bounds of 2 s: a scheduling hiccup of the test machine cannot flip a verdict.
    "Server": {
        "server_target_qps": 5000,
        "min_duration_ms": 100,
        "server_target_latency_ns": 2_000_000_000,
        "ttft_latency": 2_000_000_000,
        "tpot_latency": 2_000_000_000,
    },
    # 550 samples in one query; min_duration (1 s) is never met, whatever the machine does.
    "Offline": {"offline_expected_qps": 500, "min_duration_ms": 1000},
}

INDEX_SUT: dict[str, Any] = {"response": "index"}
TOKEN_SUT: dict[str, Any] = {"response": "index", "tokens": True, "first_token": True}
SAMPLING: dict[str, Any] = {
    "accuracy_log_rng_seed": 720381539243781796,
    "accuracy_log_sampling_target": 30,
}

AUDIT_CONFIG = """\
# TEST01-like overrides, applied with model "*": the resnet50 line must be ignored
*.*.mode = 2
*.*.accuracy_log_rng_seed = 720381539243781796
*.*.accuracy_log_sampling_target = 40
*.Server.target_qps = 4000
resnet50.Server.min_query_count = 5
"""


def case(
    scenario: str,
    mode: str = "PerformanceOnly",
    *,
    total: int = 64,
    perf: int = 16,
    sut: dict[str, Any] | None = None,
    exact: bool | None = None,
    **settings: Any,
) -> dict[str, Any]:
    merged: dict[str, Any] = {"scenario": scenario, "mode": mode}
    merged.update(BASE[scenario])
    if mode != "PerformanceOnly" and scenario == "MultiStream":
        merged["multi_stream_samples_per_query"] = 3  # accuracy padding: 45 entries for 40
    merged.update(settings)
    if exact is None:
        counted = merged["min_duration_ms"] == 0 and "max_duration_ms" not in merged
        exact = scenario in ("Server", "Offline") or mode == "AccuracyOnly" or counted
    return {
        "total_count": total,
        "performance_count": perf,
        "settings": merged,
        "sut": sut or INDEX_SUT,
        "exact": exact,
    }


def _seeded_cases() -> dict[str, dict[str, Any]]:
    cases = {}
    for seed_name, seeds in SEEDS.items():
        sampling = SAMPLING if seed_name == "conf" else {}
        for scenario in BASE:
            cases[f"{scenario}-perf-{seed_name}"] = case(scenario, **seeds, **sampling)
            cases[f"{scenario}-acc-{seed_name}"] = case(scenario, "AccuracyOnly", total=40, **seeds)
    return cases


def _feature_cases() -> dict[str, dict[str, Any]]:
    conf = SEEDS["conf"]
    return {
        # Token latencies: FirstTokenComplete, then the response with n_tokens = 2 + idx % 4.
        "SingleStream-tokens": case(
            "SingleStream", sut=TOKEN_SUT, use_token_latencies=True, **SAMPLING
        ),
        "MultiStream-tokens": case("MultiStream", sut=TOKEN_SUT, use_token_latencies=True),
        "Server-tokens": case(
            "Server", sut=TOKEN_SUT, use_token_latencies=True, accuracy_log_sampling_target=20
        ),
        "Offline-tokens": case(
            "Offline",
            sut={"response": "index", "tokens": True},
            use_token_latencies=True,
            accuracy_log_sampling_target=10,
        ),
        "SingleStream-acc-tokens": case(
            "SingleStream", "AccuracyOnly", total=40, sut=TOKEN_SUT, use_token_latencies=True
        ),
        "Offline-acc-tokens": case(
            "Offline",
            "AccuracyOnly",
            total=40,
            sut={"response": "index", "tokens": True},
            use_token_latencies=True,
        ),
        "MultiStream-acc-tokens": case(
            "MultiStream", "AccuracyOnly", total=40, sut=TOKEN_SUT, use_token_latencies=True
        ),
        "Offline-submission-tokens": case(
            "Offline",
            "SubmissionRun",
            total=20,
            perf=8,
            sut={"response": "index", "tokens": True},
            use_token_latencies=True,
            accuracy_log_sampling_target=30,
        ),
        "SingleStream-submission": case(
            "SingleStream", "SubmissionRun", total=20, perf=8, accuracy_log_sampling_target=50
        ),
        "Server-submission": case("Server", "SubmissionRun", total=20, perf=8, **conf),
        "MultiStream-submission": case(
            "MultiStream", "SubmissionRun", total=20, perf=8, accuracy_log_sampling_target=40
        ),
        "Offline-submission": case("Offline", "SubmissionRun", total=20, perf=8, **SAMPLING),
        "Server-acc-overrides": case(
            "Server",
            "AccuracyOnly",
            total=50,
            performance_sample_count_override=12,
            accuracy_sample_count_override=30,
        ),
        "Server-perf-override-above-qsl": case("Server", performance_sample_count_override=40),
        "SingleStream-perf-override": case(
            "SingleStream", performance_sample_count_override=8, **conf
        ),
        # min_query_count beats 1.1 * min_duration * qps: one query of 700 samples.
        "Offline-min-query-count": case("Offline", offline_expected_qps=100, min_query_count=700),
        # FindPeak with a scripted SUT: series 2 and 4 stall 1.8 s on their first query (the
        # 1.5 s bound fails), the others answer at once, so both searches take one path. The
        # bound is far above the stalls a busy machine adds (half a second seen).
        "Server-find-peak": case(
            "Server",
            "FindPeakPerformance",
            sut={**INDEX_SUT, "stall_series": [2, 4], "stall_s": 1.8},
            server_target_qps=1000,
            server_target_latency_ns=1_500_000_000,
            server_find_peak_qps_boundary_step_size=0.004,
            server_find_peak_qps_decimals_of_precision=0,
            min_duration_ms=50,
            min_query_count=10,
        ),
        # A 1 ns latency bound: every sample is over it, the initial bound fails at once.
        "Server-find-peak-base-fails": case(
            "Server",
            "FindPeakPerformance",
            server_target_qps=1000,
            server_target_latency_ns=1,
            min_duration_ms=50,
            min_query_count=10,
        ),
        "SingleStream-max-query-count": case("SingleStream", max_query_count=50, exact=True),
        "Server-max-query-count": case("Server", max_query_count=100),
        "MultiStream-max-query-count": case("MultiStream", max_query_count=40, exact=True),
        # Stops after 1 s, long before min_duration (10 s) or min_query_count (1,000,000),
        # with about 200,000 queries run (a few microseconds each): a busy machine's stalls
        # (half a second seen) leave far more than the 662 that every early-stopping line
        # needs. No trace: it would hold every one of those queries.
        "SingleStream-max-duration": case(
            "SingleStream",
            max_duration_ms=1000,
            min_duration_ms=10_000,
            min_query_count=1_000_000,
            single_stream_expected_latency_ns=20_000,
        )
        | {"trace": False},
        "SingleStream-same": case(
            "SingleStream", performance_issue_same=True, performance_issue_same_index=3
        ),
        "MultiStream-same": case(
            "MultiStream", performance_issue_same=True, performance_issue_same_index=5
        ),
        "Server-same": case("Server", performance_issue_same=True, performance_issue_same_index=3),
        "Offline-same": case(
            "Offline", performance_issue_same=True, performance_issue_same_index=3
        ),
        # min_query_count becomes 2 * 2 ms / 400 ns + 16 = 10016 and the run ends on exactly
        # that many queries (they take far longer than 2 ms).
        "SingleStream-concat": case(
            "SingleStream",
            sample_concatenate_permutation=True,
            single_stream_expected_latency_ns=400,
            min_duration_ms=2,
            min_query_count=100,
            exact=True,
            **conf,
        ),
        "Server-concat": case(
            "Server", sample_concatenate_permutation=True, min_query_count=10, **conf
        ),
        "Offline-concat": case("Offline", sample_concatenate_permutation=True, **conf),
        "Offline-acc-concat": case(
            "Offline", "AccuracyOnly", total=40, sample_concatenate_permutation=True
        ),
        "SingleStream-unique": case(
            "SingleStream", performance_issue_unique=True, exact=True, **conf
        ),
        "SingleStream-probability": case(
            "SingleStream", accuracy_log_probability=0.2, accuracy_log_rng_seed=12345
        ),
        "MultiStream-unique": case("MultiStream", performance_issue_unique=True, exact=True),
        "MultiStream-concat": case("MultiStream", sample_concatenate_permutation=True, **conf),
        "Server-unique": case("Server", performance_issue_unique=True, **conf),
        "Offline-unique": case("Offline", performance_issue_unique=True, **conf),
        # A fast SUT and a large expected latency: 20 queries, "ran out" before min_duration.
        "SingleStream-ran-out": case(
            "SingleStream",
            single_stream_expected_latency_ns=50_000_000,
            min_duration_ms=500,
            min_query_count=20,
            exact=True,
        ),
        # The SUT answers every sample twice: one error per duplicate, counted in the footer.
        "SingleStream-duplicates": case(
            "SingleStream",
            sut={**INDEX_SUT, "duplicate": True},
            max_query_count=30,
            exact=True,
        ),
        "Server-infer-tokens": case(
            "Server", infer_token_latencies=True, token_latency_scaling_factor=69
        ),
        "Offline-infer-tokens": case(
            "Offline", infer_token_latencies=True, token_latency_scaling_factor=69
        ),
        "Server-test05": case(
            "Server",
            "SubmissionRun",
            test05=True,
            test05_qsl_rng_seed=195,
            test05_sample_index_rng_seed=235,
            test05_schedule_rng_seed=634,
        ),
        # The first query stalls the issuer 10 ms: every arrival due by then goes in one call.
        "Server-coalesce": case(
            "Server",
            sut={**INDEX_SUT, "stall_series": [0], "stall_s": 0.01},
            server_coalesce_queries=True,
        )
        | {"coalesce": True},
        "Server-audit-config": case("Server", "SubmissionRun", **conf) | {"audit": True},
        "Offline-no-trace": case("Offline") | {"trace": False},
        "Server-log-output": case("Server", print_timestamps=True)
        | {
            "log_output": {
                "prefix": "run_",
                "suffix": "_x",
                "prefix_with_datetime": True,
                "copy_detail_to_stdout": True,
                "copy_summary_to_stdout": True,
            }
        },
    }


def all_cases() -> dict[str, dict[str, Any]]:
    return _seeded_cases() | _feature_cases()


def runner_spec(case_: dict[str, Any], outdir: str) -> dict[str, Any]:
    """The RUN both runners take."""
    spec = {
        "outdir": outdir,
        "total_count": case_["total_count"],
        "performance_count": case_["performance_count"],
        "settings": case_["settings"],
        "sut": case_["sut"],
        "enable_trace": case_.get("trace", True),
        "record": True,
    }
    if case_.get("audit"):
        spec["audit_config"] = AUDIT_CONFIG
    if "log_output" in case_:
        spec["log_output"] = case_["log_output"]
        spec["capture_stdout"] = True
    return spec
