"""Wire signatures against 783 real telematics messages from public decoder test suites.

Every vector tagged geolocation must be found as geolocation with its position within 1e-5
degrees; every JT/T 1078 packet as video. Per-protocol recall is printed (run with -s, or
see the captured output of a failure) and asserted to be complete.
"""

from __future__ import annotations

import pytest

from lab.corpus import TOLERANCE_DEG, truth, vector_recall
from monitor.detect.wire.scan import scan_payload

from ...conftest import corpus
from ...vectors import protocols, wire_bytes


def test_every_geolocation_vector_is_found_with_its_position_and_every_jt1078_packet_as_video(capsys):
    """The same count as ``make score``'s vector table (lab/corpus.py)."""
    report = vector_recall(corpus("telematics", "vectors.json"))
    with capsys.disabled():
        print("\nrecall per protocol (geolocation at its position within 1e-5 deg; JT/T 1078 as video):")
        for protocol, row in sorted(report["protocols"].items()):
            print(f"  {protocol:<16} {row['found']:>4}/{row['total']:<4} {row['found'] / row['total']:6.1%}")
    assert not report["misses"], report["misses"]
    assert not report["parser_errors"], report["parser_errors"]
    assert report["protocols"]["jt1078 (video)"] == {"found": 20, "total": 20}
    tagged = sum(row["total"] for name, row in report["protocols"].items() if not name.startswith("jt1078"))
    assert tagged == 411  # the corpus' own count of tagged vectors


@pytest.mark.parametrize("protocol,expected", [("gb32960", "vin"), ("gt06", "imei")])
def test_identity_is_decoded(protocol, expected):
    corpus("telematics", "vectors.json")
    identities = [m.identity for v in protocols()[protocol] for m in scan_payload(wire_bytes(v))]
    assert any(expected in i for i in identities)


# Protocols whose hemisphere travels outside the number (status bits, course word, N/S/E/W
# letters) or as the number's sign, and how many of the corpus' tagged vectors lie south or west.
HEMISPHERES = {"jt808": 27, "gt06": 22, "teltonika": 10, "queclink": 79, "nmea": 9, "taip": 9}


@pytest.mark.parametrize("protocol,southern_or_western", HEMISPHERES.items(), ids=HEMISPHERES)
def test_southern_and_western_vectors_decode_with_their_sign(protocol, southern_or_western):
    """Every vector south of the equator or west of Greenwich decodes in its own hemisphere,
    never mirrored into the north-east (JT/T 808 status bits 2 and 3, GT06 course bits 10 and 11)."""
    corpus("telematics", "vectors.json")
    tagged = [v for v in protocols()[protocol] if "geolocation" in v["tags"]]
    elsewhere = [v for v in tagged if min(truth(v)) < 0]
    assert len(elsewhere) == southern_or_western
    for vector in elsewhere:
        lat, lon = truth(vector)
        positions = [p for m in scan_payload(wire_bytes(vector)) if m.category == "geolocation" for p in m.positions]
        assert any(abs(p.lat - lat) <= TOLERANCE_DEG and abs(p.lon - lon) <= TOLERANCE_DEG for p in positions), \
            (vector["source_file"], vector["line"], (lat, lon), positions)
