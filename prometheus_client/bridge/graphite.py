"""Push a registry to Graphite (Carbon plaintext protocol) over TCP.

Every sample becomes one line ``[<prefix>.]<name><labels> <value> <time>\\n``
with name, label names and label values sanitised to ``[a-zA-Z0-9_-]``;
labels are sorted by name and appended as ``.name.value`` pairs, or as
``;name=value`` Graphite tags when ``tags=True``. One push opens one
connection, sends the whole batch and closes it.

Thread safety: :meth:`GraphiteBridge.push` keeps no state between calls and
may run from several threads; :meth:`GraphiteBridge.start` runs pushes from
a daemon thread.

Exceptions: :meth:`GraphiteBridge.push` raises ``OSError`` when Carbon
cannot be reached, ``UnicodeEncodeError`` for a non-ASCII prefix, and
whatever collection raises. The background loop logs ``OSError`` and keeps
going.
"""
from __future__ import annotations

import logging
import re
import socket
import threading
import time
from timeit import default_timer
from typing import Callable, Optional, Tuple

from ..registry import REGISTRY, Collector

# Everything but these characters becomes '_' (Graphite uses '.' as the
# path separator and whitespace as the field separator).
_INVALID_GRAPHITE_CHARS = re.compile(r'[^a-zA-Z0-9_-]')


def _sanitize(s: str) -> str:
    """Replace every character outside ``[a-zA-Z0-9_-]`` with ``_``."""
    return _INVALID_GRAPHITE_CHARS.sub('_', s)


class _RegularPush(threading.Thread):
    """Daemon thread that calls ``pusher.push(prefix=...)`` every ``interval`` seconds.

    The first push happens at once. Slots missed because a push ran long
    are skipped, never made up in a burst. ``OSError`` from a push is logged
    and the loop continues.
    """

    def __init__(self, pusher: GraphiteBridge, interval: float, prefix: str) -> None:
        super().__init__()
        self.daemon = True
        self._pusher = pusher
        self._interval = interval
        self._prefix = prefix
        self._stopped = threading.Event()

    def run(self) -> None:
        next_push = default_timer()
        while not self._stopped.is_set():
            delay = next_push - default_timer()
            if delay > 0:
                # Event.wait may return early; the loop re-checks the clock.
                self._stopped.wait(delay)
                continue
            try:
                self._pusher.push(prefix=self._prefix)
            except OSError:
                logging.exception('Push failed')
            next_push += self._interval
            now = default_timer()
            if next_push <= now:
                # The push overran its slot(s): skip them rather than burst.
                if self._interval > 0:
                    next_push += ((now - next_push) // self._interval + 1) * self._interval
                else:
                    next_push = now

    def _stop_pushing(self) -> None:
        """Ask the loop to end after the current push (used by tests)."""
        self._stopped.set()


class GraphiteBridge:
    """Send the samples of a registry to a Carbon plaintext receiver.

    Args:
        address: ``(host, port)`` of Carbon's line receiver (usually 2003).
        registry: Anything with ``collect()``.
        timeout_seconds: Connect and send timeout of each push.
        _timer: Clock giving the push timestamp in seconds (tests inject it).
        tags: Send labels as Graphite 1.1 tags instead of path nodes.
    """

    def __init__(
        self,
        address: Tuple[str, int],
        registry: Collector = REGISTRY,
        timeout_seconds: float = 30,
        _timer: Callable[[], float] = time.time,
        tags: bool = False,
    ) -> None:
        self._address = address
        self._registry = registry
        self._tags = tags
        self._timeout = timeout_seconds
        self._timer = _timer
        self._push_thread: Optional[_RegularPush] = None

    def push(self, prefix: str = '') -> None:
        """Collect once and send every sample, timestamped with ``int(_timer())``.

        Raises:
            OSError: Carbon cannot be reached or the send fails.
            UnicodeEncodeError: ``prefix`` is not ASCII (it is not sanitised).
            Exception: whatever collection raises.
        """
        now = int(self._timer())
        prefix_str = f'{prefix}.' if prefix else ''
        output = []
        for metric in self._registry.collect():
            for s in metric.samples:
                labels = self._format_labels(s.labels)
                output.append(f'{prefix_str}{_sanitize(s.name)}{labels} {float(s.value)} {now}\n')
        payload = ''.join(output).encode('ascii')
        conn = socket.create_connection(self._address, self._timeout)
        try:
            conn.sendall(payload)
        finally:
            conn.close()

    def _format_labels(self, labels: dict) -> str:
        """``.k.v`` pairs (or ``;k=v`` tags), sorted by label name, sanitised."""
        if not labels:
            return ''
        pair = ';{}={}' if self._tags else '.{}.{}'
        return ''.join(pair.format(_sanitize(k), _sanitize(v)) for k, v in sorted(labels.items()))

    def start(self, interval: float = 60.0, prefix: str = '') -> None:
        """Push now and then every ``interval`` seconds from a daemon thread."""
        self._push_thread = _RegularPush(self, interval, prefix)
        self._push_thread.start()
