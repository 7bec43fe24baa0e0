"""A single-file Django project instrumented with django-prometheus (run by gunicorn).

Views: ``/items/<int:item_id>`` (named ``item``), ``POST /echo``,
``/status/<int:code>``, ``/boom`` (raises ValueError), ``/pid``; metrics on
``/metrics`` through ``django_prometheus.urls`` (which switches to a fresh
``CollectorRegistry()`` + ``MultiProcessCollector`` in multiprocess mode).
A module-level custom counter counts echoed bytes. No database.
"""
import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="integration-tests-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django_prometheus"],
    MIDDLEWARE=[
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ],
    DATABASES={},
    USE_TZ=True,
    LOGGING_CONFIG=None,  # keep Django quiet about the /boom traceback except on stderr
)
django.setup()

from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from prometheus_client import Counter  # noqa: E402

ECHOED_BYTES = Counter("django_app_echoed_bytes", "Bytes echoed by /echo", ["method"])


def _pid(response):
    response["X-Worker-Pid"] = str(os.getpid())
    return response


def item(request, item_id):
    return _pid(JsonResponse({"id": item_id}))


@csrf_exempt
def echo(request):
    ECHOED_BYTES.labels(request.method).inc(len(request.body))
    return _pid(HttpResponse(request.body, content_type="application/octet-stream"))


def status(request, code):
    return _pid(HttpResponse("status", status=code))


def boom(request):
    raise ValueError("boom")


def pid(request):
    return _pid(JsonResponse({"pid": os.getpid()}))


urlpatterns = [
    path("items/<int:item_id>", item, name="item"),
    path("echo", echo, name="echo"),
    path("status/<int:code>", status, name="status"),
    path("boom", boom, name="boom"),
    path("pid", pid, name="pid"),
    path("", include("django_prometheus.urls")),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
