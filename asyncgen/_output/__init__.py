"""The files a run writes, and the check that they agree (layer 5).

``writer`` owns the summary, detail, accuracy and trace files of one run and writes them from
one background task; it satisfies the engine's ``EventLog``. What it writes is formatted by
``fmt`` (numbers as the reference prints them), ``accuracy`` (accuracy-log entries), ``trace``
(Chrome-trace events of a finished series), ``summary_text`` (the summary file and the detail
log's results), ``settings_entries`` (the requested and effective settings entries) and
``provenance`` (version, date, power timestamps). ``verify`` cross-checks a run's files.
"""
