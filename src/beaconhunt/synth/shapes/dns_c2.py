"""C2 over DNS: a Cobalt Strike / Sliver style DNS beacon, dnscat2, iodine, and
the same beacon seen only from the resolver.

Every implant queries the internal resolver (the DC) for fresh names under one
attacker zone registered days before the capture (``whois.csv``); every name is
unique, so the resolver forwards every query to its forwarders (the
``dns_forwarding`` rows ``dns.py`` writes for cache misses).

``dns_beacon``
    Check-ins are A lookups of one data-carrying label (a 6-byte nonce, the
    beacon id and a counter in hex, 26 characters) every ``sleep`` seconds with
    Cobalt Strike's jitter arithmetic (:func:`beaconhunt.synth.timing.cobalt_strike`);
    sleep (5-300 s) and jitter (0-80%) are drawn per seed. The idle answer is
    ``0.0.0.0`` with TTL 1 (the ``dns_idle`` and ``dns_ttl`` defaults listed in
    threatexpress/malleable-c2's reference profiles; Cobalt Strike's own manual
    was not checked). About 2% of check-ins are answered with another address
    (the value is an assumption) and followed by a burst: metadata A lookups
    (``www.`` prefix), task downloads as TXT lookups (``api.``; answers are
    Base64 strings of up to 252 characters, ``dns_max_txt``) and output uploads
    as A lookups (``post.``), back to back (``dns_sleep`` 0). It resolves through
    the Windows DNS Client, so Sysmon logs event 22 for every lookup with the
    implant's image.
``dnscat2``
    An interactive tunnel: a few sessions a day of 15-50 minutes while an
    operator works. The client polls at most every 1,000 ms when idle and sends
    the next message at once while data flows (``--delay`` default 1000, from
    ``dnscat --help`` as packaged by Kali, https://www.kali.org/tools/dnscat2/),
    choosing TXT, CNAME or MX per query (default ``type=TXT,CNAME,MX``). All data
    is hex (iagox86/dnscat2 ``doc/protocol.md``); data queries fill the name to
    253 characters in 63-character labels. The client writes its own DNS packets
    on one UDP socket: Zeek logs one long udp/53 connection per session carrying
    every query, Sysmon logs event 3 for it and no event 22.
``iodine``
    IPv4 over DNS for hours: NULL queries (the request type iodine's
    auto-detection prefers), Base32 upstream data in 57-character labels up to
    the 255-byte name limit (``-M`` default 255; ``src/client.c`` dots every 57
    characters), many queries a second during transfers and a ping every 4 s
    otherwise (lazy mode's ``-I`` default 4: the server holds each query until
    the next one, so an idle query's round trip is about 4 s). Sources: the
    iodine(8) manual page (yarrick/iodine ``man/iodine.8``) and ``README.md``;
    the downstream fragment of ~1,174 bytes with NULL is the README's measured
    value. Answers are NULL records, which Zeek prints as ``<unknown type=10>``.
    Same socket behaviour as dnscat2. Whether a Windows DNS server's forwarding
    timeout would push iodine down to ``-I1`` is not modelled.
``dns_perimeter``
    A second DNS beacon (its own sleep and jitter) on a host whose lookups the
    sensor does not see: only the resolver's forwarded queries are logged, so
    its labels.csv line has the resolver as source (process ``dns.exe``), and
    the host has no Sysmon (no endpoint telemetry on that network either).

Answer TTLs of the tunnels (1 for dnscat2, 0 for iodine) are assumptions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import timing
from beaconhunt.synth.flows import Label, Traffic
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.shapes.common import (
    B32,
    b32,
    b64,
    dotify,
    fill_name,
    hexs,
    register_c2,
    work_windows,
)
from beaconhunt.synth.shapes.dnsrows import Batch, emit, forward, session_rows

__all__ = ["DNS_EXE", "IMAGES", "ZONES", "add_dns_beacon", "add_dnscat2", "add_iodine"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DNS_EXE = r"C:\Windows\System32\dns.exe"
#: kind -> (registered C2 domain, address of its name server)
ZONES = {
    "dns_beacon": ("telemetry-cdn-sync.com", "198.51.100.201"),
    "dnscat2": ("ms-dns-resolve.net", "203.0.113.202"),
    "iodine": ("static-img-cache.org", "192.0.2.203"),
    "dns_perimeter": ("edge-dns-metrics.io", "198.51.100.204"),
}
#: kind -> the implant's image (user-writable paths; ``{user}`` per host)
IMAGES = {
    "dns_beacon": r"C:\Users\{user}\AppData\Roaming\Adobe\ARM\AdobeARMhelper.exe",
    "dnscat2": r"C:\Users\{user}\AppData\Local\Temp\ctfmon64.exe",
    "iodine": r"C:\Users\{user}\Downloads\iodine-0.7.0-windows\bin\iodine.exe",
    "dns_perimeter": r"C:\Users\{user}\AppData\Local\Microsoft\Teams\current\updater.exe",
}
_IDLE = "0.0.0.0"
_AWAKE = "0.0.0.243"  # a non-idle answer: tasks are waiting (value assumed)
_TASK_RATE = 0.02


def _batch(
    rows: list[tuple[float, str, str, tuple[str, ...], float]],
    ttl: float,
    rtt: FloatArray,
    rcode: str = "NOERROR",
    nulls: IntArray | None = None,
) -> Batch:
    n = len(rows)
    return Batch(
        np.array([r[0] for r in rows], dtype=np.float64),
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [rcode] * n,
        np.full(n, ttl),
        rtt,
        np.zeros(n, dtype=np.int64) if nulls is None else nulls,
    )


def _cs_lookups(rng: np.random.Generator, ts: FloatArray, zone: str) -> tuple[Batch, int]:
    """Check-ins at ``ts`` and the tasking bursts; returns the lookups and the tasked count."""
    beacon = hexs(rng, 4)
    tasked = rng.random(ts.size) < _TASK_RATE
    if ts.size >= 40 and not tasked.any():
        tasked[int(rng.integers(ts.size // 4, ts.size))] = True
    rows: list[tuple[float, str, str, tuple[str, ...], float]] = []
    for i, t in enumerate(ts.tolist()):
        label = f"{hexs(rng, 6)}{beacon}{i:06x}"
        rows.append((t, f"{label}.{zone}", "A", (_AWAKE if tasked[i] else _IDLE,), 1.0))
        if not tasked[i]:
            continue
        at = t + float(rng.uniform(0.05, 0.3))
        nonce = hexs(rng, 4)
        for _ in range(int(rng.integers(2, 5))):  # metadata
            rows.append((at, f"www.{hexs(rng, 28)}.{nonce}{beacon}.{zone}", "A", (_IDLE,), 1.0))
            at += float(rng.uniform(0.02, 0.15))
        n_txt = int(rng.integers(1, 21))
        for k in range(n_txt):  # the task, 252 Base64 characters a TXT answer
            size = 252 if k < n_txt - 1 else int(rng.integers(16, 253))
            rows.append((at, f"api.{hexs(rng, 4)}{nonce}{beacon}.{zone}", "TXT",
                         (b64(rng, size),), 1.0))  # fmt: skip
            at += float(rng.uniform(0.02, 0.15))
        at += float(rng.uniform(1.0, 20.0))  # the task runs
        for _ in range(int(rng.integers(1, 16))):  # its output
            rows.append((at, f"post.{hexs(rng, 28)}.{nonce}{beacon}.{zone}", "A", (_IDLE,), 1.0))
            at += float(rng.uniform(0.02, 0.15))
    rows.sort(key=lambda r: r[0])
    n = len(rows)
    return _batch(rows, 1.0, rng.uniform(0.015, 0.09, n)), int(tasked.sum())


def add_dns_beacon(tr: Traffic, h: int, perimeter: bool = False) -> HiddenBeacon:
    """The DNS beacon on host ``h`` (``perimeter``: seen only from the resolver)."""
    world, s = tr.world, tr.world.scenario
    kind = "dns_perimeter" if perimeter else "dns_beacon"
    zone, ns_ip = ZONES[kind]
    rng = tr.rng("shapes", kind)
    register_c2(tr, f"ns1.{zone}", ns_ip, rng, 3600)
    sleep = float(round(rng.uniform(5.0, 300.0)))
    jitter = round(float(rng.uniform(0.0, 0.8)), 2)
    begin = s.start + float(rng.uniform(0.0, 0.05)) * (s.end - s.start)
    ts = timing.cobalt_strike(rng, begin, s.end, sleep, jitter)
    ts = ts[world.awake_mask(h, ts)]
    batch, tasked = _cs_lookups(rng, ts, zone)
    resolver_ip = world.hosts[world.resolver].ip
    host = world.hosts[h]
    image = IMAGES[kind]
    if perimeter:
        lab = tr.label(Label(kind, zone, DNS_EXE, "escalate", sleep, jitter, 0.0))
        forward(tr, rng, batch, label=lab)
        src_ips: tuple[str, ...] = (resolver_ip,)
        notes = (
            f"perimeter view: the sensor sees only {world.hosts[world.resolver].name}'s"
            f" upstream queries, not {host.name}'s lookups (no Sysmon there either)",
        )
        dst_ip = world.forwarders[0]
    else:
        lab = tr.label(Label(kind, zone, image, "escalate", sleep, jitter, 0.0))
        emit(tr, rng, h, batch, dst=resolver_ip, label=lab)
        forward(tr, rng, batch)
        src_ips = (host.ip,)
        notes = ("A check-ins via the Windows DNS client (Sysmon 22 names the implant)",)
        dst_ip = resolver_ip
    return HiddenBeacon(
        family=kind,
        hosts=(host.name,),
        src_ips=src_ips,
        dst=zone,
        dst_ip=dst_ip,
        dst_port=53,
        transport="dns",
        sleep=sleep,
        jitter=jitter,
        loss=0.0,
        connections=len(batch),
        notes=(*notes, f"{len(batch)} unique names under {zone}, {tasked} tasked check-ins"),
        process=DNS_EXE if perimeter else image.replace("{user}", host.user),
    )


def _sessions(
    rng: np.random.Generator,
    windows: list[tuple[float, float]],
    k: int,
    length: tuple[float, float],
) -> list[tuple[float, float]]:
    """``k`` non-overlapping sessions of ``length`` seconds inside ``windows``."""
    out: list[tuple[float, float]] = []
    weights = np.array([b - a for a, b in windows])
    for _ in range(50 * k):
        if len(out) == k or weights.sum() <= 0:
            break
        a, b = windows[int(rng.choice(len(windows), p=weights / weights.sum()))]
        dur = min(float(rng.uniform(*length)), b - a)
        t0 = a + float(rng.uniform(0.0, max(b - a - dur, 0.0)))
        if all(t0 + dur < x or t0 > y for x, y in out):
            out.append((t0, t0 + dur))
    return sorted(out)


def _times(
    rng: np.random.Generator,
    a: float,
    b: float,
    idle: Callable[[int], FloatArray],
    burst_every: float,
    burst: tuple[float, float],
    step: tuple[float, float],
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Query times of one tunnel session: idle polls (``idle(n)`` gaps) and data
    bursts (starting every ``burst_every`` s on average, lasting ``burst`` s,
    one query every ``step`` s); returns the times and which carry data."""
    polls = timing.walk(rng, a, b, idle)
    keep = np.ones(polls.size, dtype=bool)
    fast: list[FloatArray] = []
    n_bursts = int(rng.poisson(max((b - a) / burst_every, 0.0)))
    for t0 in np.sort(rng.uniform(a, b, n_bursts)).tolist():
        t1 = min(b, t0 + float(rng.uniform(*burst)))
        fast.append(timing.walk(rng, t0, t1, lambda n: rng.uniform(*step, n)))
        keep &= (polls < t0) | (polls >= t1)
    data = np.concatenate(fast) if fast else np.empty(0)
    t = np.concatenate([polls[keep], data])
    f = np.concatenate([np.zeros(int(keep.sum()), dtype=bool), np.ones(data.size, dtype=bool)])
    order = np.argsort(t, kind="stable")
    return t[order], f[order]


