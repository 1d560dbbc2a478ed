"""The DNS detector: C2 and tunnels carried in lookups, and generated domains.

A DNS beacon or tunnel (Cobalt Strike and Sliver DNS beacons, dnscat2, iodine)
makes no connection to its server: every check-in and every byte of data is a
lookup of a fresh name under one zone, sent to the internal resolver. The unit
is therefore the **(client, zone)** group, where the zone is the registered
domain of the names (Public Suffix List) and the client the address that asked
(Zeek ``dns.log``) or the Sysmon host that did (event 22; used for hosts the
network log does not cover). Per group, over the window:

* ``lookups`` and ``unique`` distinct names;
* the *subdomain* of each name (its labels left of the zone): mean and maximum
  length, and the Shannon entropy of their pooled characters (bits per
  character; hex caps at 4, base32 at 5);
* the query-type mix (share of TXT, NULL, MX, CNAME, SRV, ANY, PRIVATE), the
  NXDOMAIN share, and ``encoded`` characters: the total subdomain length of
  the unique names, what the names could have carried upstream;
* the lookup times scored with the beacon maths
  (:func:`~beaconhunt.detect.score.score_series`; lookups within one second of
  the previous one, e.g. A and AAAA of the same name, count once).

A group is a candidate when ``unique >= min_unique``. Its score::

    volume = clip(ln(unique / min_unique) / ln(full_unique / min_unique), 0, 1)
    score  = 0.5 + 0.5 * max(volume, periodicity score of the lookups)

so a slow, regular beacon (few names, very periodic) and a fast tunnel
(thousands of names) both rank high. The evidence says what kind of group it
is; that many benign services look like this (antivirus reputation lookups,
DNS blocklists, CDN and telemetry names) is handled by the bundled list of
documented services (:mod:`beaconhunt.enrich.dns_services`), prevalence and
the policy.

When a client is itself a resolver other hosts send lookups to (the sensor
sees a DNS server forwarding), the group is reported with ``dns.via_resolver``
unless some other client's own lookups of the zone are in the log (then the
resolver's copies are the forwarded ones, and the client's group is the
finding).

**Generated domains (DGA).** A client whose NXDOMAIN lookups span at least
``dga_min_zones`` registered domains whose own label is on average at least
``dga_min_label`` characters long is reported once (``dst_domain`` empty,
``info.pattern = "dga"``) with ``dns.dga``. Score:
``0.5 + 0.5 * clip(ln(zones / dga_min_zones) / ln(10), 0, 1)``.

Limits: ``docs/detectors.md``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.base import (
    Candidate,
    DetectInput,
    Detector,
    DetectReport,
    PairRef,
    register_detector,
)
from beaconhunt.detect.reasons import duration
from beaconhunt.detect.score import ScoreSettings, score_series
from beaconhunt.detect.settings import DnsSettings
from beaconhunt.enrich.dns_services import DnsService, bundled_services, known_service
from beaconhunt.enrich.domains import registered_domain, registered_domains
from beaconhunt.model import Evidence, ScoreComponents
from beaconhunt.store import dns_lookups
from beaconhunt.store.dns_lookups import Lookups
from beaconhunt.util.text import terminal_text

__all__ = [
    "DNS_CODES",
    "RARE_QTYPES",
    "DnsDetector",
    "DnsStats",
    "char_entropy",
    "dga_score",
    "dns_stats",
    "split_zone",
    "split_zones",
    "volume_score",
]

FloatArray = NDArray[np.float64]

#: Query types ordinary software seldom asks for, and tunnels use to carry data back.
RARE_QTYPES = frozenset({"TXT", "NULL", "MX", "CNAME", "SRV", "ANY", "*", "PRIVATE", "65399"})
_NULL_QTYPES = frozenset({"NULL", "PRIVATE", "65399", "10"})
_SKIP_SUFFIXES = (".arpa", ".local", ".localhost", ".internal", ".invalid", ".test")
_BURST_S = 1.0

#: Every evidence code this detector emits -> its meaning (docs/policy.md).
DNS_CODES: dict[str, str] = {
    "dns.unique_names": "a client looked up many distinct names under one zone (count and rate)",
    "dns.encoded_labels": "the labels left of the zone are long enough to carry data"
    " (mean length >= [dns] encoded_length), with their entropy",
    "dns.rare_qtype": "most lookups ask for TXT, NULL, MX, CNAME, SRV, ANY or PRIVATE records",
    "dns.null_records": "lookups ask for NULL/PRIVATE records, iodine's transport; no ordinary"
    " software uses them",
    "dns.high_volume": "fresh names carry bulk data (characters per hour >= [dns]"
    " high_volume_per_hour)",
    "dns.periodic": "the lookups come on a timer (beacon score of their times >= [dns] regular_at)",
    "dns.nxdomain": "most of the names do not exist (NXDOMAIN): blocklist checks look like this,"
    " tunnels get answers",
    "dns.via_resolver": "the source is a DNS resolver forwarding other hosts' lookups; the"
    " host that asked first is in the resolver's own log",
    "dns.dga": "many generated-looking registered domains failed to resolve (NXDOMAIN)",
}


# -- the maths: pure functions ------------------------------------------------------------------


def split_zone(name: str) -> tuple[str | None, str]:
    """``(zone, subdomain)`` of a lower-cased name: the registered domain (PSL) and
    the labels left of it (``""`` for the zone itself). Zone None for names no DNS
    C2 can use: IPs, single labels, reverse lookups and local-only suffixes."""
    clean = name.rstrip(".")
    if "." not in clean or clean.endswith(_SKIP_SUFFIXES):
        return None, ""
    zone = registered_domain(clean)
    if zone is None:
        return None, ""
    if clean == zone:
        return zone, ""
    if not clean.endswith("." + zone):
        return None, ""
    return zone, clean[: -len(zone) - 1]


def split_zones(names: Sequence[str]) -> tuple[list[str | None], list[str]]:
    """:func:`split_zone` of many names at once (the Public Suffix List consulted once
    per distinct last two labels, :func:`~beaconhunt.enrich.domains.registered_domains`)."""
    zones: list[str | None] = []
    subs: list[str] = []
    for name, zone in zip(names, registered_domains(names), strict=True):
        clean = name.rstrip(".")
        if zone is None or "." not in clean or clean.endswith(_SKIP_SUFFIXES):
            zones.append(None)
            subs.append("")
        elif clean == zone:
            zones.append(zone)
            subs.append("")
        elif clean.endswith("." + zone):
            zones.append(zone)
            subs.append(clean[: -len(zone) - 1])
        else:
            zones.append(None)
            subs.append("")
    return zones, subs


def char_entropy(strings: Sequence[str]) -> float:
    """Shannon entropy (bits per character) of the pooled characters of ``strings``,
    dots excluded; 0 for no characters. Counted on the UTF-8 bytes (names in logs
    are ASCII; Zeek escapes the rest)."""
    data = "".join(strings).replace(".", "").encode("utf-8", "replace")
    if not data:
        return 0.0
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    p = counts[counts > 0].astype(np.float64) / len(data)
    return float(-np.sum(p * np.log2(p)))


def volume_score(unique: int, s: DnsSettings) -> float:
    """0 at ``min_unique`` distinct names, 1 from ``full_unique``, log-linear between."""
    if unique <= s.min_unique:
        return 0.0
    frac = math.log(unique / s.min_unique) / math.log(s.full_unique / s.min_unique)
    return min(1.0, frac)


def dga_score(zones: int, s: DnsSettings) -> float:
    """0.5 at ``dga_min_zones`` failed registered domains, 1.0 from ten times as many."""
    if zones < s.dga_min_zones:
        return 0.0
    return 0.5 + 0.5 * min(1.0, math.log(zones / s.dga_min_zones) / math.log(10.0))


def _check_in_times(ts: FloatArray) -> FloatArray:
    """Lookup times with those within ``_BURST_S`` of the previous one dropped."""
    if ts.size == 0:
        return ts
    t = np.sort(ts)
    keep = np.concatenate(([True], np.diff(t) > _BURST_S))
    return t[keep]


@dataclass(frozen=True, slots=True)
class DnsStats:
    """What the detector measured on one (client, zone) group (module docstring);
    satisfies :class:`~beaconhunt.detect.base.Details`."""

    score: float
    zone: str | None
    lookups: int
    unique: int
    first_seen: float
    last_seen: float
    median_interval: float
    periodicity: float
    mean_length: float
    max_length: int
    entropy: float
    qtypes: dict[str, int]
    nxdomain_share: float
    encoded: int
    hours: float
    active_hours: float
    samples: tuple[str, ...]
    resolvers: tuple[str, ...]
    source: str
    pattern: str = "tunnel"
    zones: int = 1
    reasons: tuple[Evidence, ...] = field(default_factory=tuple)
    #: the distinct names (not in the record: ``samples`` shows a few)
    names: tuple[str, ...] = field(default=(), repr=False)

    @property
    def components(self) -> ScoreComponents | None:
        return None

    @property
    def n_connections(self) -> int:
        return self.lookups

    @property
    def bytes_out_median(self) -> float:
        return math.nan

    @property
    def bytes_in_median(self) -> float:
        return math.nan

    @property
    def rare_qtype_share(self) -> float:
        rare = sum(n for q, n in self.qtypes.items() if q in RARE_QTYPES)
        return rare / max(1, self.lookups)

    def info(self) -> dict[str, Any]:
        """The kind-specific keys of the finding record (README, "Output")."""
        return {
            "pattern": self.pattern,
            "zone": self.zone,
            "zones": self.zones,
            "lookups": self.lookups,
            "unique_names": self.unique,
            "qtypes": dict(sorted(self.qtypes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "nxdomain_share": round(self.nxdomain_share, 4),
            "mean_label_length": round(self.mean_length, 2),
            "max_label_length": self.max_length,
            "entropy_bits": round(self.entropy, 3),
            "encoded_chars": self.encoded,
            "periodicity": round(self.periodicity, 4),
            "sample_names": list(self.samples),
            "resolvers": list(self.resolvers),
            "source": self.source,
        }


def dns_stats(
    ts: FloatArray,
    names: Sequence[str],
    subdomains: Sequence[str],
    qtypes: Sequence[str | None],
    rcodes: Sequence[str | None],
    zone: str,
    start: float,
    end: float,
    s: DnsSettings,
    score: ScoreSettings,
    resolvers: Sequence[str] = (),
    source: str = "network",
) -> DnsStats:
    """The statistics, score and evidence of one (client, zone) group."""
    uniq: dict[str, str] = dict(zip(names, subdomains, strict=True))
    subs = [x for x in uniq.values() if x]
    lengths = np.asarray([len(x) for x in subs], dtype=np.float64)
    checkins = _check_in_times(np.asarray(ts, dtype=np.float64))
    periodic = math.nan
    interval = math.nan
    if checkins.size >= 4:
        sizes = np.full(checkins.size, math.nan)
        ps = score_series(checkins, sizes, sizes, start, end, score)
        periodic, interval = float(ps.score), float(ps.median_interval)
    qt = Counter((q or "?").upper() for q in qtypes)
    nx = sum(1 for r in rcodes if (r or "").upper() == "NXDOMAIN")
    window_h = max(end - start, 1.0) / 3600.0
    vol = volume_score(len(uniq), s)
    p = 0.0 if math.isnan(periodic) else periodic
    samples = sorted(uniq, key=lambda n: (-len(n), n))[: s.samples]
    st = DnsStats(
        score=0.5 + 0.5 * max(vol, p) if len(uniq) >= s.min_unique else 0.0,
        zone=zone,
        lookups=len(names),
        unique=len(uniq),
        first_seen=float(np.min(ts)),
        last_seen=float(np.max(ts)),
        median_interval=interval,
        periodicity=p,
        mean_length=float(lengths.mean()) if lengths.size else 0.0,
        max_length=int(lengths.max()) if lengths.size else 0,
        entropy=char_entropy(subs),
        qtypes=dict(qt),
        nxdomain_share=nx / max(1, len(names)),
        encoded=int(lengths.sum()),
        hours=window_h,
        active_hours=max(1.0, (float(np.max(ts)) - float(np.min(ts))) / 3600.0),
        samples=tuple(samples),
        resolvers=tuple(sorted({r for r in resolvers if r})),
        source=source,
        names=tuple(uniq),
    )
    return _with_reasons(st, s)


def _with_reasons(st: DnsStats, s: DnsSettings) -> DnsStats:
    zone = terminal_text(st.zone or "", 120)
    out = [Evidence(
        "dns.unique_names",
        f"{st.lookups:,} lookups of {st.unique:,} distinct names under {zone}"
        f" ({st.unique / st.hours:,.1f} new names per hour)",
    )]  # fmt: skip
    if st.mean_length >= s.encoded_length:
        out.append(Evidence(
            "dns.encoded_labels",
            f"the names carry data: the labels left of the zone average {st.mean_length:.0f}"
            f" characters (longest {st.max_length}), {st.entropy:.1f} bits of entropy per"
            f" character; {st.encoded:,} characters in fresh names",
        ))  # fmt: skip
    share = st.rare_qtype_share
    if share >= s.rare_qtype_share:
        top = ", ".join(f"{q} {n}" for q, n in sorted(st.qtypes.items(), key=lambda kv: -kv[1])
                        if q in RARE_QTYPES)  # fmt: skip
        out.append(Evidence(
            "dns.rare_qtype",
            f"{share:.0%} of the lookups ask for records ordinary clients seldom need ({top})",
        ))  # fmt: skip
    nulls = sum(n for q, n in st.qtypes.items() if q in _NULL_QTYPES)
    if nulls:
        out.append(Evidence(
            "dns.null_records",
            f"{nulls:,} lookups ask for NULL/PRIVATE records (experimental types no ordinary"
            " software uses; iodine's preferred transport)",
        ))  # fmt: skip
    rate = st.encoded / st.active_hours
    if rate >= s.high_volume_per_hour:
        out.append(Evidence(
            "dns.high_volume",
            f"{rate:,.0f} characters of fresh names per hour while active: bulk data"
            " through DNS",
        ))  # fmt: skip
    if st.periodicity >= s.regular_at:
        out.append(Evidence(
            "dns.periodic",
            f"lookups come on a regular timer: every {duration(st.median_interval)}"
            f" (lookup beacon score {st.periodicity:.2f})",
        ))  # fmt: skip
    if st.nxdomain_share >= 0.5:
        out.append(Evidence(
            "dns.nxdomain",
            f"{st.nxdomain_share:.0%} of the names do not exist (NXDOMAIN): tunnels get"
            " answers, blocklist checks mostly do not",
        ))  # fmt: skip
    svc = known_service(st.names, _services_of(st.zone)) if st.names and st.zone else None
    if svc is not None:
        out.append(Evidence(
            "dns.known_service",
            f"the names are those of a documented service ({svc.category}): {svc.what}"
            f" (source: {svc.source})",
        ))  # fmt: skip
    return _replace_reasons(st, tuple(out))


def _services_of(zone: str) -> list[DnsService]:
    """The bundled services that can cover names under ``zone``."""
    return [svc for svc in bundled_services()
            if svc.suffix == zone or svc.suffix.endswith("." + zone)
            or zone.endswith("." + svc.suffix)]  # fmt: skip


def _replace_reasons(st: DnsStats, reasons: tuple[Evidence, ...]) -> DnsStats:
    vals = {f: getattr(st, f) for f in DnsStats.__dataclass_fields__}
    vals["reasons"] = reasons
    return DnsStats(**vals)


# -- the detector -------------------------------------------------------------------------------


@register_detector
class DnsDetector(Detector):
    """Lookups of fresh names under one zone, and generated domains (module docstring)."""

    kind = "dns"

    def detect(self, data: DetectInput, report: DetectReport) -> list[Candidate]:
        con = data.store.con
        s = data.dns
        host_ips = dns_lookups.sysmon_host_ips(con)
        covered = dns_lookups.lookup_clients(con)
        skip = {h for h, ip in host_ips.items() if ip in covered}
        rows = dns_lookups.zone_lookups(con, data.start, data.end, s.min_unique, skip)
        resolvers = dns_lookups.resolver_clients(con, data.start, data.end)
        out = _zone_candidates(rows, data, host_ips, resolvers)
        dga = dns_lookups.dga_lookups(con, data.start, data.end, s.dga_min_zones, skip)
        out += _dga_candidates(dga, data, host_ips)
        return [_attributed(c, con, data, host_ips) for c in out]


def _attributed(c: Candidate, con: Any, data: DetectInput, host_ips: dict[str, str]) -> Candidate:
    """The candidate with the processes that made its lookups (Sysmon event 22 of the
    client's host under the zone), when endpoint telemetry has them."""
    ref = c.pair
    if ref is None or ref.dst_domain is None:
        return c
    hosts = [ref.src_host] if ref.src_host else [h for h, ip in host_ips.items()
                                                 if ip == ref.src_ip]  # fmt: skip
    rows = dns_lookups.zone_processes(con, hosts, ref.dst_domain, data.start, data.end,
                                      ref.dst_ips)  # fmt: skip
    if rows and rows[0].get("own_socket"):
        # a process that sends its own DNS packets carries every lookup of its socket:
        # share the group's lookups by its connections to the resolver
        lookups = c.details.n_connections
        total = sum(int(r["n"]) for r in rows)
        rows = [{**r, "n": round(lookups * int(r["n"]) / total), "total": lookups}
                for r in rows]  # fmt: skip
    return replace(c, attribution=rows) if rows else c


@dataclass
class _Group:
    ts: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)
    qtypes: list[str | None] = field(default_factory=list)
    rcodes: list[str | None] = field(default_factory=list)
    resolvers: set[str] = field(default_factory=set)
    source: str = "network"


