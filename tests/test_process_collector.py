"""ProcessCollector against the invented /proc tree in tests/fixtures/proc and the real /proc.

The fixture holds three processes:
  31337  stat (command name "my (odd) app"), limits (4096 open files), 7 fds
  4242   stat only
  777    limits (1024 open files) and 3 fds, no stat
and a system-wide ``stat`` whose ``btime`` is 1600000000.
"""
from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from prometheus_client import process_collector, registry
from prometheus_client.process_collector import PROCESS_COLLECTOR, ProcessCollector

FIXTURE_PROC = str(Path(__file__).parent / 'fixtures' / 'proc')
FIXTURE_BTIME = 1600000000.0
FULL_STAT = (Path(FIXTURE_PROC) / '31337' / 'stat').read_text()
FULL_LIMITS = (Path(FIXTURE_PROC) / '31337' / 'limits').read_text()


class RecordingRegistry:
    def __init__(self) -> None:
        self.registered: List[object] = []

    def register(self, collector: object) -> None:
        self.registered.append(collector)


def make_collector(pid: object, proc: str = FIXTURE_PROC, namespace: str = '') -> ProcessCollector:
    """A collector with the tick rate and page size the fixture numbers assume."""
    collector = ProcessCollector(namespace=namespace, pid=lambda: pid, proc=proc, registry=None)
    collector._ticks = 100
    collector._pagesize = 4096
    return collector


def values_by_sample(collector: ProcessCollector) -> Dict[str, float]:
    return {sample.name: sample.value for family in collector.collect() for sample in family.samples}


def make_proc(tmp_path: Path, files: Dict[str, Optional[str]], system_stat: str = 'btime 1600000000\n') -> str:
    """A /proc tree for pid 1: ``files`` maps a path under 1/ to content (None: a directory)."""
    (tmp_path / 'stat').write_text(system_stat)
    for relative, content in files.items():
        path = tmp_path / '1' / relative
        if content is None:
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    return str(tmp_path)


class TestFixtureProcess:
    def test_families_names_types_and_help_in_order(self) -> None:
        families = make_collector('31337', namespace='n').collect()
        assert [(f.name, f.type, f.documentation) for f in families] == [
            ('n_process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.'),
            ('n_process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.'),
            ('n_process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.'),
            ('n_process_cpu_seconds', 'counter', 'Total user and system CPU time spent in seconds.'),
            ('n_process_open_fds', 'gauge', 'Number of open file descriptors.'),
            ('n_process_max_fds', 'gauge', 'Maximum number of open file descriptors.'),
        ]
        for family in families:
            assert len(family.samples) == 1
            sample = family.samples[0]
            assert sample.labels == {}
            assert sample.timestamp is None and sample.exemplar is None

    def test_values(self) -> None:
        assert values_by_sample(make_collector('31337', namespace='n')) == {
            'n_process_virtual_memory_bytes': 73400320.0,
            'n_process_resident_memory_bytes': 2560 * 4096.0,
            'n_process_start_time_seconds': 987654 / 100 + FIXTURE_BTIME,
            'n_process_cpu_seconds_total': 1234 / 100 + 567 / 100,
            'n_process_open_fds': 7,
            'n_process_max_fds': 4096.0,
        }

    def test_cpu_time_sums_the_converted_times(self) -> None:
        """(utime/ticks + stime/ticks), not (utime+stime)/ticks: the float bits differ."""
        cpu = values_by_sample(make_collector('31337'))['process_cpu_seconds_total']
        assert cpu == 18.009999999999998
        assert cpu != 18.01

    def test_value_types(self) -> None:
        """Everything is a float except the descriptor count, which is an int."""
        values = values_by_sample(make_collector('31337'))
        assert type(values.pop('process_open_fds')) is int
        assert all(type(value) is float for value in values.values())

    def test_tick_rate_and_page_size_are_read_at_collection(self) -> None:
        collector = make_collector('31337')
        collector._ticks = 50
        collector._pagesize = 1024
        collector._btime = 5
        values = values_by_sample(collector)
        assert values['process_resident_memory_bytes'] == 2560 * 1024.0
        assert values['process_start_time_seconds'] == 987654 / 50 + 5
        assert values['process_cpu_seconds_total'] == 1234 / 50 + 567 / 50

    def test_no_namespace_prefix(self) -> None:
        collector = make_collector('31337')
        assert collector._prefix == 'process_'
        assert [f.name for f in collector.collect()][0] == 'process_virtual_memory_bytes'

    @pytest.mark.parametrize('pid', ['31337\n', ' 31337 ', 31337])
    def test_pid_is_stringified_and_stripped(self, pid: object) -> None:
        assert len(make_collector(pid).collect()) == 6

    def test_pid_is_called_once_per_collection(self) -> None:
        calls = []
        collector = ProcessCollector(pid=lambda: calls.append(1) or '31337', proc=FIXTURE_PROC, registry=None)
        collector.collect()
        collector.collect()
        assert len(calls) == 2

    def test_stat_only_gives_the_first_four(self) -> None:
        assert values_by_sample(make_collector('4242')) == {
            'process_virtual_memory_bytes': 12288000.0,
            'process_resident_memory_bytes': 300 * 4096.0,
            'process_start_time_seconds': 1600000120.0,
            'process_cpu_seconds_total': 0.75,
        }

    def test_limits_and_fds_without_stat_give_the_last_two(self) -> None:
        assert values_by_sample(make_collector('777')) == {
            'process_open_fds': 3,
            'process_max_fds': 1024.0,
        }

    def test_unknown_pid_gives_nothing(self) -> None:
        assert make_collector('999').collect() == []

    def test_collect_returns_a_new_list(self) -> None:
        collector = make_collector('31337')
        first = collector.collect()
        assert isinstance(first, list)
        assert collector.collect() is not first


