"""aiohttp integration: a request handler that serves a registry.

Importing this package imports aiohttp.
"""
from .exposition import make_aiohttp_handler

__all__ = ['make_aiohttp_handler']