def add_dnscat2(tr: Traffic, h: int) -> HiddenBeacon:
    """dnscat2 sessions on host ``h`` (module docstring)."""
    world, s = tr.world, tr.world.scenario
    zone, ns_ip = ZONES["dnscat2"]
    rng = tr.rng("shapes", "dnscat2")
    register_c2(tr, f"ns1.{zone}", ns_ip, rng, 3600)
    k = max(1, round(float(rng.uniform(2.0, 4.0)) * (s.end - s.start) / 86400.0))
    sessions = _sessions(rng, work_windows(world, h), k, (900.0, 3000.0))
    rows: list[tuple[float, str, str, tuple[str, ...], float]] = []
    sid: list[int] = []
    for j, (a, b) in enumerate(sessions):
        t, data = _times(rng, a, b, lambda n: rng.uniform(0.9, 1.05, n), 120.0, (2.0, 15.0),
                         (0.03, 0.12))  # fmt: skip
        types = np.array(["TXT", "CNAME", "MX"], dtype=object)[rng.integers(0, 3, t.size)]
        for ti, di, qt in zip(t.tolist(), data.tolist(), types.tolist(), strict=True):
            query = fill_name(rng, zone, 63) if di else f"{hexs(rng, 17)}.{zone}"
            reply = hexs(rng, int(rng.integers(60, 120)) if di else int(rng.integers(9, 17)))
            if qt == "TXT":
                ans: tuple[str, ...] = (reply,)
            else:
                ans = (f"{dotify(reply, 63)}.{zone}",)
            rows.append((ti, query, qt, ans, 1.0))
            sid.append(j)
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    rows = [rows[i] for i in order]
    session = np.array([sid[i] for i in order], dtype=np.int64)
    batch = _batch(rows, 1.0, rng.uniform(0.02, 0.1, len(rows)))
    note = f"{len(sessions)} interactive sessions, TXT/CNAME/MX with hex labels"
    return _tunnel(tr, rng, h, "dnscat2", zone, batch, session, 1.0, note)


