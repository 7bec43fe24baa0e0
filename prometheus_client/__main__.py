"""``python -m prometheus_client``: the command line (see :mod:`prometheus_client.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
