"""Argument types shared by the commands: a conversion plus a range check.

Each type raises ``argparse.ArgumentTypeError`` with a message naming the
bad text, so argparse reports a usage error (exit status 2), never a
traceback.
"""
from __future__ import annotations

import argparse
from typing import Callable, TypeVar

T = TypeVar("T", int, float)


def checked(convert: Callable[[str], T], noun: str, accept: Callable[[T], bool], complaint: str
            ) -> Callable[[str], T]:
    """An argparse ``type=``: ``convert(text)``, refused unless ``accept(value)``.

    ``noun`` completes "'x' is not ..."; ``complaint`` (formatted with the
    value when it has a ``%`` placeholder) explains a value out of range.
    """
    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, noun)) from None
        if not accept(value):
            raise argparse.ArgumentTypeError(complaint % value if "%" in complaint else complaint)
        return value

    parse.__name__ = noun.replace(" ", "_")  # argparse names the type in some messages
    return parse
