#!/usr/bin/env bash
# Creates the virtual environment and installs gatewatch for one of two jobs:
#   demo  the package alone (what `gatewatch demo` needs: no extras, no system packages
#         beyond python3-venv when the interpreter cannot make a venv without it)
#   test  the package with the test, fleet and spark extras and, as root on Debian/Ubuntu,
#         the system packages the tests drive
# Usage: deploy/setup-dev.sh demo|test PYTHON VENV
set -euo pipefail
job=${1:?usage: setup-dev.sh demo|test PYTHON VENV}
python=${2:-python3}
venv=${3:-.venv}

# Debian packages the tests use: venv support; libpcap (scapy compiles BPF filters with it);
# iproute2 (the live-capture tests build network namespaces with `ip netns`); nftables and
# conntrack (the enforcer applies its ruleset with `nft -j` and cuts blocked flows with
# `conntrack -D`); chromium (the HTML report is checked in a real headless browser); systemd
# (systemd-analyze checks the unit); passwd (useradd for the install-script test); mosquitto
# (the uplink and collector tests start a broker on loopback); a Java runtime (Spark runs the
# fleet queries); jq and openssl (docs/verify-chain.sh checks alert chains without gatewatch);
# groff-base and man-db (`gatewatch man`'s page is rendered with groff -ww and man -l); gcc and
# python3-dev build the native core; gcc-aarch64-linux-gnu, qemu-user-static and file cross-build
# its C kernels for a Raspberry Pi and run their tests under emulation.
test_packages=(python3-venv libpcap0.8 iproute2 nftables conntrack chromium systemd passwd mosquitto default-jre-headless jq openssl
               groff-base man-db gcc python3-dev gcc-aarch64-linux-gnu qemu-user-static file)

install_missing() {
    local missing=() pkg
    command -v dpkg-query >/dev/null 2>&1 || return 0
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing system packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: not root; skipping system packages: ${missing[*]} (tests that need them will skip and say so)" >&2
    fi
}

case "$job" in
    demo)
        # Only when this interpreter cannot make a venv with pip (Debian without python3-venv).
        if [ ! -x "$venv/bin/python" ] && ! "$python" -c 'import ensurepip' 2>/dev/null; then
            install_missing python3-venv
        fi
        extras="" ;;
    test)
        install_missing "${test_packages[@]}"
        export GATEWATCH_NATIVE_REQUIRED=1  # the tests run on the native core: a failed build is an error
        extras="[test,fleet,spark]" ;;
    *)
        echo "setup-dev.sh: unknown job '$job' (demo or test)" >&2; exit 2 ;;
esac

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -e ".$extras"
