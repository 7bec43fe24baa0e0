"""push_to_gateway / pushadd_to_gateway / delete_from_gateway against a real Pushgateway 1.5.

What the gateway stored is read back through its ``/api/v1/metrics``.
"""
from __future__ import annotations

import ssl
import time
import urllib.error
from typing import Any, Dict, List, Optional

import pytest

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    delete_from_gateway,
    instance_ip_grouping_key,
    push_to_gateway,
    pushadd_to_gateway,
)
from prometheus_client.exposition import basic_auth_handler, tls_auth_handler

from .conftest import PUSHGATEWAY_PASSWORD, PUSHGATEWAY_USER, Pushgateway


def _gauge_registry(name: str = "peer_batch_value", value: float = 1.0) -> CollectorRegistry:
    registry = CollectorRegistry()
    Gauge(name, "A value pushed by a batch job.", registry=registry).set(value)
    return registry


def _every_type_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter("peer_pushed_requests", "Requests.", ["method"], registry=registry)
    counter.labels("get").inc(3)
    Gauge("peer_pushed_temperature", "Temperature.", registry=registry).set(-2.5)
    Summary("peer_pushed_latency_seconds", "Latency.", registry=registry).observe(0.5)
    histogram = Histogram("peer_pushed_size_bytes", "Sizes.", buckets=(10, 100), registry=registry)
    histogram.observe(5)
    histogram.observe(50)
    Info("peer_pushed_build", "Build.", registry=registry).info({"version": "1.2.3"})
    Enum("peer_pushed_state", "State.", states=["a", "b"], registry=registry).state("b")
    Gauge("peer.pushed.dotted", "A UTF-8 name.", ["lab.el"], registry=registry).labels("v").set(9)
    return registry


def _metrics(group: Dict[str, Any], name: str) -> List[Dict[str, Any]]:
    assert name in group, sorted(group)
    return group[name]["metrics"]


def _value(group: Dict[str, Any], name: str, **labels: str) -> float:
    """The value of the one series of ``name`` whose labels include ``labels``."""
    found = [m for m in _metrics(group, name) if labels.items() <= m["labels"].items()]
    assert len(found) == 1, (name, labels, _metrics(group, name))
    return float(found[0]["value"])


KEY = {"path": "/var/lib/db", "shard": "", "owner": "Zoë & co?", "plus": "a+b", "space": "x y", "n": 5}
KEY_LABELS = {"job": "nightly/etl", "path": "/var/lib/db", "shard": "", "owner": "Zoë & co?",
              "plus": "a+b", "space": "x y", "n": "5"}


def test_push_stores_every_type_under_an_escaped_grouping_key(pushgateway: Pushgateway) -> None:
    """'/' and empty values (base64), spaces, '+', non-ASCII and ints round-trip into the group."""
    push_to_gateway(pushgateway.address, job="nightly/etl", registry=_every_type_registry(),
                    grouping_key=KEY)
    group = pushgateway.wait_for_group(**KEY_LABELS)
    assert group["last_push_successful"] is True
    every = _metrics(group, "peer_pushed_requests_total")
    assert every[0]["labels"] == dict(KEY_LABELS, method="get", instance="")
    assert group["peer_pushed_requests_total"]["type"] == "COUNTER"
    assert group["peer_pushed_requests_total"]["help"] == "Requests."
    assert _value(group, "peer_pushed_requests_total", method="get") == 3.0
    assert group["peer_pushed_requests_created"]["type"] == "GAUGE"
    assert abs(_value(group, "peer_pushed_requests_created") - time.time()) < 60
    assert _value(group, "peer_pushed_temperature") == -2.5
    summary = _metrics(group, "peer_pushed_latency_seconds")[0]
    assert group["peer_pushed_latency_seconds"]["type"] == "SUMMARY"
    assert (summary["count"], summary["sum"]) == ("1", "0.5")
    histogram = _metrics(group, "peer_pushed_size_bytes")[0]
    assert group["peer_pushed_size_bytes"]["type"] == "HISTOGRAM"
    assert histogram["buckets"] == {"10": "1", "100": "2", "+Inf": "2"}
    assert (histogram["count"], histogram["sum"]) == ("2", "55")
    assert _value(group, "peer_pushed_build_info", version="1.2.3") == 1.0
    assert _value(group, "peer_pushed_state", peer_pushed_state="a") == 0.0
    assert _value(group, "peer_pushed_state", peer_pushed_state="b") == 1.0
    assert _value(group, "peer_pushed_dotted", lab_el="v") == 9.0  # text 0.0.4, underscores escaping


