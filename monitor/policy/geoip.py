"""Country and AS number of an address, from MaxMind DB files the user points the policy to
(GeoLite2-Country and GeoLite2-ASN, or any database with the same record layout).

gatewatch ships no database: without one, country and ASN criteria cannot be used, and the
loader says so. Lookups are cached; a database that cannot be opened stops start-up.
"""

from __future__ import annotations

from functools import lru_cache

from ..config.model import GeoIp
from ..errors import PolicyError


class GeoIpLookup:
    def __init__(self, config: GeoIp) -> None:
        self.country_db = _open(config.country)
        self.asn_db = _open(config.asn)
        self.lookup = lru_cache(maxsize=16_384)(self._lookup)

    def _lookup(self, address: str) -> tuple[str | None, int | None]:
        country = asn = None
        if self.country_db is not None:
            record = self.country_db.get(address) or {}
            place = record.get("country") or record.get("registered_country") or {}
            country = place.get("iso_code")
        if self.asn_db is not None:
            asn = (self.asn_db.get(address) or {}).get("autonomous_system_number")
        return country, asn


def _open(path: str | None):
    if path is None:
        return None
    import maxminddb  # only needed when the policy names a database

    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
        raise PolicyError(f"{path}: not a readable MaxMind DB: {error}") from None
