"""A string-keyed dict of ``(value, timestamp)`` pairs in a memory-mapped file.

This module reads and writes the multiprocess file format of the classic
client, byte for byte, so that files can be exchanged with it; the project's
own multiprocess engine uses a different format.

File layout (all numbers in native byte order, no alignment padding)::

    offset 0   int32   used: bytes in use, including this 8-byte header
    offset 4   4 bytes padding
    offset 8   entries, each:
                 int32     length of the key in bytes (L)
                 L bytes   the key, UTF-8
                 P bytes   spaces, 1 <= P <= 8, so that 4 + L + P is a
                           multiple of 8 (the doubles are 8-byte aligned)
                 double    value
                 double    timestamp

The file is pre-extended (zero-filled) to 64 KiB and doubles in size
whenever an entry does not fit. Entries are only ever appended; a key's
position never changes, so its doubles are updated in place.

Thread and process safety: none. A :class:`MmapedDict` must be used by one
thread at a time, and a file has a single writer (its owning process);
another process may read it while it is written, but can then see a torn
entry.
"""
from __future__ import annotations

import json
import mmap
import os
import struct
from typing import BinaryIO, Dict, Iterator, List, Optional, Tuple, Union

_INITIAL_MMAP_SIZE = 1 << 16

_HEADER_SIZE = 8
_INTEGER = struct.Struct('=i')
_TWO_DOUBLES = struct.Struct('=dd')

_Buffer = Union[bytes, bytearray, mmap.mmap]


def _padded_key(encoded_key: bytes) -> bytes:
    """The key followed by 1 to 8 spaces, so that 4 + len(result) is a multiple of 8."""
    return encoded_key + b' ' * (8 - (len(encoded_key) + 4) % 8)


def _read_entries(data: _Buffer, used: int) -> Iterator[Tuple[str, float, float, int]]:
    """Yield ``(key, value, timestamp, value_offset)`` for the entries below ``used``.

    Raises RuntimeError when a key length points past ``used``,
    UnicodeDecodeError for a key that is not UTF-8 and struct.error when an
    entry's doubles lie past the end of ``data``.
    """
    pos = _HEADER_SIZE
    while pos < used:
        key_length = _INTEGER.unpack_from(data, pos)[0]
        if pos + key_length > used:
            raise RuntimeError('Read beyond file size detected, file is corrupted.')
        pos += _INTEGER.size
        key = data[pos:pos + key_length].decode('utf-8')
        # The same padding rule as the writer, applied to the stored length
        # (Python's modulo keeps it in 1..8 even for a corrupt negative one).
        pos += key_length + (8 - (key_length + 4) % 8)
        value, timestamp = _TWO_DOUBLES.unpack_from(data, pos)
        yield key, value, timestamp, pos
        pos += _TWO_DOUBLES.size