class TestBootTime:
    def test_read_from_system_stat(self) -> None:
        collector = ProcessCollector(proc=FIXTURE_PROC, registry=None)
        assert collector._btime == FIXTURE_BTIME
        assert type(collector._btime) is float

    def test_unreadable_proc_disables_the_collector(self, tmp_path: Path) -> None:
        calls = []
        collector = ProcessCollector(pid=lambda: calls.append(1) or '1', proc=str(tmp_path / 'absent'), registry=None)
        assert collector._btime == 0
        assert collector.collect() == []
        assert calls == [], 'pid() is not consulted when disabled'

    def test_missing_btime_line_is_none(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {'stat': FULL_STAT}, system_stat='cpu 1 2 3\nbtime\t5\n btime 6\nbtimex 7\n')
        collector = ProcessCollector(pid=lambda: 1, proc=proc, registry=None)
        assert collector._btime is None
        assert collector.collect() == []

    def test_zero_btime_disables_the_collector(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {'stat': FULL_STAT}, system_stat='btime 0\n')
        assert ProcessCollector(pid=lambda: 1, proc=proc, registry=None).collect() == []

    def test_first_btime_line_wins(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {}, system_stat='ctxt 1\nbtime 17 extra\nbtime 99\n')
        assert ProcessCollector(proc=proc, registry=None)._btime == 17.0

    def test_malformed_btime_raises(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {}, system_stat='btime soon\n')
        with pytest.raises(ValueError):
            ProcessCollector(proc=proc, registry=None)


