"""Every error asyncgen raises, in one tree.

    AsyncgenError                 base class; catch this to catch everything of ours
    ├── ConfigError               a config file or a settings value is wrong (names file, line, key)
    │   └── DatasetError          a dataset file cannot serve as a QSL (names file and line)
    ├── SettingsError             TestSettings values that cannot run (negative QPS, ...)
    ├── OutputError               an output folder or log file cannot be created or written,
    │                             or another run is writing to the folder
    ├── ProtocolError             a SUT or QSL lacks what its protocol asks (issue_query not
    │                             a coroutine function, a method missing); before anything runs
    └── RunError                  the run could not finish: the SUT or QSL raised, or it was
        │                         interrupted; ``__cause__`` carries the original exception
        └── WorkerError           a scale-out worker died, was lost, did not answer in time,
                                  or its call raised (names the shard)

An INVALID run is a result, not an exception: ``run_test`` returns a ``TestResult`` whose
``valid`` is False. Errors are raised only where the run cannot produce a result at all.
"""

from __future__ import annotations


class AsyncgenError(Exception):
    """Base class of every asyncgen error."""


class ConfigError(AsyncgenError, ValueError):
    """A config file line or a settings value is wrong.

    ``path`` and ``line`` locate the problem when it comes from a file; ``key`` names the key.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line
        self.key = key


class DatasetError(ConfigError):
    """A dataset file (JSON Lines, folder, NumPy array) cannot be used as a sample library."""


class SettingsError(AsyncgenError, ValueError):
    """TestSettings that cannot be run; raised before anything is issued."""


class OutputError(AsyncgenError, OSError):
    """An output folder or log file cannot be created or written."""


class ProtocolError(AsyncgenError, TypeError):
    """A SUT or QSL object does not satisfy its protocol (``SystemUnderTest``,
    ``QuerySampleLibrary``): a method is missing or is not a coroutine function."""


class RunError(AsyncgenError, RuntimeError):
    """The run stopped before it could finish; ``__cause__`` holds the original error."""


class WorkerError(RunError):
    """A scale-out worker (shard ``shard``) died, was lost or did not answer in time
    (``lost``), or a call to it raised (``why`` says which)."""

    def __init__(self, shard: int, why: str, *, lost: bool) -> None:
        super().__init__(f"shard {shard}: {why}")
        self.shard = shard
        self.why = why
        self.lost = lost
