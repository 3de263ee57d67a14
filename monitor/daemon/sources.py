"""The live sources a configuration names: CAN buses (through the bus registry) and network
interfaces. Modules are imported only for what is configured: a CAN-only gateway never loads
the capture code (nor scapy), an IP-only one never opens a CAN bus."""

from __future__ import annotations

from ..config.model import Config
from ..errors import ConfigError
from ..source import LiveSource

IP_BATCH_S = 0.1  # packets wait at most this long for their batch (an enforced cut-off waits on it)


def live_sources(config: Config, interfaces: list[str] | None = None) -> list[LiveSource]:
    """``interfaces`` (``gatewatch run -i``) replace the configured IP sources. Without a
    ``sources`` section the policy's uplinks are captured."""
    sources: list[LiveSource] = []
    if config.sources.can:
        from ..canbus.buses import open_bus

        sources += [open_bus(bus.name, bus.python_can_kwargs()) for bus in config.sources.can]
    ip: list[tuple[str, str | None, int]] = [(name, None, 2048) for name in interfaces or ()]
    if not ip:
        ip = [(s.interface, s.filter, s.snaplen) for s in config.sources.ip]
    if not ip and not config.sources.configured:
        ip = [(name, None, 2048) for name in config.policy.uplinks]
    if ip:
        from ..net.live import CaptureConfig, LiveCapture

        sources += [LiveCapture(CaptureConfig(interfaces=[name], bpf_filter=bpf, snaplen=snaplen, max_latency=IP_BATCH_S))
                    for name, bpf, snaplen in ip]
    if not sources:
        raise ConfigError(f"{config.path}: nothing to read: no sources (can, ip), no uplinks in the policy, no --interface")
    return sources