def add_iodine(tr: Traffic, h: int) -> HiddenBeacon:
    """An iodine tunnel held for hours on host ``h`` (module docstring)."""
    world, s = tr.world, tr.world.scenario
    zone, ns_ip = ZONES["iodine"]
    top = f"t.{zone}"
    rng = tr.rng("shapes", "iodine")
    register_c2(tr, f"ns1.{zone}", ns_ip, rng, 3600)
    span = s.end - s.start
    a = s.start + float(rng.uniform(0.05, 0.2)) * span
    b = min(s.end, a + float(rng.uniform(4.0, 10.0)) * 3600.0)
    spans = [(max(x, a), min(y, b)) for x, y in work_windows(world, h) if min(y, b) > max(x, a)]
    if not world.hosts[h].laptop or not spans:
        spans = [(a, b)]
    rows: list[tuple[float, str, str, tuple[str, ...], float]] = []
    nulls: list[int] = []
    rtts: list[float] = []
    sid: list[int] = []
    user = "0123456789abcdef"[int(rng.integers(0, 16))]
    for j, (x, y) in enumerate(spans):
        t, data = _times(rng, x, y, lambda n: rng.uniform(3.95, 4.05, n), 1800.0, (30.0, 180.0),
                         (0.02, 0.07))  # fmt: skip
        down = rng.random(t.size) < 0.6  # per query: fetching (big answers) or sending
        for ti, di, dn in zip(t.tolist(), data.tolist(), down.tolist(), strict=True):
            if di and not dn:
                query = fill_name(rng, top, 57, 253, prefix=user, alphabet=B32)
                size = int(rng.integers(2, 12))
            elif di:
                query = f"{user}{b32(rng, 9)}.{top}"
                size = int(rng.integers(1000, 1175))
            else:
                query = f"p{b32(rng, 8)}.{top}"
                size = int(rng.integers(2, 6))
            rows.append((ti, query, "NULL", (), 0.0))
            nulls.append(size)
            rtts.append(float(rng.uniform(0.03, 0.15)) if di else float(rng.uniform(3.8, 4.0)))
            sid.append(j)
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])
    rows = [rows[i] for i in order]
    batch = _batch(
        rows,
        0.0,
        np.array([rtts[i] for i in order], dtype=np.float64),
        nulls=np.array([nulls[i] for i in order], dtype=np.int64),
    )
    session = np.array([sid[i] for i in order], dtype=np.int64)
    hours = sum(y - x for x, y in spans) / 3600.0
    return _tunnel(tr, rng, h, "iodine", zone, batch, session, 4.0,
                   f"IP over DNS for {hours:.1f} h, NULL queries, Base32 labels")  # fmt: skip


def _tunnel(
    tr: Traffic,
    rng: np.random.Generator,
    h: int,
    kind: str,
    zone: str,
    batch: Batch,
    session: IntArray,
    poll: float,
    note: str,
) -> HiddenBeacon:
    """Write a tunnel's lookups on its own socket, the resolver's forwards, and describe it."""
    world = tr.world
    host = world.hosts[h]
    resolver_ip = world.hosts[world.resolver].ip
    lab = tr.label(Label(kind, zone, IMAGES[kind], "escalate", poll, None, 0.0))
    if len(batch):
        rows = session_rows(tr, rng, h, batch, session, dst=resolver_ip, label=lab)
        emit(tr, rng, h, batch, dst=resolver_ip, label=lab, rows=rows)
        forward(tr, rng, batch)
    return HiddenBeacon(
        family=kind,
        hosts=(host.name,),
        src_ips=(host.ip,),
        dst=zone,
        dst_ip=resolver_ip,
        dst_port=53,
        transport="dns",
        sleep=poll,
        jitter=0.0,
        loss=0.0,
        connections=len(batch),
        notes=(note, "own UDP socket: one Zeek connection per session, no Sysmon 22"),
        process=IMAGES[kind].replace("{user}", host.user),
    )
