"""The synthetic enterprise: hosts, addresses, DNS names and when machines are on.

Modelled on a small Windows shop: five servers (a domain controller that is
also the internal DNS resolver, a file server, Linux database/app/web servers)
and workstations in ``10.20.x.x``, about 40% of them laptops that sleep outside
office hours. External names resolve to random public-looking addresses (never
private, reserved, documentation or famous resolver ranges); about a third of
web sites sit behind a shared CDN, reached through a CNAME, which is also where
the fronted C2 domain hides. C2 servers use the RFC 5737 documentation ranges.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog
from beaconhunt.synth.scenario import Scenario

__all__ = ["AD_DOMAIN", "Host", "IpPool", "Name", "World", "build_world", "registered_domain"]

AD_DOMAIN = "corp.acme.internal"
CDN_SUFFIX = "edgekey-cdn.net"

_SERVERS = (
    ("srv-dc-01", "10.10.0.10", "domain_controller", "it-ops", "critical", "windows"),
    ("srv-file-01", "10.10.0.20", "file_server", "it-ops", "high", "windows"),
    ("srv-db-02", "10.10.0.31", "database", "dba-team", "high", "linux"),
    ("srv-app-01", "10.10.0.40", "app_server", "dev-platform", "medium", "linux"),
    ("srv-web-01", "10.10.0.50", "web_server", "dev-platform", "medium", "linux"),
)
_SUBDOMAINS = ("static", "img", "api", "cdn", "assets", "media")
_FIRST = (
    "anna",
    "ben",
    "chloe",
    "david",
    "elena",
    "farid",
    "grace",
    "hugo",
    "ines",
    "jonas",
    "karin",
    "liam",
    "maya",
    "noah",
    "olga",
    "paul",
    "rosa",
    "sam",
    "tara",
    "victor",
)
_LAST = (
    "moreau",
    "schmidt",
    "rossi",
    "nowak",
    "jensen",
    "silva",
    "kovacs",
    "dubois",
    "meyer",
    "lopez",
    "novak",
    "berg",
    "costa",
    "weber",
    "fischer",
    "martin",
    "larsen",
    "bauer",
)
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
        "1.0.0.0/24",
        "1.1.1.0/24",
        "8.8.4.0/24",
        "8.8.8.0/24",
        "9.9.9.0/24",
        "208.67.222.0/24",
    )
)


@dataclass(frozen=True, slots=True)
class Host:
    """One internal machine; ``user`` fills ``{user}`` in process paths."""

    name: str
    ip: str
    role: str
    owner: str
    criticality: str
    os: str
    laptop: bool
    user: str
    browser: int


@dataclass(frozen=True, slots=True)
class Name:
    """A DNS name: ``answers`` as the resolver returns them (CNAME first), the
    TTL of each answer, and when its registered domain was created."""

    name: str
    ips: tuple[str, ...]
    cname: str | None
    ttl: int
    created: str | None

    @property
    def answers(self) -> tuple[str, ...]:
        """The ``answers`` vector of a dns.log row."""
        return ((self.cname,) if self.cname else ()) + self.ips

    @property
    def ttls(self) -> tuple[float, ...]:
        """The ``TTLs`` vector: CNAMEs live long, CDN edge addresses briefly."""
        if self.cname:
            return (3600.0,) + (float(self.ttl),) * len(self.ips)
        return (float(self.ttl),) * len(self.ips)


#: Hosts ``Scenario.shapes`` adds after all others (so no other host moves): the
#: inbound mail gateway (Postfix, queries DNS blocklists) and the IT
#: administrators' workstation (SSH to the cloud bastion).
SHAPE_EXTRA_HOSTS = (
    Host("srv-mail-01", "10.10.0.60", "mail_server", "it-ops", "high", "linux", False,
         "svc_mail", -1),
    Host("adm-ws-01", "10.20.200.10", "jump_host", "it-ops", "high", "windows", False,
         "adm.jonas", 1),
)  # fmt: skip


@dataclass(slots=True)
class World:
    """Everything generated traffic refers to; built once by :func:`build_world`."""

    scenario: Scenario
    hosts: list[Host]
    names: dict[str, Name]
    sites: list[str]
    site_weights: NDArray[np.float64]
    site_subs: list[tuple[str, ...]]
    third_party: list[str]
    third_weights: NDArray[np.float64]
    http_names: frozenset[str]
    shared_edge: str
    cdn_sites: list[str]
    forwarders: tuple[str, ...]
    awake: list[tuple[NDArray[np.float64], NDArray[np.float64]] | None]

    @property
    def resolver(self) -> int:
        """Index of the internal DNS resolver (the domain controller)."""
        return 0

    def host_index(self, name: str) -> int:
        """Index of the host called ``name``."""
        return next(i for i, h in enumerate(self.hosts) if h.name == name)

    def workstations(self) -> list[int]:
        """Indices of the workstations and laptops."""
        return [i for i, h in enumerate(self.hosts) if h.role in ("workstation", "laptop")]

    def awake_mask(self, host: int, ts: NDArray[np.float64]) -> NDArray[np.bool_]:
        """True where ``host`` is powered on at ``ts`` (servers and desktops always)."""
        spans = self.awake[host]
        if spans is None:
            return np.ones(ts.shape, dtype=bool)
        starts, ends = spans
        i = np.searchsorted(starts, ts, side="right") - 1
        return (i >= 0) & (ts < ends[np.maximum(i, 0)])

    def add_name(self, name: Name) -> None:
        """Register ``name`` (the C2 domains are added by the implant builder)."""
        self.names[name.name] = name


def registered_domain(name: str) -> str:
    """The registrable domain of ``name`` (last two labels, three under ``co.uk``)."""
    labels = name.split(".")
    keep = 3 if labels[-2:] in (["co", "uk"], ["com", "au"]) else 2
    return ".".join(labels[-keep:])


def build_world(s: Scenario, rng: np.random.Generator) -> World:
    """Build hosts, names and power schedules for ``s`` (deterministic in ``rng``).

    Hosts, addresses, names and power schedules draw from separate child
    streams, so adding a site never moves a laptop's working day.
    """
    host_rng, ip_rng, name_rng, power_rng = rng.spawn(4)
    hosts = _hosts(s, host_rng)
    pool = IpPool(ip_rng)
    forwarders = tuple(pool.take(2))
    rng = name_rng
    names: dict[str, Name] = {}
    for h in hosts:
        fqdn = f"{h.name}.{AD_DOMAIN}"
        names[fqdn] = Name(fqdn, (h.ip,), None, 1200, None)
    edges = pool.take(12)
    sites = list(catalog.POPULAR_SITES) + [catalog.site_words(i) for i in range(255)]
    cdn_sites = _add_sites(names, sites, pool, edges, rng)
    subs = [_add_subdomains(names, site, rng) for site in sites]
    third = [n for n, _ in catalog.THIRD_PARTY]
    for n in third:
        names[n] = _plain(n, pool.take(int(rng.integers(1, 3))), int(rng.choice([60, 300])), rng)
    _add_services(names, pool, rng)
    ranks = np.arange(1, len(sites) + 1, dtype=np.float64)
    return World(
        scenario=s,
        hosts=hosts,
        names=names,
        sites=sites,
        site_weights=_normalise(ranks**-1.05),
        site_subs=subs,
        third_party=third,
        third_weights=_normalise(np.arange(1, len(third) + 1, dtype=np.float64) ** -0.8),
        http_names=frozenset({n for n, http in catalog.THIRD_PARTY if http} | _http_sites(sites)),
        shared_edge=edges[0],
        cdn_sites=cdn_sites,
        forwarders=forwarders,
        awake=[_awake_spans(s, h, power_rng) for h in hosts],
    )


def _normalise(w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scale weights to sum to 1."""
    return np.asarray(w / w.sum(), dtype=np.float64)


