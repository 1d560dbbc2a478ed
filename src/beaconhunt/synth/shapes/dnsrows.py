"""DNS lookups the shapes write themselves: any query type, answer and rcode.

:mod:`beaconhunt.synth.dns` derives A lookups from connections to names; the
DNS shapes (tunnels, beacons, reputation lookups) make lookups that no
connection follows, of other types (TXT, CNAME, MX, NULL) and often answered
NXDOMAIN. A :class:`Batch` is the lookups one client makes;
:func:`emit` writes them as udp/53 connections plus dns.log records the way
Zeek logs them:

* ``answers`` as Zeek's DNS scripts print them: addresses, CNAME/MX targets,
  ``TXT <length> <string>`` for TXT strings (``dns_TXT_reply`` in
  ``base/protocols/dns/main.zeek``) and ``<unknown type=10>`` for NULL
  records, which Zeek's analyzer does not parse (``dns_unknown_reply``);
  NXDOMAIN has no answers;
* byte counts: a 12-byte header, the question (name + 2 + 4) and an 11-byte
  EDNS0 OPT record each way (query = name length + 29, as in ``dns.py``),
  plus each answer's 12 bytes of owner pointer/type/class/TTL/length and its data;
* by default one connection per lookup (the Windows DNS client and the DNS
  server pick a fresh random source port per query); ``session_rows`` puts a
  tool's lookups on the one UDP socket it keeps open (dnscat2 and iodine talk
  to the resolver over their own socket), which Zeek logs as one long
  connection carrying every query.

:func:`forward` adds the resolver's own queries to its forwarders for the
lookups it cannot answer from cache (every unique name), as ``dns.py`` does
for cache misses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth.flows import Label, Traffic

__all__ = ["QTYPES", "Batch", "emit", "forward", "resolver_cached", "session_rows"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Query type numbers (RFC 1035, RFC 3596) as Zeek names them.
QTYPES = {"A": 1, "CNAME": 5, "NULL": 10, "MX": 15, "TXT": 16, "AAAA": 28}
_RCODES = {"NOERROR": 0, "NXDOMAIN": 3}
_DNS_EXE = r"C:\Windows\System32\dns.exe"


@dataclass(slots=True)
class Batch:
    """Lookups of one client, in time order. ``answers[i]`` is the answer data
    (addresses, target names or TXT strings; empty for NXDOMAIN or no data),
    ``null_bytes[i]`` the size of a NULL answer's data (0 when none)."""

    when: FloatArray
    query: list[str]
    qtype: list[str]
    answers: list[tuple[str, ...]]
    rcode: list[str]
    ttl: FloatArray
    rtt: FloatArray
    null_bytes: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.when.size)

    def take(self, mask: NDArray[np.bool_]) -> Batch:
        """The lookups where ``mask`` is true."""
        idx = np.flatnonzero(mask).tolist()
        return Batch(
            self.when[mask],
            [self.query[i] for i in idx],
            [self.qtype[i] for i in idx],
            [self.answers[i] for i in idx],
            [self.rcode[i] for i in idx],
            self.ttl[mask],
            self.rtt[mask],
            self._nulls()[mask],
        )

    def _nulls(self) -> IntArray:
        n = self.null_bytes
        return n if n.size == self.when.size else np.zeros(self.when.size, dtype=np.int64)


def _zeek_answers(b: Batch) -> tuple[list[str | None], list[str | None], IntArray, IntArray]:
    """dns.log ``answers`` and ``TTLs``, and the query and reply payload bytes."""
    answers: list[str | None] = []
    ttls: list[str | None] = []
    q_bytes = np.array([len(q) + 29 for q in b.query], dtype=np.int64)
    a_bytes = np.zeros(len(b), dtype=np.int64)
    nulls = b._nulls().tolist()
    for i, (qt, ans, ttl) in enumerate(zip(b.qtype, b.answers, b.ttl.tolist(), strict=True)):
        if qt == "NULL" and nulls[i] > 0:
            answers.append("<unknown type=10>")
            ttls.append(f"{ttl:.6f}")
            a_bytes[i] = 12 + nulls[i]
            continue
        if not ans:
            answers.append(None)
            ttls.append(None)
            continue
        if qt == "TXT":
            shown = [f"TXT {len(a)} {a}" for a in ans]
            size = sum(12 + 1 + len(a) for a in ans)
        elif qt in ("CNAME", "MX"):
            shown = list(ans)
            size = sum(12 + len(a) + 2 + (2 if qt == "MX" else 0) for a in ans)
        else:
            shown = list(ans)
            size = 16 * len(ans)
        answers.append(",".join(shown))
        ttls.append(",".join([f"{ttl:.6f}"] * len(ans)))
        a_bytes[i] = size
    return answers, ttls, q_bytes, q_bytes + a_bytes


