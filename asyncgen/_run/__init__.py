"""A whole test on one event loop: ``run_test``/``run`` and the run session (layer 6).

``runner`` is the entry point: one task tree with the writer, the watchdog and progress
reports around ``start`` (log the run's identity, apply audit.config, derive the effective
settings) and ``modes`` (which series a test mode runs, on a ``session.RunSession``;
``find_peak`` searches the Server QPS). ``result`` makes the ``TestResult`` of a finished run,
``stopped`` the files and the error of one that did not finish.
"""
