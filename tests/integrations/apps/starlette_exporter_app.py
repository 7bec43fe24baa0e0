"""A Starlette app instrumented with starlette-exporter (run by uvicorn).

Routes: ``/items/{item_id}``, ``POST /echo``, ``/status/{code}`` (answers
that status), ``/boom`` (raises), ``/pid``; metrics on ``/metrics`` (text)
and ``/openmetrics`` (with exemplars). Every answer carries X-Worker-Pid.
"""
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette_exporter import PrometheusMiddleware, from_header, handle_metrics, handle_openmetrics


def _pid():
    return {"X-Worker-Pid": str(os.getpid())}


async def item(request):
    return JSONResponse({"id": request.path_params["item_id"]}, headers=_pid())


async def echo(request):
    return Response(await request.body(), media_type="application/octet-stream", headers=_pid())


async def status(request):
    return PlainTextResponse("status", status_code=int(request.path_params["code"]), headers=_pid())


async def boom(request):
    raise RuntimeError("boom")


async def pid(request):
    return JSONResponse({"pid": os.getpid()}, headers=_pid())


def exemplar():
    return {"trace_id": "4bf92f3577b34da6"}


app = Starlette(routes=[
    Route("/items/{item_id}", item),
    Route("/echo", echo, methods=["POST"]),
    Route("/status/{code}", status),
    Route("/boom", boom),
    Route("/pid", pid),
    Route("/metrics", handle_metrics),
    Route("/openmetrics", handle_openmetrics),
])
app.add_middleware(
    PrometheusMiddleware,
    app_name="integration",
    prefix="starlette",
    group_paths=True,  # the defaults changed over the versions: be explicit
    filter_unhandled_paths=True,
    buckets=[0.005, 0.05, 0.5, 5.0],
    skip_paths=["/metrics", "/openmetrics", "/pid"],
    labels={"client": from_header("X-Client", allowed_values=("alpha", "beta"))},
    exemplars=exemplar,
)
