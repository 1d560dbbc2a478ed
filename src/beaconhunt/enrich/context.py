"""Analyst context files: asset inventory, WHOIS creation dates, threat intel.

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

``intel`` (the format is detected from the content):

* CSV with header ``indicator,type,description``; ``type`` is ip, cidr,
  domain or url.
* A plain list, one IP, CIDR, domain or URL per line, ``#`` comments (also
  after an entry).
* A STIX 2.1 bundle (see :mod:`beaconhunt.enrich.context_stix`).

A domain indicator matches that domain and its subdomains; a URL indicator
matches its host (the exact name, or the IP when the host is an address).
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from beaconhunt.enrich.context_stix import parse_stix_bundle
from beaconhunt.errors import ConfigError

__all__ = [
    "ROLES",
    "Asset",
    "AssetInventory",
    "Criticality",
    "Intel",
    "IntelHit",
    "IntelIndicator",
    "IntelKind",
    "Role",
    "WhoisDates",
    "WhoisRecord",
    "load_assets",
    "load_intel",
    "load_whois",
]

Role = Literal["workstation", "server", "domain_controller", "laptop", "network", "other"]
IntelKind = Literal["ip", "cidr", "domain", "url"]
IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network

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

_DOMAIN = re.compile(r"^([a-z0-9_-]+\.)*[a-z0-9_-]+$")


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


# --------------------------------------------------------------------------- CSV plumbing


def _read_text(path: Path, what: str) -> str:
    """The file's text without BOM; unreadable files become :class:`ConfigError`."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from exc


def _content_lines(text: str) -> Iterable[tuple[int, str]]:
    """(1-based line number, line) of lines that are neither blank nor ``#`` comments."""
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield n, line


def _split(line: str) -> list[str]:
    """One CSV line's fields, stripped of surrounding spaces."""
    return [f.strip() for f in next(csv.reader([line], skipinitialspace=True))]


