"""Benign DNS that looks like C2 over DNS: many unique, hashed or random names
under one zone.

``av_reputation_dns`` (close)
    Trellix (McAfee) Endpoint Security asking Global Threat Intelligence about
    files no signature matched: a DNS query whose first label is a file
    fingerprint under ``avqs.mcafee.com``, answered with a 127.0.x.y address
    (Trellix KB53782 tests the service with
    ``4z9p5tjmcbnblehp4557z1d136.avqs.mcafee.com`` answering ``127.0.4.8``).
    On most Windows workstations, event-driven (files being opened): a few
    lookups an hour per host, more in working hours; a quarter of them are
    common files other hosts ask about too (resolver cache hits). The answer
    mix (127.0.4.x or NXDOMAIN), the 300 s TTL, the rates and the service image
    (``mfetp.exe``, Threat Prevention) are assumptions.
``dnsbl`` (close)
    The mail gateway (``srv-mail-01``, Postfix ``postscreen``) looking up the
    address of every connecting SMTP client in ``zen.spamhaus.org`` and
    ``bl.spamcop.net``: the octets reversed in front of the zone (RFC 5782
    section 2.1), listed clients answered with 127.0.0.x (Spamhaus ZEN: .2 SBL,
    .4 XBL, .10/.11 PBL), the rest NXDOMAIN. A client seen again within an hour
    is not looked up again (postscreen caches its DNSBL verdicts; the 1 h is
    our reading of ``postscreen_dnsbl_max_ttl`` in postconf(5), not checked
    here). The mail rate (about 200 connections an hour in working hours, 40
    otherwise), the sender mix and the listed share are assumptions.
``cdn_discovery`` (close)
    Browsers fetching objects from many CloudFront distributions, each with its
    own random name (``d<13 characters>.cloudfront.net``); the lookups go
    through the normal client and resolver caches (:mod:`beaconhunt.synth.dns`)
    and are relabelled afterwards (:func:`relabel_cdn`). A 60 s TTL and four
    addresses per name are assumptions.
``hashed_telemetry`` (close)
    A digital-experience agent installed on most workstations (a fictional
    vendor, Northwind Insight) reporting every 600 s (±5%) with one lookup of a
    40-hex-character hash under its zone ``q.nwinsight.net``, answered
    ``127.0.0.1``. Everything about this agent is an assumption: it stands for
    the vendors that ship telemetry over DNS.
``chrome_probe`` (close)
    Chromium's intranet-redirect detector: at browser start and after a network
    change it looks up three random single-label names of 7-15 letters
    (https://blog.apnic.net/2020/08/21/chromiums-impact-on-root-dns-traffic/;
    since M88 only where the ``IntranetRedirectBehavior`` enterprise policy
    leaves it on, as on these domain-joined machines). Windows appends the
    primary DNS suffix, so the DC answers ``<random>.corp.acme.internal``
    NXDOMAIN itself, authoritatively: a DGA-like burst under the company's own
    zone on every Edge and Chrome host.

All but ``dnsbl`` resolve through the Windows DNS client (Sysmon 22 names the
program; the socket is the DNS Client service's).
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog, timing
from beaconhunt.synth.flows import Label, Traffic, heavy
from beaconhunt.synth.shapes.common import awake_spans, b32, register, work_windows
from beaconhunt.synth.shapes.dnsrows import Batch, emit, forward, resolver_cached
from beaconhunt.synth.world import AD_DOMAIN, IpPool, registered_domain

__all__ = [
    "CDN_ZONE",
    "IMAGES",
    "add_av_reputation",
    "add_cdn",
    "add_chrome_probe",
    "add_dnsbl",
    "add_hashed_telemetry",
    "relabel_cdn",
]

FloatArray = NDArray[np.float64]

IMAGES = {
    "av_reputation_dns": r"C:\Program Files\McAfee\Endpoint Security\Threat Prevention\mfetp.exe",
    "dnsbl": "/usr/lib/postfix/sbin/postscreen",
    "hashed_telemetry": r"C:\Program Files\Northwind\Insight Agent\nwiagent.exe",
}
AV_ZONE = "avqs.mcafee.com"
TELEMETRY_ZONE = "q.nwinsight.net"
CDN_ZONE = "cloudfront.net"
DNSBL_ZONES = ("zen.spamhaus.org", "bl.spamcop.net")
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _resolver_ip(tr: Traffic) -> str:
    return tr.world.hosts[tr.world.resolver].ip


def _poisson_times(
    rng: np.random.Generator, spans: list[tuple[float, float]], per_hour: float
) -> FloatArray:
    """Poisson event times at ``per_hour`` inside ``spans``."""
    parts = [rng.uniform(a, b, int(rng.poisson(per_hour * (b - a) / 3600.0))) for a, b in spans]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0)


def _write(
    tr: Traffic,
    rng: np.random.Generator,
    batches: list[tuple[int, Batch]],
    label: int,
    ttl_forward: bool = True,
) -> None:
    """Each host's lookups to the resolver, then the resolver's forwards of the
    ones its cache cannot answer (all hosts share the cache)."""
    for h, b in batches:
        emit(tr, rng, h, b, dst=_resolver_ip(tr), label=label)
    if not ttl_forward or not batches:
        return
    when = np.concatenate([b.when for _, b in batches])
    order = np.argsort(when, kind="stable")
    merged = _merge([b for _, b in batches], order)
    cached = resolver_cached(merged.when, merged.query, merged.ttl)
    forward(tr, rng, merged.take(~cached))


def _merge(batches: list[Batch], order: NDArray[np.int64]) -> Batch:
    when = np.concatenate([b.when for b in batches])[order]
    idx = order.tolist()
    query = [q for b in batches for q in b.query]
    qtype = [q for b in batches for q in b.qtype]
    answers = [a for b in batches for a in b.answers]
    rcode = [r for b in batches for r in b.rcode]
    return Batch(
        when,
        [query[i] for i in idx],
        [qtype[i] for i in idx],
        [answers[i] for i in idx],
        [rcode[i] for i in idx],
        np.concatenate([b.ttl for b in batches])[order],
        np.concatenate([b.rtt for b in batches])[order],
    )


def _lookups(
    when: FloatArray,
    query: list[str],
    answers: list[tuple[str, ...]],
    ttl: float,
    rtt: FloatArray,
    qtype: str = "A",
) -> Batch:
    rcode = ["NOERROR" if a else "NXDOMAIN" for a in answers]
    return Batch(when, query, [qtype] * when.size, answers, rcode, np.full(when.size, ttl), rtt)


def add_av_reputation(tr: Traffic, pool: IpPool) -> None:
    """GTI file-reputation lookups on most Windows workstations (module docstring)."""
    world = tr.world
    register(world, AV_ZONE, pool.take(2), 300)
    lab = tr.label(Label("av_reputation_dns", registered_domain(AV_ZONE),
                         IMAGES["av_reputation_dns"], "close"))  # fmt: skip
    common_rng = tr.rng("shapes", "av", "common")
    common = [b32(common_rng, 26, _ALNUM) for _ in range(150)]
    weights = np.arange(1, 151, dtype=np.float64) ** -1.0
    weights /= weights.sum()
    pick = tr.rng("shapes-hosts", "av_reputation_dns")
    batches: list[tuple[int, Batch]] = []
    for h in world.workstations():
        if pick.random() >= 0.85:
            continue
        rng = tr.rng("shapes", "av", h)
        s = world.scenario
        rate = float(rng.lognormal(np.log(3.0), 0.5))
        busy = _poisson_times(rng, work_windows(world, h), 2.0 * rate)
        quiet = _poisson_times(rng, awake_spans(world, h, s.start, s.end), 0.3 * rate)
        when = np.sort(np.concatenate([busy, quiet]))
        n = when.size
        if n == 0:
            continue
        shared = rng.random(n) < 0.25
        prints = [
            common[int(rng.choice(150, p=weights))] if sh else b32(rng, 26, _ALNUM)
            for sh in shared.tolist()
        ]
        answers: list[tuple[str, ...]] = []
        for p in prints:
            r = int(hashlib.md5(p.encode(), usedforsecurity=False).digest()[0])
            answers.append(() if r < 77 else (f"127.0.4.{(1, 8, 16)[r % 3]}",))
        query = [f"{p}.{AV_ZONE}" for p in prints]
        batches.append((h, _lookups(when, query, answers, 300.0, rng.uniform(0.015, 0.09, n))))
    _fix_cached_rtt(batches)
    _write(tr, tr.rng("shapes", "av", "rows"), batches, lab)


def _fix_cached_rtt(batches: list[tuple[int, Batch]]) -> None:
    """Lookups the resolver answers from its cache come back in about a millisecond."""
    if not batches:
        return
    when = np.concatenate([b.when for _, b in batches])
    order = np.argsort(when, kind="stable")
    merged = _merge([b for _, b in batches], order)
    cached = np.zeros(when.size, dtype=bool)
    cached[order] = resolver_cached(merged.when, merged.query, merged.ttl)
    at = 0
    for _, b in batches:
        n = len(b)
        fast = cached[at : at + n]
        b.rtt[fast] = 0.0002 + 0.0013 * (b.rtt[fast] - 0.015) / 0.075
        at += n


def add_dnsbl(tr: Traffic, pool: IpPool) -> None:
    """The mail gateway's DNSBL lookups (module docstring)."""
    world = tr.world
    s = world.scenario
    h = world.host_index("srv-mail-01")
    for zone in DNSBL_ZONES:
        register(world, zone, pool.take(1), 60)
    rng = tr.rng("shapes", "dnsbl")
    senders = IpPool(tr.rng("shapes", "dnsbl", "senders")).take(4000)
    weights = np.arange(1, 4001, dtype=np.float64) ** -0.9
    weights /= weights.sum()
    busy = _poisson_times(rng, work_windows(world, h), 160.0)
    base = _poisson_times(rng, [(s.start, s.end)], 40.0)
    when = np.sort(np.concatenate([busy, base]))
    who = rng.choice(4000, when.size, p=weights)
    last: dict[int, float] = {}
    keep = np.zeros(when.size, dtype=bool)
    for i, (t, w) in enumerate(zip(when.tolist(), who.tolist(), strict=True)):
        if t - last.get(w, -np.inf) >= 3600.0:  # postscreen's cache
            keep[i] = True
            last[w] = t
    when, who = when[keep], who[keep]
    listed = tr.rng("shapes", "dnsbl", "listed").random((4000, 2))
    zen_codes = ("127.0.0.2", "127.0.0.4", "127.0.0.10", "127.0.0.11")
    for z, zone in enumerate(DNSBL_ZONES):
        lab = tr.label(Label("dnsbl", registered_domain(zone), IMAGES["dnsbl"], "close"))
        query: list[str] = []
        answers: list[tuple[str, ...]] = []
        for w in who.tolist():
            rev = ".".join(reversed(senders[w].split(".")))
            query.append(f"{rev}.{zone}")
            hit = listed[w, z] < (0.12 if z == 0 else 0.08)
            code = zen_codes[w % 4] if z == 0 else "127.0.0.2"
            answers.append((code,) if hit else ())
        t = when + 0.0004 * z  # both lists at once
        b = _lookups(t, query, answers, 60.0, rng.uniform(0.015, 0.12, t.size))
        _write(tr, rng, [(h, b)], lab)


