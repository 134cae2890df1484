"""What every benchmark shares: running a side in a subprocess, medians, search, reporting.

A benchmark is a function ``run(options) -> Report``. It measures asyncgen and the reference
(``mlperf_loadgen``) on the same workload, each run in a fresh Python process (the reference
keeps process-global state, and a fresh process keeps one run's garbage out of the next),
back to back and interleaved, repeats that ``options.repeats`` times, and reports the median
of each side, their ratio and whether the target is met.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SIDES = ("asyncgen", "reference")


@dataclass(frozen=True)
class Options:
    """How thoroughly to measure: ``quick`` is a smoke run, not a result."""

    quick: bool = False
    repeats: int = 3
    results_dir: Path = RESULTS_DIR

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


@dataclass
class Figure:
    """One compared quantity: both sides' medians over their runs, the ratio, the target."""

    name: str
    unit: str
    asyncgen_runs: list[float]
    reference_runs: list[float]
    target: str | None  # ">= 2.0" or "<= 0.25" (asyncgen / reference); None: for information
    note: str = ""
    labels: tuple[str, str] = SIDES  # what the two columns measured (default: the two sides)

    @property
    def asyncgen(self) -> float:
        return statistics.median(self.asyncgen_runs) if self.asyncgen_runs else float("nan")

    @property
    def reference(self) -> float:
        return statistics.median(self.reference_runs) if self.reference_runs else float("nan")

    @property
    def ratio(self) -> float:
        return self.asyncgen / self.reference if self.reference else float("inf")

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        op, bound = self.target.split()
        return self.ratio >= float(bound) if op == ">=" else self.ratio <= float(bound)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "asyncgen": self.asyncgen,
            "reference": self.reference,
            "ratio": self.ratio,
            "target": self.target,
            "met": self.met,
            "asyncgen_runs": self.asyncgen_runs,
            "reference_runs": self.reference_runs,
            "note": self.note,
            "labels": list(self.labels),
        }


@dataclass
class Report:
    """What one benchmark found."""

    benchmark: str
    description: str
    method: str
    figures: list[Figure]
    extra: dict[str, Any] = field(default_factory=dict)  # asyncgen-only figures, details

    def to_dict(
        self,
        options: Options,
        started: float,
        elapsed_s: float,
        noise: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "description": self.description,
            "method": self.method,
            "quick": options.quick,
            "repeats": options.repeats,
            "figures": [f.to_dict() for f in self.figures],
            "extra": self.extra,
            "machine": machine(),
            "sleep_lateness_us_before": noise,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "elapsed_s": round(elapsed_s, 1),
        }


# -- running one side ----------------------------------------------------------------------


class SideFailedError(RuntimeError):
    """A measured run crashed or printed no result."""