def emit(
    tr: Traffic,
    rng: np.random.Generator,
    src: int,
    b: Batch,
    *,
    dst: object,
    label: int,
    authoritative: bool = False,
    rows: IntArray | None = None,
) -> IntArray:
    """Write ``b`` from host ``src`` to ``dst`` (one address or one per lookup);
    return the connection row of every lookup. With ``rows`` (from
    :func:`session_rows`) the records join those connections instead."""
    n = len(b)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    answers, ttls, out, inn = _zeek_answers(b)
    if rows is None:
        windows = tr.world.hosts[src].os == "windows"
        lo, hi = (49152, 65536) if windows else (32768, 61000)
        rows = tr.conn.add(
            n,
            ts=b.when,
            src=src,
            orig_p=rng.integers(lo, hi, n),
            resp_h=dst,
            resp_p=53,
            proto="udp",
            service="dns",
            duration=b.rtt,
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
        dt: FloatArray | float = 0.0
    else:
        starts = tr.conn.consolidate()["ts"][rows]
        dt = b.when - starts
    tr.dns.add(
        n,
        row=rows,
        dt=dt,
        trans_id=rng.integers(0, 65536, n),
        rtt=b.rtt,
        query=np.array(b.query, dtype=object),
        qclass=1,
        qclass_name="C_INTERNET",
        qtype=np.array([QTYPES[q] for q in b.qtype], dtype=np.int64),
        qtype_name=np.array(b.qtype, dtype=object),
        rcode=np.array([_RCODES[r] for r in b.rcode], dtype=np.int64),
        rcode_name=np.array(b.rcode, dtype=object),
        AA="T" if authoritative else "F",
        TC="F",
        RD="T",
        RA="T",
        Z=0,
        answers=np.array(answers, dtype=object),
        TTLs=np.array(ttls, dtype=object),
        rejected="F",
        cause=rows,
    )
    return rows


def session_rows(
    tr: Traffic,
    rng: np.random.Generator,
    src: int,
    b: Batch,
    session: IntArray,
    *,
    dst: str,
    label: int,
) -> IntArray:
    """One UDP connection per ``session`` number (the tool's socket, one source
    port), carrying that session's lookups; returns each lookup's row."""
    _, _, out, inn = _zeek_answers(b)
    ids, first = np.unique(session, return_index=True)
    n = ids.size
    idx = np.searchsorted(ids, session)
    start = b.when[first]
    last = np.zeros(n)
    np.maximum.at(last, idx, b.when + b.rtt)
    q = np.bincount(idx, minlength=n).astype(np.int64)
    o = np.bincount(idx, weights=out, minlength=n).astype(np.int64)
    r = np.bincount(idx, weights=inn, minlength=n).astype(np.int64)
    windows = tr.world.hosts[src].os == "windows"
    lo, hi = (49152, 65536) if windows else (32768, 61000)
    rows = tr.conn.add(
        n,
        ts=start,
        src=src,
        orig_p=rng.integers(lo, hi, n),
        resp_h=dst,
        resp_p=53,
        proto="udp",
        service="dns",
        duration=last - start,
        orig_bytes=o,
        resp_bytes=r,
        conn_state="SF",
        history="Dd",
        orig_pkts=q,
        orig_ip_bytes=o + 28 * q,
        resp_pkts=q,
        resp_ip_bytes=r + 28 * q,
        label=label,
    )
    return rows[idx]


def forward(
    tr: Traffic,
    rng: np.random.Generator,
    b: Batch,
    *,
    label: int | None = None,
) -> IntArray:
    """The resolver's queries to its forwarders for ``b`` (lookups it had to
    forward), a moment after each client query; labelled ``dns_forwarding``
    unless ``label`` is given."""
    if len(b) == 0:
        return np.empty(0, dtype=np.int64)
    world = tr.world
    if label is None:
        label = tr.label(Label("dns_forwarding", None, _DNS_EXE, "close"))
    up = np.array(world.forwarders, dtype=object)[rng.integers(0, len(world.forwarders), len(b))]
    fwd = Batch(
        b.when + 0.0003,
        b.query,
        b.qtype,
        b.answers,
        b.rcode,
        b.ttl,
        np.maximum(b.rtt - 0.0005, 0.0002),
        b._nulls(),
    )
    return emit(tr, rng, world.resolver, fwd, dst=up, label=label)


def resolver_cached(when: FloatArray, query: list[str], ttl: FloatArray) -> NDArray[np.bool_]:
    """Which lookups (in time order) the resolver answers from its cache: the same
    name asked again within the TTL of the answer it last fetched upstream."""
    out = np.zeros(when.size, dtype=bool)
    expires: dict[str, float] = {}
    for i, (t, q, ttl_i) in enumerate(zip(when.tolist(), query, ttl.tolist(), strict=True)):
        if t < expires.get(q, -np.inf):
            out[i] = True
        else:
            expires[q] = t + ttl_i
    return out
