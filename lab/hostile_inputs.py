"""Crafted hostile inputs, one per class of attack on the readers: files that once gave a
traceback, or cost minutes or gigabytes, though they are small. ``make hostile``
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

from monitor.net.packets import LINKTYPE_ETHERNET
from monitor.net.pcapwriter import write_pcap
from monitor.resources import shipped
from monitor.testing.pcapngwire import option, pcapng_bytes
from monitor.testing.scene import VEHICLE, Capture, _checksum, ip4

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
    return _dbc(folder, "long-line.dbc", lambda t: t.replace("\nBO_ ", '\nCM_ "' + "x" * (1 << 20) + '";\nBO_ ', 1))


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
    from monitor.testing.quicwire import client_initial
    from monitor.testing.scene import client_hello

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


# ------------------------------------------------------------------ issue 25: files that cost minutes or gigabytes

def _pcapng_tail(folder: Path, name: str, tail: bytes) -> list[str]:
    path = folder / name
    path.write_bytes(pcapng_bytes([(1, bytes(60))]) + tail)
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def pcapng_block_4gib(folder: Path, megabytes: int = 64) -> list[str]:
    """An enhanced packet block declaring 4 GiB, then ``megabytes`` of zeros: the reader once
    held the whole rest of the file waiting for the block's end (1.2 GB RSS)."""
    path = folder / "block-4gib.pcapng"
    with path.open("wb") as out:
        out.write(pcapng_bytes([(1, bytes(60))]) + struct.pack("<II", 6, 0xFFFFFFFC))
        for _ in range(megabytes):
            out.write(bytes(1 << 20))
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def pcapng_epb_16_at_end(folder: Path) -> list[str]:
    """An enhanced packet block of length 16 (its fixed fields need 32) ending the file."""
    return _pcapng_tail(folder, "epb-16.pcapng", struct.pack("<III", 6, 16, 0) + struct.pack("<I", 16))


def pcapng_pb_20_at_end(folder: Path) -> list[str]:
    """An obsolete packet block of length 20 ending the file."""
    return _pcapng_tail(folder, "pb-20.pcapng", struct.pack("<IIII", 2, 20, 0, 0) + struct.pack("<I", 20))


def candump_many_channels(folder: Path, count: int = 70_000) -> list[str]:
    """A frame on a different channel name on every line (13-38 s once: a quadratic merge)."""
    path = folder / "channels.log"
    path.write_text("".join(f"({1 + i * 1e-3:.6f}) c{i} 123#00\n" for i in range(count)))
    return _decode(folder, path)


