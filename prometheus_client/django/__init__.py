"""Django integration: a class-based view that serves a registry.

Importing this package imports Django.
"""
from .exposition import PrometheusDjangoView

__all__ = ['PrometheusDjangoView']
