"""The other contenders of ``gatewatch bench net``, each measured as its own process (wall time,
CPU time and peak RSS from ``os.wait4``), so memory is compared process to process:

  suricata_single   Suricata in ``--runmode single`` with EVE flow, DNS, TLS and HTTP logging and
                    no rules (when ``suricata`` is on PATH; Debian bookworm-backports)
  gatewatch_flows   ``gatewatch flows --format jsonl`` on the same capture, on the core in use,
                    and (gatewatch_flows@numpy) on the numpy reference core beside it
  dpkt_flows        pure Python with dpkt: every packet parsed to L4, flow keys counted, DNS
                    queries and TLS SNI read (the fair pure-Python baseline; timed on the first
                    N packets, as scapy is)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SURICATA_YAML = """%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12,fc00::/7]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups:
    HTTP_PORTS: "80"
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types: [flow, dns, tls, http]
app-layer:
  protocols:
    tls: {enabled: yes}
    http: {enabled: yes}
    quic: {enabled: yes}
    dns:
      tcp: {enabled: yes}
      udp: {enabled: yes}
logging:
  default-log-level: warning
  outputs:
    - console: {enabled: yes}
"""


# A fresh small process starts the contender and reports its rusage: a child forked straight from
# the bench (which holds the capture's page cache and its own arrays) would inherit the bench's
# high-water RSS in ru_maxrss, on Linux even across exec.
SHIM = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": usage.ru_maxrss / 1024, "status": os.waitstatus_to_exitcode(status),
                  "stderr_tail": err.decode(errors="replace")[-400:].strip()}))
"""


def measured(argv: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``argv`` to its end: wall seconds, CPU seconds (user + system) and peak RSS (MB) of
    that process alone, and its exit status. ``env`` adds to this process's environment."""
    shim = subprocess.run([sys.executable, "-c", SHIM, *argv], check=True, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    return json.loads(shim.stdout)


def suricata(capture: Path) -> dict:
    binary = shutil.which("suricata")
    if binary is None:
        return {"skipped": "suricata is not on PATH (Debian: apt-get install -t bookworm-backports suricata)"}
    with tempfile.TemporaryDirectory(prefix="gatewatch-suricata-") as tmp:
        config = Path(tmp) / "suricata.yaml"
        config.write_text(SURICATA_YAML)
        run = measured([binary, "-c", str(config), "--runmode", "single", "-k", "none", "-S", "/dev/null",
                        "-l", tmp, "-r", str(capture)])
        eve = Path(tmp) / "eve.json"
        run["flows"] = _count_lines(eve, '"event_type":"flow"')
    run["version"] = subprocess.run([binary, "-V"], check=False, capture_output=True, text=True).stdout.strip()
    return run


def gatewatch_flows(capture: Path, numpy_core: bool = False) -> dict:
    """``gatewatch flows`` as a process, on the core in use or (``numpy_core``) on the numpy
    reference; ``records_sha256`` digests its records in sorted order, for the identity check."""
    with tempfile.TemporaryDirectory(prefix="gatewatch-flows-") as tmp:
        out = Path(tmp) / "flows.jsonl"
        run = measured([sys.executable, "-m", "monitor", "flows", "--format", "jsonl", "-o", str(out), str(capture)],
                       env={"GATEWATCH_NATIVE": "0"} if numpy_core else None)
        run["flows"] = _count_lines(out)
        run["records_sha256"] = _sorted_digest(out)
    return run


def _sorted_digest(path: Path) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as lines:
        return hashlib.sha256(b"".join(sorted(lines))).hexdigest()


def _count_lines(path: Path, containing: str = "") -> int:
    if not path.exists():
        return 0
    with path.open() as lines:
        return sum(1 for line in lines if containing in line)


def dpkt_flows(capture: Path, limit: int) -> dict:
    """In this process: the first ``limit`` packets parsed with dpkt into flow keys, DNS names and SNI."""
    try:
        import dpkt
    except ImportError:
        return {"skipped": "dpkt is not installed (pip install dpkt, or the bench extra)"}
    flows: dict = {}
    names = 0
    start = time.perf_counter()
    packets = 0
    with capture.open("rb") as handle:
        for _, raw in dpkt.pcap.Reader(handle):
            packets += 1
            names += _dpkt_packet(dpkt, raw, flows)
            if packets >= limit:
                break
    seconds = time.perf_counter() - start
    return {"packets": packets, "seconds": seconds, "packets_per_s": packets / seconds, "flows": len(flows),
            "names": names}


def _dpkt_packet(dpkt, raw: bytes, flows: dict) -> int:
    try:
        ip = dpkt.ethernet.Ethernet(raw).data
        if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
            return 0
        l4 = ip.data
        if not isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
            return 0
        key = (ip.p, *sorted(((bytes(ip.src), l4.sport), (bytes(ip.dst), l4.dport))))
        flows[key] = flows.get(key, 0) + 1
        if isinstance(l4, dpkt.udp.UDP) and 53 in (l4.sport, l4.dport):
            return len(dpkt.dns.DNS(l4.data).qd)
        if isinstance(l4, dpkt.tcp.TCP) and l4.data[:1] == b"\x16":
            return _sni(dpkt, l4.data)
    except Exception:  # noqa: BLE001 - the baseline skips what dpkt cannot parse, as gatewatch counts it
        return 0
    return 0


def _sni(dpkt, data: bytes) -> int:
    try:
        record = dpkt.ssl.TLSRecord(data)
        handshake = dpkt.ssl.TLSHandshake(record.data)
        if isinstance(handshake.data, dpkt.ssl.TLSClientHello):
            return sum(1 for kind, _ in handshake.data.extensions if kind == 0)
    except Exception:  # noqa: BLE001 - dpkt raises its own SSL3Exception besides UnpackError
        return 0
    return 0
