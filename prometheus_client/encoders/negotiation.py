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

Protobuf (not in the reference client; names-and-negotiation.md section 4):
when some entry asks for ``application/vnd.google.protobuf`` (media type in
any case) with ``proto=io.prometheus.client.MetricFamily`` and
``encoding=delimited`` and a q-value above 0, the whole header is weighed
by q-value instead: entries are ordered by q (highest first; at equal q,
header order, with ``*/*`` and ``text/*`` after specific entries), and the
first one that can be served wins:

* the protobuf entry: the delimited protobuf exposition, content type
  ``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
  encoding=delimited``, names escaped with the entry's ``escaping``
  (default ``underscores``; when the entry has an ``escaping`` parameter,
  ``; escaping=<scheme>`` is appended to the content type);
* an entry the rules above serve (OpenMetrics, text 1.0.0): exactly that;
  an entry whose version does not compare is skipped instead of raising;
* ``text/plain`` with no version or ``version=0.0.4``, or ``*/*``,
  ``text/*``: text format 0.0.4.

Nothing served: text format 0.0.4. Headers without such a protobuf entry
(everything the reference client knows) keep exactly the rules above.

Thread/process safety: pure functions.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ..openmetrics import exposition as openmetrics
from ..utils import parse_version
from . import protobuf
from ._escaping import ALLOWUTF8, DOTS, UNDERSCORES, VALUES
from .text import CONTENT_TYPE_LATEST, CONTENT_TYPE_PLAIN_0_0_4, generate_latest

Encoder = Callable[..., bytes]

_OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text'
_TEXT_MEDIA_TYPE = 'text/plain'
_PROTOBUF_MEDIA_TYPE = 'application/vnd.google.protobuf'
_PROTOBUF_PROTO = 'io.prometheus.client.MetricFamily'
_PROTOBUF_ENCODING = 'delimited'
_WILDCARDS = frozenset(('*/*', 'text/*'))
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
            compared (``version=abc``); never when a protobuf entry is
            present.
    """
    header = accept_header or ''
    if _PROTOBUF_MEDIA_TYPE in header.lower():
        choice = _choose_weighted(header)
        if choice is not None:
            return choice
    for entry in header.split(','):
        choice = _reference_choice(entry.split(';'))
        if choice is not None:
            return choice
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def _reference_choice(tokens: List[str]) -> Optional[Tuple[Encoder, str]]:
    """What the reference rules serve for one ``;``-split Accept entry, or None.

    Raises:
        TypeError: as :func:`choose_encoder`.
    """
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
    return None


def _parameters(tokens: List[str]) -> Dict[str, str]:
    """Lower-cased parameter names to values (quotes and spaces stripped); first one wins."""
    parameters: Dict[str, str] = {}
    for token in tokens[1:]:
        name, _, value = token.partition('=')
        parameters.setdefault(name.strip().lower(), value.strip().strip('"'))
    return parameters


def _quality(parameters: Dict[str, str]) -> float:
    """The q-value of an entry: 1 when absent or unparsable, clamped to [0, 1], NaN is 0."""
    text = parameters.get('q')
    if text is None:
        return 1.0
    try:
        quality = float(text)
    except ValueError:
        return 1.0
    if math.isnan(quality):
        return 0.0
    return min(max(quality, 0.0), 1.0)


def _protobuf_choice(parameters: Dict[str, str], tokens: List[str]) -> Tuple[Encoder, str]:
    escaping = _get_escaping(tokens)
    content_type = protobuf.CONTENT_TYPE_PROTOBUF
    if 'escaping' in parameters:
        content_type += f'; {openmetrics.ESCAPING_HEADER_TAG}={escaping}'
    return partial(protobuf.generate_latest, escaping=escaping), content_type


def _choose_weighted(header: str) -> Optional[Tuple[Encoder, str]]:
    """q-value negotiation for headers with an acceptable protobuf entry, else None."""
    candidates = []  # (-q, is_wildcard, index, tokens, parameters, is_protobuf)
    has_protobuf = False
    for index, entry in enumerate(header.split(',')):
        tokens = entry.split(';')
        parameters = _parameters(tokens)
        quality = _quality(parameters)
        if quality <= 0:
            continue
        media_type = tokens[0].strip().lower()
        is_protobuf = (media_type == _PROTOBUF_MEDIA_TYPE
                       and parameters.get('proto') == _PROTOBUF_PROTO
                       and parameters.get('encoding') == _PROTOBUF_ENCODING)
        has_protobuf = has_protobuf or is_protobuf
        candidates.append((-quality, media_type in _WILDCARDS, index, tokens, parameters, is_protobuf))
    if not has_protobuf:
        return None
    candidates.sort(key=lambda candidate: candidate[:3])
    for _, wildcard, _, tokens, parameters, is_protobuf in candidates:
        if is_protobuf:
            return _protobuf_choice(parameters, tokens)
        if wildcard:
            return generate_latest, CONTENT_TYPE_PLAIN_0_0_4
        try:
            choice = _reference_choice(tokens)
        except TypeError:  # an incomparable version: not servable
            continue
        if choice is not None:
            return choice
        if tokens[0].strip() == _TEXT_MEDIA_TYPE and _get_version(tokens) in ('', '0.0.4'):
            return generate_latest, CONTENT_TYPE_PLAIN_0_0_4
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
