"""DNS lookups implied by the connections, with client and resolver caching.

Every connection made to a name (``qname``) needs an address. A host asks the
internal resolver (the domain controller) only when its cached answer has
expired: a lookup happens at the first connection at least ``TTL`` seconds
after the previous lookup (TTL = the smallest TTL in the answer, as the Windows
DNS client caches). The resolver in turn forwards a query upstream only when
its own cache for that name has expired, so only those lookups are slow and
appear as resolver-to-forwarder traffic. Names with several addresses are
answered in rotating order (round-robin DNS) and the host connects to the
first address of its latest answer. Lookups that would fall before the capture
starts are not logged (the answer was already cached). Direct-IP traffic has no
``qname`` and so no lookup.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth.flows import Label, Traffic
from beaconhunt.synth.table import Columns
from beaconhunt.synth.world import AD_DOMAIN, Name, World

__all__ = ["add_dns"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def add_dns(tr: Traffic) -> None:
    """Add the lookups (udp/53 connections + dns.log records) for all named traffic."""
    world = tr.world
    cols = tr.conn.consolidate()
    qname, src, ts = cols["qname"], cols["src"], cols["ts"]
    named = np.array([q is not None for q in qname.tolist()], dtype=bool)
    sel = np.flatnonzero(named & (src != world.resolver))
    if sel.size == 0:
        return
    codes, names = _factorize(qname[sel])
    order = np.lexsort((ts[sel], codes, src[sel]))
    rows, codes = sel[order], codes[order]
    key = src[rows] * (len(names) + 1) + codes
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(key)) + 1, [rows.size]))
    rng = tr.rng("dns", "rotation")
    looked: list[IntArray] = []
    order_no: list[IntArray] = []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        name = world.names[names[int(codes[a])]]
        grp = rows[a:b]
        miss = _misses(ts[grp], min(name.ttls))
        k = np.searchsorted(miss, np.arange(grp.size), side="right") - 1
        turn = k + int(rng.integers(0, len(name.ips)))
        if len(name.ips) > 1:
            cols["resp_h"][grp] = np.array(name.ips, dtype=object)[turn % len(name.ips)]
        looked.append(grp[miss])
        order_no.append(turn[miss])
    _emit(tr, np.concatenate(looked), np.concatenate(order_no), cols)


def _factorize(values: NDArray[np.object_]) -> tuple[IntArray, list[str]]:
    """Integer codes of the names, and the sorted distinct names."""
    listed = values.tolist()
    names = sorted(set(listed))
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[v] for v in listed], dtype=np.int64), names


def _misses(t: FloatArray, ttl: float) -> IntArray:
    """Positions in sorted ``t`` where a TTL cache filled at the last miss has expired."""
    out: list[int] = []
    i, n = 0, t.size
    while i < n:
        out.append(i)
        i = max(i + 1, int(np.searchsorted(t, t[i] + ttl, side="left")))
    return np.asarray(out, dtype=np.int64)


def _emit(tr: Traffic, conn_rows: IntArray, turns: IntArray, cols: Columns) -> None:
    """Write client lookups just before ``conn_rows`` and the resolver's forwards."""
    world, s = tr.world, tr.world.scenario
    rng = tr.rng("dns", "lookups")
    qnames = cols["qname"][conn_rows]
    names = [world.names[q] for q in qnames.tolist()]
    external = np.array([not n.name.endswith(AD_DOMAIN) for n in names], dtype=bool)
    forwarded = external & _resolver_misses(world, cols["ts"][conn_rows], qnames)
    rtt = np.where(
        forwarded,
        rng.uniform(0.012, 0.08, conn_rows.size),
        rng.uniform(0.0002, 0.0015, conn_rows.size),
    )
    when = cols["ts"][conn_rows] - rtt - rng.uniform(0.0005, 0.006, conn_rows.size)
    keep = when >= s.start
    src = cols["src"][conn_rows][keep]
    lab = tr.label(Label("internal_dns", None, "{dns}", "close"))
    dns_ip = world.hosts[world.resolver].ip
    _lookups(
        tr,
        rng,
        src,
        when[keep],
        dns_ip,
        [n for n, k in zip(names, keep, strict=True) if k],
        turns[keep],
        rtt[keep],
        lab,
        authoritative=~external[keep],
        cause=conn_rows[keep],
    )
    fwd = keep & forwarded
    if fwd.any():
        m = int(fwd.sum())
        lab = tr.label(Label("dns_forwarding", None, r"C:\Windows\System32\dns.exe", "close"))
        up = np.array(world.forwarders, dtype=object)[rng.integers(0, len(world.forwarders), m)]
        _lookups(
            tr,
            rng,
            np.full(m, world.resolver),
            when[fwd] + 0.0003,
            up,
            [n for n, f in zip(names, fwd, strict=True) if f],
            turns[fwd],
            rtt[fwd] - 0.0005,
            lab,
            authoritative=np.zeros(m, dtype=bool),
            cause=conn_rows[fwd],
        )