def add_hashed_telemetry(tr: Traffic, pool: IpPool) -> None:
    """The telemetry agent's hashed check-ins (module docstring)."""
    world = tr.world
    s = world.scenario
    register(world, TELEMETRY_ZONE, pool.take(2), 60, "2011-05-17")
    period, jitter = 600.0, 0.05
    lab = tr.label(Label("hashed_telemetry", registered_domain(TELEMETRY_ZONE),
                         IMAGES["hashed_telemetry"], "close", period, jitter))  # fmt: skip
    pick = tr.rng("shapes-hosts", "hashed_telemetry")
    batches: list[tuple[int, Batch]] = []
    for h in world.workstations():
        if pick.random() >= 0.7:
            continue
        rng = tr.rng("shapes", "telemetry", h)
        ts = timing.agent(rng, s.start, s.end, period, jitter)
        ts = ts[world.awake_mask(h, ts)]
        if ts.size == 0:
            continue
        seed = world.hosts[h].name
        query = [
            f"{hashlib.sha1(f'{seed}:{k}'.encode(), usedforsecurity=False).hexdigest()}"
            f".{TELEMETRY_ZONE}"
            for k in range(ts.size)
        ]
        answers: list[tuple[str, ...]] = [("127.0.0.1",)] * ts.size
        batches.append((h, _lookups(ts, query, answers, 0.0, rng.uniform(0.015, 0.09, ts.size))))
    _write(tr, tr.rng("shapes", "telemetry", "rows"), batches, lab)


