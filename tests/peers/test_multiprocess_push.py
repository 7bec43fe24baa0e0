"""Pushing the aggregated multiprocess view to a real Pushgateway."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from .conftest import Pushgateway

PROGRAM = textwrap.dedent(
    """
    import os, sys
    from prometheus_client import REGISTRY, Counter, push_to_gateway
    jobs = Counter('peer_mp_jobs', 'Jobs done by the pool.')
    for amount in (2, 3):
        pid = os.fork()
        if pid == 0:
            jobs.inc(amount)
            os._exit(0)
        os.waitpid(pid, 0)
    jobs.inc()
    push_to_gateway(sys.argv[1], job='mp-batch', registry=REGISTRY)
    """
)


def test_the_aggregated_view_is_pushed(pushgateway: Pushgateway, tmp_path) -> None:
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, pushgateway.address], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    group = pushgateway.wait_for_group(job="mp-batch")
    (series,) = group["peer_mp_jobs_total"]["metrics"]
    assert float(series["value"]) == 6.0  # the parent's 1 and both children's 2 and 3, once
