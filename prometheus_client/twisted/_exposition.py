"""``MetricsResource``: the WSGI app of :mod:`prometheus_client.exposition`
mounted in Twisted's WSGI container.

Importing this module imports ``twisted.internet.reactor`` (which installs
the default reactor if none is installed yet).

Thread safety: the WSGI app runs in the reactor's thread pool; it keeps no
state and only reads the registry.
"""
from __future__ import annotations

from twisted.internet import reactor
from twisted.web.wsgi import WSGIResource

from ..exposition import make_wsgi_app
from ..registry import REGISTRY

# A lambda, not a function or class, as in 0.26.0: some users introspect it,
# and it is only ever called. Usage:
#     root.putChild(b'metrics', MetricsResource(registry=my_registry))
# Behaviour (methods, paths, negotiation, gzip) is exactly the WSGI app's.
MetricsResource = lambda registry=REGISTRY: WSGIResource(  # noqa: E731
    reactor, reactor.getThreadPool(), make_wsgi_app(registry)
)
