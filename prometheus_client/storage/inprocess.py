"""The in-process storage backend: every slot is a :class:`Cell` of its own.

Thread-safe and signal-safe through the slot primitive (no Python lock on the
compiled variant). Not shared between processes: a forked child starts with
a copy of its parent's numbers, exactly as plain memory does.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import Cell


def InProcessValue(
    typ: str,
    metric_name: str,
    name: str,
    labelnames: Sequence[str],
    labelvalues: Sequence[str],
    help_text: str,
    **kwargs: Any,
) -> Cell:
    """Allocate one slot in plain process memory (the ``ValueClass`` signature).

    Returns a bare :class:`Cell` rather than an instance of a subclass: a
    method call on the exact compiled type is about a third cheaper, and the
    identity arguments are not needed because the metric child keeps its own.
    """
    return Cell()


InProcessValue._multiprocess = False  # type: ignore[attr-defined]
