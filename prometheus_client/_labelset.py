"""LabelSet: a label dict that remembers how it was rendered.

A metric child builds the label dict of each of its samples once, when the
child is created, and hands the same object to every scrape. Encoders may
memoize the rendered ``{name="value",...}`` text on it, keyed by whatever
they need (format and escaping scheme), so a scrape of a large registry
formats each label set once in the life of the series rather than once per
scrape.

A LabelSet is a real ``dict`` (equality, repr, ``copy.deepcopy`` and JSON all
behave as for a dict), but it must not be mutated after construction: the
memo would go stale. Code that wants to change labels makes a new dict.
Thread safety: the memo is a plain dict; two threads rendering at once may
both compute the text, and either result is correct.
"""
from __future__ import annotations

from typing import Any, Dict


class LabelSet(dict):
    """A label dict with a rendering memo (``rendered``); never mutate it."""

    __slots__ = ("rendered",)

    def __init__(self, *args: Any, **kwargs: str) -> None:
        dict.__init__(self, *args, **kwargs)
        self.rendered: Dict[object, str] = {}

    def __reduce__(self):  # pickling/deepcopy rebuild it like a dict
        return (labelset, (dict(self),))


_new_dict = dict.__new__
_update_dict = dict.update


def labelset(pairs: Any = ()) -> LabelSet:
    """``LabelSet(pairs)`` without running a Python ``__init__``.

    Creating a child is a hot path for high-churn label values, and a Python
    ``__init__`` on a dict subclass costs more than the dict itself.
    """
    labels = _new_dict(LabelSet)
    _update_dict(labels, pairs)
    labels.rendered = {}
    return labels
