"""Test-wide settings: Hypothesis runs derandomized, so every run of the suite is the same."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("asyncgen", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("asyncgen")
