"""Where the data goes: countries out of the box (the RIR table), a MaxMind database and an
override table on top, countries-of-concern in policies, regulatory tags with their reasons,
and the DNS forwarder that never admits an address in a blocked country."""

from __future__ import annotations

import json
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet
from scapy.layers.dns import DNS, DNSQR, DNSRR

from monitor.config.model import GeoIp
from monitor.enforce.dnsforward import DnsForwarder
from monitor.pipeline import load_config
from monitor.policy.countries import SPECIAL, Countries
from monitor.policy.decide import Decider

from ..builders import alerts_in, run
from ..conftest import PROJECT

SEED = PROJECT / "seeds" / "countries-of-concern"
RECORDINGS = [str(SEED / "can.log"), str(SEED / "capture.pcap")]


def test_the_builtin_table_names_countries_and_special_addresses_get_none():
    countries = Countries(GeoIp())
    assert countries.place("218.2.2.2").as_dict() == {"country": "CN", "country_source": "rir"}
    assert countries.place("5.255.255.5").country == "RU" and countries.place("193.99.144.80").country == "DE"
    assert countries.place("2001:4860:4860::8888").country == "US"
    for address in ("192.168.1.1", "198.51.100.7", "127.0.0.1", "fe80::1", "224.0.0.251"):
        assert countries.place(address).as_dict() == {"country": None, "country_source": SPECIAL}


def test_findings_and_flow_records_carry_the_country_and_its_source(tmp_path):
    code, _, err = run("replay", *RECORDINGS, "--config", str(SEED / "config.yaml"), "-o", str(tmp_path / "out"))
    assert code == 0, err
    alerts = alerts_in(tmp_path / "out")
    places = {(a["flow"]["resp_h"], a["destination"]["country"], a["destination"]["country_source"]) for a in alerts}
    assert places == {("218.2.2.2", "CN", "rir"), ("5.255.255.5", "RU", "rir"), ("203.198.7.66", "HK", "rir")}
    assert all(a["record"]["evidences"][0]["dst_endpoint"]["location"]["country"] == a["destination"]["country"] for a in alerts)
    flows = [json.loads(line) for line in (tmp_path / "out" / "flows-countries-of-concern.jsonl").read_text().splitlines()]
    by_host = {f["id.resp_h"]: (f.get("resp_country"), f.get("resp_country_source")) for f in flows}
    assert by_host["193.99.144.80"] == ("DE", "rir") and by_host["5.255.255.5"] == ("RU", "rir")
    assert by_host["198.51.100.53"] == (None, SPECIAL)  # the resolver: a documentation address


def test_a_maxmind_database_and_an_override_table_take_precedence(tmp_path):
    db = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    db.insert_network(IPSet(["218.2.2.0/24"]), {"country": {"iso_code": "TW"}})
    db.to_db_file(str(tmp_path / "country.mmdb"))
    (tmp_path / "overrides.csv").write_text("# test servers\n5.255.255.0/24,JP\n")
    config = tmp_path / "geo.yaml"
    config.write_text(f"version: 1\nextends: {SEED / 'config.yaml'}\n"
                      "geoip: {country: country.mmdb, overrides: overrides.csv}\n")
    code, _, err = run("replay", *RECORDINGS, "--config", str(config), "-o", str(tmp_path / "out"))
    assert code == 0, err
    places = {(a["flow"]["resp_h"], a["destination"]["country"], a["destination"]["country_source"])
              for a in alerts_in(tmp_path / "out")}
    # Taiwan and Japan are no countries of concern: what goes there is alerted by the ordinary rules
    assert ("218.2.2.2", "TW", "maxmind") in places and ("5.255.255.5", "JP", "override") in places
    assert ("203.198.7.66", "HK", "rir") in places
    rules = {a["rule"] for a in alerts_in(tmp_path / "out") if a["destination"]["country"] in ("TW", "JP")}
    assert rules and not any("concern" in rule for rule in rules)


def test_countries_of_concern_in_policy_check_and_policy_test(tmp_path):
    code, out, err = run("policy", "check", "countries-of-concern", "countries-of-concern-enforce")
    assert code == 0, err
    code, out, err = run("policy", "test", str(SEED / "config.yaml"), "--replay", *RECORDINGS)
    assert code == 0, err
    assert "flows-to-concern" in out and "position-to-concern" in out and "video-to-concern" in out
    custom = tmp_path / "narrow.yaml"  # a configuration narrows the named list: Russia only
    custom.write_text(f"version: 1\nextends: {SEED / 'config.yaml'}\ncountry_lists: {{countries-of-concern: [RU]}}\n")
    code, _, _ = run("replay", *RECORDINGS, "--config", str(custom), "-o", str(tmp_path / "narrow"))
    concern = {a["destination"]["country"] for a in alerts_in(tmp_path / "narrow") if "concern" in a["rule"]}
    assert code == 0 and concern == {"RU"}


