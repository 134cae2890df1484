"""Test settings, with the reference LoadGen's names, types and defaults.

Field names are the Python names of ``mlperf_loadgen.TestSettings`` (``ttft_latency`` and
``tpot_latency`` for the C++ ``server_ttft_latency`` / ``server_tpot_latency``), so a LoadGen
harness ports by renaming its import. Units are in the names: ``_ns``, ``_ms``, ``_qps``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self, TypeVar

import attrs

from asyncgen._config.apply import config_changes, read_config, scenario_name
from asyncgen._config.enums import LoggingMode, TestMode, TestScenario
from asyncgen._config.keys import ConfigKind
from asyncgen._config.presets import StrPath, presets_dir, resolve_preset


@attrs.define(kw_only=True)
class TestSettings:
    """Everything that shapes a run. Defaults are the reference LoadGen 6.0.17 defaults."""

    __test__ = False

    scenario: TestScenario = TestScenario.SingleStream
    mode: TestMode = TestMode.PerformanceOnly

    single_stream_expected_latency_ns: float = 1_000_000.0
    single_stream_target_latency_percentile: float = 0.90

    multi_stream_expected_latency_ns: float = 8_000_000.0
    multi_stream_target_latency_percentile: float = 0.99
    multi_stream_samples_per_query: int = 8

    server_target_qps: float = 1.0
    server_target_latency_ns: int = 100_000_000
    server_target_latency_percentile: float = 0.99
    server_coalesce_queries: bool = False
    server_find_peak_qps_decimals_of_precision: int = 1
    server_find_peak_qps_boundary_step_size: float = 1.0
    server_max_async_queries: int = 0
    server_num_issue_query_threads: int = 0

    offline_expected_qps: float = 1.0

    sample_concatenate_permutation: bool = False

    min_duration_ms: int = 10_000
    max_duration_ms: int = 0
    min_query_count: int = 100
    max_query_count: int = 0

    qsl_rng_seed: int = 0
    sample_index_rng_seed: int = 0
    schedule_rng_seed: int = 0
    accuracy_log_rng_seed: int = 0
    accuracy_log_probability: float = 0.0
    accuracy_log_sampling_target: int = 0

    test05: bool = False
    test05_qsl_rng_seed: int = 0
    test05_sample_index_rng_seed: int = 0
    test05_schedule_rng_seed: int = 0

    print_timestamps: bool = False
    performance_issue_unique: bool = False
    performance_issue_same: bool = False
    performance_issue_same_index: int = 0
    performance_sample_count_override: int = 0
    accuracy_sample_count_override: int = 0

    use_token_latencies: bool = False
    ttft_latency: int = 100_000_000
    tpot_latency: int = 100_000_000
    infer_token_latencies: bool = False
    # Uninitialised in the C++ reference; its Python binding reads it as 0.
    token_latency_scaling_factor: int = 0

    # asyncgen's own: how long to wait for outstanding samples after issuing ends before the
    # run is declared INVALID with the missing samples named. The reference waits forever.
    drain_timeout_ms: int = 60_000

    # asyncgen's own workload options for the Server scenario (docs/workloads.md); with all of
    # them at their defaults a run, its plan and its files are exactly the reference's.
    server_arrival: str = "poisson"  # poisson, constant, gamma or trace (ARRIVAL_KINDS)
    server_burstiness: float = 1.0  # gamma shape: < 1 burstier, 1 Poisson, > 1 smoother
    server_trace_path: str = ""  # arrival "trace": JSON Lines of {"timestamp": ms, ...}
    server_trace_speed: float = 1.0  # trace timestamps are divided by this
    server_ramp_up_ms: int = 0  # the rate rises linearly from 0 to the target over this time
    server_max_concurrency: int = 0  # at most this many queries in flight; 0: no limit
    server_concurrency: int = 0  # a closed loop of this many users instead of arrivals; 0: none
    server_multi_turn: bool = False  # each sample is a conversation, sent turn by turn
    server_think_time_ms: float = 0.0  # between an answer and the next turn of its conversation

    @classmethod
    def from_config(
        cls,
        path: str | Path,
        model: str,
        scenario: TestScenario | str,
        *,
        base: TestSettings | None = None,
        apply_mlperf_conf: bool = True,
    ) -> Self:
        """Load a user.conf-style file for ``model`` and ``scenario``.

        The built-in MLPerf rule values (``scenarios/mlperf.conf``) are applied first, as the
        reference applies its compiled-in mlperf.conf; then ``path`` with user.conf rules.
        Raises ``ConfigError`` naming the file, line and key on any problem.
        """
        start = cls() if base is None else cls(**_field_values(base))
        name = scenario_name(scenario)
        settings = attrs.evolve(start, scenario=TestScenario[name])
        if apply_mlperf_conf:
            rules = presets_dir() / "mlperf.conf"
            settings = apply_config(settings, rules, model=model, scenario=name, kind="mlperf")
        return apply_config(settings, resolve_preset(path), model=model, scenario=name, kind="user")


ARRIVAL_KINDS = ("poisson", "constant", "gamma", "trace")
# asyncgen's own fields (no config-file key, not in the reference's TestSettings).
WORKLOAD_FIELDS = (
    "server_arrival",
    "server_burstiness",
    "server_trace_path",
    "server_trace_speed",
    "server_ramp_up_ms",
    "server_max_concurrency",
    "server_concurrency",
    "server_multi_turn",
    "server_think_time_ms",
)


@attrs.define(kw_only=True)
class LogOutputSettings:
    """Where the log files go and how they are named (reference names and defaults)."""

    outdir: str = "."
    prefix: str = "mlperf_log_"
    suffix: str = ""
    prefix_with_datetime: bool = False
    copy_detail_to_stdout: bool = False
    copy_summary_to_stdout: bool = False


@attrs.define(kw_only=True)
class LogSettings:
    """Log output settings; ``log_mode`` fields exist for parity and have no effect.

    ``write_results_json=False`` leaves out ``mlperf_log_results.json``, so the folder holds
    only the reference's files (the MLPerf submission checker rejects any other file in a
    results or compliance folder; see docs/porting.md).
    """

    log_output: LogOutputSettings = attrs.field(factory=LogOutputSettings)
    log_mode: LoggingMode = LoggingMode.AsyncPoll
    log_mode_async_poll_interval_ms: int = 1000
    enable_trace: bool = True
    write_results_json: bool = True


_Settings = TypeVar("_Settings", bound=TestSettings)


def apply_config_text(
    settings: _Settings,
    text: str,
    *,
    model: str,
    scenario: TestScenario | str,
    kind: ConfigKind,
    path: str | None = None,
) -> _Settings:
    """A copy of ``settings`` with config ``text`` applied; ``path`` only labels errors."""
    current = attrs.asdict(settings, recurse=False)
    changes: dict[str, Any] = config_changes(
        current, text, model=model, scenario=scenario, kind=kind, path=path
    )
    return attrs.evolve(settings, **changes)


def apply_config(
    settings: _Settings,
    path: StrPath,
    *,
    model: str,
    scenario: TestScenario | str,
    kind: ConfigKind,
) -> _Settings:
    """A copy of ``settings`` with a config file applied for ``model`` and ``scenario``.

    Like the reference's ``FromConfig`` it does not change ``settings.scenario``. On any error
    it raises ``ConfigError`` and nothing is applied.
    """
    text = read_config(path)
    return apply_config_text(
        settings, text, model=model, scenario=scenario, kind=kind, path=str(path)
    )


def apply_audit_config(settings: _Settings, path: StrPath) -> _Settings:
    """Apply an audit.config the way a run does: model ``*``, the settings' own scenario."""
    return apply_config(settings, path, model="*", scenario=settings.scenario, kind="audit")


def _field_values(settings: TestSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in attrs.fields(TestSettings)}
