"""Builds the policy-trial recordings: capture.pcap, can.log and two small MaxMind DBs.

Every flow in the capture is made to be decided by one particular rule of policy.yaml (its
comments say which); tests/policy/test_policy_trial.py checks that each is. Addresses are
documentation ranges (RFC 5737, RFC 3849) and a documentation AS number (RFC 5398).

    python seeds/policy-trial/make.py      # rewrites the files next to this script
"""

from __future__ import annotations

from pathlib import Path

import cantools
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

HERE = Path(__file__).resolve().parent
DBC = HERE.parent.parent / "dbc" / "gateway-telematics.dbc"
VEHICLE, VEHICLE6, RESOLVER = "192.168.50.2", "fd00:50::2", "192.168.50.1"
VIN = "WDB1234561A123456"
NMEA = b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n"
PCD = (b"POST /tiles HTTP/1.1\r\nContent-Length: 150\r\n\r\n"
       b"# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\n"
       b"TYPE F F F\nCOUNT 1 1 1\nWIDTH 10\nHEIGHT 1\nPOINTS 10\nDATA ascii\n")
JPEG = (b"POST /snapshot HTTP/1.1\r\nHost: cam.example.net\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 80\r\n\r\n\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(60))

#: (time, destination, port, payload, the rule of policy.yaml that must decide it)
FLOWS = [
    (2.0, "203.0.113.9", 5000, NMEA, "position-to-fleet"),        # CIDR and port of set fleet
    (3.0, "203.0.113.9", 6000, NMEA, "position-elsewhere"),       # same CIDR, port not in the set
    (4.0, "203.0.113.77", 443, NMEA, "position-to-fleet"),        # *.telematics.example.com via DNS
    (5.0, "198.51.100.10", 443, NMEA, "position-to-partners"),    # country DE from geo-country.mmdb
    (6.0, "198.51.100.200", 443, NMEA, "position-to-partners"),   # AS64500 from geo-asn.mmdb
    (7.0, "2001:db8:bad::1", 443, NMEA, "block-trackers"),        # IPv6 CIDR, category any
    (8.0, "203.0.113.88", 80, PCD, "map-tiles"),                  # maps.example.org via DNS
    (9.0, "192.0.2.44", 80, PCD, "mapping-elsewhere"),
    (10.0, "192.0.2.45", 80, JPEG, "video-anywhere"),
    (11.0, "203.0.113.9", 5000, f"VIN={VIN}".encode(), "identity-to-fleet"),
    (12.0, "192.0.2.46", 443, f"vin:{VIN}".encode(), "default"),  # no identity rule for it
    (13.0, "192.0.2.47", 443, b"hello", "unlisted-destinations"),  # nothing but an unknown place
]
ETHER = Ether(src="02:00:00:00:50:02", dst="02:00:00:00:50:01")
DNS_ANSWERS = [(1.0, "gw.telematics.example.com", "203.0.113.77"), (1.1, "maps.example.org", "203.0.113.88")]


def packets() -> list:
    out = []
    for i, (ts, name, address) in enumerate(DNS_ANSWERS):
        answer = DNS(id=i + 1, qr=1, aa=1, qd=DNSQR(qname=name), an=DNSRR(rrname=name, type="A", ttl=300, rdata=address))
        out.append(_stamped(ETHER / IP(src=RESOLVER, dst=VEHICLE) / UDP(sport=53, dport=33000 + i) / answer, ts))
    for i, (ts, address, port, payload, _) in enumerate(FLOWS):
        ip = IPv6(src=VEHICLE6, dst=address) if ":" in address else IP(src=VEHICLE, dst=address)
        out.append(_stamped(ETHER / ip / TCP(sport=41000 + i, dport=port, flags="PA", seq=1) / payload, ts))
    return out


def can_lines() -> list[str]:
    db = cantools.database.load_file(str(DBC))
    vin = db.get_message_by_name("GW_VIN")
    lines = []
    for k in range(3):
        data = bytes([k]) + VIN[7 * k: 7 * k + 7].ljust(7, "\0").encode()
        lines.append(f"({0.1 + 0.01 * k:.6f}) can0 {vin.frame_id:03X}#{data.hex().upper()}\n")
    lines.append("(0.500000) can0 123#0102\n")  # an id no DBC knows: rule can-anomalies
    return lines


def geo_databases() -> None:
    country = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    country.insert_network(IPSet(["198.51.100.0/25"]), {"country": {"iso_code": "DE"}})
    country.to_db_file(str(HERE / "geo-country.mmdb"))
    asn = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    asn.insert_network(IPSet(["198.51.100.128/25"]), {"autonomous_system_number": 64500,
                                                      "autonomous_system_organization": "Documentation AS"})
    asn.to_db_file(str(HERE / "geo-asn.mmdb"))


def _stamped(packet, ts: float):
    packet.time = ts
    return packet


def main() -> None:
    wrpcap(str(HERE / "capture.pcap"), packets())
    (HERE / "can.log").write_text("".join(can_lines()))
    geo_databases()


if __name__ == "__main__":
    main()