def add_chrome_probe(tr: Traffic) -> None:
    """Chromium's three random-name probes at browser start and network changes."""
    world = tr.world
    lab = tr.label(Label("chrome_probe", registered_domain(AD_DOMAIN), "{browser}", "close"))
    batches: list[tuple[int, Batch]] = []
    for h in world.workstations():
        host = world.hosts[h]
        if catalog.BROWSERS[max(host.browser, 0)][0] == "firefox":
            continue
        rng = tr.rng("shapes", "chrome_probe", h)
        events: list[float] = []
        for a, b in work_windows(world, h):
            events.append(a + float(rng.uniform(60.0, 1800.0)))  # the browser starts
            changes = int(rng.integers(1, 4)) if host.laptop else int(rng.poisson(0.3))
            events += rng.uniform(a, b, changes).tolist()
        when: list[float] = []
        query: list[str] = []
        for t in sorted(e for e in events if e < world.scenario.end):
            at = t
            for _ in range(3):
                name = "".join(_LETTERS[i] for i in rng.integers(0, 26, int(rng.integers(7, 16))))
                when.append(at)
                query.append(f"{name}.{AD_DOMAIN}")
                at += float(rng.uniform(0.001, 0.05))
        if not when:
            continue
        n = len(when)
        none: list[tuple[str, ...]] = [()] * n
        batches.append((h, _lookups(np.array(when), query, none, 0.0,
                                    rng.uniform(0.0002, 0.0015, n))))  # fmt: skip
    rng = tr.rng("shapes", "chrome_probe", "rows")
    for h, batch in batches:
        emit(tr, rng, h, batch, dst=_resolver_ip(tr), label=lab, authoritative=True)


