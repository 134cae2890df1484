"""The config keys LoadGen reads: one table that parsing, checking and applying all follow.

Each row ties a key name to a TestSettings field, the value's type and unit (latencies in ms,
percentiles in percent), the scenario it is read under and which kinds of file may set it.
Three kinds of file exist: the MLPerf rules file (``mlperf.conf``, the only one that may set the
seeds, ``accuracy_log_probability`` and ``test05*``), a ``user.conf``, and an ``audit.config``.
Keys that real MLPerf files carry but LoadGen never reads (``target_duration``,
``Offline.target_latency_percentile``, the compliance scripts' ``test07_*``/``test09_*``
thresholds) have rows without a field: accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from asyncgen._config.enums import TestScenario
from asyncgen._config.numbers import U64_MAX

ConfigKind = Literal["mlperf", "user", "audit"]
ValueKind = Literal["int", "double", "bool", "mode"]

C_INT_MAX = (1 << 31) - 1
MS_TO_NS = 1_000_000.0
PERCENT = 0.01

_ANY: frozenset[ConfigKind] = frozenset({"mlperf", "user", "audit"})
_RULES_ONLY: frozenset[ConfigKind] = frozenset({"mlperf"})
_NOT_RULES: frozenset[ConfigKind] = frozenset({"user", "audit"})
FILE_NAMES: Mapping[ConfigKind, str] = {
    "mlperf": "the MLPerf rules file (mlperf.conf)",
    "user": "a user.conf",
    "audit": "an audit.config",
}


@attrs.frozen(kw_only=True)
class KeySpec:
    """One config key as LoadGen reads it; the table below is the single source of truth."""

    name: str
    kind: ValueKind
    field: str | None  # the TestSettings field; None for a known key LoadGen never reads
    scenario: TestScenario | None = None  # read under this scenario only; None: any scenario
    unit: Literal["", "ms", "percent"] = ""  # as written in the file
    scale: float = 1.0  # file value -> field value: ms -> ns, percent -> fraction
    kinds: frozenset[ConfigKind] = _ANY  # which files may set it
    true_if_one: bool = False  # booleans: ``== 1`` instead of ``!= 0``
    requires: str | None = None  # read only while this boolean field is on
    max_value: int = U64_MAX


def _k(name: str, kind: ValueKind, field: str | None, **kw: Any) -> KeySpec:
    return KeySpec(name=name, kind=kind, field=field, **kw)


_SS = TestScenario.SingleStream
_MS = TestScenario.MultiStream
_SRV = TestScenario.Server
_OFF = TestScenario.Offline

# In the reference's reading order: the token keys depend on the switches read before them.
# fmt: off
KEYS: tuple[KeySpec, ...] = (
    _k("mode", "mode", "mode"),
    _k("qsl_rng_seed", "int", "qsl_rng_seed", kinds=_RULES_ONLY),
    _k("sample_index_rng_seed", "int", "sample_index_rng_seed", kinds=_RULES_ONLY),
    _k("schedule_rng_seed", "int", "schedule_rng_seed", kinds=_RULES_ONLY),
    _k("accuracy_log_probability", "double", "accuracy_log_probability", unit="percent",
       scale=PERCENT, kinds=_RULES_ONLY),
    _k("test05", "bool", "test05", true_if_one=True, kinds=_RULES_ONLY),
    _k("test05_qsl_rng_seed", "int", "test05_qsl_rng_seed", kinds=_RULES_ONLY),
    _k("test05_sample_index_rng_seed", "int", "test05_sample_index_rng_seed", kinds=_RULES_ONLY),
    _k("test05_schedule_rng_seed", "int", "test05_schedule_rng_seed", kinds=_RULES_ONLY),
    _k("use_token_latencies", "bool", "use_token_latencies", true_if_one=True),
    _k("ttft_latency", "int", "ttft_latency", scenario=_SRV, unit="ms", scale=MS_TO_NS,
       requires="use_token_latencies"),
    _k("tpot_latency", "int", "tpot_latency", scenario=_SRV, unit="ms", scale=MS_TO_NS,
       requires="use_token_latencies"),
    _k("infer_token_latencies", "bool", "infer_token_latencies", true_if_one=True),
    _k("token_latency_scaling_factor", "int", "token_latency_scaling_factor",
       requires="infer_token_latencies"),
    _k("target_latency_percentile", "double", "single_stream_target_latency_percentile",
       scenario=_SS, unit="percent", scale=PERCENT),
    _k("target_latency_percentile", "double", "multi_stream_target_latency_percentile",
       scenario=_MS, unit="percent", scale=PERCENT),
    _k("samples_per_query", "int", "multi_stream_samples_per_query", scenario=_MS),
    _k("target_latency_percentile", "double", "server_target_latency_percentile",
       scenario=_SRV, unit="percent", scale=PERCENT),
    _k("target_latency", "int", "server_target_latency_ns", scenario=_SRV, unit="ms",
       scale=MS_TO_NS),
    _k("performance_issue_unique", "bool", "performance_issue_unique"),
    _k("performance_issue_same", "bool", "performance_issue_same"),
    _k("performance_issue_same_index", "int", "performance_issue_same_index"),
    _k("sample_concatenate_permutation", "bool", "sample_concatenate_permutation",
       true_if_one=True),
    _k("coalesce_queries", "bool", "server_coalesce_queries", scenario=_SRV),
    # The reference narrows this one through a C int: larger values come out mangled.
    _k("max_async_queries", "int", "server_max_async_queries", scenario=_SRV,
       max_value=C_INT_MAX),
    _k("min_duration", "int", "min_duration_ms", unit="ms"),
    _k("max_duration", "int", "max_duration_ms", unit="ms"),
    _k("min_query_count", "int", "min_query_count"),
    _k("max_query_count", "int", "max_query_count"),
    _k("performance_sample_count_override", "int", "performance_sample_count_override"),
    _k("accuracy_sample_count_override", "int", "accuracy_sample_count_override"),
    _k("target_latency", "double", "single_stream_expected_latency_ns", scenario=_SS,
       unit="ms", scale=MS_TO_NS),
    _k("target_latency", "double", "multi_stream_expected_latency_ns", scenario=_MS,
       unit="ms", scale=MS_TO_NS),
    _k("target_qps", "double", "server_target_qps", scenario=_SRV),
    _k("target_qps", "double", "offline_expected_qps", scenario=_OFF),
    _k("print_timestamps", "bool", "print_timestamps"),
    _k("accuracy_log_rng_seed", "int", "accuracy_log_rng_seed"),
    _k("accuracy_log_sampling_target", "int", "accuracy_log_sampling_target"),
    # Known but never read by LoadGen: in its own mlperf.conf, or read by compliance scripts.
    _k("target_duration", "double", None, unit="ms"),
    _k("target_latency_percentile", "double", None, scenario=_OFF, unit="percent"),
    _k("test07_accuracy_threshold", "double", None, kinds=_NOT_RULES),
    _k("test09_min_output_tokens", "double", None, kinds=_NOT_RULES),
    _k("test09_max_output_tokens", "double", None, kinds=_NOT_RULES),
)
# fmt: on

# Indexes over the table, for checking a line: all rows of a key name (one per scenario for
# the scenario-specific keys), the row that sets a field, and the valid scenario parts.
KEYS_BY_NAME: dict[str, list[KeySpec]] = {}
for _spec in KEYS:
    KEYS_BY_NAME.setdefault(_spec.name, []).append(_spec)
KEY_BY_FIELD = {spec.field: spec for spec in KEYS if spec.field is not None}
SCENARIO_PARTS = ("*", *(s.name for s in TestScenario))
