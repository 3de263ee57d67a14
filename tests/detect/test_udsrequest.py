"""UDS requests read into service, sub-function and identifiers, and the key that makes
repeats of one operation one request; responses are not requests; nothing raises."""

from __future__ import annotations

import random

import pytest

from monitor.detect.udsrequest import read_request


@pytest.mark.parametrize("data, text, details", [
    (b"\x10\x02", "DiagnosticSessionControl 0x10 programmingSession (0x02)", {}),
    (b"\x11\x81", "ECUReset 0x11 hardReset (0x01)", {"suppress_positive_response": True}),
    (b"\x27\x05", "SecurityAccess 0x27 requestSeed (0x05)", {"security_level": 3}),
    (b"\x27\x06\xde\xad", "SecurityAccess 0x27 sendKey (0x06)", {"security_level": 3}),
    (b"\x28\x03\x01", "CommunicationControl 0x28 disableRxAndTx (0x03)", {}),
    (b"\x31\x03\x02\x02", "RoutineControl 0x31 requestRoutineResults (0x03) routine 0x0202", {"routine": "0x0202"}),
    (b"\x2e\xf1\x98\x01\x02", "WriteDataByIdentifier 0x2E did 0xF198 repair shop code", {"did": "0xF198 repair shop code"}),
    (b"\x2f\x40\x01\x00", "InputOutputControlByIdentifier 0x2F did 0x4001", {"control": "returnControlToECU"}),
    (b"\x36\x07" + bytes(100), "TransferData 0x36", {"first_block": 7}),
    (b"\x3d\x12\x00\x10\x04", "WriteMemoryByAddress 0x3D", {"address": "0x0010", "size": 4}),
    (b"\x85\x02", "ControlDTCSetting 0x85 off (0x02)", {}),
    (b"\x3e\x00", "TesterPresent 0x3E zeroSubFunction (0x00)", {}),
    (b"\x99\x01", "unknown service 0x99", {}),
])
def test_requests_are_named_with_their_sub_function_and_identifiers(data, text, details):
    request = read_request(data)
    assert request is not None and request.text == text
    assert {k: request.details.get(k) for k in details} == details
    assert request.evidence()["uds_service"] == f"0x{data[0]:02X}"


def test_one_operation_is_one_key():
    blocks = {read_request(b"\x36" + bytes([k]) + bytes(8)).key for k in range(256)}
    dump = {read_request(b"\x23\x14" + k.to_bytes(4, "big") + b"\x10").key for k in range(0, 4096, 16)}
    assert len(blocks) == 1 and len(dump) == 1
    assert read_request(b"\x11\x01").key == read_request(b"\x11\x81").key  # the suppress bit is not another request
    assert read_request(b"\x27\x01").key != read_request(b"\x27\x03").key
    assert read_request(b"\x22\xf1\x90").key != read_request(b"\x22\xf1\x8c").key
    assert read_request(b"\x31\x01\xff\x00").key != read_request(b"\x31\x01\xff\x01").key


def test_responses_are_not_requests_and_short_requests_are_marked():
    assert [read_request(d) for d in (b"", b"\x7f\x27\x35", b"\x67\x01\x12\x34", b"\xc5\x02")] == [None] * 4
    assert read_request(b"\x31\x01").truncated and read_request(b"\x10").truncated
    assert read_request(b"\x23\x44\x00").truncated and read_request(b"\x2e\xf1").truncated


def test_random_bytes_never_raise():
    rng = random.Random(14229)
    for _ in range(20_000):
        request = read_request(rng.randbytes(rng.randint(0, 12)))
        if request is not None:
            assert request.text and request.key and isinstance(request.evidence(), dict)
