"""``TestSettings.FromConfig`` with the reference's return codes and process-wide rules.

The reference keeps a process-wide count of user.conf loads (``conf_type=1``): the first one
applies the built-in mlperf.conf before the file; every later one skips it and logs "Multiple
conf files are used. This is not valid for official submission.", which the submission checker
flags. Errors logged outside a test (that one, "can't open file", parse errors) land at the top
of the next test's detail log; here they wait in a queue that the next ``StartTest`` drains.

The parsing itself is asyncgen's (``asyncgen._config``): stricter than the reference, it
rejects unknown keys and MLPerf-only keys in a user.conf, which the reference ignores.
"""

from __future__ import annotations

import enum
import errno
import threading
from collections.abc import Mapping

from asyncgen._config.apply import config_changes, read_config
from asyncgen._config.keys import ConfigKind
from asyncgen._config.presets import presets_dir
from asyncgen._errors import ConfigError
from asyncgen._log import get_logger

MULTIPLE_CONF_FILES = "Multiple conf files are used. This is not valid for official submission."
USER_CONF, MLPERF_CONF_ONLY = 1, 0

_log = get_logger("asyncgen.compat")
_lock = threading.Lock()
_user_conf_loads = 0
_pending_errors: list[tuple[str, str]] = []


def take_pending_errors() -> list[tuple[str, str]]:
    """The (key, message) errors logged since the last test; the queue is emptied."""
    with _lock:
        errors = list(_pending_errors)
        _pending_errors.clear()
    return errors


def _record_error(message: str) -> None:
    with _lock:
        _pending_errors.append(("error_invalid_config", message))


def _first_user_conf() -> bool:
    global _user_conf_loads  # noqa: PLW0603 - process-wide by the reference's definition
    with _lock:
        _user_conf_loads += 1
        return _user_conf_loads == 1


def from_config(
    current: Mapping[str, object],
    path: str,
    model: str,
    scenario: str,
    conf_type: int = USER_CONF,
) -> tuple[int, dict[str, object]]:
    """The body of ``TestSettings.FromConfig``: its return code, and the field values to set.

    ``current`` holds the settings' present field values. The changes are returned even with
    an error code: the built-in rules applied before a user.conf that cannot be read stay
    applied, as in the reference.
    """
    for name, value in (("path", path), ("model", model)):
        if not isinstance(value, str):
            raise TypeError(f"FromConfig: {name} must be a str, got {value!r}")
    scenario_text = scenario.name if isinstance(scenario, enum.Enum) else scenario
    if not isinstance(scenario_text, str):
        raise TypeError(f"FromConfig: scenario must be a str, got {scenario!r}")
    changes = _Changes(current)
    if conf_type == USER_CONF:
        if _first_user_conf():
            _apply_mlperf_conf(changes, model, scenario_text)
        else:
            _record_error(MULTIPLE_CONF_FILES)
    if conf_type == MLPERF_CONF_ONLY:
        return _apply_mlperf_conf(changes, model, scenario_text), changes.made
    try:
        text = read_config(path)  # a bounded read: /dev/urandom is no config file either
    except ConfigError as exc:
        if isinstance(exc.__cause__, OSError):
            _record_error(f"can't open file {path}")
            _log.error("FromConfig cannot open the config file", path=path, error=str(exc))
            return -errno.ENOENT, changes.made
        _record_error(str(exc))
        _log.error("FromConfig rejected the config file", path=path, error=str(exc))
        return -errno.EINVAL, changes.made
    kind: ConfigKind = "user" if conf_type == USER_CONF else "audit"
    return _apply(changes, text, model, scenario_text, kind=kind, path=path), changes.made


class _Changes:
    """The field values set so far, over the settings' own (a later file reads the earlier)."""

    def __init__(self, current: Mapping[str, object]) -> None:
        self.values = dict(current)
        self.made: dict[str, object] = {}

    def update(self, changes: Mapping[str, object]) -> None:
        self.values.update(changes)
        self.made.update(changes)


def _apply_mlperf_conf(changes: _Changes, model: str, scenario: str) -> int:
    rules = presets_dir() / "mlperf.conf"
    text = rules.read_text(encoding="utf-8")
    return _apply(changes, text, model, scenario, kind="mlperf", path=str(rules))


def _apply(
    changes: _Changes, text: str, model: str, scenario: str, *, kind: ConfigKind, path: str
) -> int:
    """Add what ``text`` sets to ``changes``; nothing on an error (returns -EINVAL)."""
    try:
        new = config_changes(
            changes.values, text, model=model, scenario=scenario, kind=kind, path=path
        )
    except ConfigError as exc:
        _record_error(str(exc))
        _log.error("FromConfig rejected the config file", path=path, error=str(exc))
        return -errno.EINVAL
    changes.update(new)
    return 0
