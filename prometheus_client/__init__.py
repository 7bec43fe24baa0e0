"""Prometheus instrumentation library for Python applications.

A clean-room, drop-in implementation of the ``prometheus_client`` API
(version 0.26): the same names, signatures, exceptions and output bytes.
"""
from . import (
    asgi,
    context_managers,
    decorator,
    exposition,
    gc_collector,
    metrics,
    metrics_core,
    mmap_dict,
    openmetrics,
    platform_collector,
    process_collector,
    registry,
    samples,
    utils,
    validation,
    values,
)
from .openmetrics import exposition as _openmetrics_exposition  # noqa: F401  (eagerly imported, as classic)
from .exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    MetricsHandler,
    delete_from_gateway,
    generate_latest,
    instance_ip_grouping_key,
    make_asgi_app,
    make_wsgi_app,
    push_to_gateway,
    pushadd_to_gateway,
    start_http_server,
    start_wsgi_server,
    write_to_textfile,
)
from .gc_collector import GC_COLLECTOR, GCCollector
from .metrics import (
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
)
from .metrics_core import Metric
from .platform_collector import PLATFORM_COLLECTOR, PlatformCollector
from .process_collector import PROCESS_COLLECTOR, ProcessCollector
from .registry import REGISTRY, CollectorRegistry

__all__ = (
    'CollectorRegistry',
    'REGISTRY',
    'Metric',
    'Counter',
    'Gauge',
    'Summary',
    'Histogram',
    'Info',
    'Enum',
    'enable_created_metrics',
    'disable_created_metrics',
    'CONTENT_TYPE_LATEST',
    'CONTENT_TYPE_PLAIN_0_0_4',
    'CONTENT_TYPE_PLAIN_1_0_0',
    'generate_latest',
    'MetricsHandler',
    'make_wsgi_app',
    'make_asgi_app',
    'start_http_server',
    'start_wsgi_server',
    'write_to_textfile',
    'push_to_gateway',
    'pushadd_to_gateway',
    'delete_from_gateway',
    'instance_ip_grouping_key',
    'ProcessCollector',
    'PROCESS_COLLECTOR',
    'PlatformCollector',
    'PLATFORM_COLLECTOR',
    'GCCollector',
    'GC_COLLECTOR',
)


def _aggregate_multiprocess_in_default_registry() -> None:
    """In multiprocess mode the default registry shows every process's values."""
    if getattr(values.ValueClass, "_multiprocess", False):
        from .multiprocess import MultiProcessCollector

        try:
            MultiProcessCollector(REGISTRY, _include_group_report=True)
        except ValueError as error:  # directory missing: metrics still work, locally
            import logging

            logging.getLogger("prometheus_client.multiprocess").warning("prometheus_client: %s", error)


_aggregate_multiprocess_in_default_registry()
