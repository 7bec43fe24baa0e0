"""gunicorn config with the classic recipe's child_exit hook.

Not needed by our engine (dead workers are found by their free file lock),
but the documented recipe must keep working alongside the scrapes.
"""
from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
