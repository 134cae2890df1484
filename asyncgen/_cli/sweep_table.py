"""How ``asyncgen sweep`` shows its steps: one line per finished step, and the final table
(about 80 columns: a CI log is no wider)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from asyncgen._cli.slo_options import percentile_label
from asyncgen._metrics.goodput import ServiceLevelObjectives
from asyncgen._run import sweep


def _fmt(value: float | None, digits: str = ".3g") -> str:
    if value is None:
        return "-"
    if value >= 1000:  # no exponents: 1650, not 1.65e+03
        return f"{value:.0f}"
    return format(value, digits)


def step_line(step: sweep.SweepStep) -> str:
    """What one finished step measured, in a line."""
    verdict = "met" if step.slos_met else "missed"
    return (
        f"achieved {step.achieved_rps:.4g} requests/s, goodput {_fmt(step.goodput_rps, '.4g')}"
        f", E2E p50 {_fmt(step.e2e_p50_ms)} ms p99 {_fmt(step.e2e_p99_ms)} ms, SLOs {verdict}"
    )


def _load(spec: sweep.StepSpec) -> str:
    if spec.kind == "saturation":
        return "saturate"
    if spec.kind == "concurrency":
        return f"{spec.value:g} conc."
    return f"{spec.value:g}/s"


def sweep_rows(outcome: sweep.SweepOutcome) -> list[list[str]]:
    """One row per step, as the table prints it."""
    rows = []
    for i, step in enumerate(outcome.steps, 1):
        rows.append(
            [
                str(i),
                _load(step.spec),
                f"{step.achieved_rps:.4g}",
                f"{_fmt(step.ttft_p50_ms)}/{_fmt(step.ttft_p99_ms)}",
                f"{_fmt(step.tpot_p50_ms)}/{_fmt(step.tpot_p99_ms)}",
                f"{_fmt(step.e2e_p50_ms)}/{_fmt(step.e2e_p99_ms)}",
                _fmt(step.goodput_rps, ".4g"),
                "met" if step.slos_met else "missed",
                _fmt(step.issue_lag_p99_ms, ".2g"),
            ]
        )
    return rows


def render_sweep(
    console: Console, outcome: sweep.SweepOutcome, slos: ServiceLevelObjectives | None
) -> None:
    """The steps as a table, then best_rate and why the sweep stopped."""
    table = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    for header in ("#", "load", "achieved", "TTFT ms", "TPOT ms", "E2E ms", "good", "SLOs", "lag"):
        table.add_column(
            header, justify="left" if header in ("load", "SLOs") else "right", no_wrap=True
        )
    for row in sweep_rows(outcome):
        table.add_row(*row)
    console.print(table, crop=False)
    console.print(
        "(achieved and good(put) in requests/s; TTFT, TPOT, E2E: p50/p99 in ms; lag: issue lag "
        "p99 in ms)"
    )
    judged = "LoadGen's latency bound"
    if slos is not None:
        limits = ", ".join(f"{name} {ms:g} ms" for name, ms in slos.limits_ms().items())
        judged = f"{limits} at {percentile_label(slos.percentile)}"
    best = outcome.best_rate
    if outcome.best_concurrency is not None or any(
        s.spec.kind == "concurrency" for s in outcome.steps
    ):
        conc = outcome.best_concurrency
        console.print(f"best_concurrency: {'none' if conc is None else conc} (SLOs: {judged})")
    else:
        console.print(
            f"best_rate: {'none' if best is None else f'{best:g} requests/s'} (SLOs: {judged})"
        )
    if outcome.stopped:
        console.print(f"stopped early: {outcome.stopped}")
