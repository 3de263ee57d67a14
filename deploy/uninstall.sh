#!/usr/bin/env bash
# Remove gatewatch from a gateway, as root: stops and disables the service, removes the unit and
# /opt/gatewatch. The configuration (/etc/gatewatch), the alert logs (/var/lib/gatewatch,
# /var/log/gatewatch) and the user stay unless --purge.
#
#   deploy/uninstall.sh [--purge]
set -euo pipefail
purge=0
[ "${1:-}" = --purge ] && purge=1
[ "$(id -u)" = 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
running=$(systemctl is-system-running 2>/dev/null || true)
if [ "$running" != offline ]; then
    systemctl stop gatewatch.service 2>/dev/null || true
fi
systemctl disable gatewatch.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/gatewatch.service /etc/systemd/system/gatewatch.service.d/enforce.conf
rmdir /etc/systemd/system/gatewatch.service.d 2>/dev/null || true
[ "$running" != offline ] && systemctl daemon-reload
rm -rf /opt/gatewatch
if [ $purge = 1 ]; then
    rm -rf /etc/gatewatch /var/lib/gatewatch /var/log/gatewatch
    if id -u gatewatch >/dev/null 2>&1; then userdel gatewatch; fi
fi
echo "uninstall.sh: gatewatch removed$([ $purge = 1 ] && echo ', configuration, logs and user too' || true)"
