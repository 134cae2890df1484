"""The engine of a run: the clock, the series and its samples, the shapers (layer 3).

Lowest first: ``clock`` (time in integer ns, pacing), ``events`` (the ``EventLog`` the engine
reports to), ``sink`` (what a sample completes into) and ``tally`` (counts that outlive a
series); ``ids`` (response ids to series); ``sample`` (``QuerySample`` and the LoadGen-style
completion calls) and ``protocols`` (``SystemUnderTest``, ``QuerySampleLibrary``); ``series``
(one issue series' columns and completion bookkeeping); ``shapers`` (one per scenario),
``watchdog`` (loop stalls, closed-loop waits) and ``progress`` (snapshots); ``drain`` (pace,
flush and drain one series). ``gc`` and ``memory`` keep the hot window cheap.
"""
