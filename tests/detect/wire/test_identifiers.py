"""Identifiers in plaintext: what is found, and that the search is linear in attacker bytes."""

from __future__ import annotations

import pytest

from monitor.detect.wire.identifiers import identifiers

from ...hostile.budget import within_budget

VIN = "1M8GDM9AXKP042788"  # the textbook VIN: check digit (position 9) X, valid
IMEI = "356938035643809"  # Luhn valid


def found(payload: bytes) -> set[tuple[str, str, str]]:
    return {(m.evidence["identifier"], next(iter(m.identity.values())), m.evidence["found_by"])
            for m in identifiers(payload)}


@pytest.mark.parametrize("payload, expected", [
    (f'{{"vin": "{VIN}"}}'.encode(), ("vin", VIN, "labelled 'vin'")),
    (f"vehicle_vin={VIN.lower()}&x=1".encode(), ("vin", VIN, "labelled 'vehicle_vin'")),
    (f"IMEI: {IMEI}".encode(), ("imei", IMEI, "labelled 'IMEI'")),
    (f"'device_imei' = '{IMEI}'".encode(), ("imei", IMEI, "labelled 'device_imei'")),
    (f"car {VIN} ok".encode(), ("vin", VIN, "check digit valid")),
    (f"vinyl: {VIN}".encode(), ("vin", VIN, "check digit valid")),  # a key must end in the label word
])
def test_labelled_and_unlabelled_identifiers_are_found(payload, expected):
    assert found(payload) == {expected}


@pytest.mark.parametrize("payload", [
    f"imei: {IMEI[:-1]}8".encode(),  # wrong Luhn digit
    f"vin: {VIN}X".encode(),  # 18 characters: not a VIN
    b"no identifiers here",
])
def test_near_misses_are_not_identifiers(payload):
    assert found(payload) == set()


@pytest.mark.parametrize("run", [b"A", b"vin", b"vin:", b"imei_", b"_"])
def test_the_search_is_linear_on_runs_that_were_quadratic(run):
    # A lazy key prefix tried at every offset made a 16 KB run of letters cost 3.5 s; a linear scan
    # of 1 MiB costs milliseconds. The budget is tens of times that, not a speed measurement.
    payload = run * ((1 << 20) // len(run)) + f" vin: {VIN}".encode()
    with within_budget(f"identifiers over 1 MiB of {run!r}", cpu_s=2.0, megabytes=64):
        assert ("vin", VIN, "labelled 'vin'") in found(payload)
