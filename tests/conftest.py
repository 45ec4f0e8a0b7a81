"""Shared test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=ci`` (used by ``.ci/run``) runs more examples with no deadline; ``fast`` is for
quick local runs; ``dev`` is the default. ``mutation`` (used by ``benchmarks/mutation.py``) is
derandomized with a moderate number of examples, so mutation scores are reproducible.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("fast", max_examples=20, deadline=None)
settings.register_profile(
    "mutation",
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    # mutmut runs each test several times in one process (stats, clean run, then per mutant).
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    # A failure is all a mutation run needs: no time spent shrinking it.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