def _client_ip(client: str, source: str, host_ips: dict[str, str]) -> tuple[str, str | None]:
    """(source address, host name) of a lookup's client."""
    if source == "sysmon":
        return host_ips.get(client, client), client
    return client, None


def _groups(rows: Lookups, zones: Sequence[str | None]) -> list[tuple[str, str, NDArray[np.int64]]]:
    """(client, zone, row indices sorted by time) of every group with a zone."""
    ccode: dict[str, int] = {}
    zcode: dict[str, int] = {}
    keep = np.asarray([z is not None for z in zones], dtype=bool)
    cc = np.asarray([ccode.setdefault(c, len(ccode)) for c in rows.client], dtype=np.int64)
    zc = np.asarray([-1 if z is None else zcode.setdefault(z, len(zcode)) for z in zones],
                    dtype=np.int64)  # fmt: skip
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return []
    order = idx[np.lexsort((rows.ts[idx], zc[idx], cc[idx]))]
    key = cc[order] * (len(zcode) + 1) + zc[order]
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1, [order.size]))
    clients = list(ccode)
    names = list(zcode)
    return [
        (clients[int(cc[order[a]])], names[int(zc[order[a]])], order[a:b])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]


def _zone_candidates(
    rows: Lookups, data: DetectInput, host_ips: dict[str, str], resolvers: dict[str, int]
) -> list[Candidate]:
    s = data.dns
    zones, subs = split_zones(rows.query)
    groups = _groups(rows, zones)
    # zones some client that is not a resolver looked up itself
    direct = {z for c, z, _ in groups if c not in resolvers}
    out = []
    for client, zone, idx in groups:
        names = [rows.query[i] for i in idx.tolist()]
        if len(set(names)) < s.min_unique:
            continue
        is_resolver = client in resolvers
        if is_resolver and zone in direct:
            continue
        il = idx.tolist()
        found = {str(rows.resolver[i]) for i in il if rows.resolver[i]}
        source = rows.source[il[-1]]
        st = dns_stats(rows.ts[idx], names, [subs[i] for i in il],
                       [rows.qtype[i] for i in il], [rows.rcode[i] for i in il], zone,
                       data.start, data.end, s, data.score, sorted(found), source)  # fmt: skip
        if st.score < data.min_score:
            continue
        if is_resolver:
            st = _replace_reasons(st, (*st.reasons, Evidence(
                "dns.via_resolver",
                f"the source is a DNS resolver ({resolvers[client]} internal hosts send it"
                " lookups): the sensor sees the forwarded queries, not the host that asked"
                " first; that host is in the resolver's own query log",
            )))  # fmt: skip
        ip, host = _client_ip(client, source, host_ips)
        ref = PairRef(ip, zone, st.resolvers, 53, "udp", host)
        out.append(Candidate("dns", -1, st, np.sort(rows.ts[idx]), pair=ref, info=st.info()))
    return out


