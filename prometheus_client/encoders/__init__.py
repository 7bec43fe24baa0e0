"""Wire-format encoders: pure functions from collected families to bytes.

One module per format, plus content negotiation:

* :mod:`prometheus_client.encoders.text` -- Prometheus text format
  (``generate_latest``; 0.0.4 shape, 1.0.0 name escaping);
* :mod:`prometheus_client.openmetrics.exposition` -- OpenMetrics 1.0.0 and
  2.0.0 (kept at its public module path);
* :mod:`prometheus_client.encoders.protobuf` -- the delimited protobuf
  ``MetricFamily`` exposition (native histograms; served when the scraper
  asks for it), and its decoder;
* :mod:`prometheus_client.encoders.negotiation` -- Accept / Accept-Encoding
  to (encoder, content type, gzip);
* :mod:`prometheus_client.encoders._escaping` -- name, label and HELP
  escaping shared by the text encoders.

Encoders take anything with ``collect()`` and never do I/O; the shared HTTP
render path is :func:`prometheus_client.render.render`. This package
``__init__`` imports nothing, so importing one encoder does not load the
others.
"""
