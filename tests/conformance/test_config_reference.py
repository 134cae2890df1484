"""Config files side by side with the reference ``TestSettings.FromConfig``.

The reference runs in subprocesses: one for every rules-file (conf_type 0) and audit (conf_type 2)
case together, and one fresh process per user.conf case (conf_type 1), because only the first
conf_type 1 call in a process applies the built-in mlperf.conf. Every TestSettings field is
read back and compared with ours, exactly (NaN equals NaN).
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest

from asyncgen import ConfigError, TestScenario, TestSettings
from asyncgen._config.keys import KEYS
from asyncgen._config.parse import parse_config
from asyncgen._config.presets import presets_dir
from asyncgen._config.settings import WORKLOAD_FIELDS, apply_config, apply_config_text

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(
        importlib.util.find_spec("mlperf_loadgen") is None, reason="mlperf_loadgen not installed"
    ),
]

FIELDS = [
    f.name
    for f in attrs.fields(TestSettings)
    if f.name != "drain_timeout_ms" and f.name not in WORKLOAD_FIELDS
]

REFERENCE_SCRIPT = r"""
import json, os, sys, tempfile
import mlperf_loadgen as lg

request = json.load(open(sys.argv[1]))
results = []
with tempfile.TemporaryDirectory() as folder:
    for number, job in enumerate(request["jobs"]):
        path = os.path.join(folder, f"case{number}.conf")
        with open(path, "w", newline="") as f:
            f.write(job["text"])
        s = lg.TestSettings()
        s.scenario = getattr(lg.TestScenario, job["scenario"])
        rc = s.FromConfig(path, job["model"], job["scenario"], job["conf_type"])
        fields = {}
        for name in request["fields"]:
            value = getattr(s, name)
            fields[name] = value if isinstance(value, (bool, int, float)) else int(value)
        results.append({"rc": rc, "fields": fields})
with open(sys.argv[2], "w") as f:
    json.dump(results, f)