def _dga_candidates(rows: Lookups, data: DetectInput, host_ips: dict[str, str]) -> list[Candidate]:
    s = data.dns
    by_client: dict[str, _Group] = defaultdict(_Group)
    for i, zone in enumerate(split_zones(rows.query)[0]):
        if zone is None:
            continue
        g = by_client[rows.client[i]]
        g.ts.append(float(rows.ts[i]))
        g.names.append(rows.query[i])
        g.subs.append(zone)
        g.source = rows.source[i]
        r = rows.resolver[i]
        if r:
            g.resolvers.add(str(r))
    out = []
    for client, g in sorted(by_client.items()):
        zones = sorted(set(g.subs))
        own = [z.split(".", 1)[0] for z in zones]
        mean_label = float(np.mean([len(x) for x in own])) if own else 0.0
        score = dga_score(len(zones), s)
        if not zones or mean_label < s.dga_min_label or score < data.min_score:
            continue
        samples = tuple(sorted(zones, key=lambda z: (-len(z), z))[: s.samples])
        ts = np.sort(np.asarray(g.ts))
        st = DnsStats(
            score=score, zone=None, lookups=len(g.names), unique=len(set(g.names)),
            first_seen=float(ts[0]), last_seen=float(ts[-1]), median_interval=math.nan,
            periodicity=0.0, mean_length=mean_label, max_length=max(len(x) for x in own),
            entropy=char_entropy(own), qtypes={}, nxdomain_share=1.0, encoded=0,
            hours=max(data.end - data.start, 1.0) / 3600.0, active_hours=1.0, samples=samples,
            resolvers=tuple(sorted(g.resolvers)), source=g.source, pattern="dga",
            zones=len(zones),
        )  # fmt: skip
        shown = ", ".join(terminal_text(z, 80) for z in samples[:3])
        st = _replace_reasons(st, (Evidence(
            "dns.dga",
            f"{len(zones):,} registered domains looked up and not found (NXDOMAIN), their own"
            f" label {mean_label:.0f} characters on average, {st.entropy:.1f} bits per"
            f" character: generated domains (e.g. {shown})",
        ),))  # fmt: skip
        ip, host = _client_ip(client, g.source, host_ips)
        ref = PairRef(ip, None, st.resolvers, 53, "udp", host)
        out.append(Candidate("dns", -1, st, ts, pair=ref, info=st.info()))
    return out
