"""The per-process file of the multiprocess engine: layout, writer, reader.

One file per process, named ``<pid>-<unique>.db`` in the multiprocess
directory (the pid lets ``mark_process_dead(pid)`` find it; the unique part
defeats pid reuse). The file is created under a temporary name, locked with
``flock(LOCK_EX)``, initialised and only then renamed into place; its owner
keeps the lock for its whole life, so whoever can take the lock knows the
owner is dead, whatever its pid and however it died.

Layout (little-endian, everything 8-byte aligned)::

    header (64 bytes)
      0  8s   magic b"PROMMP\\x02\\x00"
      8  u32  format version (2)
     12  u32  header size (64)
     16  u64  owner pid
     24  f64  owner start time (unix seconds)
     32  f64  published end: byte offset where readers must stop
     40  u64  chunk size
     48  f64  removals: incremented each time a record is flagged removed
     56  f64  always 0.0 (readers use it as "no value here")
    records, appended, never moved or rewritten (except slots and flags)
      0  u32  record size in bytes (a multiple of 8, header included)
      4  u32  identity length in bytes (0: a padding record, skip it)
      8  u32  slot count
     12  u32  flags (bit 0: the series was removed, readers skip it;
                     bit 1: a descriptor record)
     16  identity, zero-padded to 8 bytes
         slots: slot count float64 values

A *descriptor* record (no slots) holds what the series of one sample name
share, as UTF-8 JSON ``[type, family, sample name, label names, help,
mode]``; descriptors are numbered 0, 1, ... in file order. A *series*
record's identity is the u32 number of its descriptor followed by the JSON
list of its label values. Keeping the shared part once per file keeps
records small (a typical counter series takes 56 bytes) and lets readers
intern a series by its raw identity bytes without decoding JSON.

The file grows in whole chunks, each mapped on its own, so a slot never
moves once a metric holds a view of it; a record never straddles two
chunks (the tail of a chunk is a padding record, or skipped without one
when it is shorter than a record header). The writer appends a
record, then stores the new published end with release ordering; readers
never look past the published end, so they never see half a record.

Thread safety: a :class:`ProcessFile` serialises allocation with its own
lock. Slot updates go through :class:`~prometheus_client.storage.Cell` and
need no lock. Process safety: only the owner writes; any process may read.
"""
from __future__ import annotations

import fcntl
import json
import mmap
import os
import struct
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

from . import Cell, load

MAGIC = b"PROMMP\x02\x00"
FORMAT_VERSION = 2
HEADER = struct.Struct("<8sIIQddQ")
HEADER_SIZE = 64
PUBLISHED_END_OFFSET = 32
REMOVALS_OFFSET = 48
# The float64 index of a header word that is always 0.0.
ZERO_SLOT_INDEX = 7
RECORD_HEADER = struct.Struct("<IIII")
RECORD_HEADER_SIZE = RECORD_HEADER.size
RECORD_HEADER_FLAGS = struct.Struct("<I")
REMOVED = 1
DESCRIPTOR = 2
DESCRIPTOR_NUMBER = struct.Struct("<I")
DEFAULT_CHUNK_SIZE = 1 << 20
FILE_SUFFIX = ".db"


class CorruptFileError(ValueError):
    """A file in the multiprocess directory is not a readable process file."""


def _padded(length: int) -> int:
    return (length + 7) & ~7


def process_file_name(pid: int, unique: str) -> str:
    return "%d-%s%s" % (pid, unique, FILE_SUFFIX)


def parse_process_file_name(name: str) -> Optional[int]:
    """The pid in a process file's name, or None if it is not one."""
    if not name.endswith(FILE_SUFFIX):
        return None
    pid, dash, unique = name[: -len(FILE_SUFFIX)].partition("-")
    if not dash or not pid.isdigit() or not unique:
        return None
    return int(pid)


