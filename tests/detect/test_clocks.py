"""CAN and IP clocks: a seed's CAN log shifted by -30..+30 s is found out from the positions in
its payloads (a warning with the offset to give, within 0.5 s), and ``--align-clocks`` gets
every CAN-position match back; the unshifted seeds raise no warning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from monitor.detect import clocks
from monitor.pipeline import load_config

from ..builders import run
from ..conftest import PROJECT

SEEDS = PROJECT / "seeds"
SHIFTS = (-30.0, -8.0, -1.5, 2.0, 17.0, 30.0)
WARNING = re.compile(r"warning: the CAN recordings' clock is .* rerun with --can-time-offset (-?\d+\.\d+) or --align-clocks")


def shifted(seed: str, shift: float, folder: Path) -> Path:
    """The seed's candump log with every timestamp moved by ``shift`` seconds."""
    out = folder / f"can{shift:+g}.log"
    lines = (SEEDS / seed / "can.log").read_text().splitlines()
    with out.open("w") as handle:
        for line in lines:
            stamp, rest = line[1:].split(")", 1)
            handle.write(f"({float(stamp) + shift:.6f}){rest}\n")
    return out


def taint_hits(out: str) -> int:
    """CAN-position matches in replay's summary: the tally rows of taint.position."""
    return sum(int(line.split()[0]) for line in out.splitlines() if " taint.position " in line)


def replay(seed: str, can: Path, output: Path, *flags: str) -> tuple[int, str, str]:
    folder = SEEDS / seed
    return run("replay", str(can), str(folder / "capture.pcap"), "--config", str(folder / "config.yaml"),
               "-o", str(output), *flags)


@pytest.fixture(scope="module")
def unshifted(tmp_path_factory) -> dict[str, int]:
    """Each seed's CAN-position matches on its own clocks (and no clock warning there)."""
    counts = {}
    for seed in ("jt808-untrusted", "gbt32960-stream"):
        code, out, err = replay(seed, SEEDS / seed / "can.log", tmp_path_factory.mktemp(seed))
        assert code == 0, err
        assert "clock is" not in err
        counts[seed] = taint_hits(out)
        assert counts[seed] > 0  # the exact number is taint's (tests/detect/test_taint.py); here only that it comes back
    return counts


@pytest.mark.parametrize("seed", ["jt808-untrusted", "gbt32960-stream"])
@pytest.mark.parametrize("shift", SHIFTS)
def test_a_shifted_can_log_is_warned_about_and_aligned(seed, shift, unshifted, tmp_path):
    can = shifted(seed, shift, tmp_path)
    code, out, err = replay(seed, can, tmp_path / "warned")
    assert code == 0, err
    suggested = WARNING.search(err)
    assert suggested, err
    assert abs(float(suggested.group(1)) - (-shift)) <= 0.5
    assert len([line for line in err.splitlines() if "clock is" in line]) == 1
    code, out, err = replay(seed, can, tmp_path / "aligned", "--align-clocks")
    assert code == 0, err
    assert "--align-clocks: CAN times shifted by" in err and "warning: the CAN" not in err
    # Every match back. Not "==": the estimate is the offset plus the shortest position-to-send
    # delay (50 ms in these seeds: the handshake and the first segment's delay), and taint may
    # find a report more or fewer with the CAN track 50 ms later (issue 27's taint rework did).
    assert taint_hits(out) >= unshifted[seed]
    stats = json.loads((tmp_path / "aligned" / "stats.json").read_text())["clocks"]
    assert abs(stats["applied_s"] + shift) <= 0.5 and stats["support"] >= 14 and stats["examined"] <= clocks.MAX_POSITIONS


def test_without_the_flag_the_matches_of_a_late_can_log_are_lost(unshifted, tmp_path):
    """What the warning is for: 8 s late, taint finds none of the jt808 seed's positions."""
    code, out, _ = replay("jt808-untrusted", shifted("jt808-untrusted", 8.0, tmp_path), tmp_path / "a")
    assert code == 0 and taint_hits(out) == 0 < unshifted["jt808-untrusted"]


