"""A throw-away PKI for TLS tests, made with the openssl CLI.

The certificates satisfy strict X.509 verification (Python 3.13 turns on
VERIFY_X509_STRICT by default): the CA has critical basicConstraints and
keyUsage, the leaves have key identifiers, and the server certificate names
127.0.0.1 and localhost.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict

_CA_EXTENSIONS = """\
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""
_LEAF_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""
_SERVER_EXTENSIONS = _LEAF_EXTENSIONS + "extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n"
_CLIENT_EXTENSIONS = _LEAF_EXTENSIONS + "extendedKeyUsage = clientAuth\n"


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_pki(directory: str) -> Dict[str, str]:
    """Write ca.crt/.key, server.crt/.key and client.crt/.key; return their paths by name.

    Raises AssertionError with openssl's message when a step fails.
    """
    path = {name: os.path.join(directory, name) for name in (
        "ca.key", "ca.csr", "ca.crt", "ca.ext", "server.key", "server.csr", "server.crt", "server.ext",
        "client.key", "client.csr", "client.crt", "client.ext")}

    def openssl(*args: str) -> None:
        result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, "openssl %s failed:\n%s" % (" ".join(args), result.stderr)

    new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for who, extensions in (("ca", _CA_EXTENSIONS), ("server", _SERVER_EXTENSIONS), ("client", _CLIENT_EXTENSIONS)):
        with open(path[who + ".ext"], "w") as f:
            f.write(extensions)
        openssl("req", *new_key, "-keyout", path[who + ".key"], "-out", path[who + ".csr"], "-subj", "/CN=test %s" % who)
        if who == "ca":
            openssl("x509", "-req", "-in", path["ca.csr"], "-signkey", path["ca.key"], "-out", path["ca.crt"],
                    "-days", "2", "-extfile", path["ca.ext"])
        else:
            openssl("x509", "-req", "-in", path[who + ".csr"], "-CA", path["ca.crt"], "-CAkey", path["ca.key"],
                    "-CAcreateserial", "-out", path[who + ".crt"], "-days", "2", "-extfile", path[who + ".ext"])
    return path