def _resolver_misses(world: World, t: FloatArray, qnames: NDArray[np.object_]) -> NDArray[np.bool_]:
    """Which client lookups the resolver must forward (its shared cache expired)."""
    codes, names = _factorize(qnames)
    out = np.zeros(t.size, dtype=bool)
    order = np.lexsort((t, codes))
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(codes[order])) + 1, [t.size]))
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        grp = order[a:b]
        ttl = min(world.names[names[int(codes[grp[0]])]].ttls)
        out[grp[_misses(t[grp], ttl)]] = True
    return out


def _lookups(
    tr: Traffic,
    rng: np.random.Generator,
    src: IntArray,
    when: FloatArray,
    dst: object,
    names: list[Name],
    turns: IntArray,
    rtt: FloatArray,
    label: int,
    authoritative: NDArray[np.bool_],
    cause: IntArray,
) -> None:
    """udp/53 connections and their dns.log records (A queries, NOERROR); ``cause``
    is the connection row each lookup was made for (who asked, for Sysmon)."""
    n = when.size
    if n == 0:
        return
    answers, ttls, size = [], [], []
    for name, k in zip(names, turns.tolist(), strict=True):
        ips = name.ips[k % len(name.ips) :] + name.ips[: k % len(name.ips)]
        ans = ((name.cname,) if name.cname else ()) + ips
        answers.append(",".join(ans))
        ttls.append(",".join(f"{x:.6f}" for x in name.ttls))
        size.append(sum(16 if a[0].isdigit() else 14 + len(a) for a in ans))
    query = np.array([x.name for x in names], dtype=object)
    out = np.array([len(x.name) + 29 for x in names], dtype=np.int64)
    windows = np.array([tr.world.hosts[h].os == "windows" for h in src.tolist()], dtype=bool)
    ports = np.where(windows, rng.integers(49152, 65536, n), rng.integers(32768, 61000, n))
    inn = out + np.array(size, dtype=np.int64)
    rows = tr.conn.add(
        n,
        ts=when,
        src=src,
        orig_p=ports,
        resp_h=dst,
        resp_p=53,
        proto="udp",
        service="dns",
        duration=rtt,
        orig_bytes=out,
        resp_bytes=inn,
        conn_state="SF",
        history="Dd",
        orig_pkts=1,
        orig_ip_bytes=out + 28,
        resp_pkts=1,
        resp_ip_bytes=inn + 28,
        label=label,
    )
    tr.dns.add(
        n,
        row=rows,
        dt=0.0,
        trans_id=rng.integers(0, 65536, n),
        rtt=rtt,
        query=query,
        qclass=1,
        qclass_name="C_INTERNET",
        qtype=1,
        qtype_name="A",
        rcode=0,
        rcode_name="NOERROR",
        AA=np.where(authoritative, "T", "F").astype(object),
        TC="F",
        RD="T",
        RA="T",
        Z=0,
        answers=np.array(answers, dtype=object),
        TTLs=np.array(ttls, dtype=object),
        rejected="F",
        cause=cause,
    )