class MmapedDict:
    """A dict of ``key -> (value, timestamp)`` backed by a memory-mapped file.

    Args:
        filename: created if missing (unless ``read_mode``); an empty file
            is extended to 64 KiB and given a header.
        read_mode: open read-only. Only :meth:`read_all_values` and
            :meth:`close` are then usable: the key index is not built, so
            :meth:`read_value` tries to add the key and raises TypeError.

    Raises OSError when the file cannot be opened or extended (an empty file
    in ``read_mode`` cannot be: io.UnsupportedOperation), struct.error for a
    file shorter than its header, and, when opening an existing file for
    writing, whatever :meth:`read_all_values` raises for a corrupt one.

    Not thread-safe (see the module docstring). Attribute ``_m`` is the map
    itself; it and the file are released by :meth:`close`.
    """

    def __init__(self, filename: str, read_mode: bool = False) -> None:
        f = open(filename, 'rb' if read_mode else 'a+b')
        self._f: Optional[BinaryIO] = f
        self._fname = filename
        self._m: Optional[mmap.mmap] = None
        try:
            self._open_map(f, read_mode)
        except BaseException:
            self.close()
            raise

    def _open_map(self, f: BinaryIO, read_mode: bool) -> None:
        """Map the file, initialising an empty one and indexing an existing one."""
        capacity = os.fstat(f.fileno()).st_size
        if capacity == 0:
            f.truncate(_INITIAL_MMAP_SIZE)
            capacity = _INITIAL_MMAP_SIZE
        self._capacity = capacity
        access = mmap.ACCESS_READ if read_mode else mmap.ACCESS_WRITE
        m = self._m = mmap.mmap(f.fileno(), capacity, access=access)
        self._positions: Dict[str, int] = {}
        self._used: int = _INTEGER.unpack_from(m, 0)[0]
        if self._used == 0:
            self._used = _HEADER_SIZE
            _INTEGER.pack_into(m, 0, self._used)
        elif not read_mode:
            for key, _, _, pos in _read_entries(m, self._used):
                self._positions[key] = pos

    @staticmethod
    def read_all_values_from_file(filename: str) -> Iterator[Tuple[str, float, float, int]]:
        """Yield ``(key, value, timestamp, value_offset)`` for every entry of a file.

        When iteration starts, reads the used part of the file into memory
        (at least one page), without mapping or locking it. Raises OSError if
        it cannot be read, struct.error if it is shorter than the header or
        than its entries, plus the errors of :meth:`read_all_values`.
        """
        with open(filename, 'rb') as f:
            # One page holds the header and, for most files, every entry.
            data = f.read(mmap.PAGESIZE)
            used = _INTEGER.unpack_from(data, 0)[0]
            if used > len(data):
                data += f.read(used - len(data))
        yield from _read_entries(data, used)

    def _init_value(self, key: str) -> None:
        """Append a zeroed entry for ``key``, growing the file as needed."""
        encoded_key = key.encode('utf-8')
        entry = (
            _INTEGER.pack(len(encoded_key))
            + _padded_key(encoded_key)
            + _TWO_DOUBLES.pack(0.0, 0.0)
        )
        while self._used + len(entry) > self._capacity:
            self._grow()
        # Write the entry before publishing it through the header, so a
        # concurrent reader never sees "used" cover bytes not yet written.
        self._m[self._used:self._used + len(entry)] = entry  # type: ignore[index]
        self._used += len(entry)
        _INTEGER.pack_into(self._m, 0, self._used)  # type: ignore[arg-type]
        self._positions[key] = self._used - _TWO_DOUBLES.size

    def _grow(self) -> None:
        """Double the file and map it again."""
        self._capacity *= 2
        self._f.truncate(self._capacity)  # type: ignore[union-attr]
        old_map, self._m = self._m, mmap.mmap(self._f.fileno(), self._capacity)  # type: ignore[union-attr]
        old_map.close()  # type: ignore[union-attr]

    def read_all_values(self) -> Iterator[Tuple[str, float, float]]:
        """Yield ``(key, value, timestamp)`` for every entry, in file order.

        Raises RuntimeError('Read beyond file size detected, file is
        corrupted.') when a key length points past the used bytes,
        UnicodeDecodeError for a key that is not UTF-8, and TypeError once
        closed.
        """
        for key, value, timestamp, _ in _read_entries(self._m, self._used):  # type: ignore[arg-type]
            yield key, value, timestamp

    def read_value(self, key: str) -> Tuple[float, float]:
        """Return ``(value, timestamp)`` for ``key``, adding a ``(0.0, 0.0)`` entry if absent.

        Raises TypeError once closed or when the key is new in read mode.
        """
        if key not in self._positions:
            self._init_value(key)
        pos = self._positions[key]
        return _TWO_DOUBLES.unpack_from(self._m, pos)  # type: ignore[arg-type,return-value]

    def write_value(self, key: str, value: float, timestamp: float) -> None:
        """Store ``(value, timestamp)`` for ``key``, adding the entry if absent.

        Raises TypeError once closed, in read mode, or for non-numbers.
        """
        if key not in self._positions:
            self._init_value(key)
        pos = self._positions[key]
        _TWO_DOUBLES.pack_into(self._m, pos, value, timestamp)  # type: ignore[arg-type]

    def close(self) -> None:
        """Unmap and close the file; calling it again does nothing."""
        if self._f:
            if self._m is not None:
                self._m.close()
                self._m = None
            self._f.close()
            self._f = None


def mmap_key(metric_name: str, name: str, labelnames: List[str], labelvalues: List[str], help_text: str) -> str:
    """The entry key of one sample: a JSON array, label keys sorted.

    >>> mmap_key('c', 'c_total', ['b', 'a'], ['1', '2'], 'help')
    '["c", "c_total", {"a": "2", "b": "1"}, "help"]'
    """
    labels = dict(zip(labelnames, labelvalues))
    return json.dumps([metric_name, name, labels, help_text], sort_keys=True)
