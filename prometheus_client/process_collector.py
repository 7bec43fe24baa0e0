"""Resource usage of a Linux process, read from the ``/proc`` filesystem.

:class:`ProcessCollector` exports the standard ``process_*`` series (memory,
start time, CPU time, file descriptors). On systems without ``/proc`` (macOS,
Windows) it exports nothing rather than failing.

Thread and process safety: a collector holds no mutable state after
construction except the attributes users and tests assign (``_ticks``,
``_pagesize``, ``_btime``), so concurrent ``collect()`` calls are safe. Each
call reads the files of whatever process ``pid()`` names at that moment, so
one collector works unchanged after a fork. In multiprocess mode a collector
of the current process also writes its figures into multiprocess storage, so
the aggregated view reports the whole group of processes.
"""
from __future__ import annotations

import os
from typing import Callable, List, Optional, Union

from ._group_report import group_families, multiprocess_active, report_for_the_group
from .metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from .registry import REGISTRY, Collector, CollectorRegistry

try:
    import resource

    _PAGESIZE = resource.getpagesize()
except ImportError:
    # No ``resource`` module (Windows): there is no /proc to read either, so
    # the value only has to be plausible. 4 KiB is the common page size.
    _PAGESIZE = 4096

# Fields of /proc/<pid>/stat, counted from the first field after the
# command name's closing parenthesis (field 3, "state", is index 0). The
# command name may itself contain spaces and parentheses, which is why the
# line is split after the *last* ')'. See proc(5).
_UTIME = 11  # field 14: user-mode CPU time, in clock ticks
_STIME = 12  # field 15: kernel-mode CPU time, in clock ticks
_STARTTIME = 19  # field 22: start time after boot, in clock ticks
_VSIZE = 20  # field 23: virtual memory size, in bytes
_RSS = 21  # field 24: resident set size, in pages


def _clock_ticks_per_second() -> float:
    """The kernel's USER_HZ, the unit of the CPU and start times in stat."""
    try:
        return os.sysconf('SC_CLK_TCK')
    except (AttributeError, ValueError, OSError):
        # No sysconf (Windows) or the name is unknown: Linux uses 100.
        return 100.0


def _read_boot_time(proc: str) -> Optional[float]:
    """Seconds since the epoch at boot, from the ``btime`` line of ``{proc}/stat``.

    Returns 0 when the file cannot be read (no /proc: the collector is then
    disabled) and None when it has no ``btime`` line. Raises ValueError when
    the ``btime`` value is not a number.
    """
    try:
        with open(os.path.join(proc, 'stat'), 'rb') as stat:
            for line in stat:
                if line.startswith(b'btime '):
                    return float(line.split()[1])
    except OSError:
        return 0
    return None


def _read_stat_fields(pid_dir: str) -> List[bytes]:
    """The fields of ``{pid_dir}/stat`` after the command name (OSError if unreadable)."""
    with open(os.path.join(pid_dir, 'stat'), 'rb') as stat:
        content = stat.read()
    return content.rpartition(b')')[2].split()


def _read_max_open_files(pid_dir: str) -> Optional[float]:
    """The soft "Max open files" limit from ``{pid_dir}/limits``, or None if absent.

    Raises OSError if the file is unreadable, ValueError if the limit is not a
    number (``unlimited``) and IndexError if the line is truncated.
    """
    with open(os.path.join(pid_dir, 'limits'), 'rb') as limits:
        for line in limits:
            if line.startswith(b'Max open files'):
                # "Max open files  <soft>  <hard>  files": words 0-2 are the name.
                return float(line.split()[3])
    return None


def _this_process() -> str:
    return 'self'


# How each gauge combines over the group of processes in multiprocess mode.
_GROUP_GAUGE_MODES = {
    'virtual_memory_bytes': 'livesum',
    'resident_memory_bytes': 'livesum',
    'start_time_seconds': 'livemin',
    'open_fds': 'livesum',
    'max_fds': 'livemax',
}