def test_the_given_offset_is_built_on(tmp_path):
    """A --can-time-offset already given is the base: the suggestion is the whole offset."""
    can = shifted("jt808-untrusted", 8.0, tmp_path)
    code, _, err = replay("jt808-untrusted", can, tmp_path / "a", "--can-time-offset", "-3")
    assert code == 0
    assert abs(float(WARNING.search(err).group(1)) + 8.0) <= 0.5
    code, _, err = replay("jt808-untrusted", can, tmp_path / "b", "--can-time-offset", "-8")
    assert code == 0 and "clock is" not in err


def with_can_and_ip() -> list[str]:
    return sorted(p.name for p in SEEDS.iterdir() if (p / "can.log").exists() and (p / "capture.pcap").exists()
                  and (p / "config.yaml").exists())


@pytest.mark.parametrize("seed", with_can_and_ip())
def test_no_seed_on_its_own_clocks_is_off(seed):
    folder = SEEDS / seed
    found = clocks.estimate(load_config(folder / "config.yaml"), [folder / "can.log"], [folder / "capture.pcap"])
    assert not found.off and found.warning() is None, found
    assert found.scanned_bytes <= clocks.MAX_SCAN_BYTES + clocks.BUFFER_BYTES
    if seed in ("jt808-untrusted", "gbt32960-stream", "strict-policy", "countries-of-concern"):
        assert found.offset_s is not None and abs(found.offset_s) <= 0.1  # determined, and right


def test_policy_test_aligns_clocks_too(tmp_path):
    folder = SEEDS / "jt808-untrusted"
    can = shifted("jt808-untrusted", 17.0, tmp_path)
    code, out, err = run("policy", "test", str(folder / "config.yaml"), "--replay", str(can), str(folder / "capture.pcap"))
    assert code == 0 and abs(float(WARNING.search(err).group(1)) + 17.0) <= 0.5
    assert "vehicle position from CAN" not in out
    code, out, err = run("policy", "test", str(folder / "config.yaml"), "--replay", str(can), str(folder / "capture.pcap"),
                         "--align-clocks")
    assert code == 0 and "--align-clocks: CAN times shifted by -16.9" in err
    assert "vehicle position from CAN" in out


def test_the_examined_positions_are_capped(monkeypatch):
    folder = SEEDS / "jt808-untrusted"
    monkeypatch.setattr(clocks, "MAX_POSITIONS", 5)
    found = clocks.estimate(load_config(folder / "config.yaml"), [folder / "can.log"], [folder / "capture.pcap"], 0.0)
    assert found.examined == 5 and found.support == 5 and found.offset_s is not None


def straight_track(seconds: float = 120.0, stop: tuple[float, float] | None = None):
    """10 Hz along a meridian at 10 m/s, optionally standing still between two times."""
    ts = 1_700_000_000.0 + np.arange(0, seconds, 0.1)
    moving = np.minimum(ts - ts[0], stop[0]) + np.maximum(ts - ts[0] - stop[1], 0) if stop else ts - ts[0]
    lats = 48.0 + moving * 10.0 / clocks.METRES_PER_DEGREE
    return ts, lats, np.full(len(ts), 11.5)


def test_a_vote_is_the_packet_time_minus_the_closest_pass():
    ts, lats, lons = straight_track()
    found = [(float(ts[k] + 8.0), float(lats[k]), 11.5) for k in (100, 300, 500, 700)]
    votes, voters, stationary = clocks.vote(ts, lats, lons, found)
    assert np.allclose(votes, 8.0) and voters.tolist() == [0, 1, 2, 3] and stationary == 0
    assert clocks.agreeing(votes, voters)[:2] == (pytest.approx(8.0), 4)


def test_a_position_where_the_vehicle_stood_still_gives_no_vote():
    ts, lats, lons = straight_track(stop=(30.0, 60.0))
    at_stop = (float(ts[0] + 50.0), float(lats[400]), 11.5)
    votes, _, stationary = clocks.vote(ts, lats, lons, [at_stop])
    assert len(votes) == 0 and stationary == 1