def add_cdn(tr: Traffic, pool: IpPool) -> None:
    """Browsers fetching from many CloudFront distributions (module docstring)."""
    world = tr.world
    rng = tr.rng("shapes", "cdn")
    names = sorted({f"d{b32(rng, 13, _ALNUM)}.{CDN_ZONE}" for _ in range(300)})
    for name in names:
        register(world, name, pool.take(4), 60, "2008-04-18")
    arr = np.array(names, dtype=object)
    weights = np.arange(1, len(names) + 1, dtype=np.float64) ** -1.0
    weights /= weights.sum()
    rank = rng.permutation(len(names))
    pick = tr.rng("shapes-hosts", "cdn_discovery")
    for h in world.workstations():
        if pick.random() >= 0.9:
            continue
        hr = tr.rng("shapes", "cdn", h)
        ts = _poisson_times(hr, work_windows(world, h), float(hr.uniform(3.0, 12.0)))
        if ts.size == 0:
            continue
        n = ts.size
        conn_names = arr[rank[hr.choice(len(names), n, p=weights)]]
        listed = conn_names.tolist()
        label_of = {x: tr.label(Label("browsing", x, "{browser}", "close")) for x in set(listed)}
        labels = np.array([label_of[x] for x in listed], dtype=np.int64)
        dst = np.array([world.names[x].ips[0] for x in listed], dtype=object)
        rows = tr.tcp(hr, h, ts, dst=dst, port=443, service="ssl",
                      out=heavy(hr, n, 900.0, 0.4, 5e4), inn=heavy(hr, n, 60000.0, 1.5, 5e7),
                      duration=hr.uniform(0.3, 8.0, n), label=labels,
                      qname=conn_names)  # fmt: skip
        browser = catalog.BROWSERS[max(world.hosts[h].browser, 0)][0]
        tr.tls(hr, rows, sni=conn_names, client=browser, server=conn_names, tls13=0.95,
               resumed=0.4, subject=np.array([f"CN=*.{CDN_ZONE}"] * n, dtype=object),
               issuer=catalog.CERT_ISSUERS[3])  # fmt: skip


def relabel_cdn(tr: Traffic) -> None:
    """Give the clients' lookups of CloudFront names (written by ``add_dns``) the
    ``cdn_discovery`` label, keyed by the zone."""
    internal = Label("internal_dns", None, "{dns}", "close")
    if internal not in tr.labels:
        return
    old = tr.label(internal)
    new = tr.label(Label("cdn_discovery", CDN_ZONE, "{browser}", "close"))
    cols = tr.conn.consolidate()
    dns = tr.dns.finish()
    mine = np.array([q.endswith("." + CDN_ZONE) for q in dns["query"].tolist()], dtype=bool)
    rows = dns["row"][mine]
    rows = rows[(cols["label"][rows] == old) & (cols["src"][rows] != tr.world.resolver)]
    cols["label"][rows] = new
