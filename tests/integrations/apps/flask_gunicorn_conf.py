"""gunicorn config of the multiprocess Flask app: prometheus-flask-exporter's recipe.

The master serves the aggregated metrics on FLASK_METRICS_PORT (started in
``when_ready``) and marks exited workers dead (``child_exit``).
"""
import os

from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics


def when_ready(server):
    GunicornPrometheusMetrics.start_http_server_when_ready(int(os.environ["FLASK_METRICS_PORT"]), "127.0.0.1")


def child_exit(server, worker):
    GunicornPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