def _csv_rows(
    path: Path, text: str, columns: tuple[str, ...]
) -> Iterable[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for each data line of a CSV with exactly ``columns``."""
    lines = iter(_content_lines(text))
    first = next(lines, None)
    if first is None:
        raise ConfigError(f"{path}:1: empty file, expected header {','.join(columns)}")
    hn, hline = first
    header = [h.lower().replace(" ", "_") for h in _split(hline)]
    if sorted(header) != sorted(columns):
        raise ConfigError(
            f"{path}:{hn}: bad header {hline!r}, expected columns {','.join(columns)}"
        )
    for n, line in lines:
        fields = _split(line)
        if len(fields) != len(header):
            raise ConfigError(f"{path}:{n}: expected {len(header)} columns, found {len(fields)}")
        yield n, dict(zip(header, fields, strict=True))


def _ip(path: Path, n: int, value: str) -> str:
    """``value`` as a canonical IP address string."""
    try:
        return str(ipaddress.ip_address(value.split("%", 1)[0]))
    except ValueError:
        raise ConfigError(f"{path}:{n}: {value!r} is not an IP address") from None


def _norm_name(name: str) -> str:
    """Lower case, no trailing dot."""
    return name.strip().lower().rstrip(".")


def _domain(path: Path, n: int, value: str) -> str:
    """``value`` as a normalised domain name."""
    d = _norm_name(value)
    if not d or not _DOMAIN.match(d):
        raise ConfigError(f"{path}:{n}: {value!r} is not a domain name")
    return d


def _parents(name: str) -> Iterable[str]:
    """``name`` then each parent domain: ``a.b.c``, ``b.c``, ``c``."""
    labels = _norm_name(name).split(".")
    for i in range(len(labels)):
        yield ".".join(labels[i:])


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
        return _norm_name(self.hostname).split(".", 1)[0]


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
            by_name.setdefault(_norm_name(a.hostname), a)
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
        key = _norm_name(name)
        hit = self._by_name.get(key)
        if hit is not None:
            return hit
        short = key.split(".", 1)[0]
        hit = self._by_short.get(short)
        if hit is None:
            return None
        # a short inventory name matches any FQDN of it; two FQDNs must agree
        inv = _norm_name(hit.hostname)
        return hit if "." not in key or "." not in inv else None

    def lookup(self, ip: str | None = None, host: str | None = None) -> Asset | None:
        """The asset for ``ip``, else for ``host``."""
        return self.by_ip(ip) or self.by_host(host)


def load_assets(path: Path) -> AssetInventory:
    """Read ``assets.csv`` (see the module docstring for the format)."""
    text = _read_text(path, "asset inventory")
    assets: list[Asset] = []
    seen_ip: dict[str, int] = {}
    seen_name: dict[str, int] = {}
    cols = ("hostname", "ip", "role", "owner", "criticality")
    for n, row in _csv_rows(path, text, cols):
        name = row["hostname"]
        if not name or not _DOMAIN.match(_norm_name(name)):
            raise ConfigError(f"{path}:{n}: {name!r} is not a host name")
        ip = _ip(path, n, row["ip"])
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
        key = _norm_name(name)
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
        for name in _parents(domain):
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
    text = _read_text(path, "whois dates")
    records: dict[str, WhoisRecord] = {}
    for n, row in _csv_rows(path, text, ("domain", "created")):
        domain = _domain(path, n, row["domain"])
        created = _parse_created(path, n, row["created"])
        prev = records.get(domain)
        if prev is not None and prev.created != created:
            raise ConfigError(
                f"{path}:{n}: {domain} listed again with another date (first at line {prev.line})"
            )
        if prev is None:
            records[domain] = WhoisRecord(domain, created, str(path), n)
    return WhoisDates(records)


# --------------------------------------------------------------------------- intel


@dataclass(frozen=True, slots=True)
class IntelIndicator:
    """One indicator: normalised ``value``, its kind, description and origin."""

    value: str
    kind: IntelKind
    description: str
    file: str
    line: int

    def describe(self) -> str:
        """``value (file:line) description`` for evidence text."""
        desc = f" {self.description}" if self.description else ""
        return f"{self.value} ({Path(self.file).name}:{self.line}){desc}"


@dataclass(frozen=True, slots=True)
class IntelHit:
    """An indicator that matched: ``observed`` is the domain or IP it matched."""

    indicator: IntelIndicator
    observed: str


@dataclass(frozen=True, slots=True)
class Intel:
    """Threat-intel indicators, matched against a destination's domain and IPs.

    ``format`` is ``csv``, ``list`` or ``stix``; the two counts are only
    non-zero for STIX bundles (objects that are not indicators, and indicators
    whose pattern beaconhunt cannot use).
    """

    indicators: tuple[IntelIndicator, ...]
    format: Literal["csv", "list", "stix"] = "csv"
    ignored_objects: int = 0
    unsupported_patterns: int = 0
    _index: _IntelIndex = field(init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.indicators)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _IntelIndex(self.indicators))

    def _match_ip(self, ip: str) -> list[IntelHit]:
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return []
        return [IntelHit(self.indicators[i], ip) for i in self._index.by_address(addr)]

    def match(self, domain: str | None, ips: Iterable[str] = ()) -> list[IntelHit]:
        """Every indicator matching ``domain`` (or a parent domain) or one of ``ips``.

        Domain indicators cover subdomains; URL indicators match their exact
        host name, or their address when the host is an IP. Near-constant per
        lookup whatever the feed's size (:class:`_IntelIndex`); hits in feed order.
        """
        hits: list[IntelHit] = []
        if domain and domain.strip():
            name = _norm_name(domain)
            found = self._index.by_name(name, _parents(name))
            hits += [IntelHit(self.indicators[i], name) for i in found]
        for ip in ips:
            hits.extend(h for h in self._match_ip(ip) if h not in hits)
        return hits


class _IntelIndex:
    """Indicator positions by what they match, so a lookup costs a few dictionary
    probes instead of a pass over the feed: domains by name (a finding's name and
    each parent are probed), URL hosts by name or address, addresses by their
    canonical text, CIDRs by (version, prefix length) and masked network number
    (one probe per prefix length the feed uses)."""

    def __init__(self, indicators: Sequence[IntelIndicator]) -> None:
        self.domains: dict[str, list[int]] = defaultdict(list)
        self.hosts: dict[str, list[int]] = defaultdict(list)
        self.addresses: dict[str, list[int]] = defaultdict(list)
        self.nets: dict[tuple[int, int], dict[int, list[int]]] = defaultdict(dict)
        for i, ind in enumerate(indicators):
            if ind.kind == "domain":
                self.domains[ind.value].append(i)
            elif ind.kind == "url":
                host = _host_of(ind)
                if host:
                    self.hosts[host].append(i)
                    self.addresses[host].append(i)
            elif ind.kind == "ip":
                self.addresses[ind.value].append(i)
            elif ind.kind == "cidr":
                net = ipaddress.ip_network(ind.value)
                key = (net.version, net.prefixlen)
                self.nets[key].setdefault(int(net.network_address), []).append(i)

    def by_name(self, name: str, parents: Iterable[str]) -> list[int]:
        found = {i for p in set(parents) for i in self.domains.get(p, ())}
        found.update(self.hosts.get(name, ()))
        return sorted(found)

    def by_address(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[int]:
        found = set(self.addresses.get(str(addr), ()))
        bits = 32 if addr.version == 4 else 128
        value = int(addr)
        for (version, plen), table in self.nets.items():
            if version == addr.version:
                mask = ((1 << plen) - 1) << (bits - plen) if plen else 0
                found.update(table.get(value & mask, ()))
        return sorted(found)


def _host_of(ind: IntelIndicator) -> str:
    """The host of an IP or URL indicator (an IP in canonical form), else ``""``."""
    if ind.kind == "ip":
        return ind.value
    if ind.kind != "url":
        return ""
    host = urlsplit(ind.value).hostname or ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return _norm_name(host)


def _indicator(
    path: Path, n: int, value: str, kind: IntelKind | None, description: str
) -> IntelIndicator:
    """Validate ``value`` as ``kind`` (guessed when ``None``) and normalise it."""
    v = value.strip()
    if kind is None:
        if "://" in v:
            kind = "url"
        elif "/" in v and not re.match(r"^[0-9a-fA-F:.]+/\d+$", v):
            kind, v = "url", "http://" + v
        elif "/" in v:
            kind = "cidr"
        elif re.match(r"^[0-9.]+$", v) or ":" in v:
            kind = "ip"
        else:
            kind = "domain"
    if kind == "ip":
        v = _ip(path, n, v)
    elif kind == "cidr":
        try:
            v = str(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise ConfigError(f"{path}:{n}: {value!r} is not a CIDR network") from None
    elif kind == "domain":
        v = _domain(path, n, v)
    else:
        try:
            host = urlsplit(v).hostname
        except ValueError:
            host = None
        if not host:
            raise ConfigError(f"{path}:{n}: {value!r} is not a URL with a host")
    return IntelIndicator(v, kind, description, str(path), n)


_INTEL_TYPES: dict[str, IntelKind] = {
    "ip": "ip",
    "ipv4": "ip",
    "ipv6": "ip",
    "ip-dst": "ip",
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "cidr": "cidr",
    "net": "cidr",
    "network": "cidr",
    "domain": "domain",
    "hostname": "domain",
    "fqdn": "domain",
    "domain-name": "domain",
    "url": "url",
    "uri": "url",
}


def load_intel(path: Path) -> Intel:
    """Read a threat-intel file: CSV, plain list or STIX 2.1 bundle (see the module docstring).

    The format is detected from the content: JSON starting with ``{`` is
    STIX, a first line ``indicator,type,description`` is CSV, anything else is
    a plain list.
    """
    text = _read_text(path, "threat intel")
    if text.lstrip().startswith("{"):
        bundle = parse_stix_bundle(text, str(path))
        inds = []
        for s in bundle.indicators:
            try:
                inds.append(_indicator(path, s.line, s.value, s.kind, s.description))
            except ConfigError:
                continue  # e.g. ipv4-addr:value = 'not-an-ip': skipped like other oddities
        bad = len(bundle.indicators) - len(inds)
        return Intel(tuple(inds), "stix", bundle.ignored_objects, bundle.unsupported_patterns + bad)
    first = next(iter(_content_lines(text)), None)
    if first is not None and _split(first[1])[0].lower() == "indicator":
        out = []
        for n, row in _csv_rows(path, text, ("indicator", "type", "description")):
            kind = _INTEL_TYPES.get(row["type"].lower())
            if kind is None:
                raise ConfigError(
                    f"{path}:{n}: unknown indicator type {row['type']!r}, "
                    "expected ip, cidr, domain or url"
                )
            out.append(_indicator(path, n, row["indicator"], kind, row["description"]))
        return Intel(tuple(out), "csv")
    entries = []
    for n, raw in enumerate(text.splitlines(), start=1):
        value = raw.split("#", 1)[0].strip()
        if value:
            entries.append(_indicator(path, n, value, None, ""))
    return Intel(tuple(entries), "list")
