"""A FastAPI app instrumented with prometheus-fastapi-instrumentator (run by uvicorn).

Routes: ``/items/{item_id}``, ``POST /echo``, ``/status/{code}``, ``/boom``
(raises), ``/pid``; ``/metrics`` is exposed by the instrumentator. Besides
its default metrics, a custom ``Instrumentator.add`` callback counts items by
parity. Every answer carries X-Worker-Pid.
"""
import os

from fastapi import FastAPI, Request, Response
from prometheus_client import Counter
from prometheus_fastapi_instrumentator import Instrumentator, metrics

app = FastAPI()


@app.middleware("http")
async def worker_pid(request: Request, call_next):
    response = await call_next(request)
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response


@app.get("/items/{item_id}")
async def item(item_id: int):
    return {"id": item_id}


@app.post("/echo")
async def echo(request: Request):
    return Response(await request.body(), media_type="application/octet-stream")


@app.get("/status/{code}")
async def status(code: int):
    return Response("status", status_code=code)


@app.get("/boom")
async def boom():
    raise RuntimeError("boom")


@app.get("/pid")
async def pid():
    return {"pid": os.getpid()}


ITEMS_BY_PARITY = Counter("fastapi_app_items", "Items served, by parity", ["parity"])


def items_by_parity(info: metrics.Info) -> None:
    if info.modified_handler == "/items/{item_id}" and info.response is not None and info.response.status_code == 200:
        item_id = int(info.request.path_params["item_id"])
        ITEMS_BY_PARITY.labels("even" if item_id % 2 == 0 else "odd").inc()


instrumentator = Instrumentator(
    should_group_status_codes=False,
    should_instrument_requests_inprogress=True,
    inprogress_labels=True,
    excluded_handlers=["/metrics", "/pid"],
)
instrumentator.add(metrics.default(latency_lowr_buckets=(0.01, 0.1, 1)))
instrumentator.add(items_by_parity)
instrumentator.instrument(app).expose(app, include_in_schema=False, should_gzip=True)
