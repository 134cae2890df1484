"""Measurements to verdicts: statistics, early stopping, validity, health (layer 4, pure).

``measurements`` reads a finished series' columns into the reference's ``PerformanceResult``;
``statistics`` computes latency percentiles and rates from it; ``early_stopping`` is the
reference's early-stopping estimate; ``verdict`` makes the ``PerformanceSummary`` and decides
VALID or INVALID. ``health`` judges whether the generator kept to its schedule, ``issue_lag``
summarises how late it issued, ``tokens`` the input and output token counts. Nothing here
touches the event loop or a file.
"""
