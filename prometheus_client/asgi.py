"""ASGI application that serves a registry.

A thin adapter over the shared render path
(:func:`prometheus_client.render.render`): it reads the query string and
the Accept / Accept-Encoding headers from the scope, waits for the request
message, renders in a worker thread of the event loop's default executor (so
collecting a large registry never blocks other requests on the loop) and
sends the response.

Thread safety: the app keeps no state; any number of requests may run at
once, each rendering in its own executor thread.

Exceptions: a scope whose type is not ``"http"`` raises ``AssertionError``;
errors raised while rendering propagate out of the app (ASGI servers turn
them into a 500 response).
"""
from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Dict, Iterable, Tuple
from urllib.parse import parse_qs

from .registry import REGISTRY, Collector
from .render import render, status_code

Scope = Dict[str, Any]
Message = Dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _joined_header(raw_headers: Iterable[Tuple[bytes, bytes]], wanted: str) -> str:
    """Join every value of header ``wanted`` (lower-case name) with ``,``."""
    # Latin-1 maps every byte, so odd client bytes can never fail decoding.
    return ','.join(
        value.decode('latin-1')
        for name, value in raw_headers
        if name.decode('latin-1').lower() == wanted
    )


def make_asgi_app(registry: Collector = REGISTRY, disable_compression: bool = False) -> Callable:
    """Build an ASGI 3 application serving ``registry``.

    Method and path are ignored: every HTTP request gets the metrics. The
    app awaits one ``receive()``; if that message is ``http.request`` it
    sends ``http.response.start`` then one ``http.response.body``, otherwise
    (a client that already disconnected) it sends nothing.

    Args:
        registry: Anything with ``collect()``.
        disable_compression: Never gzip, whatever the client accepts.

    Raises (from the app):
        AssertionError: ``scope['type']`` is not ``"http"`` (websocket,
            lifespan ...).
        Exception: whatever rendering raises.
    """

    # Imported here, not with the package: programs that never serve ASGI
    # (sync workers, batch jobs) do not pay for loading asyncio.
    from asyncio import get_running_loop

    async def prometheus_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get('type') != 'http':
            raise AssertionError(f"prometheus_client ASGI app only serves 'http' scopes, not {scope.get('type')!r}")
        params = parse_qs(scope.get('query_string', b'').decode('utf8'))
        raw_headers = scope.get('headers') or ()
        accept_header = _joined_header(raw_headers, 'accept')
        accept_encoding_header = _joined_header(raw_headers, 'accept-encoding')

        message = await receive()
        if message.get('type') != 'http.request':
            return
        status, headers, body = await get_running_loop().run_in_executor(
            None,
            functools.partial(render, registry, accept_header, accept_encoding_header, params, disable_compression),
        )
        await send({
            'type': 'http.response.start',
            'status': status_code(status),
            'headers': [(name.encode('utf8'), value.encode('utf8')) for name, value in headers],
        })
        await send({'type': 'http.response.body', 'body': body})

    return prometheus_app