def _http_sites(sites: list[str]) -> set[str]:
    """Every 23rd long-tail site still serves plain HTTP."""
    return {s for i, s in enumerate(sites) if i >= len(catalog.POPULAR_SITES) and i % 23 == 0}


def _hosts(s: Scenario, rng: np.random.Generator) -> list[Host]:
    """The fixed servers, then ``ws-001``... with users, browsers and laptop flags."""
    out = [
        Host(n, ip, role, owner, crit, os, False, "svc_" + n.split("-")[1], -1)
        for n, ip, role, owner, crit, os in _SERVERS
    ]
    for i in range(s.workstations):
        user = f"{_FIRST[i % len(_FIRST)]}.{_LAST[(i * 7) % len(_LAST)]}"
        laptop = bool(rng.random() < 0.4)
        crit = "high" if i % 11 == 3 else "medium"
        ip = f"10.20.{1 + i // 240}.{10 + i % 240}"
        browser = int(rng.choice(3, p=[0.55, 0.35, 0.10]))
        out.append(
            Host(
                f"ws-{i + 1:03d}",
                ip,
                "laptop" if laptop else "workstation",
                user,
                crit,
                "windows",
                laptop,
                user,
                browser,
            )
        )
    if s.zoo:
        out += _zoo_hosts(s.hosts, len(_SERVERS) + 1)
    if s.shapes:
        out += list(SHAPE_EXTRA_HOSTS)
    return out


def _zoo_hosts(hosts: int, first_server: int) -> list[Host]:
    """The extra servers and devices of a zoo world of ``hosts`` hosts.

    Servers: 4% of the hosts (at least 4), alternately Linux and Windows, in
    ``10.10.1.0/24``; devices: 2% (at least 2), printers and IoT modules in
    ``10.30.0.0/24`` with no user and no Sysmon.
    """
    out: list[Host] = []
    roles = ("app_server", "web_server", "database", "file_server")
    for i in range(max(4, round(0.04 * hosts))):
        os = "linux" if i % 2 == 0 else "windows"
        name = f"srv-{roles[i % len(roles)].split('_')[0]}-{first_server + i:02d}"
        out.append(Host(name, f"10.10.1.{10 + i}", roles[i % len(roles)], "it-ops", "medium",
                        os, False, f"svc_{name.split('-')[1]}", -1))  # fmt: skip
    for i in range(max(2, round(0.02 * hosts))):
        kind = "printer" if i % 2 == 0 else "iot"
        out.append(Host(f"{kind}-{i + 1:02d}", f"10.30.0.{10 + i}", kind, "facilities", "low",
                        "device", False, "", -1))  # fmt: skip
    return out


