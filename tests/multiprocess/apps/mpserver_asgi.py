"""ASGI app for the real-server multiprocess tests (uvicorn --workers).

A tiny pure-ASGI router, no framework: ``/metrics`` is ``make_asgi_app()``
(the default registry, not instrumented); any other path is an
instrumented request answered with ``pid=<worker pid>``
(``app_requests_total{path}``, ``app_in_progress`` livesum,
``app_latency_seconds``). Lifespan events are acknowledged.
"""
import os
import time

from prometheus_client import Counter, Gauge, Histogram, make_asgi_app

REQUESTS = Counter("app_requests", "Requests served, by path.", ["path"])
IN_PROGRESS = Gauge("app_in_progress", "Requests in progress.", multiprocess_mode="livesum")
LATENCY = Histogram("app_latency_seconds", "Request latency.")

METRICS = make_asgi_app()


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/metrics":
        await METRICS(scope, receive, send)
        return
    IN_PROGRESS.inc()
    started = time.perf_counter()
    try:
        REQUESTS.labels(scope["path"]).inc()
        body = ("pid=%d\n" % os.getpid()).encode("ascii")
    finally:
        LATENCY.observe(time.perf_counter() - started)
        IN_PROGRESS.dec()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
