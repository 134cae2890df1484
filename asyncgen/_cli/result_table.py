"""The compact result table ``asyncgen run`` prints at the end, as (label, value) rows."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from asyncgen._cli.progress_view import fmt_ms
from asyncgen._cli.slo_options import goodput_rows
from asyncgen._cli.workload import load_label, workload_rows
from asyncgen._config.enums import TestScenario
from asyncgen._engine.watchdog import LoopStalls
from asyncgen._metrics.health import MIN_QUERIES, RunHealth
from asyncgen._metrics.tokens import TokenCounts
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._run.result import TestResult

Row = tuple[str, str]


def result_rows(result: TestResult) -> list[Row]:
    """Verdict, reasons, the scenario's headline metric, latencies, lag, loop stalls, errors,
    failures."""
    rows: list[Row] = [
        ("result", "VALID" if result.valid else "INVALID"),
        ("test", f"{result.scenario.name}, {result.mode.name}"),
    ]
    rows += [("reason", reason) for reason in result.reasons]
    if result.peak_qps is not None:
        rows.append(("peak QPS", f"{result.peak_qps:g}"))
    if result.summary is not None:
        rows += _performance_rows(result.summary)
    rows += goodput_rows(result.goodput)
    rows += _token_count_rows(result.tokens)
    lag = result.issue_lag
    if lag.count:
        rows.append(
            (
                "issue lag",
                f"p50 {fmt_ms(lag.percentiles_ns[0.5])}  p99 {fmt_ms(lag.percentiles_ns[0.99])}  "
                f"max {fmt_ms(lag.max_ns)}",
            )
        )
    rows += workload_rows(result)  # asyncgen._cli.workload
    rows += _stall_rows(result.loop_stalls)
    rows += health_rows(result)
    if result.accuracy_entries:
        rows.append(("accuracy log", f"{result.accuracy_entries:,} responses"))
    rows.append(("errors", f"{result.errors} errors, {result.warnings} warnings"))
    rows.append(("failures", failures_text(result.failures)))
    if result.missing_samples:
        rows.append(("never completed", f"{len(result.missing_samples):,} samples"))
    if result.late_completions:
        rows.append(("late completions", f"{result.late_completions:,}"))
    return rows


def health_rows(result: TestResult) -> list[Row]:
    """Whether the generator kept to its schedule, then the text of every warning."""
    rows: list[Row] = []
    health = result.health
    if health is not None:
        rows.append(("health", _health_text(result.scenario, health)))
    rows += [("warning", text) for text in result.warning_messages]
    return rows


def _health_text(scenario: TestScenario, health: RunHealth) -> str:
    """``kept up: ...`` or ``fell behind: <reasons>``, and the arrival fidelity if measured."""
    if health.reasons:  # a backlog, bursts, or arrivals that strayed from the process
        return "fell behind: " + "; ".join(health.reasons)
    if scenario in (TestScenario.SingleStream, TestScenario.MultiStream):
        return "kept up (closed loop: each query waits for the previous one)"
    verdict = "kept up" if health.queries >= MIN_QUERIES else "not judged (too few queries)"
    text = (
        f"{verdict}: issued {health.achieved_qps:,.1f} of {health.scheduled_qps:,.1f} queries/s "
        f"scheduled ({100 * health.achieved_fraction:.1f}%), p99 issue lag "
        f"{fmt_ms(health.issue_lag_p99_ns)}"
    )
    fidelity = health.fidelity
    if fidelity is not None:
        judged = f"poor above {fidelity.threshold_ks:.3f}" if fidelity.judged else "not judged"
        text += f", arrivals KS D {fidelity.ks_statistic:.3f} ({fidelity.process}, {judged})"
    return text


def _stall_rows(stalls: LoopStalls | None) -> list[Row]:
    """One row when the SUT blocked the event loop (its latencies include the stalls)."""
    if stalls is None or not stalls.count:
        return []
    return [
        (
            "loop stalls",
            f"{stalls.count:,} over {fmt_ms(stalls.threshold_ns)}, longest {fmt_ms(stalls.max_ns)}",
        )
    ]


def _token_count_rows(tokens: TokenCounts | None) -> list[Row]:
    """Input tokens sent and output tokens received per sample, when known."""
    if tokens is None:
        return []
    rows: list[Row] = []
    for label, dist in (("input tokens", tokens.input), ("output tokens", tokens.output)):
        if dist is not None:
            p = dist.percentiles
            text = f"mean {dist.mean:,.1f}  p50 {p[0.5]:,}  p99 {p[0.99]:,}  max {dist.max:,}"
            rows.append((label, f"{text}  total {dist.total:,}"))
    return rows


def _performance_rows(summary: PerformanceSummary) -> list[Row]:
    eff, rates = summary.settings, summary.rates
    percentile = f"p{eff.target_latency_percentile * 100:g}"
    rows: list[Row] = []
    match eff.scenario:
        case TestScenario.Server:
            rows.append(
                (
                    "completed samples/s",
                    f"{rates.completed_samples_per_second or 0:,.1f} ({load_label(eff)})",
                )
            )
        case TestScenario.Offline:
            rows.append(("samples/s", f"{rates.samples_per_second or 0:,.1f}"))
        case TestScenario.SingleStream:
            rows.append((f"{percentile} latency", fmt_ms(summary.sample_latency.target_ns)))
        case TestScenario.MultiStream:
            query = summary.query_latency
            target = None if query is None else query.target_ns
            rows.append((f"{percentile} query latency", fmt_ms(target)))
    tokens_per_s = rates.completed_tokens_per_second or rates.tokens_per_second
    if tokens_per_s is not None:
        rows.append(("tokens/s", f"{tokens_per_s:,.1f}"))
    latency = summary.sample_latency.percentiles_ns
    rows.append(
        (
            "latency",
            f"p50 {fmt_ms(latency[0.5])}  p90 {fmt_ms(latency[0.9])}  p99 {fmt_ms(latency[0.99])}",
        )
    )
    tokens = (("TTFT", summary.first_token_latency), ("TPOT", summary.time_per_output_token))
    for label, stats in tokens:
        if stats is not None:
            p = stats.percentiles_ns
            rows.append((label, f"p50 {fmt_ms(p[0.5])}  p99 {fmt_ms(p[0.99])}"))
    rows.append(("samples", f"{summary.sample_count:,} in {summary.query_count:,} queries"))
    return rows


def failures_text(failures: Mapping[str, int]) -> str:
    """Failed samples in all, then per kind: ``7 (connect 2, http_status 5)``."""
    total = sum(failures.values())
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(failures.items()) if n)
    return f"{total}" + (f" ({kinds})" if kinds else "")


def render_result(console: Console, result: TestResult) -> None:
    """The result table, then the files, on ``console``."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 3, 0, 0))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in result_rows(result):
        style = ""
        if label == "result":
            style = "bold green" if result.valid else "bold red"
        elif label == "warning" or value.startswith("fell behind"):
            style = "yellow"
        table.add_row(label, Text(value, style=style))
    console.print(table)
    console.print("files:")
    for path in result.files.values():
        console.print(f"  {path}", highlight=False, soft_wrap=True)
