"""A Flask app instrumented with prometheus-flask-exporter (run by gunicorn).

Single process: ``PrometheusMetrics(app)``, metrics on the app's ``/metrics``.
Multiprocess (PROMETHEUS_MULTIPROC_DIR set): ``GunicornPrometheusMetrics(app)``;
the metrics are served by the gunicorn master on its own port (see
flask_gunicorn_conf.py), not by the app.

Routes: ``/items/<int:item_id>`` (plus a decorator counter labelled by the
item's parity), ``POST /echo``, ``/status/<int:code>``, ``/boom`` (raises),
``/pid`` (excluded from the metrics). An ``info`` gauge is exported too.
"""
import os

from flask import Flask, request

app = Flask(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from prometheus_flask_exporter.multiprocess import GunicornPrometheusMetrics

    metrics = GunicornPrometheusMetrics(app, excluded_paths=["/pid"], buckets=(0.01, 0.1, 1.0))
else:
    from prometheus_flask_exporter import PrometheusMetrics

    metrics = PrometheusMetrics(app, excluded_paths=["/pid"], buckets=(0.01, 0.1, 1.0))

metrics.info("flask_app_info", "Application info", version="1.2.3")


@app.after_request
def worker_pid(response):
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response


@app.route("/items/<int:item_id>")
@metrics.counter("flask_app_items", "Items served, by parity",
                 labels={"parity": lambda: "even" if request.view_args["item_id"] % 2 == 0 else "odd"})
def item(item_id):
    return {"id": item_id}


@app.route("/echo", methods=["POST"])
def echo():
    return app.response_class(request.get_data(), mimetype="application/octet-stream")


@app.route("/status/<int:code>")
def status(code):
    return "status", code


@app.route("/boom")
def boom():
    raise RuntimeError("boom")


@app.route("/pid")
def pid():
    return {"pid": os.getpid()}
