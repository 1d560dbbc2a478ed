"""Analyst context files: asset inventory and WHOIS creation dates.

The loaders are pure (a file in, frozen values out) and raise
:class:`~beaconhunt.errors.ConfigError` with ``path:line: what is wrong`` on
malformed input. Every reader accepts a UTF-8 BOM, CRLF line ends, blank
lines, lines starting with ``#``, spaces around fields and any header case.

``assets.csv`` (CMDB view)::

    hostname,ip,role,owner,criticality
    srv-dc-01,10.10.0.10,domain_controller,it-ops,critical
    ws-001.corp.example,10.20.1.10,laptop,anna.schmidt,3

  ``role`` is one of workstation, server, domain_controller, laptop, network,
  other (synonyms such as ``desktop``, ``dc``, ``file_server``, ``database``,
  ``router`` or ``notebook`` are mapped); ``criticality`` is low, medium, high,
  critical or 1-4. Columns may come in any order; ``owner`` may be empty.

``whois.csv``::

    domain,created
    evil-c2.example,2026-10-30
    example.com,1997-03-02T00:00:00Z
    other.example,2001-05-06 12:00:00

  A date without a time is midnight UTC; a datetime without a zone is UTC.

Threat intel feeds are read by :mod:`beaconhunt.enrich.intel`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import Literal

from beaconhunt.enrich.context_text import (
    DOMAIN,
    csv_rows,
    norm_name,
    parents,
    parse_domain,
    parse_ip,
    read_text,
)
from beaconhunt.errors import ConfigError

__all__ = [
    "ROLES",
    "Asset",
    "AssetInventory",
    "Criticality",
    "Role",
    "WhoisDates",
    "WhoisRecord",
    "load_assets",
    "load_whois",
]

Role = Literal["workstation", "server", "domain_controller", "laptop", "network", "other"]

ROLES: tuple[Role, ...] = (
    "workstation",
    "server",
    "domain_controller",
    "laptop",
    "network",
    "other",
)
_ROLE_SYNONYMS: dict[str, Role] = {
    **{r: r for r in ROLES},
    **dict.fromkeys(("desktop", "pc", "ws", "client", "endpoint", "vdi"), "workstation"),
    **dict.fromkeys(("notebook", "portable", "macbook"), "laptop"),
    **dict.fromkeys(
        ("dc", "domaincontroller", "ad", "ad_dc", "active_directory"), "domain_controller"
    ),
    **dict.fromkeys(
        (
            "srv",
            "file_server",
            "fileserver",
            "database",
            "db",
            "db_server",
            "app_server",
            "application_server",
            "web_server",
            "webserver",
            "mail_server",
            "print_server",
            "monitoring",
            "monitoring_server",
            "backup_server",
            "log_server",
            "build_server",
            "jump_host",
            "vm",
            "host",
        ),
        "server",
    ),
    **dict.fromkeys(
        (
            "network_device",
            "router",
            "switch",
            "firewall",
            "fw",
            "gateway",
            "vpn",
            "proxy",
            "load_balancer",
            "access_point",
            "ap",
        ),
        "network",
    ),
    **dict.fromkeys(("unknown", "misc", "iot", "printer", "phone", "mobile"), "other"),
}


class Criticality(IntEnum):
    """How much an asset matters; compares by level (``LOW`` < ``CRITICAL``)."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


_CRITICALITY: dict[str, Criticality] = {
    **{c.name.lower(): c for c in Criticality},
    **{str(c.value): c for c in Criticality},
    "med": Criticality.MEDIUM,
    "crit": Criticality.CRITICAL,
}


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True, slots=True)
class Asset:
    """One inventory line; ``line`` is where it was read (1-based)."""

    hostname: str
    ip: str
    role: Role
    owner: str
    criticality: Criticality
    file: str
    line: int

    @property
    def short_name(self) -> str:
        """The host name's first label, lower case (``ws-001`` for ``WS-001.corp.example``)."""
        return norm_name(self.hostname).split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class AssetInventory:
    """Assets indexed by IP and host name.

    Host lookups are case-insensitive, and a fully qualified name and its short
    name match each other (``ws-001`` finds ``ws-001.corp.example`` and the
    reverse), unless the short name is shared by several assets.
    """

    assets: tuple[Asset, ...]
    _by_ip: Mapping[str, Asset]
    _by_name: Mapping[str, Asset]
    _by_short: Mapping[str, Asset | None]

    @classmethod
    def of(cls, assets: Iterable[Asset]) -> AssetInventory:
        """Index ``assets`` (the first asset wins on a duplicate key)."""
        items = tuple(assets)
        by_ip: dict[str, Asset] = {}
        by_name: dict[str, Asset] = {}
        by_short: dict[str, Asset | None] = {}
        for a in items:
            by_ip.setdefault(a.ip, a)
            by_name.setdefault(norm_name(a.hostname), a)
            prev = by_short.get(a.short_name, a)
            by_short[a.short_name] = a if prev is a else None
        return cls(items, by_ip, by_name, by_short)

    def __len__(self) -> int:
        return len(self.assets)

    def by_ip(self, ip: str | None) -> Asset | None:
        """The asset with address ``ip``."""
        if not ip:
            return None
        try:
            key = str(ipaddress.ip_address(ip.split("%", 1)[0]))
        except ValueError:
            return None
        return self._by_ip.get(key)

    def by_host(self, name: str | None) -> Asset | None:
        """The asset called ``name`` (exact name first, then by short name)."""
        if not name or not name.strip():
            return None
        key = norm_name(name)
        hit = self._by_name.get(key)
        if hit is not None:
            return hit
        short = key.split(".", 1)[0]
        hit = self._by_short.get(short)
        if hit is None:
            return None
        # a short inventory name matches any FQDN of it; two FQDNs must agree
        inv = norm_name(hit.hostname)
        return hit if "." not in key or "." not in inv else None

    def lookup(self, ip: str | None = None, host: str | None = None) -> Asset | None:
        """The asset for ``ip``, else for ``host``."""
        return self.by_ip(ip) or self.by_host(host)


