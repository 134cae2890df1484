"""Config text to settings to effective settings: pure functions, the lowest layer but one.

Config files in LoadGen's ``model.scenario.key = value`` format: values, units, precedence,
integer parsing and boolean rules are exactly the reference's; where the reference ignores a
mistake silently, asyncgen raises ``ConfigError`` naming the file, the line and, for a typo, the
closest valid key, and applies nothing from that file. One module per step, lowest first:

- ``enums``: TestScenario, TestMode, LoggingMode.
- ``numbers``: values as C reads them (``010`` is octal, ``0.5`` is 0 for an integer).
- ``parse``: the syntax of a line (spacing, comments, one value).
- ``presets``: where mlperf.conf and the named presets live.
- ``keys``: the table of keys, their fields, units and which files may set them.
- ``check``: whether a line's key, scenario and value are allowed in its file.
- ``apply``: the field changes a file makes, with the reference's precedence.
- ``settings``: the TestSettings / LogSettings classes; ``from_config`` and audit.config apply
  the changes.
- ``validate``: whether a TestSettings can run at all.
- ``effective``: the settings a run actually uses (the reference's ``TestSettingsInternal``).
"""
