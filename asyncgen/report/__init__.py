"""See a run: figures, a self-contained HTML report and run-to-run comparison.

Needs the optional plotting extra (``pip install 'asyncgen[report]'``: matplotlib, scipy).

    from asyncgen import report
    run = report.load_run("out/server")            # or the TestResult that run() returned
    data = report.figures(run)                      # the numbers behind every figure
    report.write_report([run], "out/server")        # out/server/report.html + figures/*.png
    verdict = report.compare([report.load_run("a"), report.load_run("b")]).verdict
    report.write_sweep_report(report.load_sweep("out/sweep"), "out/sweep")  # a sweep's curves

The command line does the same: ``asyncgen report OUTDIR [OUTDIR ...]`` (or
``python -m asyncgen.report``).
"""

from asyncgen.report._deps import INSTALL_HINT, MissingReportDependencyError, require

require()

from asyncgen.report._binning import Distribution  # noqa: E402
from asyncgen.report._compare import (  # noqa: E402
    Comparison,
    Difference,
    Estimate,
    bootstrap_percentile,
    compare,
)
from asyncgen.report._fidelity import (  # noqa: E402
    GeneratorHealth,
    KSResult,
    generator_health,
    ks_exponential,
)
from asyncgen.report._figures import (  # noqa: E402
    FIGURE_KEYS,
    ArrivalFidelity,
    FigureData,
    InFlight,
    IssueLagFigure,
    LatencyDistribution,
    LatencyOverTime,
    Throughput,
    figures,
)
from asyncgen.report._load import RunData, load_run  # noqa: E402
from asyncgen.report._logs import Headline, LatencySummary  # noqa: E402
from asyncgen.report._report import write_report  # noqa: E402
from asyncgen.report._sweep import SweepData, load_sweep, sweep_figure, write_sweep_report  # noqa: E402
from asyncgen.report._token_counts import TokenCountsFigure  # noqa: E402
from asyncgen.report._tokens import TokenFigure  # noqa: E402
from asyncgen.report._trace import TraceSamples, parse_trace, read_trace  # noqa: E402

__all__ = [
    "FIGURE_KEYS",
    "INSTALL_HINT",
    "ArrivalFidelity",
    "Comparison",
    "Difference",
    "Distribution",
    "Estimate",
    "FigureData",
    "GeneratorHealth",
    "Headline",
    "InFlight",
    "IssueLagFigure",
    "KSResult",
    "LatencyDistribution",
    "LatencyOverTime",
    "LatencySummary",
    "MissingReportDependencyError",
    "RunData",
    "SweepData",
    "Throughput",
    "TokenCountsFigure",
    "TokenFigure",
    "TraceSamples",
    "bootstrap_percentile",
    "compare",
    "figures",
    "generator_health",
    "ks_exponential",
    "load_run",
    "load_sweep",
    "parse_trace",
    "read_trace",
    "sweep_figure",
    "write_report",
    "write_sweep_report",
]
