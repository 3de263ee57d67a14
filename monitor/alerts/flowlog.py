"""The flow log: one compact JSON line per finished flow, with Zeek conn.log field names where
they exist (``uid``, ``id.orig_h`` ... ``conn_state``, ``history``), plus the Community ID and
the destination's names with how each was learned.

``conn_state`` and ``history`` come from the TCP flags each side sent over the flow's life (the
flow table keeps their union, not their order), so ``history`` lists the letters Zeek would
use in Zeek's canonical order: S h A D d F f R r (SYN, SYN-ACK, ACK, data each way, FIN and RST
each way). UDP and ICMP flows are S0 one way and SF both ways, as in Zeek.
"""

from __future__ import annotations

SYN, FIN, RST, ACK = 0x02, 0x01, 0x04, 0x10


def zeek_record(flow: dict, vehicle_id: str) -> dict:
    orig_flags, resp_flags = int(flow.get("tcp_flags_orig", "0"), 16), int(flow.get("tcp_flags_resp", "0"), 16)
    out = {
        "ts": round(flow["ts"], 6), "uid": f"F{flow.get('flow_id', 0)}", "vehicle_id": vehicle_id,
        "id.orig_h": flow["orig_h"], "id.orig_p": flow["orig_p"], "id.resp_h": flow["resp_h"], "id.resp_p": flow["resp_p"],
        "proto": flow["proto"], "service": flow.get("app_proto"), "duration": round(flow["duration"], 6),
        "orig_bytes": flow.get("orig_bytes"), "resp_bytes": flow.get("resp_bytes"),
        "conn_state": conn_state(flow, orig_flags, resp_flags),
        "history": history(flow, orig_flags, resp_flags) if flow["proto"] == "tcp" else None,
        "orig_pkts": flow["orig_pkts"], "orig_ip_bytes": flow["orig_ip_bytes"],
        "resp_pkts": flow["resp_pkts"], "resp_ip_bytes": flow["resp_ip_bytes"],
        "community_id": flow.get("community_id"), "direction": flow.get("direction"),
        "resp_country": flow.get("country"), "resp_country_source": flow.get("country_source"),
        "names": flow.get("names", []), "end_reason": flow.get("reason"),
        "tunnel": flow.get("tunnel"),  # gatewatch's: the encapsulation path of a tunnelled flow
    }
    return {k: v for k, v in out.items() if v is not None}


def conn_state(flow: dict, orig: int, resp: int) -> str:
    if flow["proto"] != "tcp":
        return "SF" if flow["resp_pkts"] else "S0"
    if not orig & SYN:
        return "OTH"  # picked up mid-stream
    if resp & RST and not resp & SYN:
        return "REJ"
    if not resp & SYN:
        return "RSTOS0" if orig & RST else "S0"
    if orig & RST:
        return "RSTO"
    if resp & RST:
        return "RSTR"
    if orig & FIN and resp & FIN:
        return "SF"
    if orig & FIN:
        return "S2"
    return "S3" if resp & FIN else "S1"


def history(flow: dict, orig: int, resp: int) -> str:
    letters = [("S", orig & SYN), ("h", resp & SYN), ("A", orig & ACK),
               ("D", flow.get("orig_bytes", 0) > 0), ("d", flow.get("resp_bytes", 0) > 0),
               ("F", orig & FIN), ("f", resp & FIN), ("R", orig & RST), ("r", resp & RST)]
    return "".join(letter for letter, seen in letters if seen)
