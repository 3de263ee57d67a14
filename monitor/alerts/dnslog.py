"""The DNS log: every DNS query that leaves the in-vehicle networks (a query is itself data
leaving the vehicle), with its answers and their TTLs once the response is seen. A query whose
response never came is written at the end with ``answered: false``."""

from __future__ import annotations

from collections.abc import Callable

QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 65: "HTTPS"}
MAX_PENDING = 16_384


class DnsLog:
    def __init__(self, write: Callable[[dict], None], vehicle_id: Callable[[], str]) -> None:
        self.write, self.vehicle_id = write, vehicle_id
        self.pending: dict[tuple[int, int], dict] = {}
        self.counts = {"queries": 0, "answered": 0, "unanswered": 0, "not_leaving": 0,
                       "responses_without_query": 0}

    def message(self, flow: dict, ts_ns: int, message) -> None:
        if flow.get("direction") != "outbound":
            self.counts["not_leaving"] += 0 if message.is_response else 1
            return
        key = (int(flow.get("flow_id", 0)), int(message.id))
        if not message.is_response:
            self.counts["queries"] += 1
            self.pending[key] = self._query(flow, ts_ns, message)
            if len(self.pending) > MAX_PENDING:  # bounded: the oldest goes out unanswered
                self._unanswered(next(iter(self.pending)))
            return
        entry = self.pending.pop(key, None)
        if entry is None:  # its query came before the capture or was already written unanswered
            self.counts["responses_without_query"] += 1
            return
        entry.update(answered=True, rcode=message.rcode, rtt=round((ts_ns / 1e9) - entry["ts"], 6),
                     answers=[{"name": r.name, "type": QTYPES.get(r.rtype, str(r.rtype)), "ttl": r.ttl, "data": r.rdata}
                              for r in message.answers])
        self.counts["answered"] += 1
        self.write(entry)

    def _query(self, flow: dict, ts_ns: int, message) -> dict:
        name, qtype = message.questions[0] if message.questions else ("", 0)
        return {"ts": round(ts_ns / 1e9, 6), "uid": f"F{flow.get('flow_id', 0)}", "vehicle_id": self.vehicle_id(),
                "id.orig_h": flow.get("orig_h"), "id.orig_p": flow.get("orig_p"),
                "id.resp_h": flow.get("resp_h"), "id.resp_p": flow.get("resp_p"), "proto": flow.get("proto"),
                "trans_id": int(message.id), "query": name, "qtype_name": QTYPES.get(qtype, str(qtype)),
                "answered": False, "answers": []}

    def _unanswered(self, key) -> None:
        self.counts["unanswered"] += 1
        self.write(self.pending.pop(key))

    def finish(self) -> None:
        for key in list(self.pending):
            self._unanswered(key)
