"""How the figures are drawn: step lines that do not fall to zero at their ends, and legends
beside the time series rather than over their last seconds."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

import asyncgen
from asyncgen.report import figures, load_run
from asyncgen.report._plot import draw

TIME_SERIES = ("latency_over_time", "throughput", "in_flight", "issue_lag")


@pytest.fixture(scope="module")
def drawn(server_run: asyncgen.TestResult) -> dict[str, Figure]:
    run = load_run(server_run.files["summary"].parent)
    return {key: draw(data, run.label) for key, data in figures(run).items()}


def _step_lines(fig: Figure) -> list[StepPatch]:
    return [
        patch
        for ax in fig.axes
        for patch in ax.patches
        if isinstance(patch, StepPatch) and not patch.get_fill()
    ]


@pytest.mark.parametrize("key", TIME_SERIES)
def test_per_window_lines_have_no_baseline_to_fall_to(drawn: dict[str, Figure], key: str) -> None:
    lines = _step_lines(drawn[key])
    assert lines, key
    for line in lines:
        assert line.get_data().baseline is None  # the default (0) drew the ends down to 0


def test_the_latency_lines_end_at_their_windows_values(drawn: dict[str, Figure]) -> None:
    p50, p99 = _step_lines(drawn["latency_over_time"])
    for line in (p50, p99):
        values = line.get_data().values
        assert np.isfinite(values[[0, -1]]).all() and (values[[0, -1]] > 0).all()


def _legend_axes(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_legend() is not None]


@pytest.mark.parametrize("key", TIME_SERIES)
def test_time_series_legends_stand_beside_the_data(drawn: dict[str, Figure], key: str) -> None:
    fig = drawn[key]
    renderer = FigureCanvasAgg(fig).get_renderer()
    (ax,) = _legend_axes(fig)
    legend = ax.get_legend()
    assert legend is not None
    box, plot = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= plot.x1  # right of the plot: it covers no data
    assert box.x1 <= fig.bbox.x1  # and still inside the figure