def test_instance_ip_grouping_key(pushgateway: Pushgateway) -> None:
    key = instance_ip_grouping_key()
    push_to_gateway(pushgateway.address, "ip", _gauge_registry(), grouping_key=key)
    group = pushgateway.wait_for_group(job="ip", instance=key["instance"])
    assert _value(group, "peer_batch_value") == 1.0


def test_push_replaces_the_group_and_pushadd_merges(pushgateway: Pushgateway) -> None:
    key = {"instance": "db-1"}
    labels = {"job": "backup", "instance": "db-1"}
    push_to_gateway(pushgateway.address, "backup", _gauge_registry("peer_first", 1), grouping_key=key)
    assert "peer_first" in pushgateway.wait_for_group(**labels)

    pushadd_to_gateway(pushgateway.address, "backup", _gauge_registry("peer_second", 2), grouping_key=key)
    group = pushgateway.wait_for_group(**labels)
    assert (_value(group, "peer_first"), _value(group, "peer_second")) == (1.0, 2.0)

    pushadd_to_gateway(pushgateway.address, "backup", _gauge_registry("peer_second", 7), grouping_key=key)
    group = pushgateway.wait_for_group(**labels)
    assert (_value(group, "peer_first"), _value(group, "peer_second")) == (1.0, 7.0)

    push_to_gateway(pushgateway.address, "backup", _gauge_registry("peer_second", 3), grouping_key=key)
    group = pushgateway.wait_for_group(**labels)
    assert "peer_first" not in group  # PUT replaced the whole group
    assert _value(group, "peer_second") == 3.0


def test_delete_removes_only_that_group(pushgateway: Pushgateway) -> None:
    push_to_gateway(pushgateway.address, "nightly/etl", _gauge_registry(), grouping_key=KEY)
    push_to_gateway(pushgateway.address, "nightly/etl", _gauge_registry())
    pushgateway.wait_for_group(**KEY_LABELS)
    pushgateway.wait_for_group(job="nightly/etl")

    delete_from_gateway(pushgateway.address, "nightly/etl", grouping_key=KEY)
    pushgateway.peer.wait_until(lambda: pushgateway.group(**KEY_LABELS) is None, 10, "the deletion")
    assert pushgateway.group(job="nightly/etl") is not None  # a different grouping key survives

    delete_from_gateway("http://%s/" % pushgateway.address, "nightly/etl")
    pushgateway.peer.wait_until(lambda: pushgateway.groups() == [], 10, "the second deletion")


def test_gzip_compressed_push(pushgateway: Pushgateway) -> None:
    push_to_gateway(pushgateway.address, "gz", _every_type_registry(), compression="gzip")
    pushadd_to_gateway(pushgateway.address, "gz", _gauge_registry("peer_added", 4), compression="GZIP")
    group = pushgateway.wait_for_group(job="gz")
    assert _value(group, "peer_pushed_requests_total", method="get") == 3.0
    assert _value(group, "peer_added") == 4.0


def test_type_clash_surfaces_as_http_400(pushgateway: Pushgateway) -> None:
    push_to_gateway(pushgateway.address, "one", _gauge_registry("peer_clash"))
    clash = CollectorRegistry()
    Histogram("peer_clash", "Now a histogram.", registry=clash)
    with pytest.raises(urllib.error.HTTPError) as error:
        push_to_gateway(pushgateway.address, "two", clash)
    assert error.value.code == 400


# -- basic auth --------------------------------------------------------------------


