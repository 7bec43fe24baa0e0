"""Tests for prometheus_client.bridge.graphite against a local TCP listener."""
from __future__ import annotations

import queue
import socket
import threading
from typing import Any, Iterator, List

import pytest

from prometheus_client.bridge.graphite import GraphiteBridge, _sanitize
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import CollectorRegistry

FIXED_TIME = 1434898897.9


class StaticCollector:
    def __init__(self, *families: Any) -> None:
        self._families = families

    def collect(self) -> List[Any]:
        return list(self._families)


class CarbonStub:
    """Accepts connections and queues each connection's full payload."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.address = self.sock.getsockname()
        self.payloads: 'queue.Queue[bytes]' = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            if self._closing.is_set():
                conn.close()
                return
            with conn:
                chunks = []
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            self.payloads.put(b''.join(chunks))

    def next_payload(self) -> bytes:
        return self.payloads.get(timeout=30)

    def close(self) -> None:
        # Closing a listening socket does not wake a blocked accept(): connect once.
        self._closing.set()
        socket.create_connection(self.address, timeout=30).close()
        self._thread.join(timeout=30)
        self.sock.close()


@pytest.fixture(name='carbon')
def fixture_carbon() -> Iterator[CarbonStub]:
    stub = CarbonStub()
    yield stub
    stub.close()


def registry_of(*families: Any) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StaticCollector(*families))
    return registry


def sample_registry() -> CollectorRegistry:
    counter = CounterMetricFamily('req', 'r', labels=['m.e', 'path'])
    counter.add_metric(['GET', '/a b'], 1, created=123.456)
    histogram = HistogramMetricFamily('lat', 'l')
    histogram.add_metric([], [('1.0', 1), ('+Inf', 1)], 0.5)
    return registry_of(
        counter,
        GaugeMetricFamily('g:x', 'g', value=2),
        histogram,
        InfoMetricFamily('i', 'i', value={'v': '1.2'}),
    )


class TestPush:
    def test_simple_gauge(self, carbon: CarbonStub) -> None:
        bridge = GraphiteBridge(carbon.address, registry=registry_of(GaugeMetricFamily('g', 'h', value=1)),
                                _timer=lambda: FIXED_TIME)
        bridge.push()
        assert carbon.next_payload() == b'g 1.0 1434898897\n'

    def test_every_sample_sanitised_and_sorted(self, carbon: CarbonStub) -> None:
        GraphiteBridge(carbon.address, registry=sample_registry(), _timer=lambda: FIXED_TIME).push()
        assert carbon.next_payload().decode().splitlines() == [
            'req_total.m_e.GET.path._a_b 1.0 1434898897',
            'req_created.m_e.GET.path._a_b 123.456 1434898897',
            'g_x 2.0 1434898897',
            'lat_bucket.le.1_0 1.0 1434898897',
            'lat_bucket.le._Inf 1.0 1434898897',
            'lat_count 1.0 1434898897',
            'lat_sum 0.5 1434898897',
            'i_info.v.1_2 1.0 1434898897',
        ]

    def test_tags_and_prefix(self, carbon: CarbonStub) -> None:
        GraphiteBridge(carbon.address, registry=sample_registry(), _timer=lambda: FIXED_TIME,
                       tags=True).push(prefix='pre.fix')
        lines = carbon.next_payload().decode().splitlines()
        assert lines[0] == 'pre.fix.req_total;m_e=GET;path=_a_b 1.0 1434898897'
        assert lines[2] == 'pre.fix.g_x 2.0 1434898897'
        assert lines[3] == 'pre.fix.lat_bucket;le=1_0 1.0 1434898897'
        assert lines[-1] == 'pre.fix.i_info;v=1_2 1.0 1434898897'

    def test_labels_path_mode_with_prefix(self, carbon: CarbonStub) -> None:
        family = GaugeMetricFamily('labels', 'h', labels=['b', 'a'])
        family.add_metric(['d', 'c'], 1)
        GraphiteBridge(carbon.address, registry=registry_of(family), _timer=lambda: FIXED_TIME).push('pre.fix')
        assert carbon.next_payload() == b'pre.fix.labels.a.c.b.d 1.0 1434898897\n'

    def test_value_sanitising(self, carbon: CarbonStub) -> None:
        family = GaugeMetricFamily('labels', 'h', labels=['a', 'b'])
        family.add_metric(['c.:8', '\u00e9'], 7)
        GraphiteBridge(carbon.address, registry=registry_of(family), _timer=lambda: FIXED_TIME).push()
        assert carbon.next_payload() == b'labels.a.c__8.b._ 7.0 1434898897\n'

    def test_nan_value(self, carbon: CarbonStub) -> None:
        GraphiteBridge(carbon.address, registry=registry_of(GaugeMetricFamily('n', 'h', value=float('nan'))),
                       _timer=lambda: FIXED_TIME).push()
        assert carbon.next_payload() == b'n nan 1434898897\n'

    def test_non_ascii_prefix_raises(self, carbon: CarbonStub) -> None:
        bridge = GraphiteBridge(carbon.address, registry=registry_of(GaugeMetricFamily('g', 'h', value=1)))
        with pytest.raises(UnicodeEncodeError):
            bridge.push(prefix='\u00e9')

    def test_unreachable_carbon_raises_os_error(self) -> None:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            address = s.getsockname()  # bound, not listening: connection refused
            bridge = GraphiteBridge(address, registry=registry_of(GaugeMetricFamily('g', 'h', value=1)),
                                    timeout_seconds=5)
            with pytest.raises(OSError):
                bridge.push()

    def test_sanitize(self) -> None:
        assert _sanitize('a.b:c d/e+f-g_h9') == 'a_b_c_d_e_f-g_h9'


class TestStart:
    def test_pushes_immediately_and_repeatedly(self, carbon: CarbonStub) -> None:
        bridge = GraphiteBridge(carbon.address, registry=registry_of(GaugeMetricFamily('g', 'h', value=1)),
                                _timer=lambda: FIXED_TIME)
        bridge.start(interval=0.01, prefix='p')
        thread = bridge._push_thread
        assert thread is not None and thread.daemon
        try:
            assert carbon.next_payload() == b'p.g 1.0 1434898897\n'
            assert carbon.next_payload() == b'p.g 1.0 1434898897\n'
        finally:
            thread._stop_pushing()
            thread.join(timeout=30)
        assert not thread.is_alive()

    def test_failed_push_is_logged_and_loop_continues(self, caplog: Any) -> None:
        class FlakyBridge:
            def __init__(self) -> None:
                self.calls = 0
                self.second_call = threading.Event()

            def push(self, prefix: str = '') -> None:
                self.calls += 1
                if self.calls >= 2:
                    self.second_call.set()
                raise ConnectionRefusedError('carbon is down')

        from prometheus_client.bridge.graphite import _RegularPush

        flaky = FlakyBridge()
        pusher = _RegularPush(flaky, 0.01, '')  # type: ignore[arg-type]
        pusher.start()
        try:
            assert flaky.second_call.wait(timeout=30)
        finally:
            pusher._stop_pushing()
            pusher.join(timeout=30)
        assert 'Push failed' in caplog.text


class TestSchedule:
    def test_first_push_at_once_and_missed_slots_skipped(self, monkeypatch: Any) -> None:
        """Driven by a fake clock: the first push takes 2.5 intervals."""
        from prometheus_client.bridge import graphite

        clock = [1000.0]
        monkeypatch.setattr(graphite, 'default_timer', lambda: clock[0])

        class FakeStop:
            """Stands in for the thread's stop event: waiting advances the clock."""

            def __init__(self) -> None:
                self.stopped = False

            def is_set(self) -> bool:
                return self.stopped

            def set(self) -> None:
                self.stopped = True

            def wait(self, timeout: float) -> bool:
                clock[0] += timeout
                return self.stopped

        push_times: List[float] = []

        class SlowFirstPush:
            def push(self, prefix: str = '') -> None:
                push_times.append(clock[0] - 1000.0)
                if len(push_times) == 1:
                    clock[0] += 25.0
                if len(push_times) == 4:
                    pusher._stopped.set()

        pusher = graphite._RegularPush(SlowFirstPush(), 10.0, 'p')  # type: ignore[arg-type]
        pusher._stopped = FakeStop()  # type: ignore[assignment]
        pusher.run()  # synchronously, no thread
        assert push_times == [0.0, 30.0, 40.0, 50.0]
