"""The optional plotting dependencies, checked once when ``asyncgen.report`` is imported.

matplotlib draws the figures and scipy supplies the Kolmogorov-Smirnov test. Both come with
the ``report`` extra; without them the package refuses to import with a message that says
how to get them, instead of failing later inside a plotting call.
"""

from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = "pip install 'asyncgen[report]'"
REQUIRED = ("matplotlib", "scipy")


class MissingReportDependencyError(ImportError):
    """matplotlib or scipy is not installed."""


def require() -> None:
    """Import every plotting dependency or raise one clear ``ImportError``."""
    missing = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingReportDependencyError(
            f"asyncgen.report needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed. "
            f"Install the optional extra: {INSTALL_HINT}"
        )


def scipy_stats() -> ModuleType:
    """``scipy.stats``, imported untyped (scipy ships no type information)."""
    return importlib.import_module("scipy.stats")
