"""Services documented to encode data in DNS names (``dns_services.toml``).

Antivirus reputation lookups, DNS blocklists, IP-to-ASN services, CDN edge
names and cloud-internal host names produce exactly what a DNS tunnel does:
many fresh, long, high-entropy names under one zone, some with TXT answers.
The detector cannot tell them apart by shape; their documentation can. Each
bundled entry names a suffix, a category, what the labels carry and the
source; :func:`known_service` says which entry covers (nearly) all of a
group's names, matched on a dot boundary (``x.sophosxl.net`` and
``sophosxl.net`` match ``sophosxl.net``; ``evilsophosxl.net`` does not).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["DnsService", "bundled_services", "known_service"]

#: Share of a group's distinct names that must fall under one service.
COVER_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class DnsService:
    """One documented service: its suffix, category, what its names carry, source."""

    suffix: str
    category: str
    what: str
    source: str

    def covers(self, name: str) -> bool:
        n = name.rstrip(".").lower()
        return n == self.suffix or n.endswith("." + self.suffix)


@cache
def bundled_services() -> tuple[DnsService, ...]:
    """The entries of the bundled ``dns_services.toml``, longest suffix first."""
    text = resources.files("beaconhunt.enrich").joinpath("dns_services.toml").read_text("utf-8")
    rows = tomllib.loads(text)["service"]
    out = [DnsService(r["suffix"].lower(), r["category"], r["what"], r["source"]) for r in rows]
    return tuple(sorted(out, key=lambda s: (-len(s.suffix), s.suffix)))


def known_service(
    names: Iterable[str], services: Iterable[DnsService] | None = None
) -> DnsService | None:
    """The service covering at least :data:`COVER_SHARE` of the distinct ``names``."""
    distinct = {n.rstrip(".").lower() for n in names}
    if not distinct:
        return None
    for svc in bundled_services() if services is None else services:
        hits = sum(1 for n in distinct if svc.covers(n))
        if hits >= COVER_SHARE * len(distinct):
            return svc
    return None
