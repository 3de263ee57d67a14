"""1 GB of random and encrypted payload (seeded generator output, AES-256-GCM and
ChaCha20-Poly1305 ciphertext, made on the fly) through taint's position search, against drives in
every hemisphere, near the equator and across the antimeridian: no position is found, and the
rate the plans computed says none should be (below 0.001 per GB). Run as ``make`` runs the lab."""

from __future__ import annotations

import json

from ..builders import lab


def test_a_gigabyte_of_random_and_encrypted_payload_holds_no_position():
    code, out, err = lab("noise", "--gb", "1", "--seed", "27", timeout=600)
    assert code == 0, (out, err)
    report = json.loads(out)
    assert report["positions"] == 0 and report["by_encoding"] == {}, report
    assert report["bytes"] >= 0.99e9
    assert report["expected_positions"] < 1e-3
    assert set(report["hemispheres"]) >= {"north-east", "north-west", "south-east", "south-west", "antimeridian"}
