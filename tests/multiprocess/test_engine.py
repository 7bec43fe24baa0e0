"""The multiprocess engine with real processes: fork, death, restart, corruption."""
from __future__ import annotations

import logging
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.storage import aggregate
from prometheus_client.storage.shared import SharedMemoryBackend

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture
def mpdir(tmp_path, monkeypatch):
    backend = SharedMemoryBackend(directory=str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", backend)
    yield str(tmp_path)
    backend.close()


def scrape(path):
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry


def value(path, name, labels=None):
    return scrape(path).get_sample_value(name, labels or {})


def run_in_child(function, wait=True):
    """Fork; run ``function`` in the child; return the pid (reaped when ``wait``)."""
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            function()
        except BaseException:
            import traceback

            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)
    if wait:
        _, status = os.waitpid(pid, 0)
        assert status == 0, "child failed"
    return pid


def files(path):
    return sorted(name for name in os.listdir(path) if name.endswith(".db"))


def test_counters_sum_across_processes(mpdir):
    counter = Counter("c", "help", ["l"], registry=None)
    counter.labels("a").inc()
    for _ in range(3):
        run_in_child(lambda: counter.labels("a").inc(2))
    assert value(mpdir, "c_total", {"l": "a"}) == 7.0


def test_a_forked_child_starts_from_zero_in_its_own_file(mpdir):
    counter = Counter("c", "help", registry=None)
    counter.inc()
    counter.inc()

    def child():
        counter.inc()
        assert counter._value.get() == 1.0
        assert len(files(mpdir)) == 2  # its own file next to the parent's

    run_in_child(child)
    assert counter._value.get() == 2.0
    assert value(mpdir, "c_total") == 3.0


def test_histogram_and_summary_shape(mpdir):
    histogram = Histogram("h", "help", buckets=[1, 2], registry=None)
    summary = Summary("s", "help", registry=None)
    histogram.observe(0.5)
    run_in_child(lambda: (histogram.observe(1.5), summary.observe(3)))
    summary.observe(4)
    text = generate_latest(scrape(mpdir)).decode()
    assert "\n".join(
        [
            "# HELP h help",
            "# TYPE h histogram",
            "h_sum 2.0",
            'h_bucket{le="1.0"} 1.0',
            'h_bucket{le="2.0"} 2.0',
            'h_bucket{le="+Inf"} 2.0',
            "h_count 2.0",
        ]
    ) in text
    assert "s_count 2.0\ns_sum 7.0\n" in text
    assert "_created" not in text


def test_merge_without_accumulation(mpdir):
    histogram = Histogram("h", "help", buckets=[1, 2], registry=None)
    histogram.observe(0.5)
    histogram.observe(1.5)
    (metric,) = MultiProcessCollector.merge([os.path.join(mpdir, f) for f in files(mpdir)], accumulate=False)
    assert [(s.name, s.labels.get("le"), s.value) for s in metric.samples] == [
        ("h_sum", None, 2.0),
        ("h_bucket", "1.0", 1.0),
        ("h_bucket", "2.0", 1.0),
        ("h_bucket", "+Inf", 0.0),
    ]


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("all", None),  # checked separately
        ("liveall", None),
        ("min", 1.0),
        ("livemin", 5.0),
        ("max", 9.0),
        ("livemax", 5.0),
        ("sum", 15.0),
        ("livesum", 5.0),
        ("mostrecent", 9.0),
        ("livemostrecent", 5.0),
    ],
)
def test_gauge_modes(mpdir, mode, expected):
    gauge = Gauge("g", "help", multiprocess_mode=mode, registry=None)
    gauge.set(5)  # the parent stays alive
    run_in_child(lambda: gauge.set(1))
    time.sleep(0.01)
    run_in_child(lambda: gauge.set(9))  # the most recent, but dead
    registry = scrape(mpdir)
    samples = [s for m in registry.collect() for s in m.samples]
    if mode == "all":
        assert sorted(s.value for s in samples) == [1.0, 5.0, 9.0]
        assert all(set(s.labels) == {"pid"} for s in samples)
    elif mode == "liveall":
        assert [(s.labels, s.value) for s in samples] == [({"pid": str(os.getpid())}, 5.0)]
    else:
        assert [(s.labels, s.value) for s in samples] == [({}, expected)]


