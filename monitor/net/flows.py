"""FlowTable: every bidirectional flow, its initiator, and what it carried each way.

State is columnar (numpy arrays indexed by slot); the only per-flow Python work happens once
per flow and batch (a dict lookup of the key), never per packet. Counters are IP-level: a
packet counts its IP total length, a reassembled datagram counts once with its full length.
(Suricata counts whole captured frames, link-layer header included; see docs/architecture.md.)

A flow ends on an idle timeout (TCP after FIN both ways or RST: a short one), when the same
5-tuple starts again with a bare SYN after the flow closed, on eviction when the table is
full, or at the end of the input. An active timeout reports long flows at intervals and goes
on counting from zero, as NetFlow exporters do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import native
from .flowkeys import KEY_DTYPE, canonical_keys, group_keys
from .flowrecord import FlowRecorder
from .headers import IPPROTO_TCP, IPPROTO_UDP, Headers

NS = 1_000_000_000
REPORT_CHUNK = 16_384  # flows finished (and their records made) at once
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


@dataclass
class FlowConfig:
    """Idle timeouts in whole seconds by protocol and state, with Suricata's built-in defaults.

    A flow is "new" until both sides have sent, "closed" after a TCP RST or FIN from both
    sides. As in Suricata, a flow has timed out when the whole seconds between its last packet
    and now exceed the timeout (so replays split flows where Suricata does).
    """

    tcp_new: int = 30
    tcp_established: int = 300
    tcp_closed: int = 10
    udp_new: int = 30
    udp_established: int = 300
    other_new: int = 30
    other_established: int = 300
    active_timeout: int = 3600
    max_flows: int = 262_144

    def idle_s(self, proto, established, closed=False) -> np.ndarray:
        """Timeout per element (arguments are arrays or scalars, broadcast together)."""
        tcp = np.where(closed, self.tcp_closed, np.where(established, self.tcp_established, self.tcp_new))
        udp = np.where(established, self.udp_established, self.udp_new)
        other = np.where(established, self.other_established, self.other_new)
        seconds = np.where(proto == IPPROTO_TCP, tcp, np.where(proto == IPPROTO_UDP, udp, other))
        return np.asarray(seconds, dtype=np.int64)


@dataclass
class FlowStats:
    created: int = 0
    finished: int = 0
    evicted: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class FlowTable:
    def __init__(self, config: FlowConfig | None = None, recorder: FlowRecorder | None = None) -> None:
        self.config = config or FlowConfig()
        self.recorder = recorder or FlowRecorder()
        self.stats = FlowStats()
        self.lookup: dict[bytes, int] = {}
        self.free = _SlotStack()
        self.size = 0  # slots ever used (the high-water mark)
        # The native core, if loaded when the table is made, keeps the key -> slot index and
        # walks each batch's units in C (gw_flowtable.c); the dict and loop here are the reference.
        core = native.kernels
        self._index = core.FlowIndex(KEY_DTYPE.itemsize, KEY_DTYPE.fields["proto"][1]) if core is not None else None
        self._allocate(1024)

    # ------------------------------------------------------------ storage

    def _allocate(self, capacity: int) -> None:
        def grow(old, shape, dtype):
            new = np.zeros(shape, dtype=dtype)
            if old is not None:
                new[: len(old)] = old
            return new

        get = lambda name: getattr(self, name, None)
        self.key = grow(get("key"), capacity, KEY_DTYPE)
        self.a_initiates = grow(get("a_initiates"), capacity, bool)
        self.packets = grow(get("packets"), (capacity, 2), np.int64)
        self.bytes = grow(get("bytes"), (capacity, 2), np.int64)
        self.payload = grow(get("payload"), (capacity, 2), np.int64)  # L4 payload bytes each way (Zeek's orig_bytes)
        self.flags = grow(get("flags"), (capacity, 2), np.uint8)
        self.first_ns = grow(get("first_ns"), capacity, np.int64)
        self.last_ns = grow(get("last_ns"), capacity, np.int64)
        self.active = grow(get("active"), capacity, bool)
        self.isn = grow(get("isn"), (capacity, 2), np.uint32)  # sequence numbers of the last SYN, SYN/ACK
        self.capacity = capacity

    # ------------------------------------------------------------ packets in

    def update(self, h: Headers, rows: np.ndarray, ts_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Account the given rows of h; returns (slot, is_orig) per row."""
        if len(rows) == 0:
            return np.zeros(0, np.int64), np.zeros(0, bool)
        keys, a_is_src = canonical_keys(h, rows)
        flags, seq = h.tcp_flags[rows], h.tcp_seq[rows]
        order, unit, starts = self._units(keys, a_is_src, ts_ns, flags, seq)
        first_rows = order[starts]
        ports = (h.sport[rows][first_rows], h.dport[rows][first_rows])
        walk = self._slots_for_units if self._index is None else self._slots_native
        slots, close_after = walk(keys, first_rows, a_is_src, flags, seq, ts_ns, ports)
        slot_of_row = np.empty(len(rows), dtype=np.int64)
        slot_of_row[order] = slots[unit]
        is_orig = a_is_src == self.a_initiates[slot_of_row]
        self._accumulate(slots, unit, order, is_orig, h.ip_bytes[rows], h.payload_len[rows], flags, ts_ns)
        for side, opening in enumerate((_bare_syn(keys, flags), _syn_ack(keys, flags))):
            rows_ = np.flatnonzero(opening)
            self.isn[slot_of_row[rows_], side] = seq[rows_]
        for slot in close_after:
            self._finish(slot, "idle_timeout")
        return slot_of_row, is_orig

    def _units(self, keys, a_is_src, ts_ns, flags, seq):
        """Sort rows into units: runs of one key not broken by an idle gap or a port reuse."""
        group = group_keys(keys)
        order = np.argsort(group, kind="stable")  # time order kept within a key
        g, t, f = group[order], ts_ns[order], flags[order]
        proto = keys["proto"][order]
        new_key = np.ones(len(order), dtype=bool)
        new_key[1:] = g[1:] != g[:-1]
        a_sent = a_is_src[order]
        established = _before_in_group(a_sent, new_key) & _before_in_group(~a_sent, new_key)
        gap = np.zeros(len(order), dtype=bool)
        gap[1:] = (t[1:] // NS - t[:-1] // NS) > self.config.idle_s(proto[1:], established[1:])
        reuse = np.zeros(len(order), dtype=bool)
        ended_before = None
        run_start = new_key | gap  # an idle gap already ended the earlier flow: its FIN and ISNs are not this one's
        for opening in (_bare_syn(keys[order], f), _syn_ack(keys[order], f)):
            if opening.any():
                # After the flow ended (FIN/RST), a SYN or SYN/ACK with a sequence number not
                # seen before starts a new flow (port reuse); retransmissions do not.
                if ended_before is None:
                    ended_before = _before_in_group((f & (FIN | RST)) != 0, run_start)
                reuse |= opening & ended_before & _new_isn(opening, seq[order], run_start)
        unit_start = new_key | gap | reuse
        unit = np.cumsum(unit_start) - 1
        return order, unit, np.flatnonzero(unit_start)

    def _slots_for_units(self, keys, first_rows, a_is_src, flags, seq, ts_ns, ports):
        key_bytes = keys[first_rows].tobytes()
        size = KEY_DTYPE.itemsize
        first_keys, first_flags = keys[first_rows], flags[first_rows]
        first_ts = ts_ns[first_rows].tolist()
        opening = np.where(_bare_syn(first_keys, first_flags), 0, np.where(_syn_ack(first_keys, first_flags), 1, -1)).tolist()
        first_seq = seq[first_rows].tolist()
        # A clean SYN/ACK first means the SYN was missed: its receiver started the flow.
        syn_ack = (first_flags & (SYN | ACK | FIN | RST)) == (SYN | ACK)
        a_src = a_is_src[first_rows]
        initiates = (a_src != syn_ack).tolist()
        first_packets = list(zip(a_src.tolist(), ports[0].tolist(), ports[1].tolist(), strict=True))
        slots = np.empty(len(first_rows), dtype=np.int64)
        close_after: list[int] = []
        # Units that open a flow here: their columns are set in bulk (one numpy call per column,
        # not ten scalar writes per flow), before any eviction can report them, and at the end.
        opened: list[int] = []
        lookup = self.lookup
        for u in range(len(first_rows)):
            k = key_bytes[u * size : (u + 1) * size]
            slot = lookup.get(k)
            if slot is not None:
                if u > 0 and slots[u - 1] == slot:  # a second unit of this key in this batch
                    close_after.append(slot)
                    slot = None
                elif first_ts[u] // NS - int(self.last_ns[slot]) // NS > self._idle_of(slot) or (
                    opening[u] >= 0 and self._closed(slot) and first_seq[u] != self.isn[slot, opening[u]]
                ):
                    self._finish(slot, "idle_timeout" if opening[u] < 0 else "port_reuse")
                    slot = None
            if slot is None:
                if len(lookup) >= self.config.max_flows:
                    self._open_slots(slots, opened, first_keys, initiates, first_ts)
                    self._evict()
                slot = self._new_slot(k)
                slots[u] = slot
                opened.append(u)
                self.recorder.opened(slot, first_keys[u], initiates[u], first_packets[u])
            slots[u] = slot
        self._open_slots(slots, opened, first_keys, initiates, first_ts)
        return slots, close_after

    def _slots_native(self, keys, first_rows, a_is_src, flags, seq, ts_ns, ports):
        """_slots_for_units with the index and the walk in C: Python runs only where a flow
        opens or ends (the recorder), and at an eviction. Slots go to flows as in the reference
        (an ended flow's slot to the unit that ended it): the stream table and the inspector
        keep state by slot."""
        n = len(first_rows)
        first_keys, first_flags = np.ascontiguousarray(keys[first_rows]), flags[first_rows]
        syn_ack = (first_flags & (SYN | ACK | FIN | RST)) == (SYN | ACK)
        a_src = a_is_src[first_rows]
        initiates, first_ts = a_src != syn_ack, ts_ns[first_rows]
        while self.size + max(0, n - len(self.free)) > self.capacity:  # each unit opens at most one slot
            self._allocate(self.capacity * 2)
        self._index.reserve(self.key.view(np.uint8), n)
        units = {
            "keys": first_keys.view(np.uint8).reshape(-1), "first_ns": np.ascontiguousarray(first_ts, dtype=np.int64),
            "opening": np.where(_bare_syn(first_keys, first_flags), 0,
                                np.where(_syn_ack(first_keys, first_flags), 1, -1)).astype(np.int8),
            "first_seq": np.ascontiguousarray(seq[first_rows], dtype=np.uint32),
            "slots": np.zeros(n, np.int64), "opened": np.zeros(n, np.uint8), "finished": np.zeros(n, np.int64),
            "why": np.zeros(n, np.uint8), "close_after": np.zeros(n, np.int64), "n_finished": 0, "n_close_after": 0,
        }
        c = self.config
        idle = np.array([c.tcp_new, c.tcp_established, c.tcp_closed, c.udp_new, c.udp_established, c.other_new,
                         c.other_established], dtype=np.int64)
        first_packets = (a_src, ports[0], ports[1])
        start, resume, opened_all = 0, _RESUME_NONE, []
        while True:
            table = (self.key.view(np.uint8), self.last_ns, self.packets.reshape(-1), self.flags.reshape(-1),
                     self.isn.reshape(-1), self.active.view(np.uint8), self.size, self.free.slots, len(self.free))
            status, stop, self.size, self.free.count = self._index.walk(table, idle, c.max_flows, units, start, resume)
            opened = (np.flatnonzero(units["opened"][start : stop if status != _WALK_DONE else n]) + start).tolist()
            for u in opened:
                self.recorder.opened(int(units["slots"][u]), first_keys[u], bool(initiates[u]),
                                     (bool(first_packets[0][u]), int(first_packets[1][u]), int(first_packets[2][u])))
            opened_all.extend(opened)
            if status == _WALK_ENDED:  # reported now, so that the unit takes its slot, as in the reference
                last = units["n_finished"] - 1
                self._finish(int(units["finished"][last]), "idle_timeout" if units["why"][last] == _END_IDLE else "port_reuse")
                start, resume = stop, _RESUME_CHECK
                continue
            self._open_slots(units["slots"], opened_all, first_keys, initiates, first_ts)
            if status == _WALK_DONE:
                return units["slots"], units["close_after"][: units["n_close_after"]].tolist()
            self._evict()
            start, resume = stop, _RESUME_OPEN

    def _idle_of(self, slot: int) -> int:
        return int(self._idle_limits(np.array([slot]))[0])

    def _closed(self, slot: int) -> bool:
        return bool(self._closed_mask(np.array([slot]))[0])

    def _closed_mask(self, slots: np.ndarray) -> np.ndarray:
        """TCP closed: a RST from either side, or a FIN from both."""
        orig, resp = self.flags[slots, 0], self.flags[slots, 1]
        return (((orig | resp) & RST) != 0) | ((orig & resp & FIN) != 0)

    def _idle_limits(self, slots: np.ndarray) -> np.ndarray:
        """Idle timeout in whole seconds of each slot, from its protocol and state."""
        established = (self.packets[slots, 0] > 0) & (self.packets[slots, 1] > 0)
        return self.config.idle_s(self.key["proto"][slots], established, self._closed_mask(slots))

    def _new_slot(self, key_bytes: bytes) -> int:
        """A slot for a new flow, in the lookup; its columns are set by _open_slots."""
        if self.free:
            slot = self.free.pop()
        else:
            if self.size == self.capacity:
                self._allocate(self.capacity * 2)
            slot = self.size
            self.size += 1
        self.lookup[key_bytes] = slot
        return slot

    def _open_slots(self, slots: np.ndarray, opened: list[int], keys, initiates: list[bool], ts: list[int]) -> None:
        """Set the columns of the flows opened by these units, all at once; empties ``opened``."""
        if not opened:
            return
        units = np.array(opened)
        new = slots[units]
        self.key[new] = keys[units]
        self.a_initiates[new] = np.array(initiates)[units]
        for column in (self.packets, self.bytes, self.payload, self.flags, self.isn):
            column[new] = 0
        self.first_ns[new] = self.last_ns[new] = np.array(ts, dtype=np.int64)[units]
        self.active[new] = True
        self.stats.created += len(opened)
        opened.clear()

    def _accumulate(self, slots, unit, order, is_orig, ip_bytes, payload_bytes, flags, ts_ns) -> None:
        n_units = len(slots)
        index = unit * 2 + (~is_orig[order]).astype(np.int64)
        self.packets[slots] += np.bincount(index, minlength=2 * n_units).reshape(n_units, 2)
        for column, weights in ((self.bytes, ip_bytes), (self.payload, payload_bytes)):
            column[slots] += np.bincount(index, weights=weights[order], minlength=2 * n_units).reshape(n_units, 2).astype(np.int64)
        seen = np.zeros(2 * n_units, dtype=np.uint8)
        np.bitwise_or.at(seen, index, flags[order])
        self.flags[slots] |= seen.reshape(n_units, 2)
        last = np.empty(n_units, dtype=np.int64)
        last[:-1] = np.flatnonzero(np.diff(unit)) if n_units > 1 else []
        last[-1] = len(order) - 1
        self.last_ns[slots] = np.maximum(self.last_ns[slots], ts_ns[order][last])

    def swap_direction(self, slot: int) -> None:
        """The responder turned out to be the client (a flow picked up mid-stream)."""
        self.a_initiates[slot] = not self.a_initiates[slot]
        for column in (self.packets, self.bytes, self.payload, self.flags):
            column[slot] = column[slot, ::-1].copy()

    # ------------------------------------------------------------ flows out

    def expire(self, now_ns: int) -> None:
        """Finish idle flows and report (then restart) flows past the active timeout."""
        live = np.flatnonzero(self.active[: self.size])
        if len(live) == 0:
            return
        idle = now_ns // NS - self.last_ns[live] // NS > self._idle_limits(live)
        self._finish_many(live[idle], "idle_timeout")
        long_running = live[~idle & (now_ns - self.first_ns[live] > self.config.active_timeout * NS)]
        if len(long_running):
            self._report(long_running, "active_timeout")
            self.packets[long_running] = self.bytes[long_running] = self.payload[long_running] = 0
            self.first_ns[long_running] = self.last_ns[long_running]

    def flush(self) -> None:
        """End of input: finish every flow still open."""
        self._finish_many(np.flatnonzero(self.active[: self.size]), "end_of_input")

    def _evict(self) -> None:
        """The table is full: finish the least recently seen sixteenth of it."""
        live = np.flatnonzero(self.active[: self.size])
        count = max(1, len(live) // 16)
        # Ties in last_ns go to the flow opened first: the same flows whichever slots they hold.
        oldest = live[np.lexsort((self.recorder.flow_ids[live], self.last_ns[live]))[:count]]
        self._finish_many(oldest, "evicted")
        self.stats.evicted += count

    def _finish(self, slot: int, reason: str) -> None:
        self._finish_many(np.array([slot]), reason)

    def _finish_many(self, slots: np.ndarray, reason: str) -> None:
        if len(slots) > REPORT_CHUNK:  # the records' columns are Python lists: a whole table's cost 150 MB
            for start in range(0, len(slots), REPORT_CHUNK):
                self._finish_many(slots[start : start + REPORT_CHUNK], reason)
            return
        if not len(slots):
            return
        self._report(slots, reason)
        slot_list = slots.tolist()
        if self._index is not None:
            self._index.forget(self.key.view(np.uint8), np.ascontiguousarray(slots, dtype=np.int64))
        else:
            keys = self.key[slots].tobytes()
            size = KEY_DTYPE.itemsize
            lookup = self.lookup
            for i, slot in enumerate(slot_list):
                key_bytes = keys[i * size : (i + 1) * size]
                if lookup.get(key_bytes) == slot:
                    del lookup[key_bytes]
        closed = self.recorder.closed
        for slot in slot_list:
            closed(slot)
        self.free.extend(slot_list)
        self.active[slots] = False
        self.stats.finished += len(slots)

    def _report(self, slots: np.ndarray, reason: str) -> None:
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + len(slots)
        self.recorder.report_many(self, slots, reason)


class _SlotStack:
    """Free slots, taken from the end: a numpy array the C walk pops from in place."""

    def __init__(self) -> None:
        self.slots = np.zeros(1024, dtype=np.int64)
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def pop(self) -> int:
        self.count -= 1
        return int(self.slots[self.count])

    def extend(self, slots: list[int]) -> None:
        if self.count + len(slots) > len(self.slots):
            grown = np.zeros(max(2 * len(self.slots), self.count + len(slots)), dtype=np.int64)
            grown[: self.count] = self.slots[: self.count]
            self.slots = grown
        self.slots[self.count : self.count + len(slots)] = slots
        self.count += len(slots)


_WALK_DONE, _WALK_ENDED, _END_IDLE = 0, 2, 0  # gw_flowtable.h's GW_WALK_ and GW_END_ codes
_RESUME_NONE, _RESUME_OPEN, _RESUME_CHECK = 0, 1, 2


def _before_in_group(flag: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """For rows sorted by group: did ``flag`` hold on an earlier row of the same group?"""
    count = np.cumsum(flag)
    before = count - flag
    base = np.maximum.accumulate(np.where(group_start, before, 0))
    return before > base


def _bare_syn(keys: np.ndarray, flags: np.ndarray) -> np.ndarray:
    return (keys["proto"] == IPPROTO_TCP) & ((flags & (SYN | ACK)) == SYN)


def _syn_ack(keys: np.ndarray, flags: np.ndarray) -> np.ndarray:
    return (keys["proto"] == IPPROTO_TCP) & ((flags & (SYN | ACK)) == (SYN | ACK))


def _new_isn(bare_syn: np.ndarray, seq: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """For sorted rows: an opening packet (SYN or SYN/ACK) whose sequence number differs from
    the one of the same kind before it in the group."""
    n = len(seq)
    index = np.arange(n)
    last_syn = np.maximum.accumulate(np.where(bare_syn, index, -1))
    previous = np.full(n, -1)
    previous[1:] = last_syn[:-1]
    start = np.maximum.accumulate(np.where(group_start, index, 0))
    has_previous = previous >= start
    return ~has_previous | (seq[np.maximum(previous, 0)] != seq)