class ProcessFile:
    """The owner's side: creates, locks and appends to this process's file.

    Raises OSError when the directory is missing or not writable (callers
    degrade to process-local slots, see ``storage.shared``).
    """

    def __init__(self, directory: str, pid: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.directory = directory
        self.pid = pid
        self.chunk_size = chunk_size
        self._lock = threading.Lock()
        self._chunks: List[mmap.mmap] = []
        unique = os.urandom(6).hex()
        self.name = process_file_name(pid, unique)
        self.path = os.path.join(directory, self.name)
        temporary = self.path + ".tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, chunk_size)
            self._fd = fd
            self._map_chunk(0)
            HEADER.pack_into(
                self._chunks[0], 0, MAGIC, FORMAT_VERSION, HEADER_SIZE, pid, time.time(), 0.0, chunk_size
            )
            self._published = Cell(self._chunks[0], PUBLISHED_END_OFFSET)
            self._removals = Cell(self._chunks[0], REMOVALS_OFFSET)
            self._descriptor_numbers: Dict[bytes, int] = {}
            self._end = HEADER_SIZE
            self._published.set(float(self._end))
            os.rename(temporary, self.path)
        except BaseException:
            self._release_maps()
            os.close(fd)
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    def _map_chunk(self, index: int) -> None:
        self._chunks.append(mmap.mmap(self._fd, self.chunk_size, offset=index * self.chunk_size))

    def allocate(
        self, descriptor: bytes, labelvalues: bytes, slot_count: int
    ) -> Tuple[Tuple[mmap.mmap, int, int], List[Tuple[mmap.mmap, int]]]:
        """Append the record of one series (and its descriptor, the first time).

        ``descriptor`` and ``labelvalues`` come from :func:`encode_descriptor`
        and :func:`encode_labelvalues`. Returns (chunk, offset in chunk,
        offset in file) of the record and (chunk, offset in chunk) of each
        of its slots.

        Raises ValueError when one record would not fit in a chunk, OSError
        when the file cannot grow (disk full).
        """
        with self._lock:
            number = self._descriptor_numbers.get(descriptor)
            if number is None:
                self._append(descriptor, 0, DESCRIPTOR)
                number = self._descriptor_numbers[descriptor] = len(self._descriptor_numbers)
            return self._append(DESCRIPTOR_NUMBER.pack(number) + labelvalues, slot_count, 0)

    def _append(
        self, identity: bytes, slot_count: int, flags: int
    ) -> Tuple[Tuple[mmap.mmap, int, int], List[Tuple[mmap.mmap, int]]]:
        size = RECORD_HEADER_SIZE + _padded(len(identity)) + 8 * slot_count
        if size > self.chunk_size - HEADER_SIZE:
            raise ValueError("a series identity of %d bytes does not fit in a chunk" % len(identity))
        chunk_index, offset = divmod(self._end, self.chunk_size)
        if offset + size > self.chunk_size:
            self._pad_to_next_chunk(chunk_index, offset)
            chunk_index, offset = divmod(self._end, self.chunk_size)
        if chunk_index == len(self._chunks):  # the last record ended exactly on a chunk boundary
            self._grow()
        chunk = self._chunks[chunk_index]
        RECORD_HEADER.pack_into(chunk, offset, size, len(identity), slot_count, flags)
        start = offset + RECORD_HEADER_SIZE
        chunk[start:start + len(identity)] = identity
        first_slot = start + _padded(len(identity))
        self._end += size
        self._published.set(float(self._end))
        record = (chunk, offset, chunk_index * self.chunk_size + offset)
        return record, [(chunk, first_slot + 8 * i) for i in range(slot_count)]

    def _pad_to_next_chunk(self, chunk_index: int, offset: int) -> None:
        """Fill the rest of a chunk with a padding record; the next record starts the next chunk."""
        remaining = self.chunk_size - offset
        if remaining >= RECORD_HEADER_SIZE:  # readers skip a shorter tail without a header
            RECORD_HEADER.pack_into(self._chunks[chunk_index], offset, remaining, 0, 0, 0)
        self._end += remaining

    def _grow(self) -> None:
        """Extend the file by one chunk and map it (existing mappings never move)."""
        os.ftruncate(self._fd, (len(self._chunks) + 1) * self.chunk_size)
        self._map_chunk(len(self._chunks))

    def mark_removed(self, record: Tuple[mmap.mmap, int, int]) -> None:
        """Flag a record as removed: readers and compaction skip it from now on."""
        chunk, offset, _ = record
        RECORD_HEADER_FLAGS.pack_into(chunk, offset + 12, REMOVED)
        self._removals.inc(1.0)  # after the flag: a reader that sees the count sees the flag

    def _release_maps(self) -> None:
        for chunk in self._chunks:
            try:
                chunk.close()
            except BufferError:  # cells still view it; it goes when they go
                pass
        self._chunks = []

    def abandon(self) -> None:
        """Forget the file without touching it (in a forked child).

        Closes the inherited descriptor (so the child never holds its
        parent's lock) and drops the mappings the child no longer uses.
        """
        self._release_maps()
        try:
            os.close(self._fd)
        except OSError:
            pass


class ProcessFileSnapshot:
    """A reader's view of one process file, parsed incrementally.

    Each call to :meth:`refresh` parses only the records published since the
    previous call; identities are decoded once for the life of the file.
    Raises :class:`CorruptFileError` for a file that is not a process file
    or whose records are inconsistent.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            header = os.pread(self._fd, HEADER_SIZE, 0)
            if len(header) < HEADER_SIZE:
                raise CorruptFileError("truncated header")
            magic, version, header_size, pid, start_time, _, chunk_size = HEADER.unpack_from(header)
            if magic != MAGIC or version != FORMAT_VERSION or header_size != HEADER_SIZE or chunk_size <= 0:
                raise CorruptFileError("not a process file of this format")
            self.pid = pid
            self.start_time = start_time
            self.chunk_size = chunk_size
            self._map: Optional[mmap.mmap] = None
            self._parsed_end = HEADER_SIZE
            # Decoded descriptors, by number: (type, family, sample, label names, help, mode).
            self.descriptors: List[Descriptor] = []
            # Series records in file order: (descriptor number, label values
            # JSON bytes, index of the first slot in float64 units, slot
            # count, record offset in the file).
            self.series: List[Tuple[int, bytes, int, int, int]] = []
        except BaseException:
            os.close(self._fd)
            raise

    def is_owner_alive(self) -> bool:
        """False when the owner's lock is free: the owner is dead."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        return False

    def _mapping(self, end: int) -> mmap.mmap:
        if self._map is None or len(self._map) < end:
            size = os.fstat(self._fd).st_size
            if size < end:
                raise CorruptFileError("published end %d beyond the file size %d" % (end, size))
            if self._map is not None:
                self._map.close()
            self._map = mmap.mmap(self._fd, size, access=mmap.ACCESS_READ)
        return self._map

    def refresh(self) -> mmap.mmap:
        """Parse newly published records; return the mapping to read slots from."""
        header = os.pread(self._fd, HEADER_SIZE, 0)
        if len(header) < HEADER_SIZE:
            raise CorruptFileError("truncated header")
        end = struct.unpack_from("<d", header, PUBLISHED_END_OFFSET)[0]
        if end != end or end < HEADER_SIZE or end % 8 or end > 1 << 48:
            raise CorruptFileError("bad published end %r" % end)
        end = int(end)
        mapping = self._mapping(end)
        position = self._parsed_end
        unpack_header = RECORD_HEADER.unpack_from
        descriptors = self.descriptors
        series = self.series
        chunk_size = self.chunk_size
        while position < end:
            tail = chunk_size - position % chunk_size
            if tail < RECORD_HEADER_SIZE:  # too short for a padding record: skipped
                position += tail
                continue
            if end - position < RECORD_HEADER_SIZE:
                raise CorruptFileError("truncated record at %d" % position)
            size, identity_length, slot_count, flags = unpack_header(mapping, position)
            padded = (identity_length + 7) & ~7
            if (
                size < RECORD_HEADER_SIZE
                or size % 8
                or position + size > end
                or (identity_length and size != RECORD_HEADER_SIZE + padded + 8 * slot_count)
            ):
                raise CorruptFileError("bad record at %d" % position)
            if identity_length:
                start = position + RECORD_HEADER_SIZE
                if flags & DESCRIPTOR:
                    try:
                        descriptors.append(decode_descriptor(mapping[start:start + identity_length]))
                    except (UnicodeDecodeError, ValueError, TypeError):
                        raise CorruptFileError("bad descriptor at %d" % position) from None
                else:
                    number = DESCRIPTOR_NUMBER.unpack_from(mapping, start)[0] if identity_length >= 4 else -1
                    if not 0 <= number < len(descriptors):
                        raise CorruptFileError("bad descriptor number at %d" % position)
                    series.append(
                        (number, mapping[start + 4:start + identity_length], (start + padded) // 8, slot_count, position)
                    )
            position += size
        self._parsed_end = position
        return mapping

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        os.close(self._fd)


# A series identity: (type, family name, sample name, label names, label
# values, help, gauge mode).
Identity = Tuple[str, str, str, Tuple[str, ...], Tuple[str, ...], str, str]
# What the series of one sample name share: an identity without its label values.
Descriptor = Tuple[str, str, str, Tuple[str, ...], str, str]


# A mode starting with this prefix marks a series written for a per-group
# report (the process collector's figures): it is merged with the base mode
# that follows the prefix, but only a reader asking for group families shows
# it, so the classic per-request MultiProcessCollector output is unchanged.
GROUP_PREFIX = "group:"


def split_mode(mode: str) -> Tuple[str, bool]:
    """(base mode, whether the series belongs to a group report)."""
    if mode.startswith(GROUP_PREFIX):
        return mode[len(GROUP_PREFIX):], True
    return mode, False


def encode_descriptor(descriptor: Descriptor) -> bytes:
    """The canonical JSON bytes of a descriptor (compact, stable)."""
    return json.dumps(list(descriptor), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_descriptor(data: bytes) -> Descriptor:
    """Inverse of :func:`encode_descriptor`; ValueError/TypeError when malformed."""
    typ, family, sample, labelnames, help_text, mode = json.loads(data)
    if not isinstance(labelnames, list):
        raise ValueError("bad label names")
    return (str(typ), str(family), str(sample), tuple(str(n) for n in labelnames), str(help_text), str(mode))


def encode_labelvalues(labelvalues: Sequence[str]) -> bytes:
    """The canonical JSON bytes of a series' label values.

    Readers intern series by these bytes, so every writer (and the archive)
    must encode through this one function.
    """
    return json.dumps(list(labelvalues), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_labelvalues(data: bytes, count: int) -> Tuple[str, ...]:
    """Inverse of :func:`encode_labelvalues`; ValueError/TypeError when malformed or not ``count`` long."""
    values = json.loads(data)
    if not isinstance(values, list) or len(values) != count:
        raise ValueError("bad label values")
    return tuple(str(v) for v in values)


def series_record_size(labelvalues: Sequence[str], slot_count: int) -> int:
    """Bytes a series record with these label values takes in a file."""
    return RECORD_HEADER_SIZE + _padded(4 + len(encode_labelvalues(labelvalues))) + 8 * slot_count


def read_slots(mapping: mmap.mmap, first_slot: int, slot_count: int) -> List[float]:
    """The values of a record's slots, each read atomically."""
    return [load(mapping, 8 * (first_slot + i)) for i in range(slot_count)]


# Exemplar records: descriptor (EXEMPLAR_TYPE, "", "", ("record",), "", ""),
# label values [<file offset of the series record, as text>], slots [sequence, payload length, payload...]. The
# owner writes under a sequence lock (odd while writing); the payload is the
# JSON [labels, value, timestamp].
EXEMPLAR_TYPE = "@exemplar"
EXEMPLAR_PAYLOAD_BYTES = 1024
EXEMPLAR_SLOTS = 2 + EXEMPLAR_PAYLOAD_BYTES // 8


def read_exemplar(mapping: mmap.mmap, first_slot: int) -> Optional[Tuple[dict, float, Optional[float]]]:
    """The (labels, value, timestamp) in an exemplar record, or None if unset or unreadable."""
    position = 8 * first_slot
    for _ in range(3):
        before = load(mapping, position)
        if before == 0:
            return None
        if int(before) % 2:
            continue  # being written: try again
        length = min(int(load(mapping, position + 8)), EXEMPLAR_PAYLOAD_BYTES)
        payload = mapping[position + 16:position + 16 + length]
        if load(mapping, position) != before:
            continue
        try:
            labels, value, timestamp = json.loads(payload)
            return dict(labels), float(value), None if timestamp is None else float(timestamp)
        except (ValueError, TypeError):
            return None
    return None


def removals(mapping: mmap.mmap) -> float:
    """How many times the owner has flagged a record removed (grows only)."""
    return load(mapping, REMOVALS_OFFSET)


def is_removed(mapping: mmap.mmap, record_position: int) -> bool:
    """Whether the owner flagged the record at this file offset as removed."""
    return bool(RECORD_HEADER_FLAGS.unpack_from(mapping, record_position + 12)[0] & REMOVED)
