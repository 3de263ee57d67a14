"""Small network programs the enforcement test runs inside its namespaces (`ip netns exec NS
python -m tests.enforce.apps ...`): TCP sinks that count what arrives, an authoritative DNS
server (answers built with scapy), and a client that resolves, connects and sends.

Every program stops by itself (sinks and DNS after --lifetime seconds) and prints or logs JSON.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time


def sink(args: argparse.Namespace) -> None:
    """Count payload bytes per connection; log a JSON line after every receive."""
    lock = threading.Lock()
    log = open(args.log, "a")  # noqa: SIM115 - open for the process's whole life
    counter = iter(range(1, 1 << 30))

    def serve(conn: socket.socket, local: str) -> None:
        ident, total = next(counter), 0
        with conn:
            while data := _recv(conn):
                total += len(data)
                with lock:
                    log.write(json.dumps({"local": local, "conn": ident, "total": total}) + "\n")
                    log.flush()

    def accept(listener: socket.socket, local: str) -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn, local), daemon=True).start()

    for address in args.listen:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, args.port))
        listener.listen(16)
        threading.Thread(target=accept, args=(listener, address), daemon=True).start()
    print("ready", flush=True)
    time.sleep(args.lifetime)


def _recv(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except OSError:
        return b""


def dns(args: argparse.Namespace) -> None:
    """Answer A/AAAA queries for the given names (NAME=ADDRESS/TTL); NXDOMAIN otherwise."""
    from scapy.layers.dns import DNS, DNSRR

    records = {}
    for item in args.record:
        name, _, value = item.partition("=")
        address, _, ttl = value.partition("/")
        records[name.lower().rstrip(".")] = (address, int(ttl))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.listen, 53))
    sock.settimeout(0.5)
    print("ready", flush=True)
    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            data, client = sock.recvfrom(4096)
        except TimeoutError:
            continue
        query = DNS(data)
        name = query.qd.qname.decode().lower().rstrip(".")
        found = records.get(name)
        rtype = "AAAA" if found and ":" in found[0] else "A"
        if found and query.qd.qtype == (28 if rtype == "AAAA" else 1):
            reply = DNS(id=query.id, qr=1, aa=1, rd=query.rd, qd=query.qd,
                        an=DNSRR(rrname=query.qd.qname, type=rtype, ttl=found[1], rdata=found[0]))
        else:
            reply = DNS(id=query.id, qr=1, aa=1, rd=query.rd, rcode=0 if found else 3, qd=query.qd)
        sock.sendto(bytes(reply), client)


def send(args: argparse.Namespace) -> None:
    """Resolve (optionally), connect, send --chunks of --size bytes; the chunk --position-at
    (if given) carries an NMEA position sentence instead of filler. Prints what happened."""
    result: dict = {"sent": 0, "connected": False, "error": None}
    host = args.host
    if args.resolve:
        host = _resolve(args.resolve, args.resolver)
        result["resolved"] = host
        if host is None:
            result["error"] = "no answer"
            print(json.dumps(result))
            return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(args.connect_timeout)
    try:
        sock.connect((host, args.port))
        result["connected"] = True
        sock.settimeout(5)
        for i in range(args.chunks):
            payload = POSITION if i == args.position_at else b"x" * args.size
            sock.sendall(payload)
            result["sent"] += len(payload)
            time.sleep(args.interval)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1)  # the sink closes after EOF; a reset shows here too
    except OSError as error:
        result["error"] = type(error).__name__
    finally:
        sock.close()
    print(json.dumps(result))


POSITION = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"


def _resolve(name: str, resolver: str) -> str | None:
    from scapy.layers.dns import DNS, DNSQR

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    sock.sendto(bytes(DNS(id=0x4242, rd=1, qd=DNSQR(qname=name, qtype="A"))), (resolver, 53))
    try:
        answer = DNS(sock.recv(4096))
    except TimeoutError:
        return None
    return next((str(answer.an[i].rdata) for i in range(answer.ancount) if answer.an[i].type == 1), None)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="tests.enforce.apps")
    sub = parser.add_subparsers(dest="app", required=True)
    p = sub.add_parser("sink")
    p.add_argument("listen", nargs="+")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--lifetime", type=float, default=300)
    p = sub.add_parser("dns")
    p.add_argument("listen")
    p.add_argument("--record", action="append", default=[])
    p.add_argument("--lifetime", type=float, default=300)
    p = sub.add_parser("send")
    p.add_argument("host", nargs="?")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--resolve")
    p.add_argument("--resolver")
    p.add_argument("--chunks", type=int, default=1)
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--interval", type=float, default=0.0)
    p.add_argument("--position-at", type=int, default=-1)
    p.add_argument("--connect-timeout", type=float, default=1.5)
    args = parser.parse_args(argv)
    {"sink": sink, "dns": dns, "send": send}[args.app](args)


if __name__ == "__main__":
    main(sys.argv[1:])
