"""The ``python_info`` series: interpreter version and implementation.

Thread and process safety: everything is computed once, at construction;
``collect()`` only returns the stored list, so it is safe from any thread.
"""
from __future__ import annotations

import platform as pf
from typing import Any, Dict, List, Optional

from .metrics_core import GaugeMetricFamily, Metric
from .registry import REGISTRY, Collector, CollectorRegistry


class PlatformCollector(Collector):
    """Collector for python platform information

    Args:
        registry: registered with at construction if truthy.
        platform: an object with the functions of the stdlib ``platform``
            module used here (``python_version_tuple``, ``python_version``,
            ``python_implementation``, ``system`` and, on Jython, ``java_ver``);
            defaults to that module.

    Construction raises whatever those functions or ``registry.register``
    (DuplicateTimeseries) raise.
    """

    def __init__(
        self,
        registry: Optional[CollectorRegistry] = REGISTRY,
        platform: Optional[Any] = None,
    ) -> None:
        self._platform = pf if platform is None else platform
        info = self._info()
        system = self._platform.system()
        if system == 'Java':
            info.update(self._java())
        self._metrics = [
            self._add_metric('python_info', 'Python platform information', info)
        ]
        if registry:
            registry.register(self)

    def collect(self) -> List[Metric]:
        """Return the family list built at construction (the same list object each time)."""
        return self._metrics

    @staticmethod
    def _add_metric(name: str, documentation: str, data: Dict[str, str]) -> GaugeMetricFamily:
        """An info-style gauge: one sample, value 1, labelled with ``data`` in its order."""
        labelnames = data.keys()
        labelvalues = [data[labelname] for labelname in labelnames]
        family = GaugeMetricFamily(name, documentation, labels=labelnames)
        family.add_metric(labelvalues, 1)
        return family

    def _info(self) -> Dict[str, str]:
        """The interpreter labels: version, implementation, major, minor, patchlevel."""
        major, minor, patchlevel = self._platform.python_version_tuple()
        return {
            'version': self._platform.python_version(),
            'implementation': self._platform.python_implementation(),
            'major': major,
            'minor': minor,
            'patchlevel': patchlevel,
        }

    def _java(self) -> Dict[str, str]:
        """The JVM labels, from ``java_ver()`` = (release, vendor, vminfo, osinfo)."""
        java_version, _, vminfo, _ = self._platform.java_ver()
        vm_name, vm_release, vm_vendor = vminfo
        return {
            'jvm_version': java_version,
            'jvm_release': vm_release,
            'jvm_vendor': vm_vendor,
            'jvm_name': vm_name,
        }


PLATFORM_COLLECTOR = PlatformCollector()