def test_every_finding_carries_regulatory_tags_with_the_reason(tmp_path):
    # The seed drives in Munich: GDPR for what leaves the EEA; no US rule (no US vehicle), no
    # Chinese rule (the data was not collected in China), though it goes to China.
    assert run("replay", *RECORDINGS, "--config", str(SEED / "config.yaml"), "-o", str(tmp_path / "out"))[0] == 0
    alerts = alerts_in(tmp_path / "out")
    report = next(a for a in alerts if a["detector"] == "wire.jt808")
    tags = {t["id"]: t for t in report["regulatory"]}
    assert set(tags) == {"eu-gdpr-location-data"} and tags["eu-gdpr-location-data"]["applies"] == "yes"
    assert "the vehicle is in DE (48.1" in tags["eu-gdpr-location-data"]["why"]
    assert "the destination is in CN, outside eea, eu-adequacy" in tags["eu-gdpr-location-data"]["why"]
    video = next(a for a in alerts if a["detector"] == "wire.rtp")
    assert {t["id"] for t in video["regulatory"]} == {"eu-gdpr-external-video"}
    assert all(t["why"] for a in alerts for t in a["regulatory"])
    unknown = [a for a in alerts if a["category"] == "unknown"]
    assert unknown and all(a["regulatory"] == [] for a in unknown)
    # The same drive by a vehicle registered in the US: its data to China and Russia falls under
    # the US rules too; precise geolocation only where a decoded position shows the precision.
    us = tmp_path / "us.yaml"
    us.write_text(f"version: 1\nextends: {SEED / 'config.yaml'}\nalerts: {{vehicle_id: countries-of-concern, vehicle_country: US}}\n")
    assert run("replay", *RECORDINGS, "--config", str(us), "-o", str(tmp_path / "us"))[0] == 0
    alerts = alerts_in(tmp_path / "us")
    report = next(a for a in alerts if a["detector"] == "wire.jt808")
    tags = {t["id"]: t for t in report["regulatory"]}
    assert set(tags) == {"us-dsp-precise-geolocation", "us-dsp-connected-vehicle-data", "eu-gdpr-location-data"}
    assert "within 1000 m" in tags["us-dsp-precise-geolocation"]["why"] and "202.242" in tags["us-dsp-precise-geolocation"]["paragraph"]
    assert "registered in US (alerts.vehicle_country), now in DE" in tags["us-dsp-precise-geolocation"]["why"]
    beacon = next(a for a in alerts if a["detector"] == "behaviour.beacon")
    assert "us-dsp-precise-geolocation" not in {t["id"] for t in beacon["regulatory"]}  # no decoded position: precision unknown
    video = next(a for a in alerts if a["detector"] == "wire.rtp")
    assert {t["id"] for t in video["regulatory"]} == {"us-dsp-connected-vehicle-data", "eu-gdpr-external-video"}


def test_a_listed_name_answered_with_an_address_in_a_blocked_country_is_never_allowlisted(tmp_path):
    (tmp_path / "overrides.csv").write_text("192.0.2.66/32,CN\n")
    config = tmp_path / "enforce.yaml"
    config.write_text("version: 1\nextends: countries-of-concern-enforce\ngeoip: {overrides: overrides.csv}\n")
    decider = Decider(load_config(config).policy)
    admitted: list[tuple[str, str, int]] = []
    forwarder = DnsForwarder(decider, lambda name, address, ttl: admitted.append((name, address, ttl)))
    reply = DNS(id=1, qr=1, qd=DNSQR(qname="api.telematics.example.com"),
                an=[DNSRR(rrname="api.telematics.example.com", ttl=120, rdata="192.0.2.66"),
                    DNSRR(rrname="api.telematics.example.com", ttl=120, rdata="192.0.2.67")])
    forwarder._learn(bytes(reply))
    assert ("countries-of-concern", "192.0.2.66", 120) in admitted  # the refusing set
    assert ("fleet-telematics", "192.0.2.66", 120) not in admitted and ("fleet-telematics", "192.0.2.67", 120) in admitted
    assert forwarder.counts["answers_in_blocked_sets"] == 1
    forwarder.pool.shutdown()


def test_the_enforce_ruleset_refuses_the_countries_of_concern_set():
    from monitor.enforce import ruleset

    policy = load_config("countries-of-concern-enforce").policy
    blocked = {k.destination.name for k in ruleset.kernel_sets(policy) if k.blocked}
    assert blocked == {"countries-of-concern"}
    assert Path(PROJECT / "policies" / "countries-of-concern-enforce.yaml").is_file()


def test_summary_and_report_show_where_the_data_went(tmp_path):
    assert run("replay", *RECORDINGS, "--config", str(SEED / "config.yaml"), "-o", str(tmp_path / "out"))[0] == 0
    code, out, _ = run("alerts", "summary", str(tmp_path / "out"), "--json")
    by_country = json.loads(out)["by_country"]
    assert code == 0 and set(by_country) == {"CN", "RU", "HK"} and by_country["CN"]["hits"] >= 25
    assert run("report", str(tmp_path / "out"), "-o", str(tmp_path / "r.html"))[0] == 0
    page = (tmp_path / "r.html").read_text()
    rows = page.split('<table id="countries">')[1].split("</table>")[0]
    assert rows.count('<tr class="country"') == 3 and rows.count('data-concern="yes"') == 3 and "country of concern" in rows
