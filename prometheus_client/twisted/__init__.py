"""Twisted integration: serve a registry as a ``twisted.web`` resource.

Importing this package imports Twisted and installs its default reactor.
"""
from ._exposition import MetricsResource

__all__ = ['MetricsResource']