def _long_line_log(folder: Path, name: str, head: str, megabytes: int) -> list[str]:
    path = folder / name
    with path.open("w", encoding="ascii") as out:
        out.write(head)
        for _ in range(megabytes):
            out.write(" 11" * ((1 << 20) // 3))
        out.write("\n")
    return _decode(folder, path)


ASC_HEAD = ("date Mon Jan 01 12:00:00.000 am 2024\nbase hex  timestamps absolute\nBegin Triggerblock\n"
            "   0.001000 1  123             Rx   d 1 00\n   0.002000 1  123             Rx   d 8")
TRC_HEAD = (";$FILEVERSION=1.1\n;$STARTTIME=45000.0\n;   Message Number\n"
            "     1)         1.0  Rx         0123  1  00\n     2)         2.0  Rx         0123  8")


def asc_long_line(folder: Path, megabytes: int = 64) -> list[str]:
    """A frame line of ``megabytes`` (200 MB cost 0.6-1.4 GB: the readers held a line whole)."""
    return _long_line_log(folder, "long-line.asc", ASC_HEAD, megabytes)


def trc_long_line(folder: Path, megabytes: int = 64) -> list[str]:
    return _long_line_log(folder, "long-line.trc", TRC_HEAD, megabytes)


def blf_inner_size_zero(folder: Path) -> list[str]:
    """A container holding an object that declares size 0: python-can's reader parsed it again
    and again, forever."""
    seed = _blf_seed()
    header = seed[: struct.unpack_from("<L", seed, 4)[0]]
    inner = struct.pack("<4sHHLL", b"LOBJ", 32, 1, 0, 65) + bytes(16)  # an unknown object type, size 0
    body = struct.pack("<H6xL4x", 0, len(inner)) + inner  # stored, not compressed
    path = folder / "size-zero.blf"
    path.write_bytes(header + struct.pack("<4sHHLL", b"LOBJ", 16, 1, 16 + len(body), 10) + body)
    return _decode(folder, path)


def _dbc_text(folder: Path, name: str, text: str, newline: str = "\n") -> list[str]:
    path = folder / name
    path.write_bytes(text.replace("\n", newline).encode("latin-1"))
    log = folder / "one.log"
    log.write_text("(1.000000) can0 123#0011223344556677\n")
    return ["decode", "--dbc", str(path), "-o", str(folder / "out.jsonl"), str(log)]


DBC_HEAD = 'VERSION ""\n\nNS_ :\n\nBS_:\n\nBU_: GW\n\n'


def dbc_cr_huge_message(folder: Path) -> list[str]:
    """CR-only line ends (the size checks once read the file as one line) and a message of
    100,000,000 bytes (2.7 GB)."""
    text = DBC_HEAD + 'BO_ 291 Big: 100000000 GW\n SG_ A : 0|8@1+ (1,0) [0|255] "" GW\n'
    return _dbc_text(folder, "cr-huge.dbc", text, newline="\r")


def dbc_cr_huge_signal(folder: Path) -> list[str]:
    """CR-only line ends and a signal of 100,000,000 bits."""
    text = DBC_HEAD + 'BO_ 291 Big: 8 GW\n SG_ A : 0|100000000@1+ (1,0) [0|255] "" GW\n'
    return _dbc_text(folder, "cr-signal.dbc", text, newline="\r")


def dbc_huge_comment(folder: Path, megabytes: int = 3) -> list[str]:
    """A comment of ``megabytes`` in short lines, each under the line cap (10 MB cost 2.2 GB in
    cantools, and is past the file cap)."""
    comment = ("x" * 99 + "\n") * ((megabytes << 20) // 100)
    text = DBC_HEAD + 'BO_ 291 M: 8 GW\n SG_ A : 0|8@1+ (1,0) [0|255] "" GW\n\nCM_ BO_ 291 "' + comment + '";\n'
    return _dbc_text(folder, "comment.dbc", text)


def dbc_many_messages(folder: Path, count: int = 50_000) -> list[str]:
    """50,000 messages within the file cap (100,000 cost 15 s and 550 MB in cantools)."""
    body = "".join(f'BO_ {i | 1 << 31} M{i}: 8 GW\n SG_ S{i} : 0|8@1+ (1,0) [0|255] "" GW\n\n' for i in range(count))
    return _dbc_text(folder, "many.dbc", DBC_HEAD + body)


def dbc_signal_wider_than_frame(folder: Path) -> list[str]:
    """A signal within 64 bytes but past its 8-byte frame: cantools loads it leniently and
    refuses its frames (the export once failed with a KeyError)."""
    text = DBC_HEAD + 'BO_ 291 M: 8 GW\n SG_ A : 40|64@1+ (1,0) [0|1] "" GW\n'
    return _dbc_text(folder, "wide-signal.dbc", text)


def dbc_float_type_mismatch(folder: Path) -> list[str]:
    """SIG_VALTYPE_ 1 (IEEE single) on a 24-bit signal (a traceback once)."""
    text = DBC_HEAD + 'BO_ 291 M: 8 GW\n SG_ A : 0|24@1+ (1,0) [0|1] "" GW\n\nSIG_VALTYPE_ 291 A : 1;\n'
    return _dbc_text(folder, "float24.dbc", text)


def dbc_double_type_mismatch(folder: Path) -> list[str]:
    """SIG_VALTYPE_ 2 (IEEE double) on a 32-bit signal."""
    text = DBC_HEAD + 'BO_ 291 M: 8 GW\n SG_ A : 0|32@1+ (1,0) [0|1] "" GW\n\nSIG_VALTYPE_ 291 A : 2;\n'
    return _dbc_text(folder, "double32.dbc", text)


def yaml_many_sets_and_rules(folder: Path, count: int = 20_000) -> list[str]:
    """20,000 destination sets and a rule for each (past 3 minutes once: each rule was checked
    against every rule above it): past the file cap."""
    sets = "".join(f"  s{i}: {{domains: [d{i}.example]}}\n" for i in range(count))
    rules = "".join(f"  - {{id: r{i}, category: geolocation, action: alert, to: [s{i}]}}\n" for i in range(count))
    return _policy(folder, "many-rules.yaml", f"version: 1\ndestinations:\n{sets}rules:\n{rules}".encode())


def _sets_and_rules(folder: Path, name: str, sets: int, rules: int) -> list[str]:
    """Within the file cap: ``sets`` sets, and ``rules`` rules naming them in turn."""
    sets_text = "".join(f"  s{i}: {{cidrs: [10.{i >> 8}.{i & 255}.0/24]}}\n" for i in range(sets))
    rules_text = "".join(f"  - {{id: r{i}, category: geolocation, action: alert, to: s{i % sets}}}\n"
                         for i in range(rules))
    return _policy(folder, name, f"version: 1\ndestinations:\n{sets_text}rules:\n{rules_text}".encode())


def yaml_sets_past_cap(folder: Path) -> list[str]:
    return _sets_and_rules(folder, "sets-cap.yaml", 2000, 1)


def yaml_rules_past_cap(folder: Path) -> list[str]:
    return _sets_and_rules(folder, "rules-cap.yaml", 1000, 2000)


def yaml_rules_at_cap(folder: Path) -> list[str]:
    """1,024 sets and rules: each rule checked against all above it, within the budget."""
    return _sets_and_rules(folder, "rules-at-cap.yaml", 1024, 1024)


def _signal_config(folder: Path, name: str, transform: str) -> list[str]:
    text = ("version: 1\ndbc: [dbc/gateway-telematics.dbc]\nsignals:\n  Vehicle.Speed:\n"
            f"    - signal: GW_VehicleMotion.VehicleSpeed\n      transform: {transform}\n")
    return _policy(folder, name, text.encode())


def yaml_big_mapping_table(folder: Path, count: int = 100_000) -> list[str]:
    """A value mapping of 100,000 entries (15 s, 520 MB once): past the file cap."""
    table = "".join(f"\n          - {{from: {i}, to: v{i}}}" for i in range(count))
    return _signal_config(folder, "mapping.yaml", "\n        mapping:" + table)


def yaml_mapping_past_cap(folder: Path, count: int = 5_000) -> list[str]:
    """A value mapping within the file cap, past the entry cap."""
    table = "".join(f"\n          - {{from: {i}, to: v{i}}}" for i in range(count))
    return _signal_config(folder, "mapping-cap.yaml", "\n        mapping:" + table)


def yaml_mapping_entry_malformed(folder: Path) -> list[str]:
    """A mapping entry without ``from`` (a KeyError traceback once)."""
    return _signal_config(folder, "mapping-entry.yaml", "\n        mapping:\n          - {to: v1}")


def math_many_terms(folder: Path, count: int = 400_000) -> list[str]:
    """A transform of 400,000 terms (RecursionError once): past the file cap."""
    return _signal_config(folder, "terms.yaml", "{math: 'x" + "+1" * count + "'}")


def math_long(folder: Path, count: int = 20_000) -> list[str]:
    """A transform of 20,000 terms within the file cap: past the expression cap."""
    return _signal_config(folder, "long-math.yaml", "{math: 'x" + "+1" * count + "'}")


def math_many_minus(folder: Path, count: int = 100_000) -> list[str]:
    """100,000 unary minus signs (MemoryError in Python's parser once)."""
    return _signal_config(folder, "minus.yaml", "{math: '" + "-" * count + "x'}")


def flows_million(folder: Path, count: int = 1_000_000) -> list[str]:
    """One UDP packet of each of ``count`` different 5-tuples (20-27 s once)."""
    path = folder / "million-flows.pcap"
    write_pcap(path, _one_packet_flows(count), LINKTYPE_ETHERNET)
    return ["flows", "-o", str(folder / "out.jsonl"), str(path)]


def _one_packet_flows(count: int):
    template = bytearray(_udp_frame())
    for i in range(count):
        frame = template[:]
        low = i & 0xFFFF
        # The source address's low half goes up as the IP id goes down: the checksum holds.
        frame[18:20] = (0xFFFF - low).to_bytes(2, "big")
        frame[28:30] = low.to_bytes(2, "big")
        frame[34:36] = (1024 + (i >> 16)).to_bytes(2, "big")  # source port
        yield round(1.7e18 + i * 1e4), bytes(frame), len(frame)


def _udp_frame() -> bytes:
    """A UDP frame from 10.1.0.0 whose IP id is 0xFFFF, its header checksum recomputed."""
    cap = Capture()
    cap.udp(1.7e9, "10.1.0.0", 1024, "203.0.113.5", 9000, b"tiny")
    frame = bytearray(cap.frames[0][1])
    frame[18:20], frame[24:26] = b"\xff\xff", b"\0\0"
    frame[24:26] = _checksum(bytes(frame[14:34])).to_bytes(2, "big")
    return bytes(frame)


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
    Hostile("pcapng_block_4gib", "pcapng", pcapng_block_4gib, "ok: damaged records skipped 1"),
    Hostile("pcapng_epb_16_at_end", "pcapng", pcapng_epb_16_at_end, "ok: damaged records skipped 1"),
    Hostile("pcapng_pb_20_at_end", "pcapng", pcapng_pb_20_at_end, "ok: damaged records skipped 1"),
    Hostile("candump_many_channels", "candump", candump_many_channels, "ok: a channel past the first 256 channel names"),
    Hostile("asc_long_line", "asc", asc_long_line, "ok: long-line.asc:5: line longer than 65536"),
    Hostile("trc_long_line", "trc", trc_long_line, "ok: long-line.trc:5: line longer than 65536"),
    Hostile("blf_inner_size_zero", "blf", blf_inner_size_zero, "error: declares size 0 (python-can would read it forever"),
    Hostile("dbc_cr_huge_message", "dbc", dbc_cr_huge_message, "error: cr-huge.dbc:9: message Big declares 100000000 bytes"),
    Hostile("dbc_cr_huge_signal", "dbc", dbc_cr_huge_signal, "error: cr-signal.dbc:10: signal A at bit 0 of length 100000000"),
    Hostile("dbc_huge_comment", "dbc", dbc_huge_comment, "error: a quoted string (a comment?) longer than 65536 bytes"),
    Hostile("dbc_many_messages", "dbc", dbc_many_messages, "error: more than 4096 messages"),
    Hostile("dbc_signal_wider_than_frame", "dbc", dbc_signal_wider_than_frame, "ok: unpacking failed"),
    Hostile("dbc_float_type_mismatch", "dbc", dbc_float_type_mismatch, "error: float24.dbc:12: signal A is 24 bits"),
    Hostile("dbc_double_type_mismatch", "dbc", dbc_double_type_mismatch, "error: double32.dbc:12: signal A is 32 bits"),
    Hostile("yaml_many_sets_and_rules", "yaml", yaml_many_sets_and_rules, "error: many-rules.yaml: larger than 524288 bytes"),
    Hostile("yaml_sets_past_cap", "yaml", yaml_sets_past_cap, "error: sets-cap.yaml:2:1: 2000 destination sets (at most 1024)"),
    Hostile("yaml_rules_past_cap", "yaml", yaml_rules_past_cap, "error: rules-cap.yaml:1003:1: 2000 rules (at most 1024)"),
    Hostile("yaml_rules_at_cap", "yaml", yaml_rules_at_cap, "ok: rules-at-cap.yaml"),
    Hostile("yaml_big_mapping_table", "yaml", yaml_big_mapping_table, "error: mapping.yaml: larger than 524288 bytes"),
    Hostile("yaml_mapping_past_cap", "yaml", yaml_mapping_past_cap, "error: a value mapping of 5000 entries (at most 1024)"),
    Hostile("yaml_mapping_entry_malformed", "yaml", yaml_mapping_entry_malformed,
            "error: mapping-entry.yaml:8:13: each mapping entry is {from: VALUE, to: VALUE}"),
    Hostile("math_many_terms", "yaml", math_many_terms, "error: terms.yaml: larger than 524288 bytes"),
    Hostile("math_long", "yaml", math_long, "error: transform math of 40001 characters (at most 256)"),
    Hostile("math_many_minus", "yaml", math_many_minus, "error: transform math of 100001 characters (at most 256)"),
    Hostile("flows_million", "flows", flows_million, "ok: flows: 1000000"),
)
