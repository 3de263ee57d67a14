"""QUIC: the Initial keys match RFC 9001 and RFC 9369."""

from __future__ import annotations

from monitor.net.app import quic


def test_quic_initial_keys_match_rfc_9001_and_9369() -> None:
    dcid = bytes.fromhex("8394c8f03e515708")
    v1 = quic.client_initial_keys(quic.V1, dcid)
    assert (v1.key.hex(), v1.iv.hex(), v1.hp.hex()) == (
        "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2")
    v2 = quic.client_initial_keys(quic.V2, dcid)
    assert (v2.key.hex(), v2.iv.hex(), v2.hp.hex()) == (
        "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9")