class ProcessCollector(Collector):
    """The standard process_* series of one process: memory, CPU time, start time, descriptors.

    Args:
        namespace: prefix of the metric names (``{namespace}_process_...``).
        pid: called at every collection; its result, converted with ``str``
            and stripped of surrounding whitespace, names the directory under
            ``proc`` to read (the default ``'self'`` is the current process).
        proc: mount point of the proc filesystem.
        registry: registered with at construction if truthy.

    ``{proc}/stat`` is read once, at construction, for the boot time.
    Construction raises ValueError if its ``btime`` line is malformed, and
    whatever ``registry.register`` raises (DuplicateTimeseries).
    """

    def __init__(
        self,
        namespace: str = '',
        pid: Callable[[], Union[int, str]] = _this_process,
        proc: str = '/proc',
        registry: Optional[CollectorRegistry] = REGISTRY,
    ) -> None:
        self._namespace = namespace
        self._pid = pid
        self._proc = proc
        self._prefix = namespace + '_process_' if namespace else 'process_'
        self._ticks = _clock_ticks_per_second()
        self._pagesize = _PAGESIZE
        self._btime = _read_boot_time(proc)
        self._group_directory: Optional[str] = None
        if pid is _this_process and self._btime and multiprocess_active():
            self._report_for_the_whole_group()
        if registry:
            registry.register(self)

    def _report_for_the_whole_group(self) -> None:
        """In multiprocess mode, every process writes its figures into storage.

        ``collect()`` then reports the group: CPU time summed over all
        processes that ever ran (a counter never goes backwards), memory and
        open descriptors summed over the live ones, the earliest live start
        time and the largest descriptor limit. Registries holding the
        aggregator get these from it and skip this collector.
        """
        prefix = self._prefix
        self._group_directory = report_for_the_group(
            self._collect_this_process,
            lambda family: _GROUP_GAUGE_MODES.get(family.name[len(prefix):], 'livesum'),
        )
        self._multiprocess_backed = True
        # The same names as in single-process mode, without scraping the
        # directory at registration.
        self.describe = self._collect_this_process

    def collect(self) -> List[Metric]:
        """The process families: this process's, or the group's in multiprocess mode."""
        if self._group_directory is None:
            return self._collect_this_process()
        prefix = self._prefix
        return group_families(self._group_directory, lambda name: name.startswith(prefix))

    def _collect_this_process(self) -> List[Metric]:
        """Read the process's files once and return the families, in a new list.

        Returns ``[]`` when the boot time is unknown (no /proc). A file group
        that cannot be read (OSError: missing process, missing file, no
        permission) is skipped: ``stat`` gives the memory, start-time and
        CPU families; ``limits`` plus ``fd/`` give the two descriptor
        families, only together. Malformed content is not hidden: a short or
        non-numeric ``stat`` raises IndexError or ValueError, as does a
        non-numeric open-files limit.
        """
        if not self._btime:
            return []
        pid_dir = os.path.join(self._proc, str(self._pid()).strip())
        result: List[Metric] = []
        try:
            stat_fields = _read_stat_fields(pid_dir)
        except OSError:
            pass
        else:
            result.extend(self._stat_families(stat_fields))
        try:
            max_fds = _read_max_open_files(pid_dir)
            open_fds = len(os.listdir(os.path.join(pid_dir, 'fd')))
        except OSError:
            pass
        else:
            # A limits file without the open-files line (never seen on a real
            # kernel) is treated like an unreadable one.
            if max_fds is not None:
                result.extend(self._fd_families(open_fds, max_fds))
        return result

    def _stat_families(self, fields: List[bytes]) -> List[Metric]:
        """Memory, start-time and CPU families from the fields of ``stat``."""
        ticks = self._ticks
        virtual_memory = float(fields[_VSIZE])
        resident_memory = float(fields[_RSS]) * self._pagesize
        start_time = float(fields[_STARTTIME]) / ticks + self._btime
        # Each time is converted on its own before the sum (not the sum of
        # ticks divided once): this is what fixes the exported float bits.
        cpu_seconds = float(fields[_UTIME]) / ticks + float(fields[_STIME]) / ticks
        prefix = self._prefix
        return [
            GaugeMetricFamily(
                prefix + 'virtual_memory_bytes',
                'Virtual memory size in bytes.',
                value=virtual_memory,
            ),
            GaugeMetricFamily(
                prefix + 'resident_memory_bytes',
                'Resident memory size in bytes.',
                value=resident_memory,
            ),
            GaugeMetricFamily(
                prefix + 'start_time_seconds',
                'Start time of the process since unix epoch in seconds.',
                value=start_time,
            ),
            CounterMetricFamily(
                prefix + 'cpu_seconds_total',
                'Total user and system CPU time spent in seconds.',
                value=cpu_seconds,
            ),
        ]

    def _fd_families(self, open_fds: int, max_fds: float) -> List[Metric]:
        """The open and maximum file-descriptor families."""
        prefix = self._prefix
        return [
            GaugeMetricFamily(
                prefix + 'open_fds',
                'Number of open file descriptors.',
                value=open_fds,
            ),
            GaugeMetricFamily(
                prefix + 'max_fds',
                'Maximum number of open file descriptors.',
                value=max_fds,
            ),
        ]


PROCESS_COLLECTOR = ProcessCollector()
