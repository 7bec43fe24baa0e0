"""The three-step demo of the README: a Summary timing a fake request handler.

Run it with `make demo` and open http://localhost:8000/metrics
(set PORT to use another port).
"""
import os
import random
import time

from prometheus_client import Summary, start_http_server

# Create a metric to track time spent and requests made.
REQUEST_TIME = Summary('request_processing_seconds', 'Time spent processing request')


# Decorate function with metric.
@REQUEST_TIME.time()
def process_request(t):
    """A dummy function that takes some time."""
    time.sleep(t)


if __name__ == '__main__':
    port = int(os.environ.get('PORT', '8000'))
    # Start up the server to expose the metrics.
    start_http_server(port, addr='127.0.0.1')
    print(f'Serving metrics on http://localhost:{port}/metrics (Ctrl-C to stop)', flush=True)
    # Generate some requests.
    try:
        while True:
            process_request(random.random())
    except KeyboardInterrupt:
        pass
