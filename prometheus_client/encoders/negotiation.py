"""Content negotiation: request headers in, (encoder, content type, gzip) out.

Encoder layer: pure functions of header strings; no I/O, no state.

Rules (the reference client's, behaviors.md section 12.1): the Accept header
is split on ``,`` and walked in order, q-values ignored; the media type (the
part before the first ``;``, stripped) is compared case-sensitively.

* ``application/openmetrics-text`` without a version: OpenMetrics 1.0.0,
  underscores, content type without an ``escaping`` parameter.
* ``application/openmetrics-text`` with version >= 1.0.0: OpenMetrics of
  that version with the requested escaping (echoed in the content type).
* ``text/plain`` with version >= 1.0.0: text format with the requested
  escaping, advertised as version 1.0.0.
* otherwise the next entry; nothing matched: text format 0.0.4.

A version with a non-numeric component makes the comparison raise
``TypeError``. Unknown escaping values mean ``underscores``.

Thread/process safety: pure functions.
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Iterable, Optional, Tuple

from ..openmetrics import exposition as openmetrics
from ..utils import parse_version
from ._escaping import ALLOWUTF8, DOTS, UNDERSCORES, VALUES
from .text import CONTENT_TYPE_LATEST, CONTENT_TYPE_PLAIN_0_0_4, generate_latest

Encoder = Callable[..., bytes]

_OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text'
_TEXT_MEDIA_TYPE = 'text/plain'
_MIN_VERSION = (1, 0, 0)
_KNOWN_ESCAPINGS = frozenset((ALLOWUTF8, UNDERSCORES, DOTS, VALUES))


def _get_version(accept_header: Iterable[str]) -> str:
    """Value of the first ``version=`` parameter among ``;``-split tokens, or ''.

    Each token is stripped and split once on ``=``; spaces around ``=`` make
    the token not match.
    """
    for token in accept_header:
        parts = token.strip().split('=', 1)
        if len(parts) == 2 and parts[0] == 'version':
            return parts[1]
    return ''


def _get_escaping(accept_header: Iterable[str]) -> str:
    """Value of the first ``escaping=`` parameter if it is a known scheme, else underscores."""
    for token in accept_header:
        parts = token.strip().split('=', 1)
        if len(parts) == 2 and parts[0] == 'escaping':
            escaping = parts[1]
            return escaping if escaping in _KNOWN_ESCAPINGS else UNDERSCORES
    return UNDERSCORES


def choose_encoder(accept_header: Optional[str]) -> Tuple[Encoder, str]:
    """Pick the encoder and content type for an Accept header (see module doc).

    Returns:
        ``(encoder, content_type)``; ``encoder(registry)`` returns bytes.

    Raises:
        TypeError: a requested version has a non-numeric component that is
            compared (``version=abc``).
    """
    for entry in (accept_header or '').split(','):
        tokens = entry.split(';')
        media_type = tokens[0].strip()
        if media_type == _OPENMETRICS_MEDIA_TYPE:
            version = _get_version(tokens)
            if not version:
                return (partial(openmetrics.generate_latest, escaping=UNDERSCORES, version='1.0.0'),
                        openmetrics.CONTENT_TYPE_LATEST)
            if parse_version(version) >= _MIN_VERSION:
                escaping = _get_escaping(tokens)
                return (partial(openmetrics.generate_latest, escaping=escaping, version=version),
                        f'{_OPENMETRICS_MEDIA_TYPE}; version={version}; charset=utf-8; '
                        f'{openmetrics.ESCAPING_HEADER_TAG}={escaping}')
        elif media_type == _TEXT_MEDIA_TYPE:
            version = _get_version(tokens)
            if version and parse_version(version) >= _MIN_VERSION:
                escaping = _get_escaping(tokens)
                return (partial(generate_latest, escaping=escaping),
                        f'{CONTENT_TYPE_LATEST}; {openmetrics.ESCAPING_HEADER_TAG}={escaping}')
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def gzip_accepted(accept_encoding_header: Optional[str]) -> bool:
    """Whether any Accept-Encoding entry is ``gzip`` (params dropped, any case).

    q-values are ignored, so ``gzip;q=0`` counts; ``x-gzip`` does not.
    """
    for entry in (accept_encoding_header or '').split(','):
        if entry.split(';', 1)[0].strip().lower() == 'gzip':
            return True
    return False


def negotiate(accept_header: Optional[str], accept_encoding_header: Optional[str],
              disable_compression: bool = False) -> Tuple[Encoder, str, bool]:
    """Negotiate a whole response format from the request headers.

    Returns:
        ``(encoder, content_type, use_gzip)``; ``use_gzip`` is False when
        ``disable_compression`` is set.

    Raises:
        TypeError: as :func:`choose_encoder`.
    """
    encoder, content_type = choose_encoder(accept_header)
    use_gzip = not disable_compression and gzip_accepted(accept_encoding_header)
    return encoder, content_type, use_gzip
