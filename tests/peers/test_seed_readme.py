"""The seed README's transport examples, run with only host/port (or path) swapped to a real peer.

The examples are read at test time from ../shared/seeds (see
tests/test_seed_examples.py); each runs in a fresh interpreter.
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List

import pytest

from ._harness import parse_text_samples, python_program, replace_once, series
from .conftest import Carbon, NodeExporter, Pushgateway, seed_block, seed_blocks


def _push_blocks() -> Dict[str, str]:
    blocks = [b for b in seed_blocks() if "push_to_gateway(" in b]
    plain = [b for b in blocks if "handler=" not in b]
    auth = [b for b in blocks if "basic_auth_handler" in b]
    assert len(plain) == 1 and len(auth) == 1, blocks
    return {"plain": plain[0], "auth": auth[0]}


def _check_batch_group(gateway: Pushgateway, before: float) -> None:
    group = gateway.wait_for_group(job="batchA")
    [metric] = group["job_last_success_unixtime"]["metrics"]
    assert group["job_last_success_unixtime"]["help"] == "Last time a batch job successfully finished"
    assert before - 1 <= float(metric["value"]) <= time.time() + 1


def test_pushgateway_example(pushgateway: Pushgateway) -> None:
    program = replace_once(_push_blocks()["plain"], "'localhost:9091'", repr(pushgateway.address))
    before = time.time()
    python_program(program)
    _check_batch_group(pushgateway, before)


def test_pushgateway_basic_auth_example(pushgateway_basic_auth: Pushgateway) -> None:
    """The example's own credentials (foobar / secret123) are the ones the gateway accepts."""
    gateway = pushgateway_basic_auth
    gateway.wipe()
    program = replace_once(_push_blocks()["auth"], "'localhost:9091'", repr(gateway.address))
    before = time.time()
    python_program(program)
    _check_batch_group(gateway, before)


def test_textfile_example(node_exporter: NodeExporter) -> None:
    path = os.path.join(node_exporter.textfile_dir, "raid.prom")
    program = replace_once(seed_block("write_to_textfile("), "'/configured/textfile/path/raid.prom'",
                           repr(path))
    try:
        python_program(program)
        samples = parse_text_samples(node_exporter.scrape())
        assert samples[series("raid_status")] == 1.0
        assert samples[series("node_textfile_scrape_error")] == 0.0
        assert series("node_textfile_mtime_seconds", file=path) in samples
    finally:
        if os.path.exists(path):
            os.remove(path)


def test_graphite_example(carbon: Carbon) -> None:
    """The example pushes the default registry without a prefix, then starts a daemon pusher."""
    program = replace_once(seed_block("GraphiteBridge(("), "('graphite.your.org', 2003)", repr(carbon.address))
    before = time.time()
    python_program(program)
    implementation = os.path.join(carbon.whisper_dir, "python_info", "implementation")

    def whisper_files() -> List[str]:
        # carbon makes the directories before it writes the file inside them
        found = []
        for root, _, names in os.walk(implementation):
            found.extend(os.path.relpath(os.path.join(root, n), carbon.whisper_dir) for n in names)
        return found

    files = carbon.peer.wait_until(whisper_files, 20, "a whisper file under python_info/implementation/")
    assert len(files) == 1 and files[0].endswith(".wsp"), files
    points = carbon.wait_for_points([files[0], "process_cpu_seconds_total.wsp"], since=before - 2)
    # push() and the pusher's first push may fall in two different seconds
    assert {value for _, value in points[files[0]]} == {1.0}
    assert points["process_cpu_seconds_total.wsp"][0][1] >= 0


@pytest.mark.slow
def test_twisted_example_scraped_by_prometheus(prometheus: Any, seed_twisted_app: Dict[str, Any]) -> None:
    _check_scraped(prometheus, "seed_twisted", seed_twisted_app)


@pytest.mark.slow
def test_flask_example_scraped_by_prometheus(prometheus: Any, seed_flask_app: Dict[str, Any]) -> None:
    _check_scraped(prometheus, "seed_flask", seed_flask_app)


def _check_scraped(prometheus: Any, job: str, app: Dict[str, Any]) -> None:
    found = prometheus.wait_for('peer_identity_info{job="%s"}' % job, timeout=40)
    assert found[0]["metric"]["token"] == app["token"]
    assert prometheus.query('up{job="%s"}' % job)[0]["value"] == 1.0
    [info] = prometheus.query('python_info{job="%s"}' % job)
    assert info["metric"]["implementation"] and info["value"] == 1.0
    [cpu] = prometheus.query('process_cpu_seconds_total{job="%s"}' % job)
    assert cpu["value"] >= 0
    metadata = prometheus.api("targets/metadata", match_target='{job="%s"}' % job)
    types = {m["metric"]: m["type"] for m in metadata}
    assert types["peer_identity"] == "info"  # negotiated OpenMetrics through the framework
    assert types["process_cpu_seconds"] == "counter"
