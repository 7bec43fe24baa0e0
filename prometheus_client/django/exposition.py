"""``PrometheusDjangoView``: a Django view over the shared render path.

Mount it with ``path('metrics', PrometheusDjangoView.as_view())``; pass
``as_view(registry=...)`` or ``as_view(multiprocess_mode=True)`` to override
the class attributes.

Thread safety: Django builds a view instance per request; the registry is
only read.

Exceptions: errors raised while rendering propagate to Django (500).
"""
from __future__ import annotations

import os
from typing import Any, Optional

from django.http import HttpRequest, HttpResponse
from django.views import View

from ..registry import REGISTRY, Collector, CollectorRegistry
from ..render import render, status_code


class PrometheusDjangoView(View):
    """Serve metrics on GET (and HEAD); OPTIONS lists the allowed methods.

    Attributes:
        multiprocess_mode: Aggregate the files of a multiprocess directory
            instead of serving the process-local registry. Defaults to
            whether ``PROMETHEUS_MULTIPROC_DIR`` (or the deprecated
            ``prometheus_multiproc_dir``) was set when this module was
            imported.
        registry: The registry to serve; None means "decide per request":
            a fresh registry holding a ``MultiProcessCollector`` in
            multiprocess mode, else the global REGISTRY.
    """

    multiprocess_mode: bool = (
        'prometheus_multiproc_dir' in os.environ or 'PROMETHEUS_MULTIPROC_DIR' in os.environ
    )
    registry: Optional[Collector] = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Render the metrics with the request's Accept and Accept-Encoding."""
        if self.registry is None:
            if self.multiprocess_mode:
                from ..multiprocess import MultiProcessCollector

                self.registry = CollectorRegistry()
                MultiProcessCollector(self.registry)
            else:
                self.registry = REGISTRY
        # request.GET is a QueryDict: like 0.26.0, ``name[]`` yields its last
        # value as one string.
        status, headers, body = render(
            self.registry,
            request.headers.get('Accept'),
            request.headers.get('Accept-Encoding'),
            request.GET,
            False,
        )
        return HttpResponse(body, status=status_code(status), headers=headers)

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Answer 200 with ``Allow: OPTIONS,GET``."""
        return HttpResponse(status=200, headers={'Allow': 'OPTIONS,GET'})
