"""Where the built-in config files live: the MLPerf rules (mlperf.conf) and named presets.

A wheel ships them as ``asyncgen/_presets``; a source checkout has them in ``<repo>/scenarios``.
A config argument is a file path, or else the name of a preset (``demo-server``, with or
without ``.conf``).
"""

from __future__ import annotations

import os
from pathlib import Path

from asyncgen._errors import ConfigError

StrPath = str | os.PathLike[str]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # asyncgen/


def presets_dir() -> Path:
    """The preset folder: ``asyncgen/_presets`` in a wheel, ``<repo>/scenarios`` in a checkout."""
    candidates = (_PACKAGE_DIR / "_presets", _PACKAGE_DIR.parent / "scenarios")
    for folder in candidates:
        if (folder / "mlperf.conf").is_file():
            return folder
    looked = " and ".join(str(c) for c in candidates)
    raise ConfigError(f"the preset folder with mlperf.conf is missing; looked in {looked}")


def resolve_preset(name_or_path: StrPath) -> Path:
    """An existing file path as is, else a preset in :func:`presets_dir` (``.conf`` optional)."""
    path = Path(name_or_path)
    if path.exists() and not path.is_dir():  # a file, or a device such as /dev/stdin
        return path
    if len(path.parts) == 1:
        folder = presets_dir()
        for candidate in (folder / path.name, folder / f"{path.name}.conf"):
            if candidate.is_file():
                return candidate
    presets = ", ".join(sorted(p.stem for p in presets_dir().glob("*.conf")))
    raise ConfigError(
        f"no config file {str(name_or_path)!r} and no preset of that name (presets: {presets})",
        path=str(name_or_path),
    )
