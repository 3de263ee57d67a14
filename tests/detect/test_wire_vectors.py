"""Wire signatures against 783 real telematics messages from public decoder test suites.

Every vector tagged geolocation must be found as geolocation with its position within 1e-5
degrees; every JT/T 1078 packet as video. Per-protocol recall is printed (run with -s, or
see the captured output of a failure) and asserted to be complete.
"""

from __future__ import annotations

from collections import Counter

import pytest

from monitor.detect.wire.scan import scan_payload

from ..conftest import corpus
from ..vectors import protocols, truth, wire_bytes

TOLERANCE = 1e-5


def _found_at(matches, lat: float, lon: float) -> bool:
    return any(m.category == "geolocation" and any(abs(p.lat - lat) <= TOLERANCE and abs(p.lon - lon) <= TOLERANCE
                                                   for p in m.positions) for m in matches)


def test_every_geolocation_vector_is_found_with_its_position(capsys):
    corpus("telematics", "vectors.json")
    recall, misses, errors = {}, [], Counter()
    for protocol, vectors in protocols().items():
        tagged = [v for v in vectors if "geolocation" in v["tags"]]
        if not tagged:
            continue
        hits = 0
        for vector in tagged:
            if _found_at(scan_payload(wire_bytes(vector), errors), *truth(vector)):
                hits += 1
            else:
                misses.append(f"{protocol} {vector['source_file']}:{vector['line']}")
        recall[protocol] = (hits, len(tagged))
    with capsys.disabled():
        print("\ngeolocation recall per protocol (vectors tagged geolocation, position within 1e-5 deg):")
        for protocol, (hits, total) in sorted(recall.items()):
            print(f"  {protocol:<12} {hits:>4}/{total:<4} {hits / total:6.1%}")
    assert not misses, misses
    assert not errors, errors
    assert sum(total for _, total in recall.values()) == 411  # the corpus' own count of tagged vectors


def test_every_jt1078_packet_is_video(capsys):
    corpus("telematics", "vectors.json")
    vectors = protocols()["jt1078"]
    found = [any(m.category == "video" and m.protocol == "jt1078" for m in scan_payload(wire_bytes(v))) for v in vectors]
    with capsys.disabled():
        print(f"\njt1078 video recall: {sum(found)}/{len(vectors)}")
    assert all(found)


@pytest.mark.parametrize("protocol,expected", [("gb32960", "vin"), ("gt06", "imei")])
def test_identity_is_decoded(protocol, expected):
    corpus("telematics", "vectors.json")
    identities = [m.identity for v in protocols()[protocol] for m in scan_payload(wire_bytes(v))]
    assert any(expected in i for i in identities)
