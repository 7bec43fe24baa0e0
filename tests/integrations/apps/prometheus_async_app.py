"""An aiohttp app using prometheus-async's decorators and metrics server.

``aio.time`` (decorator and future forms), ``aio.count_exceptions`` and
``aio.track_inprogress`` wrap the handlers' coroutines; each process also
starts prometheus-async's aiohttp metrics server
(``aio.web.start_http_server``) on ASYNC_METRICS_PORT (0: any free port,
reported by ``/pid``), and the app serves ``aio.web.server_stats`` on its own
``/metrics``. Both expose the default registry.

Single process: ``python prometheus_async_app.py PORT`` (aiohttp's run_app).
Several workers: ``gunicorn -k aiohttp.GunicornWebWorker prometheus_async_app:app``.
"""
import asyncio
import os
import sys

from aiohttp import web
from prometheus_async import aio
from prometheus_client import Counter, Gauge, Histogram, Summary

REQUESTS = Counter("async_app_requests", "Requests handled, by handler", ["handler"])
WORK_TIME = Histogram("async_app_work_seconds", "Time spent in work()", buckets=(0.001, 0.01, 0.1, 1.0))
FETCH_TIME = Summary("async_app_fetch_seconds", "Time spent awaiting fetches (future form)")
FAILURES = Counter("async_app_failures", "Exceptions raised by risky(), by kind", ["kind"])
IN_PROGRESS = Gauge("async_app_work_in_progress", "work() calls in progress", multiprocess_mode="livesum")


@aio.time(WORK_TIME)
@aio.track_inprogress(IN_PROGRESS)
async def work(seconds):
    await asyncio.sleep(seconds)


@aio.count_exceptions(FAILURES.labels("value"), exc=ValueError)
async def risky(kind):
    await asyncio.sleep(0)
    if kind == "value":
        raise ValueError("risky")
    if kind == "key":
        raise KeyError("risky")  # not counted: the decorator only counts ValueError
    return "fine"


def _answer(request, text, status=200):
    return web.Response(text=text, status=status, headers={"X-Worker-Pid": str(os.getpid())})


async def handle_work(request):
    REQUESTS.labels("work").inc()
    await work(float(request.query.get("seconds", "0.002")))
    return _answer(request, "worked")


async def handle_fetch(request):
    REQUESTS.labels("fetch").inc()
    await aio.time(FETCH_TIME, asyncio.sleep(0.001))
    return _answer(request, "fetched")


async def handle_risky(request):
    REQUESTS.labels("risky").inc()
    try:
        return _answer(request, await risky(request.query.get("kind", "")))
    except ValueError:
        return _answer(request, "value error", 500)
    except KeyError:
        return _answer(request, "key error", 400)


async def handle_pid(request):
    return web.json_response({"pid": os.getpid(), "metrics_port": request.app["metrics_server"].socket.port},
                             headers={"X-Worker-Pid": str(os.getpid())})


async def start_metrics_server(app):
    port = int(os.environ.get("ASYNC_METRICS_PORT", "0"))
    app["metrics_server"] = await aio.web.start_http_server(addr="127.0.0.1", port=port)


async def stop_metrics_server(app):
    await app["metrics_server"].close()


app = web.Application()
app.router.add_get("/work", handle_work)
app.router.add_get("/fetch", handle_fetch)
app.router.add_get("/risky", handle_risky)
app.router.add_get("/pid", handle_pid)
app.router.add_get("/metrics", aio.web.server_stats)
app.on_startup.append(start_metrics_server)
app.on_cleanup.append(stop_metrics_server)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
