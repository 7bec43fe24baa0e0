"""PlatformCollector with a fake platform object (CPython-like and Jython-like) and the real one."""
from __future__ import annotations

import inspect
import platform
from typing import List, Tuple

import pytest

from prometheus_client import registry
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.platform_collector import PLATFORM_COLLECTOR, PlatformCollector


class FakePlatform:
    """Records which functions were called, in order."""

    def __init__(self, system: str = 'Linux') -> None:
        self._system = system
        self.calls: List[str] = []

    def python_version_tuple(self) -> Tuple[str, str, str]:
        self.calls.append('python_version_tuple')
        return ('3', '42', '7rc1')

    def python_version(self) -> str:
        self.calls.append('python_version')
        return '3.42.7rc1'

    def python_implementation(self) -> str:
        self.calls.append('python_implementation')
        return 'PyFake'

    def system(self) -> str:
        self.calls.append('system')
        return self._system

    def java_ver(self) -> tuple:
        self.calls.append('java_ver')
        return (
            '1.8.0_402',
            'Example Vendor',
            ('Example 64-Bit VM', '25.402-b06', 'Example VM Vendor'),
            ('Linux', '6.1', 'amd64'),
        )


class RecordingRegistry:
    def __init__(self) -> None:
        self.registered: List[object] = []

    def register(self, collector: object) -> None:
        self.registered.append(collector)


def test_python_info_labels_in_order() -> None:
    fake = FakePlatform()
    families = PlatformCollector(registry=None, platform=fake).collect()
    assert len(families) == 1
    family = families[0]
    assert isinstance(family, GaugeMetricFamily)
    assert (family.name, family.type, family.documentation) == ('python_info', 'gauge', 'Python platform information')
    [sample] = family.samples
    assert sample.name == 'python_info'
    assert list(sample.labels.items()) == [
        ('version', '3.42.7rc1'),
        ('implementation', 'PyFake'),
        ('major', '3'),
        ('minor', '42'),
        ('patchlevel', '7rc1'),
    ]
    assert sample.value == 1 and type(sample.value) is int
    assert fake.calls == ['python_version_tuple', 'python_version', 'python_implementation', 'system']


def test_java_adds_jvm_labels() -> None:
    fake = FakePlatform(system='Java')
    [family] = PlatformCollector(registry=None, platform=fake).collect()
    [sample] = family.samples
    assert list(sample.labels.items()) == [
        ('version', '3.42.7rc1'),
        ('implementation', 'PyFake'),
        ('major', '3'),
        ('minor', '42'),
        ('patchlevel', '7rc1'),
        ('jvm_version', '1.8.0_402'),
        ('jvm_release', '25.402-b06'),
        ('jvm_vendor', 'Example VM Vendor'),
        ('jvm_name', 'Example 64-Bit VM'),
    ]
    assert fake.calls[-1] == 'java_ver'


def test_computed_once_and_collect_returns_the_same_list() -> None:
    fake = FakePlatform()
    collector = PlatformCollector(registry=None, platform=fake)
    calls_after_construction = list(fake.calls)
    first = collector.collect()
    assert collector.collect() is first
    assert fake.calls == calls_after_construction


def test_helpers() -> None:
    collector = PlatformCollector(registry=None, platform=FakePlatform())
    assert collector._info() == {
        'version': '3.42.7rc1',
        'implementation': 'PyFake',
        'major': '3',
        'minor': '42',
        'patchlevel': '7rc1',
    }
    assert collector._java()['jvm_name'] == 'Example 64-Bit VM'
    family = PlatformCollector._add_metric('x_info', 'doc', {'b': '1', 'a': '2'})
    assert family.name == 'x_info' and family.documentation == 'doc'
    assert [(s.name, list(s.labels.items()), s.value) for s in family.samples] == [('x_info', [('b', '1'), ('a', '2')], 1)]


def test_defaults_to_the_platform_module() -> None:
    [family] = PlatformCollector(registry=None).collect()
    [sample] = family.samples
    major, minor, patchlevel = platform.python_version_tuple()
    assert sample.labels == {
        'version': platform.python_version(),
        'implementation': platform.python_implementation(),
        'major': major,
        'minor': minor,
        'patchlevel': patchlevel,
    }


def test_registration() -> None:
    recording = RecordingRegistry()
    collector = PlatformCollector(registry=recording, platform=FakePlatform())  # type: ignore[arg-type]
    assert recording.registered == [collector]
    own_registry = registry.CollectorRegistry()
    PlatformCollector(registry=own_registry, platform=FakePlatform())
    assert own_registry.get_sample_value(
        'python_info',
        {'version': '3.42.7rc1', 'implementation': 'PyFake', 'major': '3', 'minor': '42', 'patchlevel': '7rc1'},
    ) == 1


def test_signature_and_singleton() -> None:
    parameters = inspect.signature(PlatformCollector).parameters
    assert list(parameters) == ['registry', 'platform']
    assert parameters['registry'].default is registry.REGISTRY
    assert parameters['platform'].default is None
    assert registry.Collector in PlatformCollector.__mro__
    assert isinstance(PLATFORM_COLLECTOR, PlatformCollector)
    assert PLATFORM_COLLECTOR._platform is platform


@pytest.mark.parametrize('system', ['Linux', 'Darwin', 'Windows', 'java'])
def test_only_exactly_java_gets_jvm_labels(system: str) -> None:
    fake = FakePlatform(system=system)
    [family] = PlatformCollector(registry=None, platform=fake).collect()
    assert 'jvm_version' not in family.samples[0].labels
    assert 'java_ver' not in fake.calls
