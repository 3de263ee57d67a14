"""Which country a destination is in, and where that came from.

Order: the override table, then the user's MaxMind database, then (for globally routed
addresses only) the built-in table. Out of the box: the Regional Internet Registries' allocation data, embedded offline in the
``iptocc`` package (MIT OR Apache-2.0; Rust, abi3 wheels for x86-64 and aarch64; refreshed from
the five RIRs; batch lookups in well under a microsecond). It names the country an address block
was *assigned* to, which agrees with MaxMind for about 95 % of IPv4 addresses. A MaxMind country
database the user configures (``geoip: {country: FILE}``) overrides it and an ASN database adds
AS numbers; a small override table (``geoip: {overrides: FILE}``, CSV ``cidr,country``) comes
first of all (tests give their documentation-range servers countries with it).
Private, documentation, loopback, multicast and other special-purpose addresses get no country,
and say so. Lookups are cached per address; the pipeline asks once per flow, never per packet.
"""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from ..config.model import GeoIp
from ..errors import PolicyError
from .geoip import GeoIpLookup

SPECIAL = "special-purpose address (RFC 6890): no country"


@dataclass(frozen=True)
class Place:
    country: str | None
    source: str  # "override", "maxmind", "rir", or why there is none
    asn: int | None = None

    def as_dict(self) -> dict:
        out: dict = {"country": self.country, "country_source": self.source}
        if self.asn is not None:
            out["asn"] = self.asn
        return out


class Countries:
    def __init__(self, geoip: GeoIp) -> None:
        self.maxmind = GeoIpLookup(geoip) if (geoip.country or geoip.asn) else None
        self.overrides = _overrides(geoip.overrides) if geoip.overrides else []
        self.place = lru_cache(maxsize=65_536)(self._place)

    def _place(self, address: str) -> Place:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return Place(None, "not an address")
        for network, country in self.overrides:
            if ip.version == network.version and ip in network:
                return Place(country, "override", self._asn(address))
        if self.maxmind is not None and self.maxmind.country_db is not None:
            found, asn = self.maxmind.lookup(address)
            if found:  # the user's database, even for a range the registries do not assign
                return Place(found, "maxmind", asn)
        if not ip.is_global or ip.is_multicast or ip.is_reserved:
            return Place(None, SPECIAL, self._asn(address))
        return Place(_rir_country(address), "rir", self._asn(address))

    def _asn(self, address: str) -> int | None:
        return self.maxmind.lookup(address)[1] if self.maxmind is not None else None

    def country(self, address: str) -> str | None:
        return self.place(address).country


@lru_cache(maxsize=65_536)
def _rir_country(address: str) -> str | None:
    from iptocc import country_code

    code = country_code(address)
    return code if isinstance(code, str) and len(code) == 2 else None


def _overrides(path: str) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
    out = []
    try:
        with open(path, newline="") as handle:
            for number, row in enumerate(csv.reader(handle), 1):
                if not row or row[0].startswith("#"):
                    continue
                try:
                    network = ipaddress.ip_network(row[0].strip(), strict=False)
                    country = row[1].strip().upper()
                except (ValueError, IndexError):
                    raise PolicyError(f"{path}:{number}: expected 'cidr,country', not {','.join(row)!r}") from None
                if len(country) != 2 or not country.isalpha():
                    raise PolicyError(f"{path}:{number}: {country!r} is not an ISO 3166-1 alpha-2 code")
                out.append((network, country))
    except OSError as error:
        raise PolicyError(f"{path}: cannot read the country override table: {error.strerror or error}") from None
    return sorted(out, key=lambda entry: -entry[0].prefixlen)  # most specific first


def _data(name: str):
    return yaml.safe_load(resources.files("monitor.policy").joinpath(f"data/{name}").read_text())


@lru_cache(maxsize=1)
def regulatory_categories() -> list[dict]:
    return _data("regulatory-categories.yaml")