def test_dead_processes_are_compacted_and_files_stay_bounded(mpdir):
    counter = Counter("c", "help", registry=None)
    counter.inc()
    previous = 0.0
    for i in range(25):
        run_in_child(lambda: counter.inc(1))
        current = value(mpdir, "c_total")
        assert current >= previous  # never goes backwards
        previous = current
    assert previous == 26.0
    assert len(files(mpdir)) == 1  # only this process's file
    assert sorted(os.listdir(mpdir)) == sorted(files(mpdir) + [".lock", "archive.json"])


def test_no_hook_needed_and_mark_process_dead_is_idempotent(mpdir):
    counter = Counter("c", "help", registry=None)
    gauge = Gauge("g", "help", multiprocess_mode="livesum", registry=None)
    gauge.set(1)
    pid = run_in_child(lambda: (counter.inc(3), gauge.set(10)))
    mark_process_dead(pid, mpdir)
    mark_process_dead(pid, mpdir)
    mark_process_dead(os.getpid(), mpdir)  # alive: left alone
    assert len(files(mpdir)) == 1
    assert value(mpdir, "c_total") == 3.0
    assert value(mpdir, "g") == 1.0


def test_sigkilled_writers_lose_no_acknowledged_increment(mpdir):
    counter = Counter("c", "help", registry=None)
    counter.inc(0)
    acknowledged = 0
    for _ in range(6):
        read_end, write_end = os.pipe()

        def child():
            os.close(read_end)
            while True:
                counter.inc()
                os.write(write_end, b"x")

        pid = run_in_child(child, wait=False)
        os.close(write_end)
        time.sleep(random.uniform(0.01, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            acknowledged += len(pipe.read())
        total = value(mpdir, "c_total")
        assert acknowledged <= total <= acknowledged + 6  # at most one unacknowledged inc per writer
    assert acknowledged > 0


def test_threads_inside_a_worker(mpdir):
    counter = Counter("c", "help", registry=None)

    def child():
        threads = [threading.Thread(target=lambda: [counter.inc() for _ in range(5000)]) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run_in_child(child)
    assert value(mpdir, "c_total") == 40000.0


def _pool_task(_):
    _POOL_COUNTER.inc()
    return os.getpid()


def test_multiprocessing_pool_with_fork(mpdir):
    global _POOL_COUNTER
    _POOL_COUNTER = Counter("pool_tasks", "help", registry=None)
    with multiprocessing.get_context("fork").Pool(3) as pool:
        pids = set(pool.map(_pool_task, range(200)))
    assert value(mpdir, "pool_tasks_total") == 200.0
    assert os.getpid() not in pids


def test_remove_and_clear(mpdir):
    counter = Counter("c", "help", ["l"], registry=None)
    counter.labels("a").inc()
    counter.labels("b").inc()
    counter.labels("c").inc()
    counter.remove("a")
    registry = scrape(mpdir)
    assert registry.get_sample_value("c_total", {"l": "a"}) is None
    assert registry.get_sample_value("c_total", {"l": "b"}) == 1.0
    counter.clear()
    assert [s for m in scrape(mpdir).collect() for s in m.samples] == []
    counter.labels("a").inc(5)
    assert value(mpdir, "c_total", {"l": "a"}) == 5.0


def test_corrupt_empty_and_foreign_files_are_skipped_logged_once_and_counted(mpdir, caplog):
    Counter("c", "help", registry=None).inc()
    with open(os.path.join(mpdir, "123-abc.db"), "wb"):
        pass  # empty
    with open(os.path.join(mpdir, "124-abc.db"), "wb") as f:
        f.write(b"PROMMP\x01\x00" + b"\xff" * 20)  # truncated header
    with open(os.path.join(mpdir, "counter_125.db"), "wb") as f:
        f.write(os.urandom(100))  # a classic client's file
    caplog.set_level(logging.WARNING, logger="prometheus_client.multiprocess")
    registry = scrape(mpdir)
    assert registry.get_sample_value("c_total") == 1.0
    assert registry.get_sample_value("prometheus_client_multiprocess_skipped_files_total") == 3.0
    warnings = len(caplog.records)
    assert warnings == 3
    scrape(mpdir).get_sample_value("c_total")
    assert len(caplog.records) == warnings  # logged once


def test_concurrent_scrapes_share_merges(mpdir, monkeypatch):
    Counter("c", "help", registry=None).inc()
    merges = []
    original = aggregate.DirectoryAggregator._merge

    def slow_merge(self):
        merges.append(1)
        time.sleep(0.2)
        return original(self)

    monkeypatch.setattr(aggregate.DirectoryAggregator, "_merge", slow_merge)
    registry = scrape(mpdir)
    results = []
    threads = [threading.Thread(target=lambda: results.append(registry.get_sample_value("c_total"))) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1.0] * 40
    assert len(merges) <= 3


def test_missing_directory_degrades_to_process_memory(tmp_path, monkeypatch, caplog):
    backend = SharedMemoryBackend(directory=str(tmp_path / "missing"))
    monkeypatch.setattr(values, "ValueClass", backend)
    caplog.set_level(logging.WARNING, logger="prometheus_client.multiprocess")
    counter = Counter("c", "help", ["l"], registry=None)
    counter.labels("a").inc()
    counter.labels("b").inc(2)
    assert counter.labels("b")._value.get() == 2.0
    assert len(caplog.records) == 1


PROGRAM = textwrap.dedent(
    """
    import sys
    from prometheus_client import Counter, Gauge, Info, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    c = Counter('runs', 'Runs', ['kind'])
    c.labels('x').inc(int(sys.argv[1]))
    Info('build', 'Build').info({'version': '1'})
    default = generate_latest().decode()
    per_request = CollectorRegistry()
    MultiProcessCollector(per_request)
    classic_pattern = generate_latest(per_request).decode()
    print(default.count('# TYPE runs_total counter'), default.count('# TYPE build_info gauge'))
    print(classic_pattern.count('# TYPE runs_total counter'))
    print(REGISTRY.get_sample_value('runs_total', {'kind': 'x'}))
    start = classic_pattern.index('# HELP runs_total')
    end = classic_pattern.find('# HELP', start + 1)
    block = classic_pattern[start:end if end != -1 else None]
    print(block in default)
    """
)


def run_program(directory, amount):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=directory)
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(amount)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")


def test_default_registry_and_restart_without_wiping(tmp_path):
    directory = str(tmp_path)
    first = run_program(directory, 2)
    assert first[:4] == ["1 1", "1", "2.0", "True"]  # aggregated, no duplicates, same bytes
    second = run_program(directory, 3)  # the old run's file is just a dead process
    assert second[2] == "5.0"
    third = run_program(directory, 0)
    assert third[2] == "5.0"  # never double counted
    assert len([n for n in os.listdir(directory) if n.endswith(".db")]) <= 1


def test_info_and_enum_are_aggregated(mpdir):
    from prometheus_client import Enum, Info

    info = Info("build", "help", registry=None)
    info.info({"version": "1"})
    enum = Enum("state", "help", ["worker"], states=["idle", "busy"], registry=None)
    enum.labels("w").state("busy")

    def child():
        info.info({"version": "2"})
        enum.labels("c").state("idle")

    run_in_child(child)
    registry = scrape(mpdir)
    assert registry.get_sample_value("build_info", {"version": "1"}) == 1.0
    assert registry.get_sample_value("build_info", {"version": "2"}) == 1.0
    assert registry.get_sample_value("build_info", {}) is None  # replaced, not left behind
    assert registry.get_sample_value("state", {"worker": "w", "state": "busy"}) == 1.0
    assert registry.get_sample_value("state", {"worker": "w", "state": "idle"}) == 0.0
    assert registry.get_sample_value("state", {"worker": "c", "state": "idle"}) == 1.0
    text = generate_latest(registry).decode()
    assert "# TYPE build_info gauge" in text and "# TYPE state gauge" in text


def test_a_user_label_named_pid(mpdir):
    counter = Counter("c", "help", ["pid"], registry=None)
    counter.labels("worker-7").inc()
    run_in_child(lambda: counter.labels("worker-7").inc())
    assert value(mpdir, "c_total", {"pid": "worker-7"}) == 2.0


def test_set_function_in_every_process(mpdir):
    from prometheus_client.storage import shared

    gauge = Gauge("queue", "help", multiprocess_mode="livesum", registry=None)
    gauge.set_function(lambda: 3)
    read_end, write_end = os.pipe()

    def child():  # a live worker whose function says 4
        gauge.set_function(lambda: 4)
        shared.refresh_callbacks()
        os.write(write_end, b"ready")
        time.sleep(600)  # until killed: alive for the whole scrape, however slow

    pid = run_in_child(child, wait=False)
    try:
        assert os.read(read_end, 5) == b"ready"
        assert value(mpdir, "queue") == 7.0  # the scraper refreshes its own before merging
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert value(mpdir, "queue") == 3.0


def test_exemplars_newest_across_processes(mpdir, monkeypatch):
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

    counter = Counter("c", "help", registry=None)
    histogram = Histogram("h", "help", buckets=[1], registry=None)
    monkeypatch.setattr(time, "time", lambda: 100.0)
    counter.inc(1, {"trace_id": "parent"})
    histogram.observe(0.5, {"trace_id": "parent"})
    read_end, write_end = os.pipe()

    def child():
        time.time = lambda: 200.0
        counter.inc(2, {"trace_id": "child"})
        histogram.observe(5, {"trace_id": "child-big"})
        os.write(write_end, b"ready")
        time.sleep(600)  # until killed: alive for the whole scrape, however slow

    pid = run_in_child(child, wait=False)
    try:
        assert os.read(read_end, 5) == b"ready"
        text = openmetrics_latest(scrape(mpdir)).decode()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert 'c_total 3.0 # {trace_id="child"} 2.0 200.0' in text
    assert 'h_bucket{le="1.0"} 1.0 # {trace_id="parent"} 0.5 100.0' in text
    assert 'h_bucket{le="+Inf"} 2.0 # {trace_id="child-big"} 5.0 200.0' in text


GROUP_PROGRAM = textwrap.dedent(
    """
    import os, time
    from prometheus_client import REGISTRY, generate_latest
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        extra = [open(os.devnull) for _ in range(20)]   # the child holds 20 more descriptors
        from prometheus_client.storage import shared
        shared.refresh_callbacks()  # what its refresher thread does every second
        os.write(write_end, b"x")
        time.sleep(600)  # until the parent kills it
        os._exit(0)
    os.close(write_end)
    os.read(read_end, 1)
    own = len(os.listdir('/proc/self/fd'))
    text = generate_latest(REGISTRY).decode()
    group = REGISTRY.get_sample_value('process_open_fds')
    print(text.count('# TYPE process_open_fds gauge'), text.count('# TYPE process_cpu_seconds_total counter'))
    print(group > own + 15)
    os.kill(pid, 9)
    """
)


def test_process_collector_reports_the_whole_group(tmp_path):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", GROUP_PROGRAM], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["1 1", "True"]


@pytest.mark.parametrize("record_slots", [1, 2])
def test_records_ending_exactly_on_a_chunk_boundary(tmp_path, record_slots):
    from prometheus_client.storage.process_file import (
        HEADER_SIZE, RECORD_HEADER_SIZE, ProcessFile, ProcessFileSnapshot, encode_descriptor, read_slots,
    )

    chunk_size = 4096
    labelvalues = b'["0"]'  # 4 + 5 bytes of identity: a record is 16 + 16 + 8 * slots bytes
    record_size = RECORD_HEADER_SIZE + 16 + 8 * record_slots
    # a help text long enough that the records after the descriptor fill the first chunk exactly
    for width in range(200):
        descriptor = encode_descriptor(("counter", "c", "c_total", ("i",), "h" * width, ""))
        descriptor_size = RECORD_HEADER_SIZE + ((len(descriptor) + 7) & ~7)
        if (chunk_size - HEADER_SIZE - descriptor_size) % record_size == 0:
            break
    process_file = ProcessFile(str(tmp_path), os.getpid(), chunk_size)
    total = 3 * (chunk_size - HEADER_SIZE) // record_size + 5
    slots = []
    for i in range(total):
        record, locations = process_file.allocate(descriptor, labelvalues, record_slots)
        assert record[1] != 0 or record[2] % chunk_size == 0
        slots.append(locations)
        from prometheus_client.storage import Cell
        Cell(*locations[0]).set(float(i))
    assert len(process_file._chunks) >= 3
    snapshot = ProcessFileSnapshot(process_file.path)
    mapping = snapshot.refresh()
    assert len(snapshot.descriptors) == 1
    assert len(snapshot.series) == total  # exactly-filled chunks and padded ones both read back
    assert [read_slots(mapping, first, 1)[0] for _, _, first, _, _ in snapshot.series] == [float(i) for i in range(total)]
    snapshot.close()
    process_file.abandon()


def test_a_chunk_tail_too_short_for_a_padding_record_is_skipped(tmp_path):
    from prometheus_client.storage import Cell
    from prometheus_client.storage.process_file import (
        HEADER_SIZE, ProcessFile, ProcessFileSnapshot, encode_descriptor, read_slots,
    )

    chunk_size = 4096
    process_file = ProcessFile(str(tmp_path), os.getpid(), chunk_size)
    descriptor = encode_descriptor(("counter", "c", "c_total", ("i",), "help", ""))
    record, locations = process_file.allocate(descriptor, b'["0"]', 1)  # 40 bytes, after the descriptor
    Cell(*locations[0]).set(0.0)
    remaining = chunk_size - record[1] - 40
    # one record leaving exactly 8 bytes at the end of the chunk
    size = remaining - 8
    text = ("x" * (size - 24 - 4 - 4)).encode()
    record, locations = process_file.allocate(descriptor, b'["' + text + b'"]', 1)
    assert record[1] + size == chunk_size - 8
    Cell(*locations[0]).set(1.0)
    record, locations = process_file.allocate(descriptor, b'["2"]', 1)
    assert record[1] == 0 and record[2] == chunk_size  # the next chunk
    Cell(*locations[0]).set(2.0)
    snapshot = ProcessFileSnapshot(process_file.path)
    mapping = snapshot.refresh()
    assert [read_slots(mapping, first, 1)[0] for _, _, first, _, _ in snapshot.series] == [0.0, 1.0, 2.0]
    assert HEADER_SIZE < chunk_size
    snapshot.close()
    process_file.abandon()


def test_a_record_with_a_bad_descriptor_number_is_refused(tmp_path):
    from prometheus_client.storage.process_file import ProcessFile, ProcessFileSnapshot, CorruptFileError

    process_file = ProcessFile(str(tmp_path), os.getpid(), 4096)
    process_file._append(b"\xff\xff\xff\x7f[]", 1, 0)  # refers to a descriptor that does not exist
    snapshot = ProcessFileSnapshot(process_file.path)
    with pytest.raises(CorruptFileError):
        snapshot.refresh()
    snapshot.close()
    process_file.abandon()


def test_many_series_span_chunks_and_read_back(mpdir, monkeypatch):
    backend = values.ValueClass
    monkeypatch.setattr(backend, "_chunk_size", 4096)
    counter = Counter("spread", "help", ["i"], registry=None)
    for i in range(600):  # well over several 4 KiB chunks
        counter.labels(str(i)).inc(i)
    registry = scrape(mpdir)
    assert registry.get_sample_value("spread_total", {"i": "599"}) == 599.0
    assert sum(s.value for m in registry.collect() for s in m.samples) == sum(range(600))


def test_float_counters_never_move_when_processes_are_folded(mpdir):
    counter = Counter("work_seconds", "help", registry=None)
    run_in_child(lambda: counter.inc(0.1))
    counter.inc(1.1)
    before = value(mpdir, "work_seconds_total")
    run_in_child(lambda: counter.inc(0.1))  # folded into the archive after the first one
    after = value(mpdir, "work_seconds_total")
    assert after >= before
    assert after == 1.3  # the exactly rounded sum, whatever the folding order


def test_exact_partials():
    from prometheus_client.storage.aggregate import _exact_partials
    import math as _math

    values = [0.1, 1.1, 0.1, 1e16, 1.0, -1e16, 3.3]
    assert _math.fsum(_exact_partials(values[:3]) + values[3:]) == _math.fsum(values)
    assert _exact_partials([float("inf"), 1.0]) == [float("inf")]


# -- the reader's series table: removals, sparse files, reset --------------------------


def test_a_removal_after_a_scrape_is_noticed(mpdir):
    counter = Counter("c", "help", ["k"], registry=None)
    counter.labels("a").inc()
    counter.labels("b").inc(2)
    registry = scrape(mpdir)
    assert registry.get_sample_value("c_total", {"k": "a"}) == 1.0
    counter.remove("a")
    assert registry.get_sample_value("c_total", {"k": "a"}) is None
    assert registry.get_sample_value("c_total", {"k": "b"}) == 2.0
    counter.labels("a").inc(5)  # a new series with the same labels
    assert registry.get_sample_value("c_total", {"k": "a"}) == 5.0


def test_a_live_process_with_few_of_the_series_is_read_series_by_series(mpdir):
    counter = Counter("c", "help", ["k"], registry=None)
    for i in range(100):
        counter.labels(str(i)).inc(1)
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()

    def sparse_writer():
        os.close(go_w)
        counter.labels("7").inc(0.5)  # the child's file holds 1 of the 100 series
        Counter("only_child", "help", registry=None).inc(3)
        os.write(ready_w, b".")
        os.read(go_r, 1)

    pid = run_in_child(sparse_writer, wait=False)
    os.close(go_r)
    assert os.read(ready_r, 1) == b"."
    try:
        registry = scrape(mpdir)
        assert registry.get_sample_value("c_total", {"k": "7"}) == 1.5
        assert registry.get_sample_value("c_total", {"k": "8"}) == 1.0
        assert registry.get_sample_value("only_child_total") == 3.0
        assert sum(s.value for m in registry.collect() if m.name == "c" for s in m.samples) == 100.5
    finally:
        os.close(go_w)
        os.waitpid(pid, 0)


def test_the_series_table_starts_afresh_when_past_series_dominate(mpdir):
    counter = Counter("c", "help", ["k"], registry=None)
    for i in range(10050):
        counter.labels(str(i)).inc()
    registry = scrape(mpdir)
    assert registry.get_sample_value("c_total", {"k": "10049"}) == 1.0
    counter.clear()
    counter.labels("new").inc(4)
    aggregator = aggregate.aggregator_for(mpdir)
    assert registry.get_sample_value("c_total", {"k": "10049"}) is None
    assert len(aggregator._table) == 0  # reset after that scrape
    assert registry.get_sample_value("c_total", {"k": "new"}) == 4.0
    assert registry.get_sample_value("c_total", {"k": "0"}) is None
    assert len(aggregator._table) < 100


# -- native histograms ------------------------------------------------------------------


def _native_of(registry, name):
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == name and sample.native_histogram is not None:
                return sample.native_histogram
    return None


def _expected_native(values, schema):
    from prometheus_client.native_histogram import NativeHistogramState

    state = NativeHistogramState(schema)
    for v in values:
        state.observe(v)
    return state.snapshot()


def test_native_histograms_merge_exactly_across_live_and_dead_processes(mpdir):
    from prometheus_client.native_histogram import spans_to_buckets

    histogram = Histogram("latency", "help", registry=None, native_histogram_bucket_factor=1.1)
    parent_values = [0.001, 0.5, 0.5, 3.0, -2.0, 0.0]
    child_values = [0.25, 0.5, 7.0, 1e-3]
    for v in parent_values:
        histogram.observe(v)
    run_in_child(lambda: [histogram.observe(v) for v in child_values])  # dead: folded into the archive
    # another program at a coarser resolution (its bucket limit halves it), alive while scraped
    coarse_values = [0.3 * 1.07 ** i for i in range(40)]
    program = textwrap.dedent("""
        import sys
        from prometheus_client import Histogram
        coarse = Histogram("latency", "help", native_histogram_bucket_factor=1.1,
                           native_histogram_max_bucket_number=8)
        for v in %r:
            coarse.observe(v)
        print(coarse._native.schema, flush=True)
        sys.stdin.read()
    """ % (coarse_values,))
    process = subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=dict(os.environ, PROMETHEUS_MULTIPROC_DIR=mpdir), text=True)
    coarse_schema = int(process.stdout.readline())
    try:
        assert coarse_schema < 3
        merged = _native_of(scrape(mpdir), "latency")
        everything = parent_values + child_values + coarse_values
        expected = _expected_native(everything, coarse_schema)
        assert merged.schema == coarse_schema
        assert merged.count_value == len(everything)
        assert merged.sum_value == pytest.approx(sum(everything))
        assert merged.zero_count == expected.zero_count
        assert spans_to_buckets(merged.pos_spans, merged.pos_deltas) == spans_to_buckets(
            expected.pos_spans, expected.pos_deltas)
        assert spans_to_buckets(merged.neg_spans, merged.neg_deltas) == spans_to_buckets(
            expected.neg_spans, expected.neg_deltas)
        # the classic view of a native-only histogram: +Inf bucket, _count, _sum
        registry = scrape(mpdir)
        assert registry.get_sample_value("latency_count") == len(everything)
        assert registry.get_sample_value("latency_bucket", {"le": "+Inf"}) == len(everything)
    finally:
        process.stdin.close()
        process.wait(timeout=30)
    # after the coarse child died too, everything is in the archive, merged the same way
    again = _native_of(scrape(mpdir), "latency")
    assert again.count_value == len(everything) and again.schema == coarse_schema
    assert spans_to_buckets(again.pos_spans, again.pos_deltas) == spans_to_buckets(
        expected.pos_spans, expected.pos_deltas)


def test_series_appearing_between_scrapes_join_their_families_in_order(mpdir):
    histogram = Histogram("h", "help", ["k"], registry=None, buckets=[1, 5])
    histogram.labels("a").observe(3)
    registry = scrape(mpdir)
    assert registry.get_sample_value("h_count", {"k": "a"}) == 1.0
    histogram.labels("b").observe(0.5)
    run_in_child(lambda: histogram.labels("a").observe(0.5))
    text = generate_latest(registry).decode()
    lines = [line for line in text.splitlines() if line.startswith("h_")]
    assert lines == [
        'h_sum{k="a"} 3.5', 'h_bucket{k="a",le="1.0"} 1.0', 'h_bucket{k="a",le="5.0"} 2.0',
        'h_bucket{k="a",le="+Inf"} 2.0', 'h_count{k="a"} 2.0',
        'h_sum{k="b"} 0.5', 'h_bucket{k="b",le="1.0"} 1.0', 'h_bucket{k="b",le="5.0"} 1.0',
        'h_bucket{k="b",le="+Inf"} 1.0', 'h_count{k="b"} 1.0',
    ]


def test_native_histogram_exemplars_newest_across_processes(mpdir):
    histogram = Histogram("nx", "help", registry=None, native_histogram_bucket_factor=1.1)
    run_in_child(lambda: histogram.observe(0.2, {"trace_id": "child"}))
    time.sleep(0.01)
    histogram.observe(0.4, {"trace_id": "parent"})
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()

    def live_child():
        os.close(go_w)
        time.sleep(0.01)
        histogram.observe(0.8, {"trace_id": "live"})
        os.write(ready_w, b".")
        os.read(go_r, 1)

    pid = run_in_child(live_child, wait=False)
    os.close(go_r)
    assert os.read(ready_r, 1) == b"."
    try:
        native = _native_of(scrape(mpdir), "nx")
        assert native.count_value == 3
        assert [e.labels for e in native.nh_exemplars] == [{"trace_id": "live"}]
        assert native.nh_exemplars[0].value == 0.8 and native.nh_exemplars[0].timestamp is not None
    finally:
        os.close(go_w)
        os.waitpid(pid, 0)
