"""Test-session settings shared by the whole suite.

Hypothesis runs derandomized by default: every run of the suite (CI above
all) tries the same generated examples, so a result never depends on the
luck of the draw, and nothing is written to a .hypothesis database. To search
new examples, run with ``HYPOTHESIS_PROFILE=explore``; a failure found that
way is then pinned with ``@example`` in the test.
"""
from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