def load_assets(path: Path) -> AssetInventory:
    """Read ``assets.csv`` (see the module docstring for the format)."""
    text = read_text(path, "asset inventory")
    assets: list[Asset] = []
    seen_ip: dict[str, int] = {}
    seen_name: dict[str, int] = {}
    cols = ("hostname", "ip", "role", "owner", "criticality")
    for n, row in csv_rows(path, text, cols):
        name = row["hostname"]
        if not name or not DOMAIN.match(norm_name(name)):
            raise ConfigError(f"{path}:{n}: {name!r} is not a host name")
        ip = parse_ip(path, n, row["ip"])
        role = _ROLE_SYNONYMS.get(re.sub(r"[\s-]+", "_", row["role"].lower()))
        if role is None:
            raise ConfigError(
                f"{path}:{n}: unknown role {row['role']!r}, expected one of {', '.join(ROLES)}"
            )
        crit = _CRITICALITY.get(row["criticality"].lower())
        if crit is None:
            raise ConfigError(
                f"{path}:{n}: unknown criticality {row['criticality']!r}, "
                "expected low, medium, high, critical or 1-4"
            )
        if ip in seen_ip:
            raise ConfigError(f"{path}:{n}: duplicate ip {ip} (first at line {seen_ip[ip]})")
        key = norm_name(name)
        if key in seen_name:
            raise ConfigError(
                f"{path}:{n}: duplicate hostname {name!r} (first at line {seen_name[key]})"
            )
        seen_ip[ip], seen_name[key] = n, n
        assets.append(Asset(name, ip, role, row["owner"], crit, str(path), n))
    return AssetInventory.of(assets)


# --------------------------------------------------------------------------- whois


@dataclass(frozen=True, slots=True)
class WhoisRecord:
    """A registered domain's creation time (UTC) and where it was read."""

    domain: str
    created: datetime
    file: str
    line: int


def _parse_created(path: Path, n: int, value: str) -> datetime:
    """An ISO date or datetime (``T`` or space separated) as an aware UTC datetime."""
    v = value.strip()
    try:
        if len(v) == 10:
            d = date.fromisoformat(v)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(v.replace("z", "Z"))
    except ValueError:
        raise ConfigError(
            f"{path}:{n}: {value!r} is not a date (expected YYYY-MM-DD or an ISO datetime)"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class WhoisDates:
    """Creation dates of registered domains.

    A lookup of a subdomain (``cdn.evil.example``) answers with its closest
    listed parent (``evil.example``).
    """

    records: Mapping[str, WhoisRecord]

    def __len__(self) -> int:
        return len(self.records)

    def record(self, domain: str | None) -> WhoisRecord | None:
        """The record of ``domain`` or of its closest listed parent."""
        if not domain or not domain.strip():
            return None
        for name in parents(domain):
            hit = self.records.get(name)
            if hit is not None:
                return hit
        return None

    def created(self, domain: str | None) -> datetime | None:
        """When ``domain`` (or its registered parent) was created, UTC."""
        rec = self.record(domain)
        return None if rec is None else rec.created

    def age_days(self, domain: str | None, at_epoch: float) -> float | None:
        """Age in days of ``domain`` at ``at_epoch`` (the time of the traffic).

        Negative when the traffic predates the registration (a stale or wrong
        record); ``None`` when the domain is not listed.
        """
        created = self.created(domain)
        if created is None:
            return None
        return (at_epoch - created.timestamp()) / 86400.0


def load_whois(path: Path) -> WhoisDates:
    """Read ``whois.csv`` (see the module docstring for the format).

    A domain listed twice with the same date is accepted; with different dates
    it is an error.
    """
    text = read_text(path, "whois dates")
    records: dict[str, WhoisRecord] = {}
    for n, row in csv_rows(path, text, ("domain", "created")):
        domain = parse_domain(path, n, row["domain"])
        created = _parse_created(path, n, row["created"])
        prev = records.get(domain)
        if prev is not None and prev.created != created:
            raise ConfigError(
                f"{path}:{n}: {domain} listed again with another date (first at line {prev.line})"
            )
        if prev is None:
            records[domain] = WhoisRecord(domain, created, str(path), n)
    return WhoisDates(records)