class IpPool:
    """Draws distinct random public-looking IPv4 addresses."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._taken: set[str] = set()

    def take(self, n: int) -> list[str]:
        """``n`` fresh addresses outside every excluded range."""
        out: list[str] = []
        while len(out) < n:
            ip = ipaddress.IPv4Address(int(self._rng.integers(1 << 24, 224 << 24)))
            text = str(ip)
            if text in self._taken or any(ip in net for net in _NEVER) or text.endswith(".0"):
                continue
            self._taken.add(text)
            out.append(text)
        return out


def _created(rng: np.random.Generator) -> str:
    """Registration date of an established benign domain (1996-2019)."""
    day = date(1996, 1, 1) + timedelta(days=int(rng.integers(0, 24 * 365)))
    return day.isoformat()


def _plain(name: str, ips: list[str], ttl: int, rng: np.random.Generator) -> Name:
    """A name with its own A records."""
    return Name(name, tuple(ips), None, ttl, _created(rng))


def _add_sites(
    names: dict[str, Name],
    sites: list[str],
    pool: IpPool,
    edges: list[str],
    rng: np.random.Generator,
) -> list[str]:
    """Give every web site addresses; about a third go through the CDN (returned)."""
    cdn: list[str] = []
    for i, site in enumerate(sites):
        on_cdn = i % 3 == 1
        if on_cdn:
            a, b = (int(x) for x in rng.choice(len(edges) - 1, 2, replace=False) + 1)
            # the most popular CDN sites share edge 0, where the fronted C2 also lands
            ips = (edges[0], edges[b]) if len(cdn) < 4 else (edges[a], edges[b])
            cname = f"{site.replace('.', '-')}.{CDN_SUFFIX}"
            names[site] = Name(site, ips, cname, 20, _created(rng))
            cdn.append(site)
        else:
            ttl = int(rng.choice([60, 300, 300, 1800, 3600]))
            names[site] = _plain(site, pool.take(int(rng.integers(1, 3))), ttl, rng)
    return cdn


def _add_subdomains(names: dict[str, Name], site: str, rng: np.random.Generator) -> tuple[str, ...]:
    """A site's own asset hosts (``static.``, ``img.``...), served like the site."""
    base = site.removeprefix("www.")
    picked = rng.choice(len(_SUBDOMAINS), int(rng.integers(0, 4)), replace=False)
    out = tuple(f"{_SUBDOMAINS[int(i)]}.{base}" for i in sorted(picked.tolist()))
    parent = names[site]
    for sub in out:
        cname = f"{sub.replace('.', '-')}.{CDN_SUFFIX}" if parent.cname else None
        names[sub] = Name(sub, parent.ips, cname, parent.ttl, parent.created)
    return out


def _add_services(names: dict[str, Name], pool: IpPool, rng: np.random.Generator) -> None:
    """Vendor, NTP and streaming names used by the benign pollers."""
    for p in catalog.BENIGN_POLLERS:
        if p.name not in names:
            names[p.name] = _plain(p.name, pool.take(2), p.ttl, rng)
    for n in catalog.NTP_SOURCES:
        names[n] = _plain(n, pool.take(1), 150, rng)
    names[catalog.STREAMING] = _plain(catalog.STREAMING, pool.take(1), 300, rng)


def c2_created(s: Scenario, rng: np.random.Generator) -> str:
    """A C2 domain is registered a few days to three weeks before the capture."""
    day = datetime.fromtimestamp(s.start, UTC).date() - timedelta(days=int(rng.integers(3, 22)))
    return day.isoformat()


def _awake_spans(
    s: Scenario, h: Host, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Power-on intervals of a laptop: office hours on weekdays, rarely on weekends."""
    if not h.laptop:
        return None
    off = s.utc_offset_h * 3600.0
    day0 = np.floor((s.start + off) / 86400.0) * 86400.0 - off
    starts: list[float] = []
    ends: list[float] = []
    for d in range(int(np.ceil((s.end - day0) / 86400.0)) + 1):
        base = day0 + d * 86400.0
        weekday = datetime.fromtimestamp(base + off, UTC).weekday()
        if weekday < 5:
            on = s.work_start_h - 1.0 + 1.5 * rng.random()
            span = (on, s.work_end_h - 1.5 + 3.0 * rng.random())
        elif rng.random() < 0.2:
            span = (13.0 + 3.0 * rng.random(), 17.0 + 2.0 * rng.random())
        else:
            continue
        starts.append(base + span[0] * 3600.0)
        ends.append(base + span[1] * 3600.0)
    return np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
