#!/usr/bin/env bash
# Creates the virtual environment and installs gatewatch with its test extra.
# As root on Debian/Ubuntu it first installs the system packages the tests use.
# Usage: deploy/setup-dev.sh PYTHON VENV
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

# Debian packages: venv support; libpcap (scapy compiles BPF filters with it); iproute2
# (the live-capture test builds network namespaces with `ip netns`); nftables and conntrack
# (the enforcer applies its ruleset with `nft -j` and cuts blocked flows with `conntrack -D`);
# chromium (the HTML report is checked in a real headless browser); systemd (systemd-analyze
# checks the unit); passwd (useradd for the install-script test); mosquitto (the uplink and
# collector tests start a broker on loopback); a Java runtime (Spark runs the fleet queries).
system_packages=(python3-venv libpcap0.8 iproute2 nftables conntrack chromium systemd passwd mosquitto default-jre-headless)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${system_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing system packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: not root; skipping system packages: ${missing[*]} (tests that need them will skip and say so)" >&2
    fi
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e '.[test,spark]'
