"""The pcapng block walk: sections, interfaces (link type, name, timestamp resolution) and the
three packet block kinds. Other blocks (name resolution, statistics, custom) are skipped."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .. import native
from .packets import PacketBatch

SHB, IDB, PB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_IF_NAME, OPT_IF_TSRESOL, OPT_IF_TSOFFSET = 2, 9, 14
# Times a hostile file may write that numpy's int64 nanoseconds cannot hold are counted and
# replaced by the time of the packet before (as for simple packet blocks, which carry none).
MAX_RAW = (1 << 62) - 1
OUT_OF_RANGE = -2
MAX_NS = 1 << 62  # about the year 2116
MAX_OFFSET_S = 1 << 32
#: A block's length is checked before the reader waits for (buffers) the rest of it: no longer
#: than what is left of the file, nor than MAX_BLOCK (a 256 KiB packet and its options, 64 times
#: over), nor shorter than the fixed fields of its type (a packet block of 16 bytes once made
#: the field reads run off the buffer).
MAX_BLOCK = 16 << 20
MAX_FILE = 1 << 62
MIN_BLOCK = {SHB: 28, IDB: 20, EPB: 32, PB: 32, SPB: 16}


@dataclass
class Interface:
    linktype: int
    name: str
    units_per_s: int = 1_000_000  # pcapng's default resolution: microseconds
    offset_s: int = 0


class PcapngWalker:
    def __init__(self, path: str, stats, file_size: int = MAX_FILE) -> None:
        self.path, self.stats = path, stats
        self.file_size = file_size  # a block longer than what is left of the file is damage, not a wait
        self.stopped = False
        self.endian = "<"
        self.interfaces: list[Interface] = []  # every interface of every section, in order
        self.section_base = 0  # index in self.interfaces of this section's interface 0

    def walk(self, buf: memoryview, file_pos: int, at_eof: bool):
        rows: list[tuple[int, int, int, int, int]] = []  # data pos, caplen, wirelen, raw ts, interface
        pos, end = 0, len(buf)
        if self.stopped:  # the rest of the file after a damaged block is not read as blocks
            return _columns(rows), end
        core = native.kernels
        if core is not None:
            return self._walk_native(core, buf, file_pos)
        while pos + 12 <= end:
            following = self._block(buf, pos, end, file_pos, rows.append)
            if following is None:
                break
            if self.stopped:
                return _columns(rows), end
            pos = following
        return _columns(rows), pos

    def _walk_native(self, core, buf: memoryview, file_pos: int):
        """The same walk with the packet blocks in C (monitor/native/src/gw_pcapng.c); section and
        interface blocks and damage come back here, one block each, to _block."""
        parts: list[np.ndarray] = []
        pos, end = 0, len(buf)
        while pos + 12 <= end:
            rows = np.empty((max((end - pos) // 12, 1), 5), np.int64)
            count, pos, reason = core.pcapng_walk(buf, pos, self.endian == ">", self.section_base, len(self.interfaces),
                                                  file_pos, self.file_size, rows)
            parts.append(rows[:count].copy())
            if reason == 0:
                break
            if reason == 1:
                handed: list[tuple[int, int, int, int, int]] = []
                following = self._block(buf, pos, end, file_pos, handed.append)
                parts.append(_columns(handed))
                if following is None:
                    break
                if self.stopped:
                    return np.concatenate(parts), end
                pos = following
        return np.concatenate(parts) if parts else _columns([]), pos

    def _block(self, buf: memoryview, pos: int, end: int, file_pos: int, append):
        """Read the block at pos: the position after it, or None when it runs past the chunk (the
        walk waits for more); a damaged length stops the walk (self.stopped)."""
        btype, blen = struct.unpack_from(self.endian + "II", buf, pos)
        if btype == SHB:
            if pos + 12 > end:
                return None
            magic = struct.unpack_from("<I", buf, pos + 8)[0]
            self.endian = "<" if magic == BYTE_ORDER_MAGIC else ">"
            blen = struct.unpack_from(self.endian + "I", buf, pos + 4)[0]
        if blen < MIN_BLOCK.get(btype, 12) or blen % 4 or blen > MAX_BLOCK or file_pos + pos + blen > self.file_size:
            self.stats.damaged += 1
            self.stats.warn(f"{self.path}: damaged block at byte {file_pos + pos} (length {blen}); replay stopped there")
            self.stopped = True
            return end
        if pos + blen > end:
            return None
        e = self.endian
        if btype == EPB:
            ifid, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(e + "IIIII", buf, pos + 8)
            if 28 + caplen > blen or ifid + self.section_base >= len(self.interfaces):
                self._damaged(file_pos + pos, "enhanced packet block")
            else:
                append((pos + 28, caplen, wirelen, _raw_time(ts_hi, ts_lo), self.section_base + ifid))
        elif btype == SPB:
            wirelen = struct.unpack_from(e + "I", buf, pos + 8)[0]
            if self.section_base >= len(self.interfaces):
                self._damaged(file_pos + pos, "simple packet block")
            else:
                append((pos + 12, min(wirelen, blen - 16), wirelen, -1, self.section_base))
        elif btype == PB:
            ifid, _drops, ts_hi, ts_lo, caplen, wirelen = struct.unpack_from(e + "HHIIII", buf, pos + 8)
            if 28 + caplen > blen or ifid + self.section_base >= len(self.interfaces):
                self._damaged(file_pos + pos, "packet block")
            else:
                append((pos + 28, caplen, wirelen, _raw_time(ts_hi, ts_lo), self.section_base + ifid))
        elif btype == IDB:
            self._interface(buf, pos, blen)
        elif btype == SHB:
            self.section_base = len(self.interfaces)
        return pos + blen

    def _damaged(self, at: int, what: str) -> None:
        self.stats.damaged += 1
        self.stats.warn(f"{self.path}: damaged {what} at byte {at}; skipped")

    def _interface(self, buf: memoryview, pos: int, blen: int) -> None:
        e = self.endian
        linktype = struct.unpack_from(e + "H", buf, pos + 8)[0]
        iface = Interface(linktype=linktype, name=f"if{len(self.interfaces)}")
        opt, end = pos + 16, pos + blen - 4
        while opt + 4 <= end:
            code, length = struct.unpack_from(e + "HH", buf, opt)
            if code == 0:
                break
            value = bytes(buf[opt + 4 : opt + 4 + length])
            if code == OPT_IF_NAME:
                iface.name = value.decode("utf-8", "replace").rstrip("\0") or iface.name
            elif code == OPT_IF_TSRESOL and value:
                r = value[0]
                iface.units_per_s = 2 ** (r & 0x7F) if r & 0x80 else 10**r
            elif code == OPT_IF_TSOFFSET and length == 8:
                offset_s = struct.unpack(e + "q", value)[0]
                if abs(offset_s) <= MAX_OFFSET_S:
                    iface.offset_s = offset_s
                else:
                    self.stats.warn(f"{self.path}: interface {len(self.interfaces)}: timestamp offset {offset_s} s "
                                    "is out of range; ignored")
            opt += 4 + length + (-length % 4)
        self.interfaces.append(iface)

    def to_batch(self, data: np.ndarray, rows: np.ndarray) -> PacketBatch:
        ifaces = rows[:, 4]
        raw_ts = rows[:, 3]
        ts_ns = np.zeros(len(rows), dtype=np.int64)
        linktype = np.zeros(len(rows), dtype=np.uint16)
        for index in np.unique(ifaces):
            iface = self.interfaces[int(index)]
            mine = ifaces == index
            linktype[mine] = iface.linktype
            ts_ns[mine] = _to_ns(raw_ts[mine], iface)
        bad = (raw_ts == OUT_OF_RANGE) | (ts_ns < 0) | (ts_ns > MAX_NS)
        if bad.any():
            self.stats.bad_times += int(bad.sum())
            ts_ns[bad] = -1
        _fill_missing_times(ts_ns, (raw_ts < 0) | bad)
        return PacketBatch(
            data=data,
            offset=rows[:, 0].copy(),
            caplen=rows[:, 1].astype(np.int32),
            wirelen=np.maximum(rows[:, 2], rows[:, 1]).astype(np.int32),
            ts_ns=ts_ns,
            linktype=linktype,
            interface=ifaces.astype(np.uint16),
            interface_names=tuple(i.name for i in self.interfaces),
        )


def _columns(rows: list) -> np.ndarray:
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def _raw_time(high: int, low: int) -> int:
    raw = (high << 32) | low
    return raw if raw <= MAX_RAW else OUT_OF_RANGE


def _to_ns(raw: np.ndarray, iface: Interface) -> np.ndarray:
    """Nanoseconds since the epoch; a time past MAX_NS (or before 1970) comes out negative."""
    units = iface.units_per_s
    seconds = raw.astype(np.float64) / units + iface.offset_s
    fits = (raw >= 0) & (seconds >= 0) & (seconds * 1e9 <= MAX_NS)
    safe = np.where(fits, raw, 0)
    if 1_000_000_000 % units == 0:
        ns = safe * (1_000_000_000 // units)
    else:  # binary or finer-than-ns resolutions: exact to well under a nanosecond in float
        ns = (safe.astype(np.float64) * (1e9 / units)).astype(np.int64)
    return np.where(fits, ns + iface.offset_s * 1_000_000_000, -1)


def _fill_missing_times(ts_ns: np.ndarray, missing: np.ndarray) -> None:
    """Simple packet blocks carry no time: give them the time of the packet before them."""
    if not missing.any():
        return
    index = np.where(~missing, np.arange(len(ts_ns)), 0)
    np.maximum.accumulate(index, out=index)
    ts_ns[missing] = np.where(index[missing] > 0, ts_ns[index[missing]], 0)