"""


def _run_reference(jobs: list[dict[str, Any]], folder: Path, tag: str) -> list[dict[str, Any]]:
    script, request, answer = folder / "ref.py", folder / f"{tag}.in", folder / f"{tag}.out"
    request.write_text(json.dumps({"jobs": jobs, "fields": FIELDS}))
    subprocess.run([sys.executable, script, request, answer], check=True, timeout=60)
    results: list[dict[str, Any]] = json.loads(answer.read_text())
    return results


def _ours(settings: TestSettings) -> dict[str, Any]:
    out = {}
    for name in FIELDS:
        value = getattr(settings, name)
        out[name] = value if isinstance(value, bool | float) else int(value)  # enums as ints
    return out


def _differences(ref: dict[str, Any], ours: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b) and type(a) is type(b)

    return {k: (ref[k], ours[k]) for k in FIELDS if not same(ref[k], ours[k])}


# --- Cases -------------------------------------------------------------------------------------

USER_CASES: dict[str, tuple[str, str, str]] = {  # name: (user.conf text, model, scenario)
    "precedence": (
        "*.*.min_query_count = 1\n"
        "resnet50.*.min_query_count = 2\n"
        "*.Server.min_query_count = 3\n"
        "resnet50.Server.min_query_count = 4\n"
        "*.*.max_query_count = 5\n"
        "resnet50.*.max_query_count = 6\n"
        "*.Server.max_duration = 7\n"
        "resnet50.*.max_duration = 8\n"
        "bert.Server.min_duration = 9\n",
        "resnet50",
        "Server",
    ),
    "wildcards fill every scenario": (
        "*.*.target_latency = 7\n*.*.target_latency_percentile = 95\n*.*.target_qps = 123.5\n"
        "*.*.samples_per_query = 3\n*.*.max_async_queries = 12\n*.*.coalesce_queries = 1\n",
        "resnet50",
        "Offline",
    ),
    "units octal hex truncation": (
        "*.*.min_duration = 010\n*.*.max_duration = 0x10\n*.*.min_query_count = 08\n"
        "*.*.max_query_count = 1e3\n*.Server.target_latency = 0.5\n*.Server.target_qps = 010\n"
        "*.SingleStream.target_latency = 0.25\n*.MultiStream.target_latency = 0x1p3\n"
        "*.Offline.target_qps = 2.5e2\n*.*.performance_sample_count_override = +17\n",
        "resnet50",
        "SingleStream",
    ),
    "token keys on (llama2-70b Server)": (
        "*.Server.ttft_latency = 1500\n*.Server.tpot_latency = 0.9\n*.Server.target_qps = 12\n",
        "llama2-70b",
        "Server",
    ),
    "token keys off (resnet50 ignores them)": (
        "*.Server.ttft_latency = 1500\n*.Server.tpot_latency = 90\n"
        "*.*.token_latency_scaling_factor = 5\n",
        "resnet50",
        "Server",
    ),
    "token switches in user.conf": (
        "*.*.use_token_latencies = 1\n*.Server.ttft_latency = 3\n"
        "*.*.infer_token_latencies = 0x1\n*.*.token_latency_scaling_factor = 42\n",
        "resnet50",
        "MultiStream",
    ),
    "gptj Offline rules plus user": (
        "gptj.Offline.target_qps = 3.25\n",
        "gptj",
        "Offline",
    ),
    "mode and booleans": (
        "*.*.mode = 1\n*.*.performance_issue_unique = 2\n*.*.performance_issue_same = 0\n"
        "*.*.sample_concatenate_permutation = 2\n*.*.print_timestamps = 0x3\n"
        "*.*.performance_issue_same_index = 4\n*.*.accuracy_log_rng_seed = 99\n"
        "*.*.accuracy_log_sampling_target = 17\n",
        "3d-unet",
        "SingleStream",
    ),
    "later lines win, comments and spacing": (
        "# a comment\n   \t*.*.mode   =\t3   \r\n\n  # indented comment\n"
        "*.*.mode = 0\r\n*.Server.target_qps = 1\n*.Server.target_qps = 2.5\n#\n",
        "llama2-70b-interactive",
        "Server",
    ),
    "equal issue 3d-unet SingleStream": (
        "*.SingleStream.target_latency = 400\n",
        "3d-unet",
        "SingleStream",
    ),
    "resnet50 MultiStream": ("*.MultiStream.target_latency = 1.5\n", "resnet50", "MultiStream"),
}


AUDIT_FILES = {
    "TEST01": "*.*.mode = 2\n*.*.accuracy_log_rng_seed = 720381539243781796\n"
    "*.*.accuracy_log_sampling_target = 4096\n",
    "TEST04": "".join(
        f"*.{s}.mode = 2\n*.{s}.performance_issue_unique = 0\n*.{s}.performance_issue_same = 1\n"
        f"*.{s}.performance_issue_same_index = 3\n"
        for s in ("MultiStream", "Offline", "SingleStream", "Server")
    )
    + "stable-diffusion-xl.Offline.min_query_count = 500\n"
    + "resnet50.Server.min_query_count = 77\n*.Server.min_query_count = 55\n",
    "TEST06": "*.*.mode = 2\n*.*.accuracy_log_rng_seed = 720381539243781796\n"
    "*.*.accuracy_log_sampling_target = 100\n*.*.min_query_count = 100\n*.*.min_duration = 0\n"
    "*.*.sample_concatenate_permutation = 0",
    "TEST07": "*.*.mode = 2\n*.*.min_query_count = 990\n*.*.min_duration = 0\n"
    "*.*.performance_issue_unique = 1\n*.*.test07_accuracy_threshold = 60.698\n",
    "TEST09": "*.*.accuracy_log_sampling_target = 10000\n#\n"
    "*.*.test09_min_output_tokens = 1150.38\n*.*.test09_max_output_tokens = 1406.02\n",
}

# The reference rejects these (rc -22, nothing applied); so do we.
REJECTED_BY_BOTH = {
    "trailing comment": "*.*.mode = 1 # note\n",
    "word value": "*.*.mode = one\n",
    "missing equals": "*.*.mode 1\n",
    "glued equals": "*.*.mode =1\n",
    "hex without digits": "*.*.min_duration = 0x\n",
    "dangling exponent": "*.Server.target_qps = 1e\n",
}

# The reference accepts these silently (rc 0) without applying anything: we raise instead.
REFERENCE_IGNORES = {
    "no spaces": "*.*.mode=1\n",
    "lone key": "*.*.mode\n",
    "no value": "*.*.mode =\n",
    "comment after key": "*.*.mode # 1\n",
    "typo": "*.*.min_duraton = 5\n",
    "misspelt scenario": "*.Sever.target_qps = 5\n",
    "never read for the scenario": "*.Offline.target_latency = 5\n",
    "seed outside mlperf.conf": "*.*.qsl_rng_seed = 5\n",
    "mode out of range": "*.*.mode = 7\n",
}

# Our superset: the reference rejects a '#word ...' comment line (rc -22).
WE_ACCEPT = {"comment without space": "#nospace comment\n*.*.mode = 1\n"}

RULE_MODELS = sorted({e.model for e in parse_config((presets_dir() / "mlperf.conf").read_text())})
RULE_PAIRS = [(m, s.name) for m in [*RULE_MODELS, "unlisted-model"] for s in TestScenario]


def _random_texts(count: int, seed: int = 2024) -> list[tuple[str, str, str]]:
    """Config texts built from the key table with odd but legal values, for a diff fuzz."""
    rng = random.Random(seed)
    values = {
        "int": ["0", "7", "017", "0x1f", "08", "2.75", "1e3", "+5", "-0", "19", "0X0"],
        "double": ["12.5", "1e-3", "0x1p4", "99.9", "-3.5", "010", ".5", "5.", "inf", "3"],
        "bool": ["0", "1", "2", "0x1", "1.0", "01", "1e0"],
        "mode": ["0", "1", "2", "3", "0x2", "1.9", "03"],
    }
    specs = [k for k in KEYS if "audit" in k.kinds]
    equals = [" = ", "\t=\t", "  =  "]
    bad_lines = list(REJECTED_BY_BOTH.values())
    texts = []
    for _ in range(count):
        model = rng.choice(["resnet50", "gptj", "llama2-70b"])
        scenario = rng.choice([s.name for s in TestScenario])
        lines = []
        for _ in range(rng.randint(1, 12)):
            spec = rng.choice(specs)
            where = (
                [spec.scenario.name, "*"]
                if spec.scenario is not None
                else ["*", *(s.name for s in TestScenario)]
            )
            line = (
                f"{rng.choice([model, '*', 'other'])}.{rng.choice(where)}.{spec.name}"
                f"{rng.choice(equals)}{rng.choice(values[spec.kind])}"
            )
            lines.append(rng.choice(["", "  "]) + line + rng.choice(["", " ", "\r"]))
            if rng.random() < 0.15:
                lines.append(rng.choice(["", "# comment", "   # x = 1", "#"]))
        if rng.random() < 0.1:
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(bad_lines))
        texts.append(("\n".join(lines) + rng.choice(["", "\n"]), model, scenario))
    return texts


RANDOM_TEXTS = _random_texts(300)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("reference")
    (folder / "ref.py").write_text(REFERENCE_SCRIPT)
    shared: list[dict[str, Any]] = []
    shared += [{"text": "", "model": m, "scenario": s, "conf_type": 0} for m, s in RULE_PAIRS]
    for text in AUDIT_FILES.values():
        shared += [
            {"text": text, "model": "*", "scenario": s.name, "conf_type": 2} for s in TestScenario
        ]
    for table in (REJECTED_BY_BOTH, REFERENCE_IGNORES, WE_ACCEPT):
        shared += [
            {"text": t, "model": "resnet50", "scenario": "Server", "conf_type": 2}
            for t in table.values()
        ]
    shared += [{"text": t, "model": m, "scenario": s, "conf_type": 2} for t, m, s in RANDOM_TEXTS]
    user_jobs = [
        [{"text": t, "model": m, "scenario": s, "conf_type": 1}] for t, m, s in USER_CASES.values()
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        shared_future = pool.submit(_run_reference, shared, folder, "shared")
        user_results = list(
            pool.map(
                lambda i: _run_reference(user_jobs[i], folder, f"user{i}")[0], range(len(user_jobs))
            )
        )
        results = iter(shared_future.result())
    out: dict[str, Any] = {"rules": {p: next(results) for p in RULE_PAIRS}}
    out["audit"] = {(n, s.name): next(results) for n in AUDIT_FILES for s in TestScenario}
    for name, table in (
        ("rejected", REJECTED_BY_BOTH),
        ("ignored", REFERENCE_IGNORES),
        ("accepted", WE_ACCEPT),
    ):
        out[name] = {case: next(results) for case in table}
    out["random"] = [next(results) for _ in RANDOM_TEXTS]
    out["user"] = dict(zip(USER_CASES, user_results, strict=True))
    return out


def _start(scenario: str) -> TestSettings:
    return TestSettings(scenario=TestScenario[scenario])


# --- Tests -------------------------------------------------------------------------------------


def _embedded_rules() -> str:
    """The mlperf.conf text compiled into the reference extension (a C string literal)."""
    spec = importlib.util.find_spec("mlperf_loadgen")
    assert spec is not None and spec.origin is not None
    binary = Path(spec.origin).read_bytes()
    start = binary.index(b"# The format of this config file is 'key = value'.")
    return binary[start : binary.index(b"\0", start)].decode()


def test_our_rules_file_has_the_reference_keys_and_values() -> None:
    def table(text: str) -> dict[str, str]:
        entries = parse_config(text)
        assert len({e.full_key for e in entries}) == len(entries)  # no key set twice
        return {e.full_key: e.value for e in entries}

    assert table((presets_dir() / "mlperf.conf").read_text()) == table(_embedded_rules())


@pytest.mark.parametrize(("model", "scenario"), RULE_PAIRS)
def test_builtin_rules_match_the_reference(
    reference: dict[str, Any], model: str, scenario: str
) -> None:
    ref = reference["rules"][(model, scenario)]
    ours = apply_config(
        _start(scenario),
        presets_dir() / "mlperf.conf",
        model=model,
        scenario=scenario,
        kind="mlperf",
    )
    assert ref["rc"] == 0
    assert _differences(ref["fields"], _ours(ours)) == {}


@pytest.mark.parametrize("name", list(USER_CASES))
def test_user_conf_matches_a_fresh_reference_process(
    reference: dict[str, Any], name: str, tmp_path: Path
) -> None:
    text, model, scenario = USER_CASES[name]
    path = tmp_path / "user.conf"
    path.write_bytes(text.encode())
    ref = reference["user"][name]
    ours = TestSettings.from_config(path, model, scenario)
    assert ref["rc"] == 0
    assert _differences(ref["fields"], _ours(ours)) == {}


@pytest.mark.parametrize("name", list(AUDIT_FILES))
@pytest.mark.parametrize("scenario", [s.name for s in TestScenario])
def test_audit_config_matches_and_ignores_model_lines(
    reference: dict[str, Any], name: str, scenario: str
) -> None:
    ref = reference["audit"][(name, scenario)]
    ours = apply_config_text(
        _start(scenario), AUDIT_FILES[name], model="*", scenario=scenario, kind="audit"
    )
    assert ref["rc"] == 0
    assert _differences(ref["fields"], _ours(ours)) == {}


def test_test04_audit_applies_only_wildcard_model_lines(reference: dict[str, Any]) -> None:
    ref = reference["audit"][("TEST04", "Server")]
    assert ref["fields"]["min_query_count"] == 55  # not resnet50's 77
    assert reference["audit"][("TEST04", "Offline")]["fields"]["min_query_count"] == 100


@pytest.mark.parametrize("name", list(REJECTED_BY_BOTH))
def test_lines_the_reference_rejects_raise(reference: dict[str, Any], name: str) -> None:
    assert reference["rejected"][name]["rc"] == -22
    assert _differences(reference["rejected"][name]["fields"], _ours(_start("Server"))) == {}
    with pytest.raises(ConfigError):
        apply_config_text(
            _start("Server"),
            REJECTED_BY_BOTH[name],
            model="resnet50",
            scenario="Server",
            kind="audit",
        )


@pytest.mark.parametrize("name", list(REFERENCE_IGNORES))
def test_lines_the_reference_ignores_silently_raise(reference: dict[str, Any], name: str) -> None:
    ref = reference["ignored"][name]
    assert ref["rc"] == 0
    assert _differences(ref["fields"], _ours(_start("Server"))) == {}  # nothing applied
    with pytest.raises(ConfigError):
        apply_config_text(
            _start("Server"),
            REFERENCE_IGNORES[name],
            model="resnet50",
            scenario="Server",
            kind="audit",
        )


def test_comment_without_space_is_accepted_unlike_the_reference(
    reference: dict[str, Any],
) -> None:
    assert reference["accepted"]["comment without space"]["rc"] == -22
    ours = apply_config_text(
        _start("Server"),
        WE_ACCEPT["comment without space"],
        model="resnet50",
        scenario="Server",
        kind="audit",
    )
    assert int(ours.mode) == 1


def test_random_configs_agree_with_the_reference(reference: dict[str, Any]) -> None:
    accepted = 0
    for (text, model, scenario), ref in zip(RANDOM_TEXTS, reference["random"], strict=True):
        try:
            ours = apply_config_text(
                _start(scenario), text, model=model, scenario=scenario, kind="audit"
            )
        except ConfigError:
            # Stricter than the reference is allowed; accepting what it rejects is not.
            continue
        accepted += 1
        assert ref["rc"] == 0, text
        assert _differences(ref["fields"], _ours(ours)) == {}, text
    rejected_by_reference = sum(r["rc"] != 0 for r in reference["random"])
    assert rejected_by_reference > 0
    assert accepted > len(RANDOM_TEXTS) // 2
