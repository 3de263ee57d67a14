#!/usr/bin/env bash
# Install gatewatch on a gateway (Debian, Raspberry Pi OS), as root. Idempotent: running it again
# upgrades the package and the unit and keeps your configuration.
#
#   deploy/install.sh [--wheel FILE] [--enforce] [--no-enable]
#
# - creates the system user gatewatch (no login, no home);
# - installs the wheel (built from this checkout unless --wheel) into /opt/gatewatch/venv;
# - puts the shipped policies in /etc/gatewatch/policies (replaced on upgrade) and, if there is
#   none yet, a configuration /etc/gatewatch/gatewatch.yaml that extends the default policy;
# - installs the systemd unit (and with --enforce the drop-in that adds CAP_NET_ADMIN and,
#   for the DNS forwarder's port 53, CAP_NET_BIND_SERVICE) and
#   enables it. It does not start it: edit /etc/gatewatch/gatewatch.yaml (sources, uplinks)
#   first, then `systemctl start gatewatch`.
set -euo pipefail
umask 022  # the venv and /etc/gatewatch must be readable by the gatewatch user

# The system's Python (Debian's /usr/bin/python3): the service user must be able to run it.
python=${PYTHON:-/usr/bin/python3}
prefix=/opt/gatewatch
etc=/etc/gatewatch
units=/etc/systemd/system
here=$(cd "$(dirname "$0")" && pwd)
wheel="" enforce=0 enable=1
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) wheel=$2; shift 2 ;;
        --enforce) enforce=1; shift ;;
        --no-enable) enable=0; shift ;;
        *) echo "install.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

packages=(python3-venv libpcap0.8)
[ $enforce = 1 ] && packages+=(nftables conntrack)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! id -u gatewatch >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /var/lib/gatewatch --shell /usr/sbin/nologin gatewatch
fi

if [ -z "$wheel" ]; then
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    "$python" -m venv "$build/venv" && "$build/venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$build/venv/bin/python" -m pip wheel -q --no-deps -w "$build" "$here/.." >/dev/null
    wheel=$(ls "$build"/gatewatch-*.whl)
fi
[ -x "$prefix/venv/bin/python" ] || "$python" -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install -q --upgrade "$wheel"

install -d -m 0755 "$etc" "$etc/policies"
shipped=$("$prefix/venv/bin/python" -c 'from monitor.resources import shipped; print(shipped("policies"))')
install -m 0644 "$shipped"/*.yaml "$shipped"/*.json "$etc/policies/"
if [ ! -f "$etc/gatewatch.yaml" ]; then
    cat > "$etc/gatewatch.yaml" <<'YAML'
# gatewatch on this gateway. Reference: the README's configuration section and
# /etc/gatewatch/policies/default.yaml. Check edits with (--for-run: also what the daemon binds
# and opens on this host: dns.listen, interfaces, nftables; exit 2 names file:line and the key):
#   /opt/gatewatch/venv/bin/gatewatch policy check --for-run /etc/gatewatch/gatewatch.yaml
# then: systemctl reload gatewatch (SIGHUP; a broken file is refused, the old one keeps running).
version: 1
extends: policies/default.yaml
alerts:
  vehicle_id: vehicle-0001        # this vehicle's id in every alert record and file name
# sources:
#   can:
#     - {name: can0, interface: socketcan, channel: can0}
#   ip:
#     - {interface: wwan0}
uplinks: [lo]                     # the interfaces towards the outside: wwan0, usb0, ppp0, ...
YAML
    chmod 0644 "$etc/gatewatch.yaml"
fi

install -m 0644 "$here/gatewatch.service" "$units/gatewatch.service"
if [ $enforce = 1 ]; then
    install -d -m 0755 "$units/gatewatch.service.d"
    install -m 0644 "$here/gatewatch.service.d/enforce.conf" "$units/gatewatch.service.d/enforce.conf"
else
    rm -f "$units/gatewatch.service.d/enforce.conf"
    rmdir "$units/gatewatch.service.d" 2>/dev/null || true
fi
if [ "$(systemctl is-system-running 2>/dev/null || true)" != offline ]; then
    systemctl daemon-reload
fi
if [ $enable = 1 ]; then
    systemctl enable gatewatch.service >/dev/null 2>&1 || systemctl enable gatewatch.service
fi
"$prefix/venv/bin/gatewatch" policy check "$etc/gatewatch.yaml"
echo "install.sh: gatewatch $("$prefix/venv/bin/gatewatch" --version | cut -d' ' -f2) in $prefix, configuration in $etc"