def test_the_lowest_of_the_densest_votes_is_the_offset():
    """Reports leave after their position was measured: the votes are offset + delay; a stray
    vote far off does not move it, and two disagreeing positions decide nothing."""
    votes = np.array([5.0, 5.3, 5.9, 6.4, 5.1, -120.0])
    offset, support, spread = clocks.agreeing(votes, np.arange(len(votes)))
    assert (offset, support) == (5.0, 5) and spread == pytest.approx(1.4)
    assert clocks.agreeing(np.zeros(0), np.zeros(0, np.int64)) == (0.0, 0, 0.0)


def test_undetermined_without_enough_agreement(tmp_path):
    estimate = clocks.ClockEstimate(None, 0.0, support=1, voted=2, examined=2)
    assert not estimate.off and estimate.warning() is None and estimate.suggested_s is None
    assert "undetermined" in estimate.evidence()
    late = clocks.ClockEstimate(-7.95, 1.0, support=18, voted=18, examined=18)
    assert late.off and late.suggested_s == -6.95 and "ahead of the captures'" in late.warning()


def test_doip_requests_found_again_on_can_align_a_drive_without_positions(tmp_path):
    """No position anywhere: three UDS requests a tester sends over DoIP, which the gateway puts
    on the bus 4 ms later, are the witnesses; the CAN log's clock is 12 s ahead."""
    from monitor.testing.scene import doip

    from ..builders import candump_line, packet, write_log, write_pcap

    t0, skew = 1_700_000_000.0, 12.0
    requests = [bytes.fromhex("22f190"), bytes.fromhex("1003"), bytes.fromhex("3101ff00"), bytes.fromhex("2701")]
    lines = [candump_line(t0 + skew + 0.1 * k, "can0", 0x123, bytes(8)) for k in range(600)]  # other traffic
    packets = []
    for k, uds in enumerate(requests):
        at = t0 + 10 + 9 * k
        packets.append(packet(at, doip(0x8001, b"\x0e\x00\x10\x00" + uds), dport=13400, sport=50400, seq=1 + 100 * k,
                              src="198.51.100.67", dst="192.168.1.10"))
        lines.append(candump_line(at + 0.004 + skew, "can0", 0x7E0, bytes([len(uds)]) + uds + bytes(7 - len(uds))))
    log, pcap = write_log(tmp_path / "can.log", lines), write_pcap(tmp_path / "doip.pcap", packets)
    found = clocks.estimate(load_config(None), [log], [pcap])
    assert found.events == 4 and found.support == 4 and found.examined == 0
    assert abs(found.offset_s + skew) <= 0.01
    code, _, err = run("replay", str(log), str(pcap), "-o", str(tmp_path / "out"))
    assert code == 0 and "DoIP requests seen on CAN (4)" in err and "--can-time-offset -12.004" in err


def test_a_request_repeated_too_often_says_nothing():
    from monitor.detect.clockevents import MAX_PAIRS, event_votes

    can = [(100.0 + 2 * k, b"\x3e\x00") for k in range(MAX_PAIRS + 1)] + [(150.0, b"\x22\xf1\x90")]
    assert event_votes(can, [(130.0, b"\x3e\x00"), (160.0, b"\x22\xf1\x90")], 900.0) == [(10.0, 1)]


def test_align_clocks_says_what_it_did_when_it_did_nothing(tmp_path):
    folder = SEEDS / "jt808-untrusted"
    code, _, err = replay("jt808-untrusted", folder / "can.log", tmp_path / "a", "--align-clocks")
    assert code == 0 and "--align-clocks: within 1 s, CAN times kept (18 of 18 payload positions agree" in err
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())["clocks"]
    assert stats["applied_s"] == 0.0 and stats["warning"] is None and stats["examined"] == 18
    code, _, err = run("replay", str(folder / "capture.pcap"), "-o", str(tmp_path / "b"), "--align-clocks")
    assert code == 0 and "nothing to align without both CAN and IP recordings" in err
    dashcam = SEEDS / "dashcam-video"
    code, _, err = run("replay", str(dashcam / "can.log"), str(dashcam / "capture.pcap"), "--config", str(dashcam / "config.yaml"),
                       "-o", str(tmp_path / "c"), "--align-clocks")
    assert code == 0 and "--align-clocks: undetermined, CAN times kept" in err
