"""Episodes of control reaching into the vehicle (category remote) and the benign traffic that
must raise nothing: the allowlisted telemetry backend, NTP, a software download, occasional API
calls to a destination in no set."""

from __future__ import annotations

import struct
from collections.abc import Callable

from . import frames
from .episodes import Drive, Episode
from .scene import VEHICLE, app_data, client_hello, doip, jt808_frame, server_hello_flight


def downlink(protocol: str) -> Callable[[Drive], Episode]:
    """A terminal's connection to its platform, and a command coming back down it."""
    def build(d: Drive) -> Episode:
        rng, at = d.rng, d.when()
        address, port = d.address(), d.port()
        imei = str(rng.randint(10**14, 10**15 - 1))
        if protocol == "jt808":
            steps = [("up", jt808_frame(0x0002, b""), 0.01), ("down", frames.jt808_command(rng, d.address(), d.port()), 0.3)]
        elif protocol == "teltonika":
            steps = [("up", struct.pack(">H", 15) + imei.encode(), 0.01), ("down", b"\x01", 0.05),
                     ("down", frames.teltonika_command(rng), 0.5)]
        elif protocol == "gt06":
            login = bytes.fromhex("0d01") + bytes.fromhex("0" + imei) + b"\x00\x01"
            steps = [("up", b"\x78\x78" + login + b"\x00\x00\r\n", 0.01), ("down", frames.gt06_command(rng), 0.4)]
        else:
            steps = [("up", b"##\x07\xfe" + d.vin.encode() + b"\x01\x00\x00", 0.01),
                     ("down", frames.gbt32960_command(rng, d.vin, at), 0.4)]
        d.cap.tcp_session(at, address, port, d.sport(), steps, close=False)
        logs_in = ("identity",) if protocol != "jt808" else ()  # the login names the terminal (IMEI) or the VIN
        return Episode(f"remote:{protocol}", "remote", address, port, at, also=logs_in)
    return build


def doip_session(d: Drive) -> Episode:
    """A tester outside opens DoIP on the vehicle: routing activation, then a UDS request."""
    rng, at, outside = d.rng, d.when(), d.address()
    tester, ecu = rng.choice((0x0E00, 0x0E80, 0x0F00)), rng.choice((0x0010, 0x1001, 0x0701))
    service = rng.choice((b"\x10\x03", b"\x11\x01", b"\x27\x01", b"\x2e\xf1\x90" + d.vin.encode(), b"\x31\x01\xff\x00"))
    steps = [("up", doip(0x0005, struct.pack(">HB", tester, 0) + bytes(4)), 0.01),
             ("down", doip(0x0006, struct.pack(">HHB", tester, ecu, 0x10) + bytes(4)), 0.02),
             ("up", doip(0x8001, struct.pack(">HH", tester, ecu) + service), 0.1)]
    d.cap.tcp_session(at, VEHICLE, 13400, d.sport(), steps, src=outside)
    return Episode("remote:doip", "remote", outside, 13400, at)


SHELLS = {22: (b"SSH-2.0-OpenSSH_9.2p1\r\n", b"SSH-2.0-dropbear_2022.83\r\n"),
          23: (b"\xff\xfd\x18\xff\xfd\x20", b"\xff\xfb\x01login: "),
          5555: (b"CNXN\x00\x00\x00\x01\x00\x10\x00\x00\x07\x00\x00\x00\x32\x02\x00\x00\xbc\xb1\xa7\xb1host::\x00",
                 b"CNXN\x00\x00\x00\x01\x00\x10\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\xbc\xb1\xa7\xb1device::")}


def inbound_shell(d: Drive) -> Episode:
    """SSH, Telnet or ADB opened on the vehicle from outside."""
    at, outside = d.when(), d.address()
    port = d.rng.choice(sorted(SHELLS))
    client, server = SHELLS[port]
    d.cap.tcp_session(at, VEHICLE, port, d.sport(), [("up", client, 0.01), ("down", server, 0.03)], src=outside)
    return Episode("remote:shell", "remote", outside, port, at)


# ------------------------------------------------------------------ benign: must raise no alert

def fleet_telemetry(d: Drive) -> Episode:
    """The allowlisted backend: a TLS upload every 10-30 s all drive long (beacon-like, allowed)."""
    rng, start = d.rng, d.t0 + d.rng.uniform(2, 20)
    address, name = d.named(start, d.fleet_domain)
    period = rng.uniform(10, 30)
    steps = [("up", client_hello(name, rng.getrandbits(16)), 0.01), ("down", server_hello_flight(), 0.05)]
    for _ in range(int((d.seconds - 30) / period)):
        steps += [("up", app_data(rng.randint(600, 1100), rng.getrandbits(32)), period * rng.uniform(0.98, 1.02)),
                  ("down", app_data(60, rng.getrandbits(32)), 0.07)]
    d.cap.tcp_session(start, address, 443, d.sport(), steps)
    return Episode("benign:fleet-telemetry", None, address, 443, start, name)


def ntp(d: Drive) -> Episode:
    address, name = d.named(d.t0 + 1)
    for k in range(int(d.seconds // 64)):
        d.cap.ntp(d.t0 + 1.5 + 64 * k, address, sport=123)
    return Episode("benign:ntp", None, address, 123, d.t0 + 1.5, name)


def software_download(d: Drive) -> Episode:
    """An update: small requests up, megabytes down."""
    rng, at = d.rng, d.when(latest_before_end=120)
    address, name = d.named(at)
    steps = [("up", client_hello(name, rng.getrandbits(16)), 0.01), ("down", server_hello_flight(), 0.05)]
    for _ in range(rng.randint(3, 8)):
        steps += [("up", app_data(rng.randint(200, 500), rng.getrandbits(32)), rng.uniform(0.2, 2)),
                  ("down", app_data(rng.randint(200_000, 900_000), rng.getrandbits(32)), 0.05)]
    d.cap.tcp_session(at, address, 443, d.sport(), steps)
    return Episode("benign:download", None, address, 443, at, name)


def api_calls(d: Drive) -> Episode:
    """Occasional small HTTPS requests at irregular times (an app's API), to a name in no set."""
    rng, start = d.rng, d.t0 + d.rng.uniform(5, 60)
    address, name = d.named(start)
    steps, t = [("up", client_hello(name, rng.getrandbits(16)), 0.01), ("down", server_hello_flight(), 0.05)], start
    while True:
        gap = rng.expovariate(1 / 60)
        if t + gap > d.t0 + d.seconds - 10:
            break
        t += gap
        steps += [("up", app_data(rng.randint(300, 800), rng.getrandbits(32)), gap),
                  ("down", app_data(rng.randint(200, 3000), rng.getrandbits(32)), 0.1)]
    d.cap.tcp_session(start, address, 443, d.sport(), steps)
    return Episode("benign:api", None, address, 443, start, name)