def _auth_handler(username: Optional[str], password: Optional[str]) -> Any:
    def handler(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        return basic_auth_handler(url, method, timeout, headers, data, username, password)
    return handler


def test_basic_auth_good_credentials_push(pushgateway_basic_auth: Pushgateway) -> None:
    gateway = pushgateway_basic_auth
    gateway.wipe()
    handler = _auth_handler(PUSHGATEWAY_USER, PUSHGATEWAY_PASSWORD)
    push_to_gateway(gateway.address, "auth", _gauge_registry(value=11), handler=handler)
    pushadd_to_gateway(gateway.address, "auth", _gauge_registry("peer_more", 12), handler=handler)
    group = gateway.wait_for_group(job="auth")
    assert (_value(group, "peer_batch_value"), _value(group, "peer_more")) == (11.0, 12.0)
    delete_from_gateway(gateway.address, "auth", handler=handler)
    gateway.peer.wait_until(lambda: gateway.group(job="auth") is None, 10, "the deletion")


@pytest.mark.parametrize("username,password", [
    (PUSHGATEWAY_USER, "wrong"),
    ("mallory", PUSHGATEWAY_PASSWORD),
    (None, None),  # the handler adds no header at all
])
def test_basic_auth_bad_credentials_get_401(pushgateway_basic_auth: Pushgateway,
                                            username: Optional[str], password: Optional[str]) -> None:
    gateway = pushgateway_basic_auth
    for call in (
        lambda: push_to_gateway(gateway.address, "auth", _gauge_registry(),
                                handler=_auth_handler(username, password)),
        lambda: delete_from_gateway(gateway.address, "auth", handler=_auth_handler(username, password)),
    ):
        with pytest.raises(urllib.error.HTTPError) as error:
            call()
        assert error.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as error:
        push_to_gateway(gateway.address, "auth", _gauge_registry())  # default handler
    assert error.value.code == 401
    assert gateway.group(job="auth") is None


# -- TLS with client certificates ----------------------------------------------------


def test_tls_client_certificate_push(pushgateway_tls: Pushgateway, pki: Dict[str, str]) -> None:
    gateway = pushgateway_tls
    gateway.wipe()

    def handler(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        return tls_auth_handler(url, method, timeout, headers, data,
                                certfile=pki["client.crt"], keyfile=pki["client.key"], cafile=pki["ca.crt"])

    push_to_gateway(gateway.url, "tls", _every_type_registry(), grouping_key={"a": "b/c"}, handler=handler)
    group = gateway.wait_for_group(job="tls", a="b/c")
    assert _value(group, "peer_pushed_requests_total", method="get") == 3.0
    pushadd_to_gateway(gateway.url, "tls", _gauge_registry(value=5), grouping_key={"a": "b/c"},
                       handler=handler, compression="gzip")
    assert _value(gateway.wait_for_group(job="tls", a="b/c"), "peer_batch_value") == 5.0
    delete_from_gateway(gateway.url, "tls", grouping_key={"a": "b/c"}, handler=handler)
    gateway.peer.wait_until(lambda: gateway.group(job="tls", a="b/c") is None, 10, "the deletion")


def test_tls_insecure_skip_verify_still_presents_the_client_certificate(
        pushgateway_tls: Pushgateway, pki: Dict[str, str]) -> None:
    gateway = pushgateway_tls
    gateway.wipe()

    def handler(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        return tls_auth_handler(url, method, timeout, headers, data, pki["client.crt"], pki["client.key"],
                                insecure_skip_verify=True)

    push_to_gateway(gateway.url, "insecure", _gauge_registry(), handler=handler)
    assert _value(gateway.wait_for_group(job="insecure"), "peer_batch_value") == 1.0


def test_tls_without_the_ca_fails_verification(pushgateway_tls: Pushgateway, pki: Dict[str, str]) -> None:
    gateway = pushgateway_tls
    with pytest.raises(urllib.error.URLError) as error:
        push_to_gateway(gateway.url, "tls", _gauge_registry())  # default handler: system CAs only
    assert isinstance(error.value.reason, ssl.SSLCertVerificationError), error.value

    def wrong_client(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        # The server certificate presented as a client certificate: not a clientAuth cert.
        return tls_auth_handler(url, method, timeout, headers, data, pki["server.crt"], pki["server.key"],
                                cafile=pki["ca.crt"])

    # The server drops the handshake (seen: URLError(SSLEOFError)); the exact error varies.
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
        push_to_gateway(gateway.url, "tls", _gauge_registry(), handler=wrong_client)
    assert gateway.group(job="tls") is None
