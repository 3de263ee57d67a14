"""PacketBatch: a time-ordered batch of captured packets as columns over one byte buffer.

Every IP source (pcap/pcapng replay, live AF_PACKET capture) delivers PacketBatch objects.
The packet bytes are not copied into per-packet objects: ``data`` is one flat uint8 buffer
(often the file chunk itself) and each packet is ``data[offset : offset + caplen]``. The
buffer always ends with PAD zero bytes so header gathers may read a little past a short
packet without bounds checks; the parser masks such reads by ``caplen``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Zero bytes after the last packet in every buffer (see module docstring).
PAD = 256

# Link-layer header types (tcpdump.org/linktypes.html) gatewatch parses.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
# Values some old writers use for raw IP (DLT_RAW differs between BSDs).
LINKTYPE_RAW_ALIASES = (12, 14)

@dataclass(frozen=True, eq=False)
class PacketBatch:
    """N packets as parallel columns; ``interface`` codes index ``interface_names``."""

    data: np.ndarray  # uint8, packets plus PAD trailing zeros
    offset: np.ndarray  # int64 start of each packet in data
    caplen: np.ndarray  # int32 bytes captured
    wirelen: np.ndarray  # int32 bytes on the wire (>= caplen when the snap length cut it)
    ts_ns: np.ndarray  # int64 nanoseconds since the epoch
    linktype: np.ndarray  # uint16 per packet (a pcapng may mix link types)
    interface: np.ndarray  # uint16 codes into interface_names
    interface_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.offset.shape[0])

    def packet(self, index: int) -> bytes:
        start = int(self.offset[index])
        return self.data[start : start + int(self.caplen[index])].tobytes()

    def take(self, rows: np.ndarray | slice) -> PacketBatch:
        """The given rows over the same byte buffer (no packet bytes are copied)."""
        return PacketBatch(self.data, self.offset[rows], self.caplen[rows], self.wirelen[rows], self.ts_ns[rows],
                           self.linktype[rows], self.interface[rows], self.interface_names)

    @property
    def timestamp(self) -> np.ndarray:
        """Seconds since the epoch as float64 (microsecond-exact for current dates)."""
        return self.ts_ns / 1e9


def pad_buffer(raw: bytes | bytearray | memoryview) -> np.ndarray:
    """A uint8 array of ``raw`` followed by PAD zeros."""
    out = np.zeros(len(raw) + PAD, dtype=np.uint8)
    out[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return out


def from_packets(
    packets: list[bytes],
    ts_ns: list[int] | np.ndarray,
    linktype: int,
    interface: str = "",
    wirelen: list[int] | None = None,
) -> PacketBatch:
    """A batch from packet byte strings of one link type (tests, reassembled datagrams)."""
    lengths = np.array([len(p) for p in packets], dtype=np.int64)
    offsets = np.zeros(len(packets), dtype=np.int64)
    if len(packets) > 1:
        offsets[1:] = np.cumsum(lengths)[:-1]
    n = len(packets)
    return PacketBatch(
        data=pad_buffer(b"".join(packets)),
        offset=offsets,
        caplen=lengths.astype(np.int32),
        wirelen=np.asarray(wirelen if wirelen is not None else lengths, dtype=np.int32),
        ts_ns=np.asarray(ts_ns, dtype=np.int64),
        linktype=np.full(n, linktype, dtype=np.uint16),
        interface=np.zeros(n, dtype=np.uint16),
        interface_names=(interface,),
    )


def concat(first: PacketBatch, second: PacketBatch) -> PacketBatch:
    """One batch holding both (the second's offsets rebased); rows keep their order."""
    names = first.interface_names + second.interface_names
    used = int(first.data.size - PAD)
    return PacketBatch(
        data=np.concatenate([first.data[:used], second.data]),
        offset=np.concatenate([first.offset, second.offset + used]),
        caplen=np.concatenate([first.caplen, second.caplen]),
        wirelen=np.concatenate([first.wirelen, second.wirelen]),
        ts_ns=np.concatenate([first.ts_ns, second.ts_ns]),
        linktype=np.concatenate([first.linktype, second.linktype]),
        interface=np.concatenate([first.interface, (second.interface + len(first.interface_names)).astype(np.uint16)]),
        interface_names=names,
    )
