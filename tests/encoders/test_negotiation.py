"""Content negotiation (behaviors.md 12.1, 12.2; api.md 9).

Table tests of the observed classic behaviour, plus a differential run of
many generated Accept / Accept-Encoding headers against the black-box
classic client (one subprocess call; skipped when it is not installed).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
from functools import partial

import pytest

from prometheus_client.encoders.negotiation import (
    _get_escaping,
    _get_version,
    choose_encoder,
    gzip_accepted,
    negotiate,
)
from prometheus_client.encoders.text import generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

TEXT_0_0_4 = 'text/plain; version=0.0.4; charset=utf-8'
TEXT_1_0_0 = 'text/plain; version=1.0.0; charset=utf-8; escaping='
OM_1_0_0 = 'application/openmetrics-text; version=1.0.0; charset=utf-8'


def describe(encoder):
    """(module, keywords) of an encoder, as the table below spells them."""
    if isinstance(encoder, partial):
        return encoder.func, encoder.keywords
    return encoder, None


TABLE = [
    (None, generate_latest, None, TEXT_0_0_4),
    ('', generate_latest, None, TEXT_0_0_4),
    ('*/*', generate_latest, None, TEXT_0_0_4),
    ('text/plain', generate_latest, None, TEXT_0_0_4),
    ('text/plain; version=0.0.4', generate_latest, None, TEXT_0_0_4),
    ('text/plain; version=1.0.0', generate_latest, {'escaping': 'underscores'}, TEXT_1_0_0 + 'underscores'),
    ('text/plain;version=1.0.0', generate_latest, {'escaping': 'underscores'}, TEXT_1_0_0 + 'underscores'),
    ('text/plain; version=1.0.0; escaping=values', generate_latest, {'escaping': 'values'}, TEXT_1_0_0 + 'values'),
    ('text/plain; version=1.0.0; escaping=bogus', generate_latest, {'escaping': 'underscores'},
     TEXT_1_0_0 + 'underscores'),
    ('text/plain; version=2', generate_latest, {'escaping': 'underscores'}, TEXT_1_0_0 + 'underscores'),
    ('text/plain; version=1.0', generate_latest, None, TEXT_0_0_4),
    ('text/plain; version=', generate_latest, None, TEXT_0_0_4),
    ('text/plain; charset=utf-8; escaping=allow-utf-8', generate_latest, None, TEXT_0_0_4),
    ('application/openmetrics-text', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '1.0.0'}, OM_1_0_0),
    ('application/openmetrics-text; escaping=dots', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '1.0.0'}, OM_1_0_0),
    ('application/openmetrics-text; version=', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '1.0.0'}, OM_1_0_0),
    ('application/openmetrics-text; version=1.0.0; charset=utf-8', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '1.0.0'}, OM_1_0_0 + '; escaping=underscores'),
    ('application/openmetrics-text; version=1.0.0; escaping=allow-utf-8', openmetrics.generate_latest,
     {'escaping': 'allow-utf-8', 'version': '1.0.0'}, OM_1_0_0 + '; escaping=allow-utf-8'),
    ('application/openmetrics-text;version=1.0.0;q=0.5', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '1.0.0'}, OM_1_0_0 + '; escaping=underscores'),
    ('application/openmetrics-text; version=2.0.0', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '2.0.0'},
     'application/openmetrics-text; version=2.0.0; charset=utf-8; escaping=underscores'),
    ('application/openmetrics-text; version=1.5.7; escaping=values', openmetrics.generate_latest,
     {'escaping': 'values', 'version': '1.5.7'},
     'application/openmetrics-text; version=1.5.7; charset=utf-8; escaping=values'),
    ('application/openmetrics-text; version=2.0.0rc1', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '2.0.0rc1'},
     'application/openmetrics-text; version=2.0.0rc1; charset=utf-8; escaping=underscores'),
    ('application/openmetrics-text; version=0.0.1', generate_latest, None, TEXT_0_0_4),
    ('application/openmetrics-text; version=0.0.1, text/plain; version=1.0.0', generate_latest,
     {'escaping': 'underscores'}, TEXT_1_0_0 + 'underscores'),
    ('text/plain; version=1.0.0, application/openmetrics-text; version=1.0.0', generate_latest,
     {'escaping': 'underscores'}, TEXT_1_0_0 + 'underscores'),
    ('APPLICATION/OPENMETRICS-TEXT; version=1.0.0', generate_latest, None, TEXT_0_0_4),
    ('text/plain;version=0.0.4;q=0.3,*/*;q=0.2', generate_latest, None, TEXT_0_0_4),
    ('text/plain; version=1.0.0;escaping = dots', generate_latest, {'escaping': 'underscores'},
     TEXT_1_0_0 + 'underscores'),
    (' application/openmetrics-text ; version=1.0.0', openmetrics.generate_latest,
     {'escaping': 'underscores', 'version': '1.0.0'}, OM_1_0_0 + '; escaping=underscores'),
    # Prometheus 3.4+ default Accept header.
    ('application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,'
     'application/openmetrics-text;version=0.0.1;q=0.5,'
     'text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
     openmetrics.generate_latest, {'escaping': 'allow-utf-8', 'version': '1.0.0'},
     OM_1_0_0 + '; escaping=allow-utf-8'),
]


@pytest.mark.parametrize('accept, function, keywords, content_type', TABLE)
def test_choose_encoder(accept, function, keywords, content_type):
    encoder, chosen_type = choose_encoder(accept)
    assert describe(encoder) == (function, keywords)
    assert chosen_type == content_type


@pytest.mark.parametrize('accept', ['application/openmetrics-text; version=abc', 'text/plain; version=abc',
                                    'application/openmetrics-text; version=1.0.0rc1'])
def test_non_numeric_version_raises_type_error(accept):
    with pytest.raises(TypeError, match="'>=' not supported between instances of 'str' and 'int'"):
        choose_encoder(accept)


@pytest.mark.parametrize('header, accepted', [
    (None, False), ('', False), ('gzip', True), ('GZIP', True), ('deflate, GZip;q=0.5', True),
    ('gzip;q=0', True), ('x-gzip', False), ('deflate', False), (' gzip ', True), ('br,gzip', True),
    ('*', False), ('identity', False),
])
def test_gzip_accepted(header, accepted):
    assert gzip_accepted(header) is accepted


@pytest.mark.parametrize('tokens, version, escaping', [
    (['version=1.0.0'], '1.0.0', 'underscores'),
    (['text/plain', ' version=1.0.0'], '1.0.0', 'underscores'),
    (['x', 'version=1.2.3', 'version=3'], '1.2.3', 'underscores'),
    (['version'], '', 'underscores'),
    (['version=a=b'], 'a=b', 'underscores'),
    (['Version=1'], '', 'underscores'),
    ([' version=2.0.0 '], '2.0.0', 'underscores'),
    (['version=1.0.0 ;x'], '1.0.0 ;x', 'underscores'),
    ([' escaping=dots', 'escaping=values'], '', 'dots'),
    (['escaping=bogus', 'escaping=dots'], '', 'underscores'),
    ([' escaping=DOTS'], '', 'underscores'),
    (('escaping=allow-utf-8',), '', 'allow-utf-8'),
    ('version=1.0.0', '', 'underscores'),  # a string is iterated by character
])
def test_parameter_helpers(tokens, version, escaping):
    assert _get_version(tokens) == version
    assert _get_escaping(tokens) == escaping


def test_negotiate():
    encoder, content_type, use_gzip = negotiate('application/openmetrics-text; version=1.0.0', 'gzip')
    assert describe(encoder) == (openmetrics.generate_latest, {'escaping': 'underscores', 'version': '1.0.0'})
    assert content_type == OM_1_0_0 + '; escaping=underscores'
    assert use_gzip is True
    assert negotiate(None, 'gzip', disable_compression=True) == (generate_latest, TEXT_0_0_4, False)
    assert negotiate(None, None) == (generate_latest, TEXT_0_0_4, False)


# ---------------------------------------------------------------------------
# Differential run against the classic client
# ---------------------------------------------------------------------------

CLASSIC_PYTHON = '/tmp/classic/bin/python'

CLASSIC_SCRIPT = r'''
import json, sys
from functools import partial
from prometheus_client.exposition import choose_encoder, gzip_accepted
accepts, encodings = json.loads(sys.stdin.read())
out = []
for accept in accepts:
    try:
        encoder, content_type = choose_encoder(accept)
        if isinstance(encoder, partial):
            out.append([encoder.func.__module__, encoder.keywords, content_type])
        else:
            out.append([encoder.__module__, None, content_type])
    except Exception as e:
        out.append(['error', type(e).__name__, str(e)])
print(json.dumps([out, [gzip_accepted(e) for e in encodings]]))
'''

MODULE_NAMES = {generate_latest: 'prometheus_client.exposition',
                openmetrics.generate_latest: 'prometheus_client.openmetrics.exposition'}


def generated_headers(count: int):
    """Accept and Accept-Encoding headers built from the tokens that matter."""
    rng = random.Random(20260)
    media = ['text/plain', 'application/openmetrics-text', '*/*', 'text/*', 'Text/Plain',
             ' application/openmetrics-text ', 'application/json', '']
    params = ['version=0.0.4', 'version=1.0.0', 'version=2.0.0', 'version=0.0.1', 'version=1',
              'version=2', 'version=10.1', 'version=', 'version=1.0', 'version=0.9.9', ' version=1.0.0 ',
              'escaping=allow-utf-8', 'escaping=underscores', 'escaping=dots', 'escaping=values',
              'escaping=bogus', 'escaping = dots', 'charset=utf-8', 'q=0.5', 'q=0', 'version', '']
    accepts, encodings = [], []
    for _ in range(count):
        entries = []
        for _ in range(rng.randint(1, 3)):
            entry = [rng.choice(media)] + rng.sample(params, rng.randint(0, 3))
            entries.append(rng.choice([';', '; ', ' ;']).join(entry))
        accepts.append(rng.choice([',', ', ']).join(entries))
        tokens = ['gzip', 'GZIP', 'x-gzip', 'deflate', 'br', 'identity', '*', 'gzip;q=0', ' gzip ', 'zstd']
        encodings.append(','.join(rng.sample(tokens, rng.randint(0, 3))))
    return accepts, encodings


@pytest.mark.skipif(not os.path.exists(CLASSIC_PYTHON), reason='black-box classic client not installed')
def test_same_choices_as_classic():
    accepts, encodings = generated_headers(1500)
    accepts += [accept for accept, *_ in TABLE if accept is not None]
    completed = subprocess.run([CLASSIC_PYTHON, '-I', '-c', CLASSIC_SCRIPT], input=json.dumps([accepts, encodings]),
                               capture_output=True, text=True, check=True, timeout=120)
    expected_choices, expected_gzip = json.loads(completed.stdout)
    for accept, expected in zip(accepts, expected_choices):
        try:
            encoder, content_type = choose_encoder(accept)
        except Exception as exception:  # noqa: BLE001
            actual = ['error', type(exception).__name__, str(exception)]
        else:
            function, keywords = describe(encoder)
            actual = [MODULE_NAMES[function], keywords, content_type]
        assert actual == expected, accept
    assert [gzip_accepted(encoding) for encoding in encodings] == expected_gzip

