"""The slot primitive, both variants: compiled (_cells) and pure Python (_pycells)."""
from __future__ import annotations

import mmap
import os
import signal
import sys
import threading

import pytest

from prometheus_client import storage
from prometheus_client.storage import _pycells

try:
    from prometheus_client.storage import _cells
except ImportError:  # pragma: no cover - depends on the build
    _cells = None

VARIANTS = [pytest.param(_pycells, id="pure")]
if _cells is not None:
    VARIANTS.append(pytest.param(_cells, id="compiled"))


def test_expected_variant_is_in_use():
    if os.environ.get("PROMETHEUS_CLIENT_PURE_PYTHON"):
        assert storage.COMPILED == 0
    elif os.environ.get("PROMETHEUS_CLIENT_EXPECT_COMPILED"):
        assert storage.COMPILED == 1, "the C extension was not built"


@pytest.fixture(params=VARIANTS)
def cells(request):
    return request.param


def test_own_slot_add_set_get(cells):
    cell = cells.Cell()
    assert cell.get() == 0.0
    cell.inc(2)
    cell.inc(0.5)
    assert cell.get() == 2.5
    cell.set(7)
    assert cell.get() == 7.0
    assert type(cell.get()) is float


def test_set_converts_like_float(cells):
    cell = cells.Cell()
    cell.set("3")
    assert cell.get() == 3.0
    cell.set(True)
    assert cell.get() == 1.0
    cell.set(4, timestamp=12.0)
    assert cell.get() == 4.0
    with pytest.raises(ValueError):
        cell.set("x")
    with pytest.raises(TypeError):
        cell.set(None)


def test_inc_rejects_strings_with_type_error(cells):
    cell = cells.Cell()
    with pytest.raises(TypeError):
        cell.inc("1")
    assert cell.get() == 0.0


def test_inc_accepts_objects_with_float(cells):
    class Amount:
        def __float__(self):
            return 1.25

    from decimal import Decimal

    cell = cells.Cell()
    cell.inc(Amount())
    cell.inc(Decimal("0.75"))
    cell.inc(2**70)
    assert cell.get() == 1.25 + 0.75 + float(2**70)


def test_special_values(cells):
    cell = cells.Cell()
    cell.inc(float("inf"))
    assert cell.get() == float("inf")
    cell.set(float("nan"))
    assert cell.get() != cell.get()


def test_exemplar_slot(cells):
    cell = cells.Cell()
    assert cell.get_exemplar() is None
    marker = object()
    cell.set_exemplar(marker)
    assert cell.get_exemplar() is marker


def test_view_into_bytearray(cells):
    buffer = bytearray(32)
    first = cells.Cell(buffer, 8)
    second = cells.Cell(buffer, 16)
    first.inc(1.5)
    second.set(-2)
    assert cells.load(buffer, 8) == 1.5
    assert cells.load(buffer, 16) == -2.0
    assert cells.load(buffer, 0) == 0.0
    assert bytes(buffer[24:]) == bytes(8)


def test_view_rejects_bad_offsets(cells):
    buffer = bytearray(16)
    for offset in (-8, 12, 16, 3):
        with pytest.raises(ValueError):
            cells.Cell(buffer, offset)


def test_view_rejects_read_only_buffers(cells):
    with pytest.raises(BufferError):
        cells.Cell(bytes(16), 0)


def test_view_into_mmap(cells, tmp_path):
    path = tmp_path / "slots"
    path.write_bytes(bytes(4096))
    with open(path, "r+b") as f:
        mapping = mmap.mmap(f.fileno(), 4096)
    cell = cells.Cell(mapping, 64)
    cell.inc(41)
    cell.inc(1)
    assert cells.load(mapping, 64) == 42.0
    del cell
    mapping.flush()
    mapping.close()
    import struct

    assert struct.unpack_from("d", path.read_bytes(), 64)[0] == 42.0


@pytest.mark.skipif(_cells is None, reason="compiled cells not built")
def test_compiled_view_keeps_the_mmap_export_alive(tmp_path):
    mapping = mmap.mmap(-1, 4096)
    cell = _cells.Cell(mapping, 0)
    with pytest.raises(BufferError):
        mapping.close()  # the cell still points into it
    del cell
    mapping.close()


def test_threads_never_lose_increments(cells):
    cell = cells.Cell()
    threads_count, per_thread = 8, 20000

    def work():
        for _ in range(per_thread):
            cell.inc(1)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # force frequent switches
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    assert cell.get() == threads_count * per_thread


@pytest.mark.skipif(_cells is None, reason="compiled cells not built")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_compiled_adds_are_atomic_across_processes():
    mapping = mmap.mmap(-1, 4096)  # shared anonymous mapping survives fork
    cell = _cells.Cell(mapping, 128)
    processes, per_process = 4, 50000
    pids = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # child
            try:
                for _ in range(per_process):
                    cell.inc(1)
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert status == 0
    assert _cells.load(mapping, 128) == processes * per_process


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
def test_signal_handler_updates_do_not_deadlock(cells):
    cell = cells.Cell()
    handled = []

    def handler(signum, frame):
        cell.inc(1)
        handled.append(1)

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    try:
        loops = 0
        while len(handled) < 50 and loops < 5_000_000:
            cell.inc(1)
            loops += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    assert handled, "the timer never fired"
    assert cell.get() == loops + len(handled)


def test_rebind_moves_the_slot(cells):
    first, second = bytearray(16), bytearray(16)
    cell = cells.Cell(first, 8)
    cell.inc(3)
    cell.rebind(second, 0)
    cell.inc(2)
    assert cells.load(first, 8) == 3.0
    assert cells.load(second, 0) == 2.0
    assert cell.get() == 2.0
    with pytest.raises(ValueError):
        cell.rebind(second, 12)
    assert cell.get() == 2.0  # a failed rebind leaves the cell as it was
    cell.rebind()
    assert cell.get() == 0.0
    cell.inc(1)
    assert cells.load(second, 0) == 2.0
