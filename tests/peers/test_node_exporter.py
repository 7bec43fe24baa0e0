"""write_to_textfile output served by a real node_exporter 1.5 (textfile collector only)."""
from __future__ import annotations

import os
import time
from typing import Iterator

import pytest

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    write_to_textfile,
)

from ._harness import parse_text_samples, series, text_types
from .conftest import NodeExporter


def _scrape_error(text: str) -> float:
    return parse_text_samples(text)[series("node_textfile_scrape_error")]


@pytest.fixture
def textfile(node_exporter: NodeExporter) -> Iterator[str]:
    """A ``.prom`` path in the exporter's directory, removed after the test."""
    path = os.path.join(node_exporter.textfile_dir, "test_%d.prom" % time.monotonic_ns())
    yield path
    if os.path.exists(path):
        os.remove(path)


def test_every_type_is_served(node_exporter: NodeExporter, textfile: str) -> None:
    registry = CollectorRegistry()
    counter = Counter("peer_jobs", "Jobs run.", ["result"], registry=registry)
    counter.labels("ok").inc(7)
    counter.labels('quote " slash \\ newline \n').inc()
    Gauge("peer_last_run_timestamp_seconds", "Last run.", registry=registry).set(1700000000.5)
    Summary("peer_job_seconds", "Job duration.", registry=registry).observe(2.5)
    histogram = Histogram("peer_job_bytes", "Job size.", buckets=(1024, 4096), registry=registry)
    histogram.observe(2000)
    Info("peer_job_build", "Build.", registry=registry).info({"version": "1.2.3"})
    Enum("peer_job_state", "State.", states=["idle", "busy"], registry=registry).state("busy")
    before = time.time()
    write_to_textfile(textfile, registry)
    assert sorted(os.listdir(node_exporter.textfile_dir)) == sorted(
        ["identity.prom", os.path.basename(textfile)])  # the temp file was renamed away

    text = node_exporter.scrape()
    samples = parse_text_samples(text)
    assert _scrape_error(text) == 0.0, text
    mtime = samples[series("node_textfile_mtime_seconds", file=textfile)]
    assert before - 2 <= mtime <= time.time() + 1
    assert samples[series("peer_jobs_total", result="ok")] == 7.0
    assert samples[series("peer_jobs_total", result='quote " slash \\ newline \n')] == 1.0
    assert abs(samples[series("peer_jobs_created", result="ok")] - before) < 60
    assert samples[series("peer_last_run_timestamp_seconds")] == 1700000000.5
    assert samples[series("peer_job_seconds_count")] == 1.0
    assert samples[series("peer_job_seconds_sum")] == 2.5
    assert samples[series("peer_job_bytes_bucket", le="1024")] == 0.0
    assert samples[series("peer_job_bytes_bucket", le="4096")] == 1.0
    assert samples[series("peer_job_bytes_bucket", le="+Inf")] == 1.0
    assert samples[series("peer_job_bytes_sum")] == 2000.0
    assert samples[series("peer_job_build_info", version="1.2.3")] == 1.0
    assert samples[series("peer_job_state", peer_job_state="busy")] == 1.0
    assert samples[series("peer_job_state", peer_job_state="idle")] == 0.0
    types = text_types(text)
    assert (types["peer_jobs_total"], types["peer_jobs_created"]) == ("counter", "gauge")
    assert types["peer_job_seconds"] == "summary"
    assert types["peer_job_bytes"] == "histogram"
    assert types["peer_job_build_info"] == "gauge"


def test_rewrite_replaces_the_file_atomically(node_exporter: NodeExporter, textfile: str) -> None:
    registry = CollectorRegistry()
    gauge = Gauge("peer_rewritten", "Rewritten.", registry=registry)
    for value in range(5):
        gauge.set(value)
        write_to_textfile(textfile, registry)
        text = node_exporter.scrape()
        assert parse_text_samples(text)[series("peer_rewritten")] == float(value)
        assert _scrape_error(text) == 0.0


def test_tmpdir_argument(node_exporter: NodeExporter, textfile: str) -> None:
    registry = CollectorRegistry()
    Gauge("peer_via_tmpdir", "Written through tmpdir.", registry=registry).set(3)
    tmpdir = os.path.join(node_exporter.textfile_dir, "..")  # same filesystem, outside the collector dir
    write_to_textfile(textfile, registry, tmpdir=tmpdir)
    assert parse_text_samples(node_exporter.scrape())[series("peer_via_tmpdir")] == 3.0


def test_utf8_name_with_default_escaping(node_exporter: NodeExporter, textfile: str) -> None:
    """A dotted name, written with the default ``escaping='allow-utf-8'``.

    The file holds the quoted UTF-8 form, byte for byte what 0.26 writes.
    node_exporter 1.5 parses text files with legacy name validation and drops
    the whole file (``node_textfile_scrape_error 1``, log: "invalid metric name
    in comment"); other files are still served. ``escaping='underscores'``
    is what works with it.
    """
    registry = CollectorRegistry()
    Gauge("peer.dotted", "A dotted UTF-8 name.", ["lab.el"], registry=registry).labels("v").set(1)
    write_to_textfile(textfile, registry)
    with open(textfile, "rb") as f:
        assert f.read() == (b'# HELP "peer.dotted" A dotted UTF-8 name.\n'
                            b'# TYPE "peer.dotted" gauge\n'
                            b'{"peer.dotted","lab.el"="v"} 1.0\n')
    text = node_exporter.scrape()
    samples = parse_text_samples(text.replace('{"peer.dotted"', "peer_dotted_quoted{"))
    if _scrape_error(text) == 1.0:  # node_exporter 1.5 (Debian 12): the file is rejected
        assert series("node_textfile_mtime_seconds", file=textfile) not in samples
        assert "peer.dotted" not in text
        assert any(key[0] == "peer_identity" for key in samples)  # the other file is still served
        assert "invalid metric name" in node_exporter.peer.log()
    else:  # a node_exporter that understands UTF-8 names
        assert '{"peer.dotted","lab.el"="v"} 1' in text, text

    write_to_textfile(textfile, registry, escaping="underscores")
    text = node_exporter.scrape()
    assert _scrape_error(text) == 0.0, text
    assert parse_text_samples(text)[series("peer_dotted", lab_el="v")] == 1.0
