"""``make_aiohttp_handler``: an aiohttp handler over the shared render path.

Content negotiation and ``name[]`` filtering are those of every other
transport (:func:`prometheus_client.render.render`); compression is left to
aiohttp (``Response.enable_compression()``), which picks gzip or deflate from
the request's Accept-Encoding, so the library's own gzip is never applied.
Rendering runs in the event loop's default executor, so a large registry
never blocks other requests.

Thread safety: the handler keeps no state; concurrent requests render in
separate executor threads.

Exceptions: errors raised while rendering propagate to aiohttp, which
answers 500.
"""
from __future__ import annotations

import asyncio
import functools
from typing import Awaitable, Callable

from aiohttp import hdrs, web

from ..registry import REGISTRY, Collector
from ..render import render, status_code


def make_aiohttp_handler(
    registry: Collector = REGISTRY,
    disable_compression: bool = False,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Build an aiohttp handler serving ``registry`` on whatever route it is added to.

    Args:
        registry: Anything with ``collect()``.
        disable_compression: Do not let aiohttp compress the response.
    """

    async def prometheus_handler(request: web.Request) -> web.Response:
        params = {key: request.query.getall(key) for key in request.query.keys()}
        accept_header = ','.join(request.headers.getall(hdrs.ACCEPT, []))
        # Accept-Encoding is deliberately withheld: aiohttp compresses below.
        status, headers, body = await asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(render, registry, accept_header, '', params, disable_compression),
        )
        response = web.Response(status=status_code(status), headers=headers, body=body)
        if not disable_compression:
            response.enable_compression()
        return response

    return prometheus_handler
