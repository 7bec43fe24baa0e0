#!/usr/bin/env bash
# Install the real peers the transport tests (tests/peers) run against:
# Prometheus (+ promtool), the Pushgateway, node_exporter and carbon-cache,
# from Debian 12's own packages (see ../shared/reference/real-components.md).
#
# Idempotent: when every package is already installed it only prints versions.
# Services are never started: without a policy-rc.d the Debian postinst scripts
# fall back to /etc/init.d and start daemons on 0.0.0.0, so a temporary
# policy-rc.d that denies every start is put in place when the machine has none.
set -euo pipefail

PACKAGES=(prometheus prometheus-pushgateway prometheus-node-exporter graphite-carbon)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    SUDO=
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=sudo
    fi
    if ! command -v apt-get >/dev/null || { [ -n "$SUDO" ] && ! command -v sudo >/dev/null; }; then
        echo "install-peers: cannot install ${missing[*]} (needs apt-get as root);" \
             "the peer tests will skip (or fail when CI is set)" >&2
        exit 0
    fi
    echo "install-peers: installing ${missing[*]}"
    policy=/usr/sbin/policy-rc.d
    added_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from install-peers.sh: no service starts\nexit 101\n' \
            | $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        added_policy=1
    fi
    remove_policy() { if [ -n "$added_policy" ]; then $SUDO rm -f "$policy"; fi; }
    trap remove_policy EXIT
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

version() { "$@" 2>&1 | head -n1 || true; }
echo "install-peers: $(version prometheus --version)"
echo "install-peers: $(version promtool --version)"
echo "install-peers: $(version prometheus-pushgateway --version)"
echo "install-peers: $(version prometheus-node-exporter --version)"
echo "install-peers: carbon-cache (graphite-carbon) $(dpkg-query -W -f='${Version}' graphite-carbon 2>/dev/null || echo missing)"