class TestFileGroups:
    """Only OSError skips a group; malformed content raises."""

    def test_limits_without_fd_directory_gives_no_fd_families(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {'stat': FULL_STAT, 'limits': FULL_LIMITS})
        assert len(make_collector(1, proc=proc).collect()) == 4

    def test_fd_directory_without_limits_gives_no_fd_families(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {'stat': FULL_STAT, 'fd': None})
        assert len(make_collector(1, proc=proc).collect()) == 4

    def test_unreadable_entries_are_skipped(self, tmp_path: Path) -> None:
        """Directories where files are expected and vice versa raise OSError internally."""
        proc = make_proc(tmp_path, {'stat': None, 'limits': None, 'fd': ''})
        assert make_collector(1, proc=proc).collect() == []

    def test_empty_fd_directory(self, tmp_path: Path) -> None:
        proc = make_proc(tmp_path, {'limits': 'Max open files\t5\t6\tfiles\n', 'fd': None})
        assert values_by_sample(make_collector(1, proc=proc)) == {'process_open_fds': 0, 'process_max_fds': 5.0}

    def test_first_open_files_line_wins_and_must_start_the_line(self, tmp_path: Path) -> None:
        limits = ' Max open files 1 1\nXMax open files 2 2\nMax open files 3 4\nMax open files 5 6\n'
        proc = make_proc(tmp_path, {'limits': limits, 'fd': None})
        assert values_by_sample(make_collector(1, proc=proc))['process_max_fds'] == 3.0

    def test_command_name_with_parentheses_and_spaces(self, tmp_path: Path) -> None:
        stat = '1 (a) b) c (d) S' + ' 9' * 50 + '\n'
        proc = make_proc(tmp_path, {'stat': stat})
        assert values_by_sample(make_collector(1, proc=proc))['process_virtual_memory_bytes'] == 9.0

    @pytest.mark.parametrize(
        ('stat', 'error'),
        [
            ('', IndexError),
            ('1 (a) S 1 2 3\n', IndexError),
            (FULL_STAT.replace(' 73400320 ', ' lots '), ValueError),
        ],
    )
    def test_malformed_stat_raises(self, tmp_path: Path, stat: str, error: type) -> None:
        proc = make_proc(tmp_path, {'stat': stat})
        with pytest.raises(error):
            make_collector(1, proc=proc).collect()

    @pytest.mark.parametrize(
        ('limits', 'error'),
        [
            (FULL_LIMITS.replace('Max open files            4096', 'Max open files            unlimited'), ValueError),
            ('Max open files\n', IndexError),
        ],
    )
    def test_malformed_limits_raise_even_without_fd_directory(self, tmp_path: Path, limits: str, error: type) -> None:
        proc = make_proc(tmp_path, {'limits': limits})
        with pytest.raises(error):
            make_collector(1, proc=proc).collect()

    def test_limits_without_open_files_line_skips_the_fd_families(self, tmp_path: Path) -> None:
        """Deviation: the classic client fails with UnboundLocalError here."""
        proc = make_proc(tmp_path, {'stat': FULL_STAT, 'limits': 'Limit Soft Hard Units\n', 'fd': None})
        assert len(make_collector(1, proc=proc).collect()) == 4


class TestConstruction:
    def test_defaults(self) -> None:
        collector = ProcessCollector(registry=None)
        assert collector._namespace == ''
        assert collector._pid() == 'self'
        assert collector._proc == '/proc'
        assert collector._prefix == 'process_'
        assert collector._pagesize == process_collector._PAGESIZE

    def test_registry_default_is_the_global_registry_object(self) -> None:
        parameter = inspect.signature(ProcessCollector).parameters['registry']
        assert parameter.default is registry.REGISTRY

    def test_is_a_collector(self) -> None:
        assert registry.Collector in ProcessCollector.__mro__

    def test_registers_with_a_truthy_registry(self) -> None:
        recording = RecordingRegistry()
        collector = ProcessCollector(proc=FIXTURE_PROC, registry=recording)  # type: ignore[arg-type]
        assert recording.registered == [collector]

    def test_page_size_and_tick_rate(self) -> None:
        resource = pytest.importorskip('resource')
        assert process_collector._PAGESIZE == resource.getpagesize()
        collector = ProcessCollector(registry=None)
        if hasattr(os, 'sysconf'):
            assert collector._ticks == os.sysconf('SC_CLK_TCK')
        else:
            assert collector._ticks == 100.0

    def test_with_a_real_registry(self) -> None:
        own_registry = registry.CollectorRegistry()
        collector = ProcessCollector(namespace='n', pid=lambda: '31337', proc=FIXTURE_PROC, registry=own_registry)
        collector._ticks = 100
        assert own_registry.get_sample_value('n_process_max_fds') == 4096.0
        assert own_registry.get_sample_value('n_process_cpu_seconds_total') == 18.009999999999998

    def test_module_singleton(self) -> None:
        assert isinstance(PROCESS_COLLECTOR, ProcessCollector)
        assert PROCESS_COLLECTOR._proc == '/proc'


