"""Crafted hostile inputs, one per class of attack on the readers: files that once gave a
traceback, or cost minutes or gigabytes, though they are small. ``gatewatch bench hostile``
runs each through the command line; tests/hostile runs each in-process within a budget.

Each builder writes its input into a folder and returns the command-line arguments that read
it (``{dir}`` is that folder), so a class is one row of HOSTILE below.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..net.packets import LINKTYPE_ETHERNET
from ..net.pcapwriter import write_pcap
from ..resources import shipped
from .pcapngwire import option, pcapng_bytes
from .scene import VEHICLE, Capture, _checksum, ip4

TESLA_DBC = "dbc/opendbc/tesla_model3_party.dbc"


@dataclass(frozen=True)
class Hostile:
    name: str
    kind: str  # what it attacks: pcapng, gzip, yaml, dbc, flows, detector ...
    build: Callable[[Path], list[str]]  # writes the input; returns the gatewatch arguments
    expect: str  # "error: <text>" (exit 1, one line naming the file) or "ok: <text in stderr or stdout>"


# ------------------------------------------------------------------ pcapng

def _pcapng(folder: Path, name: str, options: bytes = b"", time: int = 1, tail: bytes = b"") -> Path:
    path = folder / name
    path.write_bytes(pcapng_bytes([(time, bytes(60))], options) + tail)
    return path


def pcapng_time_top_bit(folder: Path) -> list[str]:
    return ["flows", "-o", str(folder / "out.jsonl"), str(_pcapng(folder, "top-bit.pcapng", time=(1 << 64) - 1))]


def pcapng_short_block_at_end(folder: Path) -> list[str]:
    path = _pcapng(folder, "short-block.pcapng", tail=struct.pack("<II", 6, 8))
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def pcapng_extreme_resolution(folder: Path) -> list[str]:
    path = _pcapng(folder, "tsresol.pcapng", options=option(9, bytes([0x7F])), time=(1 << 62))
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def pcapng_extreme_offset(folder: Path) -> list[str]:
    path = _pcapng(folder, "tsoffset.pcapng", options=option(14, struct.pack("<q", -(1 << 63))))
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


# ------------------------------------------------------------------ compressed CAN logs

def _decode(folder: Path, log: Path) -> list[str]:
    return ["decode", "--dbc", str(shipped(TESLA_DBC)), "-o", str(folder / "out.jsonl"), str(log)]


def gzip_damaged(folder: Path) -> list[str]:
    good = gzip.compress(b"(1.000000) can0 123#00\n" * 1000)
    path = folder / "damaged.log.gz"
    path.write_bytes(good[:20] + bytes(b ^ 0x5A for b in good[20:60]) + good[60:])
    return _decode(folder, path)


def gzip_not_gzip(folder: Path) -> list[str]:
    path = folder / "plain.log.gz"
    path.write_bytes(b"(1.000000) can0 123#00\n")
    return _decode(folder, path)


def gzip_bomb(folder: Path, megabytes: int = 24) -> list[str]:
    """Valid candump lines that expand about 1,000 times (the most deflate gives): one gzip
    member of 1 MiB of lines, repeated (readers join a file's members)."""
    member = gzip.compress(b"(1.000000) can0 123#00\n" * 45_590, 9)
    path = folder / "bomb.log.gz"
    path.write_bytes(member * megabytes)
    return _decode(folder, path)


def log_line_without_end(folder: Path) -> list[str]:
    path = folder / "endless-line.log"
    with path.open("wb") as out:
        out.write(b"(1.000000) can0 123#00\n")
        for _ in range(8):
            out.write(b"A" * (1 << 20))
        out.write(b"\n(2.000000) can0 124#01\n")
    return _decode(folder, path)


# ------------------------------------------------------------------ configuration YAML

def _policy(folder: Path, name: str, data: bytes) -> list[str]:
    path = folder / name
    path.write_bytes(data)
    return ["policy", "check", str(path)]


def yaml_not_utf8(folder: Path) -> list[str]:
    return _policy(folder, "latin1.yaml", b"version: 1\nname: caf\xe9\n")


def yaml_nul(folder: Path) -> list[str]:
    return _policy(folder, "nul.yaml", b"version: 1\n\x00name: x\n")


def yaml_deep(folder: Path) -> list[str]:
    return _policy(folder, "deep.yaml", b"version: 1\nx: " + b"[" * 20_000 + b"]" * 20_000 + b"\n")


def yaml_huge_integer(folder: Path) -> list[str]:
    return _policy(folder, "bigint.yaml", b"version: " + b"9" * 5_000 + b"\n")


def yaml_list_as_key(folder: Path) -> list[str]:
    return _policy(folder, "list-key.yaml", b"version: 1\n? [a, b]\n: 1\n")


# ------------------------------------------------------------------ DBC

def _dbc(folder: Path, name: str, edit: Callable[[str], str]) -> list[str]:
    text = shipped(TESLA_DBC).read_text(encoding="latin-1")
    path = folder / name
    path.write_text(edit(text), encoding="latin-1")
    log = folder / "one.log"
    log.write_text("(1.000000) can0 123#00\n")
    return ["decode", "--dbc", str(path), "-o", str(folder / "out.jsonl"), str(log)]


def _first_message(text: str, replace: Callable[[str], str]) -> str:
    start = text.index("\nBO_ ") + 1
    end = text.index("\n", start)
    return text[:start] + replace(text[start:end]) + text[end:]


def dbc_huge_message(folder: Path) -> list[str]:
    def huge(line: str) -> str:
        head, _, rest = line.partition(":")
        return f"{head}: 1000000000 {rest.split()[1]}"

    return _dbc(folder, "huge-message.dbc", lambda t: _first_message(t, huge))


def dbc_huge_signal(folder: Path) -> list[str]:
    return _dbc(folder, "huge-signal.dbc", lambda t: _first_message(
        t, lambda line: line + '\n SG_ Giant : 0|100000000@1+ (1,0) [0|1] "" X'))


def dbc_long_line(folder: Path) -> list[str]:
    return _dbc(folder, "long-line.dbc", lambda t: t.replace("\nBO_ ", '\nCM_ "' + "x" * (4 << 20) + '";\nBO_ ', 1))


# ------------------------------------------------------------------ captures that cost work

def _frames(path: Path, frames: list[tuple[float, bytes]]) -> Path:
    """Written in the order given (a clock that steps back stays stepped back)."""
    write_pcap(path, ((round(t * 1e9), data, len(data)) for t, data in frames), LINKTYPE_ETHERNET)
    return path


def clock_steps_back(folder: Path) -> list[str]:
    """One upload flow whose clock jumps back 54 years halfway (the mapping judge once walked
    every 10 s window in between)."""
    cap = Capture()
    for i, t in enumerate([1.7e9 + k for k in range(5)] + [1.0 + k for k in range(5)]):
        header = struct.pack("!HHIIBBHHH", 40000, 443, 1000 + 500 * i, 1, 5 << 4, 0x18, 64240, 0, 0)
        cap._add(t, VEHICLE, "93.184.216.34", 6, header + bytes(500))
    path = _frames(folder / "clock-back.pcap", cap.frames)
    return ["replay", "-o", str(folder / "out"), "--force", str(path)]


def _fragment(src: str, dst: str, ident: int, offset: int, more: bool, payload: bytes) -> bytes:
    flags = (0x2000 if more else 0) | (offset // 8)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, 64, 17, 0, ip4(src), ip4(dst))
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + header + payload


def fragment_duplicates(folder: Path, count: int = 100_000) -> list[str]:
    """The same middle fragment of one datagram, again and again; its gap never fills."""
    piece = _fragment(VEHICLE, "203.0.113.9", 7, 1480, True, bytes(1480))
    path = _frames(folder / "duplicate-fragments.pcap", [(1.7e9 + i * 1e-5, piece) for i in range(count)])
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def fragment_many_datagrams(folder: Path, count: int = 100_000) -> list[str]:
    """A first fragment of a different datagram each time; none ever completes."""
    frames = [(1.7e9 + i * 1e-5, _fragment(VEHICLE, "203.0.113.9", i & 0xFFFF, 0, True,
                                            struct.pack("!HHHH", 40000 + (i >> 16), 9, 1488, 0) + bytes(1472)))
              for i in range(count)]
    path = _frames(folder / "pending-datagrams.pcap", frames)
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def _name(text: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".")) + b"\0"


def dns_cname_chain(folder: Path) -> list[str]:
    """A 64 kB answer: a CNAME chain 900 names long and 1,200 addresses at its end."""
    records = [_name(f"c{i + 1}.example") + struct.pack("!HHIH", 5, 1, 300, len(_name(f"c{i}.example")))
               + _name(f"c{i}.example") for i in range(900)]
    records += [_name("c0.example") + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([10, 9, i >> 8, i & 0xFF])
                for i in range(1200)]
    question = _name("c900.example") + struct.pack("!HH", 1, 1)
    answer = struct.pack("!HHHHHH", 1, 0x8180, 1, len(records), 0, 0) + question + b"".join(records)
    cap = Capture()
    cap.udp(1.7e9, "192.168.1.1", 53, VEHICLE, 41000, answer[:65_000])
    cap.write(folder / "cname-chain.pcap")
    return ["flows", "-o", str(folder / "out.jsonl"), str(folder / "cname-chain.pcap")]


def quic_tiny_crypto_frames(folder: Path) -> list[str]:
    """A QUIC Initial whose ClientHello comes in one-byte CRYPTO frames, last byte first."""
    from .quicwire import client_initial
    from .scene import client_hello

    hello = client_hello("tiny-frames.example")[5:]  # the handshake message, without the TLS record header
    frames = b"".join(b"\x06" + _varint(i) + b"\x01" + hello[i : i + 1] for i in reversed(range(len(hello))))
    cap = Capture()
    for k, datagram in enumerate(client_initial(bytes(range(8)), frames)):
        cap.udp(1.7e9 + k * 1e-3, VEHICLE, 50000, "203.0.113.7", 443, datagram)
    cap.write(folder / "quic-tiny-frames.pcap")
    return ["flows", "-o", str(folder / "out.jsonl"), str(folder / "quic-tiny-frames.pcap")]


def _varint(value: int) -> bytes:
    return bytes([value]) if value < 64 else struct.pack("!H", 0x4000 | value)


def isotp_truncated_then_transfer(folder: Path) -> list[str]:
    """A first frame one byte long, then a real UDS RequestUpload: the upload must still be flagged."""
    lines = ["(1.000000) can0 7E0#10", "(1.100000) can0 7E0#0635000012340100"]
    path = folder / "uds.log"
    path.write_text("\n".join(lines) + "\n")
    return ["replay", "-o", str(folder / "out"), "--force", str(path)]




def many_alerts(folder: Path, count: int = 1500) -> Path:
    """A capture that makes an alert record every few milliseconds of replay: JT/T 808 position
    reports from the vehicle to ``count`` different servers, a second apart."""
    from .drive import jt808_location

    cap = Capture()
    for i in range(count):
        server = f"198.{18 + (i >> 16)}.{(i >> 8) & 0xFF}.{i & 0xFF}"
        cap.udp(1.7e9 + i, VEHICLE, 40000 + i % 20000, server, 7000, jt808_location(48.1 + i * 1e-4, 11.5, i))
    path = folder / "many-alerts.pcap"
    cap.write(path)
    return path


def _blf_seed() -> bytes:
    from .fuzz import by_name

    return by_name("blf").seeds()[0]


def blf_huge_object(folder: Path) -> list[str]:
    """A BLF whose first object declares 4 GiB (python-can read that much at once)."""
    data = bytearray(_blf_seed())
    first = struct.unpack_from("<L", data, 4)[0]  # the file header's size: the first object follows
    struct.pack_into("<L", data, first + 8, 0xFFFFFFF0)
    path = folder / "huge-object.blf"
    path.write_bytes(bytes(data))
    return _decode(folder, path)


def blf_zlib_bomb(folder: Path, megabytes: int = 64) -> list[str]:
    """A BLF container of zlib data that inflates a thousandfold."""
    seed = _blf_seed()
    header = seed[: struct.unpack_from("<L", seed, 4)[0]]
    packed = zlib.compress(bytes(megabytes << 20), 9)
    body = struct.pack("<H6xL4x", 2, megabytes << 20) + packed
    size = 16 + len(body)
    path = folder / "bomb.blf"
    path.write_bytes(header + struct.pack("<4sHHLL", b"LOBJ", 16, 1, size, 10) + body + bytes(-size % 4))
    return _decode(folder, path)


HOSTILE: tuple[Hostile, ...] = (
    Hostile("pcapng_time_top_bit", "pcapng", pcapng_time_top_bit, "ok: packet times out of range 1"),
    Hostile("pcapng_short_block_at_end", "pcapng", pcapng_short_block_at_end, "ok: damaged"),
    Hostile("pcapng_extreme_resolution", "pcapng", pcapng_extreme_resolution, "ok: packets: 1"),
    Hostile("pcapng_extreme_offset", "pcapng", pcapng_extreme_offset, "ok: timestamp offset"),
    Hostile("gzip_damaged", "gzip", gzip_damaged, "error: damaged gzip data"),
    Hostile("gzip_not_gzip", "gzip", gzip_not_gzip, "error: Not a gzipped file"),
    Hostile("gzip_bomb", "gzip", gzip_bomb, "error: gzip expands past"),
    Hostile("log_line_without_end", "candump", log_line_without_end, "ok: line longer than"),
    Hostile("blf_huge_object", "blf", blf_huge_object, "ok: frames read"),
    Hostile("blf_zlib_bomb", "blf", blf_zlib_bomb, "error: BLF containers inflate past"),
    Hostile("yaml_not_utf8", "yaml", yaml_not_utf8, "error: latin1.yaml:2:10: not UTF-8"),
    Hostile("yaml_nul", "yaml", yaml_nul, "error: nul.yaml:2:1: control character U+0000"),
    Hostile("yaml_deep", "yaml", yaml_deep, "error: nested deeper than"),
    Hostile("yaml_huge_integer", "yaml", yaml_huge_integer, "error: bigint.yaml:1:10: an integer of 5000 digits"),
    Hostile("yaml_list_as_key", "yaml", yaml_list_as_key, "error: list-key.yaml:2:3: a mapping key must be a plain value"),
    Hostile("dbc_huge_message", "dbc", dbc_huge_message, "error: declares 1000000000 bytes"),
    Hostile("dbc_huge_signal", "dbc", dbc_huge_signal, "error: does not fit"),
    Hostile("dbc_long_line", "dbc", dbc_long_line, "error: a line longer than"),
    Hostile("clock_steps_back", "detector", clock_steps_back, "ok: clock_went_back"),
    Hostile("fragment_duplicates", "fragments", fragment_duplicates, "ok: invalid fragment datagrams"),
    Hostile("fragment_many_datagrams", "fragments", fragment_many_datagrams, "ok: fragments: 100000"),
    Hostile("dns_cname_chain", "dns", dns_cname_chain, "ok: packets: 1"),
    Hostile("quic_tiny_crypto_frames", "quic", quic_tiny_crypto_frames, "ok: tiny-frames.example"),
    Hostile("isotp_truncated_then_transfer", "detector", isotp_truncated_then_transfer, "ok: RequestUpload"),
)
