"""The one render path shared by every HTTP adapter.

Transport layer core: negotiation + restriction + encoding + compression,
with no knowledge of any server framework. WSGI, ``MetricsHandler``, ASGI,
aiohttp, Django and Twisted call :func:`render` (through
``exposition._bake_output``) and only translate its result.

Thread/process safety: safe to call concurrently; it holds no state of its
own (collection and encoding are thread-safe).
"""
from __future__ import annotations

import gzip
from typing import Any, List, Mapping, Optional, Tuple

from .encoders.negotiation import negotiate


def render(
    registry: Any,
    accept_header: Optional[str],
    accept_encoding_header: Optional[str],
    params: Mapping[str, Any],
    disable_compression: bool = False,
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    """Render a scrape response: ``('200 OK', headers, body)``.

    Args:
        registry: Anything with ``collect()``. When ``params`` has a
            ``'name[]'`` key, ``registry.restricted_registry(params['name[]'])``
            is rendered instead (a list from ``parse_qs``; a Django QueryDict
            gives its last value, a string).
        accept_header: The request's Accept header, or None.
        accept_encoding_header: The request's Accept-Encoding header, or None.
        params: Query parameters as ``urllib.parse.parse_qs`` returns them.
        disable_compression: Never gzip, whatever the client accepts.

    Returns:
        The status line ``'200 OK'``; headers starting with
        ``('Content-Type', ...)``, plus ``('Content-Encoding', 'gzip')`` when
        the body is gzip-compressed; the body.

    Raises:
        TypeError: a non-numeric ``version=`` in the Accept header.
        Exception: whatever collection or encoding raises.
    """
    encoder, content_type, use_gzip = negotiate(accept_header, accept_encoding_header,
                                                disable_compression)
    if 'name[]' in params:
        registry = registry.restricted_registry(params['name[]'])
    body = encoder(registry)
    headers = [('Content-Type', content_type)]
    if use_gzip:
        body = gzip.compress(body)
        headers.append(('Content-Encoding', 'gzip'))
    return '200 OK', headers, body


def status_code(status: str) -> int:
    """The integer code of a WSGI-style status line such as ``'200 OK'``."""
    return int(status.split(' ', 1)[0])
