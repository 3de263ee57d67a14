"""``gatewatch uplink`` (on the vehicle) and ``gatewatch collect`` (in the fleet backend): alert
records over MQTT from the chained files to day- and vehicle-partitioned files."""

from __future__ import annotations

import argparse
import signal
import threading


def add_broker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", required=True, metavar="URL", help="mqtt://host[:port] or mqtts://host[:port]")
    parser.add_argument("--ca", metavar="FILE", help="TLS: the CA that signed the broker's certificate")
    parser.add_argument("--cert", metavar="FILE", help="TLS: this client's certificate")
    parser.add_argument("--key", metavar="FILE", help="TLS: this client's private key")


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    return stop


def broker_of(args: argparse.Namespace):
    from ..fleet.broker import Broker

    return Broker.parse(args.broker, args.ca, args.cert, args.key)
