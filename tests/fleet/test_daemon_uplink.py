"""The daemon with an ``uplink`` section publishes its alert records as it writes them, and
says at start-up when the policy would not let the uplink reach its broker."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import can

from monitor.alerts.logfiles import chain_files, sequences
from monitor.daemon import Daemon
from monitor.fleet.broker import Broker
from tests.fleet.test_uplink import Running, collected
from tests.loaded import GENEROUS


def _daemon(tmp_path: Path, channel: str, broker_url: str, allow: bool) -> Daemon:
    port = broker_url.rsplit(":", 1)[1]
    policy = (f"destinations:\n  fleet-broker: {{cidrs: [127.0.0.1/32], ports: [tcp/{port}]}}\n"
              "rules:\n  - {id: uplink, category: unknown, to: fleet-broker, action: allow}\n") if allow else \
        "rules:\n  - {id: unlisted-destinations, category: unknown, action: alert}\n"  # every unlisted flow flagged
    config = tmp_path / f"gateway-{allow}.yaml"
    config.write_text(f"version: 1\nextends: default\nalerts: {{vehicle_id: car-9}}\nuplink: {{broker: '{broker_url}'}}\n"
                      f"sources:\n  can: [{{name: diag, interface: virtual, channel: {channel}}}]\n{policy}")
    return Daemon(str(config), tmp_path / f"out-{allow}")


def test_the_daemon_publishes_what_it_writes_and_checks_its_broker_is_allowed(tmp_path: Path, mosquitto, caplog) -> None:
    broker = Broker.parse(mosquitto.url)
    collector = Running(broker, tmp_path / "fleet")
    channel = f"gw-uplink-{uuid.uuid4().hex[:6]}"
    daemon = _daemon(tmp_path, channel, mosquitto.url, allow=True)
    ready = threading.Event()
    runner = threading.Thread(target=daemon.run, kwargs={"ready": ready.set})
    runner.start()
    try:
        assert ready.wait(GENEROUS)
        with can.Bus(interface="virtual", channel=channel) as bus:
            for ecu in range(1, 6):
                bus.send(can.Message(arbitration_id=0x18DA00F1 | (ecu << 8), is_extended_id=True,
                                     data=bytes.fromhex("0635000012340100")))
        collector.wait_for(5)
    finally:
        daemon.stop()
        runner.join(30)
        collector.close()
    local = sequences(chain_files(tmp_path / "out-True"))
    got = collected(tmp_path / "fleet", "car-9")
    assert len(local) >= 5 and {s: local[s] for s in got} == got and len(got) >= 5
    assert "uplink_not_allowed" not in daemon.counts

    refused = _daemon(tmp_path, channel, mosquitto.url, allow=False)
    assert refused.uplink is not None
    why = refused.uplink.not_allowed(refused.monitor.decider, refused.policy)
    assert why == (f"the uplink's broker 127.0.0.1:{mosquitto.port} is not allowed by the policy (rule "
                   "unlisted-destinations says alert): add it to a destination set an allow rule names")
    refused.log.close()