@pytest.mark.skipif(not sys.platform.startswith('linux') or not os.path.exists('/proc/self/stat'), reason='needs Linux /proc')
class TestRealProc:
    def test_current_process_values_are_plausible(self) -> None:
        import resource
        import time

        collector = ProcessCollector(registry=None)
        values = values_by_sample(collector)
        assert set(values) == {
            'process_virtual_memory_bytes',
            'process_resident_memory_bytes',
            'process_start_time_seconds',
            'process_cpu_seconds_total',
            'process_open_fds',
            'process_max_fds',
        }
        assert values['process_virtual_memory_bytes'] >= values['process_resident_memory_bytes'] > 0
        assert collector._btime < values['process_start_time_seconds'] <= time.time() + 1
        assert values['process_cpu_seconds_total'] > 0
        assert values['process_open_fds'] >= 1
        assert values['process_max_fds'] == float(resource.getrlimit(resource.RLIMIT_NOFILE)[0])

    def test_self_and_own_pid_agree(self) -> None:
        by_self = values_by_sample(ProcessCollector(registry=None))
        by_pid = values_by_sample(ProcessCollector(pid=os.getpid, registry=None))
        assert by_self['process_start_time_seconds'] == by_pid['process_start_time_seconds']
        assert by_self['process_max_fds'] == by_pid['process_max_fds']


# --- Differential check against the classic client (black box, subprocess) ----------------

CLASSIC_PYTHON = os.environ.get('CLASSIC_PYTHON', '/tmp/classic/bin/python')

# Runs inside the classic client's interpreter: collects each (proc, pid) of
# the JSON job from stdin and prints the outcomes as JSON.
_CLASSIC_SCRIPT = r'''
import json, sys
from prometheus_client.process_collector import ProcessCollector
def describe(proc, pid):
    try:
        collector = ProcessCollector(namespace='n', pid=lambda: pid, proc=proc, registry=None)
        collector._ticks = 100
        collector._pagesize = 4096
        return ['ok', repr(collector._btime), [
            [f.name, f.type, f.documentation, [[s.name, s.labels, repr(s.value)] for s in f.samples]]
            for f in collector.collect()]]
    except Exception as e:
        return ['error', type(e).__name__, str(e)]
print(json.dumps([describe(proc, pid) for proc, pid in json.load(sys.stdin)]))
'''


def describe_ours(proc: str, pid: str) -> List[object]:
    try:
        collector = make_collector(pid, proc=proc, namespace='n')
        return ['ok', repr(collector._btime), [
            [f.name, f.type, f.documentation, [[s.name, s.labels, repr(s.value)] for s in f.samples]]
            for f in collector.collect()]]
    except Exception as e:  # noqa: BLE001 - the outcome is compared, whatever it is
        return ['error', type(e).__name__, str(e)]


@pytest.mark.skipif(not os.path.exists(CLASSIC_PYTHON), reason='classic client virtualenv not available')
def test_same_results_as_the_classic_client(tmp_path: Path) -> None:
    import json
    import subprocess

    cases = [(FIXTURE_PROC, pid) for pid in ['31337', '31337\n', '4242', '777', '999', '']]
    trees = {
        'no_btime': ({'stat': FULL_STAT}, 'cpu 1\n'),
        'bad_btime': ({'stat': FULL_STAT}, 'btime x\n'),
        'short_stat': ({'stat': '1 (a) S 2\n'}, 'btime 5\n'),
        'bad_stat': ({'stat': FULL_STAT.replace(' 567 ', ' x ')}, 'btime 5\n'),
        'no_paren': ({'stat': '1 a S' + ' 3' * 60}, 'btime 5\n'),
        'unlimited': ({'limits': FULL_LIMITS.replace(' 4096 ', ' unlimited '), 'fd': None}, 'btime 5\n'),
        'unlimited_no_fd': ({'limits': FULL_LIMITS.replace(' 4096 ', ' unlimited ')}, 'btime 5\n'),
        'tabs': ({'limits': 'Max open files\t9\t9\n', 'fd': None, 'stat': FULL_STAT}, 'btime\t3\nbtime 7\n'),
        'dirs': ({'stat': None, 'limits': None, 'fd': ''}, 'btime 5\n'),
    }
    for name, (files, system_stat) in trees.items():
        root = tmp_path / name
        root.mkdir()
        cases.append((make_proc(root, files, system_stat=system_stat), '1'))
    cases.append((str(tmp_path / 'absent'), '1'))
    completed = subprocess.run(
        [CLASSIC_PYTHON, '-I', '-c', _CLASSIC_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        check=True,
    )
    classic = json.loads(completed.stdout)
    for (proc, pid), expected in zip(cases, classic):
        assert json.loads(json.dumps(describe_ours(proc, pid))) == expected, (proc, pid)