def run_side(side: str, workload: str, settings: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """Run one test of ``side`` in a fresh process and return what ``_sides`` printed."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{side}-") as outdir:
        payload = {
            "side": side,
            "workload": workload,
            "settings": settings,
            "trace": spec.pop("trace", False),
            "outdir": outdir,
            **spec,
        }
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks._sides", json.dumps(payload)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise SideFailedError(f"{side} {workload} {settings} exited {proc.returncode}:\n{tail}")
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


def alternating_runs(
    repeats: int,
    measure: Callable[[dict[str, Any]], float],
    workload: str,
    settings: dict[str, Any],
    **spec: Any,
) -> dict[str, list[float]]:
    """``repeats`` runs per side of one workload, the sides alternating (A, R, then R, A, ...)
    so that a change in the machine's load hits both; ``measure`` reads each run's figure."""
    runs: dict[str, list[float]] = {"asyncgen": [], "reference": []}
    for repeat in range(repeats):
        order = ("asyncgen", "reference") if repeat % 2 == 0 else ("reference", "asyncgen")
        for side in order:
            runs[side].append(measure(run_side(side, workload, settings, **spec)))
    return runs


def number(summary: dict[str, str], key: str) -> float:
    return float(summary[key])


def server_valid(outcome: dict[str, Any]) -> bool:
    """VALID, and the completed rate within 1% of the scheduled rate."""
    summary = outcome["summary"]
    completed = number(summary, "Completed samples per second")
    scheduled = number(summary, "Scheduled samples per second")
    return summary.get("Result is") == "VALID" and completed >= 0.99 * scheduled


# -- search --------------------------------------------------------------------------------


@dataclass
class Search:
    """Highest passing value of a monotone test, to a relative precision.

    Climb by ``growth`` from ``start`` until a probe fails (or fall by it until one passes),
    then bisect geometrically until the bracket is within ``precision``.
    """

    start: float
    growth: float = 2.0
    precision: float = 0.05
    floor: float = 100.0
    ceiling: float = 5_000_000.0
    probes: list[tuple[float, bool]] = field(default_factory=list)

    def run(self, passes: Callable[[float], bool]) -> float:
        def probe(value: float) -> bool:
            ok = passes(value)
            self.probes.append((round(value, 1), ok))
            return ok

        low, high = 0.0, 0.0
        value = self.start
        if probe(value):
            low = value
            while high == 0.0 and value < self.ceiling:
                value *= self.growth
                if probe(value):
                    low = value
                else:
                    high = value
            if high == 0.0:
                return low
        else:
            high = value
            while low == 0.0 and value > self.floor:
                value /= self.growth
                if probe(value):
                    low = value
                else:
                    high = value
            if low == 0.0:
                return 0.0
        while high / low > 1 + self.precision:
            mid = (low * high) ** 0.5
            if probe(mid):
                low = mid
            else:
                high = mid
        return low


# -- machine and output --------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    found = {}
    for package in ("asyncgen", "mlcommons-loadgen", "uvloop", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def write_report(
    report: Report, options: Options, started: float, noise: dict[str, float] | None = None
) -> Path:
    elapsed = time.time() - started
    options.results_dir.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if options.quick else ""
    path = options.results_dir / f"{report.benchmark}{suffix}.json"
    text = json.dumps(report.to_dict(options, started, elapsed, noise), indent=2)
    path.write_text(text + "\n")
    return path


NOISY_P99_US = 150.0  # a sleeping thread woken later than this at p99: a noisy machine


def sleep_lateness_us(duration_s: float = 2.0, sleep_s: float = 0.0005) -> dict[str, float]:
    """How late a thread sleeping ``sleep_s`` wakes, over ``duration_s``: the machine's own
    scheduling noise. Every issue-lag tail measured next to it includes that noise, so each
    result records it (a virtual CPU is taken away more often on some days than others)."""
    lateness: list[int] = []
    end = time.perf_counter() + duration_s
    while time.perf_counter() < end:
        before = time.perf_counter_ns()
        time.sleep(sleep_s)
        lateness.append(time.perf_counter_ns() - before - int(sleep_s * 1e9))
    lateness.sort()
    n = len(lateness)
    points = {"50": 0.50, "99": 0.99, "99.9": 0.999}
    found = {key: round(lateness[min(n - 1, int(n * p))] / 1000, 1) for key, p in points.items()}
    return {**found, "max": round(lateness[-1] / 1000, 1)}


def format_report(report: Report) -> str:
    rows = [f"== {report.benchmark}: {report.description}"]
    for f in report.figures:
        ours, theirs = f.labels
        rows.append(
            f"  {f.name:<34} {ours} {_fmt(f.asyncgen):>12}  {theirs} {_fmt(f.reference):>12}"
            f"  {f.unit:<10} ratio {f.ratio:7.3f}  {_verdict(f)}"
        )
        if f.note:
            rows.append(f"      {f.note}")
    for key, value in report.extra.items():
        if not isinstance(value, dict | list):
            rows.append(f"  {key}: {value}")
    return "\n".join(rows)


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return "(no target)"
    return f"target {figure.target:<7} {'met' if figure.met else 'NOT MET'}"


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
