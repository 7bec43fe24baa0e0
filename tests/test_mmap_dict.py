"""MmapedDict: file layout, round trips, growth, corruption, and byte compatibility with the classic client.

The compatibility tests run the black-box classic client (a separate
virtualenv, ``$CLASSIC_PYTHON``, default /tmp/classic/bin/python) in a
subprocess and are skipped when it is absent.
"""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prometheus_client import mmap_dict
from prometheus_client.mmap_dict import _INITIAL_MMAP_SIZE, MmapedDict, mmap_key

CORRUPTED = 'Read beyond file size detected, file is corrupted.'


def header_used(path: Path) -> int:
    return struct.unpack_from('=i', path.read_bytes(), 0)[0]


def entry_bytes(key: str, value: float, timestamp: float) -> bytes:
    """One entry, built independently of the implementation."""
    encoded = key.encode('utf-8')
    padding = 8 - (4 + len(encoded)) % 8
    return struct.pack('=i', len(encoded)) + encoded + b' ' * padding + struct.pack('=dd', value, timestamp)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / 'counter_1.db'


class TestLayout:
    def test_initial_size_constant(self) -> None:
        assert _INITIAL_MMAP_SIZE == 65536

    def test_new_file_is_extended_and_has_a_header(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.close()
        data = db_path.read_bytes()
        assert len(data) == 65536
        assert data[:8] == struct.pack('=i', 8) + b'\0\0\0\0'
        assert data[8:] == b'\0' * (65536 - 8)

    def test_entries_and_padding(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('abcd', 1.5, 2.5)  # 4 + 4 is aligned already: 8 spaces
        d.write_value('xyz\u00e9', 3.0, 0.0)  # 5 UTF-8 bytes: 7 spaces
        d.write_value('', 9.0, 1.0)  # 4 spaces
        d.write_value('k1', -1.0, 7.0)  # 2 spaces
        d.close()
        expected = (
            entry_bytes('abcd', 1.5, 2.5)
            + entry_bytes('xyz\u00e9', 3.0, 0.0)
            + entry_bytes('', 9.0, 1.0)
            + entry_bytes('k1', -1.0, 7.0)
        )
        assert expected[4:16] == b'abcd' + b' ' * 8
        data = db_path.read_bytes()
        assert data[8:8 + len(expected)] == expected
        assert header_used(db_path) == 8 + len(expected) == 8 + 32 + 32 + 24 + 24

    @given(st.text(max_size=40))
    def test_padding_rule(self, key: str) -> None:
        padded = mmap_dict._padded_key(key.encode('utf-8'))
        padding = len(padded) - len(key.encode('utf-8'))
        assert 1 <= padding <= 8
        assert (4 + len(padded)) % 8 == 0
        assert padded.endswith(b' ' * padding)

    def test_mmap_key(self) -> None:
        assert mmap_key('c', 'c_total', ['x', 'b'], ['1', '2'], 'help') == '["c", "c_total", {"b": "2", "x": "1"}, "help"]'
        assert mmap_key('c', 'c', [], [], 'h"\u00e9') == '["c", "c", {}, "h\\"\\u00e9"]'
        assert mmap_key('c', 'c', ['a', 'b'], ['1'], '') == '["c", "c", {"a": "1"}, ""]'


class TestOperations:
    def test_read_value_adds_a_zero_entry(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        assert d.read_value('k') == (0.0, 0.0)
        assert list(d.read_all_values()) == [('k', 0.0, 0.0)]
        assert d._used == 8 + 24
        d.close()
        assert header_used(db_path) == 32

    def test_write_then_read(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('a', 1.0, 2.0)
        d.write_value('b', 3.0, 4.0)
        d.write_value('a', 5.0, 6.0)
        assert d.read_value('a') == (5.0, 6.0)
        assert list(d.read_all_values()) == [('a', 5.0, 6.0), ('b', 3.0, 4.0)]
        d.close()

    def test_reopen_continues_the_file(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('a', 1.0, 2.0)
        d.close()
        d = MmapedDict(str(db_path))
        assert d._positions == {'a': 16}
        assert d.read_value('a') == (1.0, 2.0)
        d.write_value('b', 3.0, 4.0)
        d.close()
        assert list(MmapedDict.read_all_values_from_file(str(db_path))) == [('a', 1.0, 2.0, 16), ('b', 3.0, 4.0, 40)]

    def test_read_all_values_from_file_is_lazy(self, tmp_path: Path) -> None:
        values = MmapedDict.read_all_values_from_file(str(tmp_path / 'absent.db'))
        with pytest.raises(FileNotFoundError):
            next(values)

    def test_special_floats(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('inf', float('inf'), float('-inf'))
        d.write_value('nan', float('nan'), -0.0)
        value, timestamp = d.read_value('nan')
        assert value != value and str(timestamp) == '-0.0'
        assert d.read_value('inf') == (float('inf'), float('-inf'))
        d.close()

    def test_close_is_idempotent_and_releases(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('a', 1.0, 2.0)
        d.close()
        d.close()
        assert d._m is None and d._f is None
        with pytest.raises(TypeError):
            d.write_value('new', 1.0, 1.0)
        with pytest.raises(TypeError):
            list(d.read_all_values())

    def test_read_mode(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('a', 1.0, 2.0)
        d.close()
        reader = MmapedDict(str(db_path), read_mode=True)
        assert list(reader.read_all_values()) == [('a', 1.0, 2.0)]
        assert reader._positions == {}
        with pytest.raises(TypeError):
            reader.write_value('b', 1.0, 1.0)
        reader.close()
        with pytest.raises(FileNotFoundError):
            MmapedDict(str(db_path.with_name('absent.db')), read_mode=True)

    def test_existing_zeroed_file_keeps_its_size(self, db_path: Path) -> None:
        db_path.write_bytes(b'\0' * 100)
        d = MmapedDict(str(db_path))
        assert (d._capacity, d._used) == (100, 8)
        d.write_value('k' * 100, 1.0, 2.0)
        assert d._capacity == 200
        d.close()
        assert db_path.stat().st_size == 200


class TestGrowth:
    def test_capacity_doubles_until_the_entry_fits(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('x' * 70000, 1.0, 2.0)
        assert d._capacity == 131072 and d._used == 8 + (4 + 70000 + 4 + 16)
        d.write_value('y' * 200000, 3.0, 4.0)
        assert d._capacity == 524288
        assert d.read_value('x' * 70000) == (1.0, 2.0)
        d.close()
        assert db_path.stat().st_size == 524288
        assert [k[:1] for k, _, _ in MmapedDict(str(db_path), read_mode=True).read_all_values()] == ['x', 'y']

    def test_an_exactly_full_file_does_not_grow(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        key = 'a' * (65536 - 8 - 16 - 4 - 4)  # 4 + len is a multiple of 8: 8 spaces
        d.write_value(key, 1.0, 2.0)
        assert (d._used, d._capacity) == (65536, 65536)
        d.write_value('b', 1.0, 2.0)
        assert (d._used, d._capacity) == (65560, 131072)
        d.close()

    def test_many_keys(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        for index in range(5000):
            d.write_value('key%05d' % index, float(index), float(-index))
        assert d._used == 8 + 5000 * 32
        assert d._capacity == 262144
        d.close()
        d = MmapedDict(str(db_path))
        assert d.read_value('key04999') == (4999.0, -4999.0)
        assert len(list(d.read_all_values())) == 5000
        d.close()


class TestCorruption:
    def test_length_past_used_raises_on_read_and_on_open(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('abc', 1.0, 2.0)
        d._m[8:12] = struct.pack('=i', 1000)  # type: ignore[index]
        with pytest.raises(RuntimeError) as raised:
            list(d.read_all_values())
        assert str(raised.value) == CORRUPTED
        d.close()
        with pytest.raises(RuntimeError, match='file is corrupted'):
            MmapedDict(str(db_path))
        with pytest.raises(RuntimeError, match='file is corrupted'):
            list(MmapedDict.read_all_values_from_file(str(db_path)))

    def test_used_past_last_entry_reads_zero_entries(self, db_path: Path) -> None:
        d = MmapedDict(str(db_path))
        d.write_value('k1', 1.0, 2.0)
        d._m[0:4] = struct.pack('=i', 40)  # type: ignore[index]
        d.close()
        assert list(MmapedDict.read_all_values_from_file(str(db_path))) == [('k1', 1.0, 2.0, 16), ('', 0.0, 0.0, 40)]

    def test_file_shorter_than_its_header(self, db_path: Path) -> None:
        db_path.write_bytes(b'\0\0\0')
        with pytest.raises(struct.error):
            MmapedDict(str(db_path))


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.tuples(st.floats(allow_nan=False), st.floats(allow_nan=False)), max_size=20))
def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory, contents: Dict[str, Tuple[float, float]]) -> None:
    path = str(tmp_path_factory.mktemp('mmap') / 'gauge_all_1.db')
    d = MmapedDict(path)
    for key, (value, timestamp) in contents.items():
        d.write_value(key, value, timestamp)
    d.close()
    reopened = MmapedDict(path)
    assert {k: (v, t) for k, v, t in reopened.read_all_values()} == contents
    for key, pair in contents.items():
        assert reopened.read_value(key) == pair
    reopened.close()
    assert [k for k, _, _, _ in MmapedDict.read_all_values_from_file(path)] == list(contents)


# --- Compatibility with the classic client (black box, subprocess) -------------------------

CLASSIC_PYTHON = os.environ.get('CLASSIC_PYTHON', '/tmp/classic/bin/python')
needs_classic = pytest.mark.skipif(not os.path.exists(CLASSIC_PYTHON), reason='classic client virtualenv not available')

# Runs inside the classic client's interpreter. Reads a JSON job from stdin and
# prints a JSON result. Floats travel as float.hex() strings to stay exact.
_CLASSIC_SCRIPT = r'''
import json, sys
import prometheus_client
from prometheus_client.mmap_dict import MmapedDict
def hexed(pairs):
    return [[k, float.hex(v), float.hex(t)] + list(rest) for k, v, t, *rest in pairs]
def outcome(fn):
    try:
        return ['ok', fn()]
    except Exception as e:
        return ['error', type(e).__name__, str(e)]
job = json.load(sys.stdin)
results = []
for task in job:
    if task['do'] == 'write':
        d = MmapedDict(task['path'])
        for key, value, timestamp in task['ops']:
            if value is None:
                d.read_value(key)
            else:
                d.write_value(key, float.fromhex(value), float.fromhex(timestamp))
        d.close()
        results.append(None)
    elif task['do'] == 'read':
        def from_file():
            return hexed(MmapedDict.read_all_values_from_file(task['path']))
        def opened():
            d = MmapedDict(task['path'])
            try:
                values = hexed(d.read_all_values())
                looked_up = [[float.hex(x) for x in d.read_value(k)] for k in task['keys']]
                return [values, looked_up, sorted(d._positions.items()), d._used, d._capacity]
            finally:
                d.close()
        results.append([outcome(from_file), outcome(opened)])
print(json.dumps({'module': prometheus_client.__file__, 'results': results}))
'''


def run_classic(job: List[Dict[str, Any]], cwd: Path) -> List[Any]:
    """Run the job in the classic client; -I keeps our package (cwd, PYTHONPATH) out of its path."""
    completed = subprocess.run(
        [CLASSIC_PYTHON, '-I', '-c', _CLASSIC_SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        cwd=str(cwd),
        check=True,
    )
    output = json.loads(completed.stdout)
    assert not output['module'].startswith(str(Path(__file__).resolve().parent.parent)), 'ran our package, not the classic one'
    return output['results']


def hexed(pairs: Any) -> List[List[Any]]:
    return [[k, float.hex(v), float.hex(t)] + list(rest) for k, v, t, *rest in pairs]


def outcome(fn: Callable[[], Any]) -> List[Any]:
    try:
        return ['ok', fn()]
    except Exception as e:  # noqa: BLE001 - the outcome is compared, whatever it is
        return ['error', type(e).__name__, str(e)]


def read_ours(path: str, keys: List[str]) -> List[Any]:
    def from_file() -> Any:
        return hexed(MmapedDict.read_all_values_from_file(path))

    def opened() -> Any:
        d = MmapedDict(path)
        try:
            values = hexed(d.read_all_values())
            looked_up = [[float.hex(x) for x in d.read_value(k)] for k in keys]
            return [values, looked_up, sorted(map(list, d._positions.items())), d._used, d._capacity]
        finally:
            d.close()

    return [outcome(from_file), outcome(opened)]


def write_ours(path: str, ops: List[Tuple[str, Any, Any]]) -> None:
    d = MmapedDict(path)
    for key, value, timestamp in ops:
        if value is None:
            d.read_value(key)
        else:
            d.write_value(key, float.fromhex(value), float.fromhex(timestamp))
    d.close()


def random_ops(rng: random.Random, count: int) -> List[Tuple[str, Any, Any]]:
    alphabet = 'ab_{}"\\ \u00e9\u20ac\U0001f600'
    keys = [''.join(rng.choice(alphabet) for _ in range(rng.randrange(0, 13))) for _ in range(rng.randrange(1, 8))]
    keys.append(mmap_key('m', 'm_total', ['l'], ['v\u00e9'], 'help'))
    ops: List[Tuple[str, Any, Any]] = []
    for _ in range(count):
        key = rng.choice(keys)
        if rng.random() < 0.2:
            ops.append((key, None, None))
        else:
            value = rng.choice([rng.uniform(-1e6, 1e6), float('inf'), -0.0, 1e-300, float(rng.randrange(100))])
            ops.append((key, float.hex(value), float.hex(rng.uniform(0, 2e9))))
    return ops


@needs_classic
def test_same_operations_write_identical_files(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    sequences = [random_ops(rng, rng.randrange(1, 40)) for _ in range(25)]
    sequences.append([('g' * 70000, float.hex(1.0), float.hex(2.0)), ('h', float.hex(3.0), float.hex(4.0))])
    job = []
    for index, ops in enumerate(sequences):
        write_ours(str(tmp_path / ('ours_%d.db' % index)), ops)
        job.append({'do': 'write', 'path': str(tmp_path / ('classic_%d.db' % index)), 'ops': ops})
    run_classic(job, tmp_path)
    for index in range(len(sequences)):
        ours = (tmp_path / ('ours_%d.db' % index)).read_bytes()
        classic = (tmp_path / ('classic_%d.db' % index)).read_bytes()
        assert ours == classic, 'sequence %d' % index


@needs_classic
def test_each_reads_the_others_files(tmp_path: Path) -> None:
    ops = random_ops(random.Random(7), 60)
    keys = sorted({key for key, _, _ in ops})
    write_ours(str(tmp_path / 'ours.db'), ops)
    run_classic([{'do': 'write', 'path': str(tmp_path / 'classic.db'), 'ops': ops}], tmp_path)
    classic_reads_ours, classic_reads_classic = run_classic(
        [
            {'do': 'read', 'path': str(tmp_path / 'ours.db'), 'keys': keys},
            {'do': 'read', 'path': str(tmp_path / 'classic.db'), 'keys': keys},
        ],
        tmp_path,
    )
    # Reading with read_value may append entries, so ours reads fresh copies.
    assert classic_reads_ours[0][0] == 'ok' and classic_reads_ours[1][0] == 'ok'
    assert classic_reads_ours == classic_reads_classic
    write_ours(str(tmp_path / 'ours2.db'), ops)
    run_classic([{'do': 'write', 'path': str(tmp_path / 'classic2.db'), 'ops': ops}], tmp_path)
    assert read_ours(str(tmp_path / 'classic2.db'), keys) == classic_reads_classic
    assert read_ours(str(tmp_path / 'ours2.db'), keys) == classic_reads_classic


def _corruptions() -> List[Tuple[str, Callable[[bytearray], None]]]:
    def set_int(offset: int, value: int) -> Callable[[bytearray], None]:
        return lambda data: struct.pack_into('=i', data, offset, value)

    cases: List[Tuple[str, Callable[[bytearray], None]]] = []
    for length in [0, 1, 2, 3, 4, 5, 10, 11, 24, 28, 100, -1, -4, -100, 2**31 - 1]:
        cases.append(('key length %d' % length, set_int(8, length)))
    for used in [-1, 0, 4, 8, 9, 12, 31, 32, 33, 40, 64, 4095, 4096, 4097, 4100, 5000, 8192, 65535, 65536, 70000]:
        cases.append(('used %d' % used, set_int(0, used)))
    cases.append(('key not utf-8', lambda data: data.__setitem__(slice(12, 14), b'\xff\xfe')))
    cases.append(('truncated', lambda data: data.__delitem__(slice(40, None))))
    cases.append(('truncated mid-entry', lambda data: data.__delitem__(slice(60, None))))

    def truncated_with_used(data: bytearray) -> None:
        del data[100:]
        struct.pack_into('=i', data, 0, 5000)

    cases.append(('truncated, used past the end', truncated_with_used))
    cases.append(('empty', lambda data: data.clear()))
    return cases


@needs_classic
def test_corrupt_files_behave_the_same(tmp_path: Path) -> None:
    d = MmapedDict(str(tmp_path / 'base.db'))
    d.write_value('k1', 1.0, 2.0)
    d.write_value('second', 3.0, 4.0)
    d.close()
    base = (tmp_path / 'base.db').read_bytes()
    names = []
    job = []
    for index, (name, corrupt) in enumerate(_corruptions()):
        data = bytearray(base)
        corrupt(data)
        for owner in ('ours', 'classic'):
            (tmp_path / ('%s_%d.db' % (owner, index))).write_bytes(bytes(data))
        names.append(name)
        job.append({'do': 'read', 'path': str(tmp_path / ('classic_%d.db' % index)), 'keys': []})
    classic_results = run_classic(job, tmp_path)
    for index, name in enumerate(names):
        ours = read_ours(str(tmp_path / ('ours_%d.db' % index)), [])
        # JSON turns tuples into lists; compare in the same shape.
        assert json.loads(json.dumps(ours)) == classic_results[index], name
