"""The synthetic capture as NetFlow, exported with ``nfdump -o csv``.

Every Zeek connection becomes what a NetFlow v5/v9 exporter sends for it:
one unidirectional record client->server (``ipkt``/``ibyt`` = the client's
packets and IP bytes, ``orig_pkts``/``orig_ip_bytes``) and, when the server
answered (``resp_pkts`` > 0), one record server->client starting a moment
later (``resp_pkts``/``resp_ip_bytes``). TCP flags are taken from the
connection state (``SYN``, ``ACK``, ``PSH`` with data, ``FIN`` or ``RST``).
Records are listed in export order (by end time), as nfdump lists an
``nfcapd`` file, and the file ends with nfdump's ``Summary`` block.

What NetFlow cannot carry is absent: no DNS, TLS or HTTP records, so no
names (the hunt groups these flows by address), no Zeek ``service`` or
``conn_state``, no payload byte counts (IP-layer octets instead). The exporter
is taken to see everything the Zeek sensor saw (a core router) and nfdump to
run with ``TZ=UTC``.

Long connections are split the way the exporter's flow cache does: a flow
still active :data:`ACTIVE_TIMEOUT` seconds (30 minutes, Cisco's default)
after its first packet is exported and the next packet starts a new record
with the same 5-tuple, so a connection of duration ``D`` becomes
``ceil(D / 1800)`` consecutive records, each after the first starting within
a packet gap (at most a second) of the previous one's end; only the first has
``SYN`` and only the last ``FIN``/``RST``; packets and bytes are shared in
proportion to time. The exporter's inactive timeout (15 s) would also split a
flow at every longer pause, but a Zeek connection carries no packet times, so
connections are taken as steadily active. Connections up to 1800 s are
exported exactly as before.

``layout="1.6"`` (default) writes the 48-column ``ts,te,td,sa,da,...`` CSV of
nfdump 1.6 (times to the second, protocol names); ``layout="1.7"`` the
predefined CSV of nfdump 1.7 and later (``firstSeen,duration,proto,srcAddr,
srcPort,dstAddr,dstPort,packets,bytes,flows``: times to the millisecond,
protocol numbers, no summary).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from beaconhunt.ingest.readers.nfdump import V16_HEADER
from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["ACTIVE_TIMEOUT", "FILE_NAME", "V17_HEADER", "render"]

#: The file written (nfdump prints to standard output; this is where it was redirected).
FILE_NAME = "nfdump.csv"
#: Header of nfdump's predefined ``-o csv`` from 1.7 on
#: (``csv:%ts,%td,%pr,%sa,%sp,%da,%dp,%pkt,%byt,%fl``).
V17_HEADER = "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows"

_PROTO_NAME = {"tcp": "TCP", "udp": "UDP", "icmp": "ICMP"}
_PROTO_NUM = {"tcp": "6", "udp": "17", "icmp": "1"}
#: Seconds between the client's first packet and the server's (the reverse record's start).
_RTT = 0.02
#: Seconds after a flow's end at which the exporter sent it (inactive timeout).
_EXPORT_DELAY = 15.0
#: Seconds a flow may stay in the exporter's cache before it is exported and a new
#: record started (the active timeout). 1800 s is Cisco's default: "By default,
#: this timeout is 1800 seconds (30 minutes)" (``cache timeout active``, Cisco
#: Flexible NetFlow command reference, Catalyst 3650); the traditional NetFlow
#: ``ip flow-cache timeout active`` also defaults to 30 minutes with a 15 s
#: inactive timeout (Cisco Catalyst 4500 Software Configuration Guide
#: 12.2(25)SG, "Configuring NetFlow Aging Parameters"). Juniper's
#: ``flow-active-timeout`` defaults to 1800 s as well.
ACTIVE_TIMEOUT = 1800.0
_ROUTER = "10.255.0.1"
_MAC = "00:00:00:00:00:00"
# the 1.6 columns after ibyt that a v5/v9 exporter leaves at zero (opkt .. odmc .. exid)
_V16_MIDDLE = ",".join(
    ["0", "0"]  # opkt, obyt
    + ["{inp}", "{out}"]  # in, out
    + ["0"] * 6  # sas das smk dmk dtos dir
    + ["0.0.0.0", "0.0.0.0", "0", "0"]  # nh nhb svln dvln
    + [_MAC] * 4
    + ["0-0-0"] * 10
    + ["    0.000"] * 3  # cl sl al, printed "%9.3f"
    + [_ROUTER, "0/0", "1"]  # ra eng exid
)


class _Stamp:
    """nfdump's ``%Y-%m-%d %H:%M:%S`` of an epoch second, cached (times repeat)."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, second: int) -> str:
        s = self._cache.get(second)
        if s is None:
            s = self._cache[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return s


def _flags(
    proto: str, state: str, data: bool, closer: bool, first: bool = True, last: bool = True
) -> str:
    """nfdump's ``FlagsString`` (``CEUAPRSF``) for one direction of a connection
    (or of one piece of it: ``first`` has the SYN, ``last`` the FIN or RST)."""
    if proto != "tcp":
        return "........"
    rst = state in ("RSTO", "RSTR", "REJ") and closer and last
    fin = state in ("SF", "RSTO", "RSTR") and not rst and last
    syn = "S" if first else "."
    return "...A" + ("P" if data else ".") + ("R" if rst else ".") + syn + ("F" if fin else ".")


def _pieces(start: float, end: float, pkts: int) -> list[tuple[float, float, float]]:
    """(first, last, exported) of each record a flow from ``start`` to ``end``
    becomes under the active timeout (one piece when it is not longer)."""
    if end - start <= ACTIVE_TIMEOUT:
        return [(start, end, end + _EXPORT_DELAY)]
    gap = min(1.0, (end - start) / max(pkts, 1))  # the mean time between its packets
    out = []
    first = start
    while end - first > ACTIVE_TIMEOUT:
        expiry = first + ACTIVE_TIMEOUT
        out.append((first, expiry - gap / 2.0, expiry))
        first = expiry + gap / 2.0
    out.append((first, end, end + _EXPORT_DELAY))
    return out


def _shares(total: int, weights: list[float], floor: int) -> list[int]:
    """``total`` split in proportion to ``weights`` (each at least ``floor``), summing to it."""
    span = sum(weights) or 1.0
    cum = [0.0]
    for w in weights:
        cum.append(cum[-1] + w)
    cuts = [round(total * c / span) for c in cum]
    return [max(floor, b - a) for a, b in pairwise(cuts)]


def _split(
    rec: tuple[Any, ...], pieces: list[tuple[float, float, float]], proto: str, state: str,
    data: bool, closer: bool,
) -> Iterator[tuple[float, tuple[Any, ...]]]:  # fmt: skip
    """One direction's record cut into ``pieces`` (export time, fields)."""
    sa, sp, da, dp, _, pkts, byts = rec[2:9]
    weights = [b - a for a, b, _ in pieces]
    n = len(pieces)
    for k, ((a, b, exp), p, o) in enumerate(
        zip(pieces, _shares(pkts, weights, 1), _shares(byts, weights, 0), strict=True)
    ):
        flags = _flags(proto, state, data, closer, k == 0, k == n - 1)
        yield exp, (a, b, sa, sp, da, dp, proto, p, o, flags, rec[10], rec[11])


def _records(conn: LogFrame) -> Iterator[tuple[float, int, tuple[Any, ...]]]:
    """(export time, order, fields) of every one-way record: forward, then the reply."""
    c = conn.columns
    ts = conn.ts.tolist()
    dur = np.nan_to_num(c["duration"].astype(float), nan=0.0).tolist()
    cols = [c[k].tolist() for k in ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto")]
    state = c["conn_state"].tolist()
    ob, rb = c["orig_ip_bytes"].tolist(), c["resp_ip_bytes"].tolist()
    op, rp = c["orig_pkts"].tolist(), c["resp_pkts"].tolist()
    od, rd = c["orig_bytes"].tolist(), c["resp_bytes"].tolist()
    for i, (oh, opt, rh, rpt, proto) in enumerate(zip(*cols, strict=True)):
        start, end, st = ts[i], ts[i] + dur[i], state[i] or ""
        fwd = (start, end, oh, opt, rh, rpt, proto, max(op[i], 1), max(ob[i], 0),
               _flags(proto, st, od[i] > 0, st == "RSTO"), 1, 2)  # fmt: skip
        if end - start > ACTIVE_TIMEOUT:  # exported in pieces (active timeout)
            yield from _long(fwd, i, st, od[i] > 0, rp[i], rb[i], rd[i] > 0)
            continue
        yield end + _EXPORT_DELAY, 2 * i, fwd
        if rp[i] > 0:
            back = min(start + _RTT, end)
            rev = (back, end, rh, rpt, oh, opt, proto, rp[i], max(rb[i], 0),
                   _flags(proto, st, rd[i] > 0, st == "RSTR"), 2, 1)  # fmt: skip
            yield end + _EXPORT_DELAY, 2 * i + 1, rev


def _long(
    fwd: tuple[Any, ...], i: int, st: str, out_data: bool, rpkts: int, rbytes: int, in_data: bool
) -> Iterator[tuple[float, int, tuple[Any, ...]]]:
    """The records of a connection longer than the active timeout: the client's
    pieces, then (when the server answered) the server's, starting a moment later."""
    start, end, oh, opt, rh, rpt, proto = fwd[:7]
    for exp, rec in _split(fwd, _pieces(start, end, fwd[7]), proto, st, out_data, st == "RSTO"):
        yield exp, 2 * i, rec
    if rpkts > 0:
        back = min(start + _RTT, end)
        rev = (back, end, rh, rpt, oh, opt, proto, rpkts, max(rbytes, 0), "", 2, 1)
        for exp, rec in _split(rev, _pieces(back, end, rpkts), proto, st, in_data, st == "RSTR"):
            yield exp, 2 * i + 1, rec


def _ms(t: float) -> int:
    return round(t * 1000.0)


def _v16_line(r: tuple[Any, ...], exported: float, stamp: _Stamp) -> str:
    start, end, sa, sp, da, dp, proto, pkts, byts, flg, inp, out = r
    first, last, recv = _ms(start), _ms(end), _ms(exported)
    middle = _V16_MIDDLE.format(inp=inp, out=out)
    return (
        f"{stamp(first // 1000)},{stamp(last // 1000)},{(last - first) / 1000:.3f},{sa},{da},"
        f"{sp},{dp},{_PROTO_NAME.get(proto, proto)},{flg},0,0,{pkts},{byts},{middle},"
        f"{stamp(recv // 1000)}.{recv % 1000:03d}"
    )


def _v17_line(r: tuple[Any, ...], stamp: _Stamp) -> str:
    start, end, sa, sp, da, dp, proto, pkts, byts = r[:9]
    first, last = _ms(start), _ms(end)
    return (
        f"{stamp(first // 1000)}.{first % 1000:03d},{(last - first) / 1000:.3f},"
        f"{_PROTO_NUM.get(proto, proto)},{sa},{sp},{da},{dp},{pkts},{byts},1"
    )


def _summary(records: list[tuple[float, int, tuple[Any, ...]]]) -> str:
    """nfdump's CSV ``Summary`` block: flows, bytes, packets and the averages."""
    flows = len(records)
    byts = sum(r[2][8] for r in records)
    pkts = sum(r[2][7] for r in records)
    span = (max(r[2][1] for r in records) - min(r[2][0] for r in records)) if records else 0.0
    bps, pps = (int(byts * 8 / span), int(pkts / span)) if span > 0 else (0, 0)
    bpp = byts // pkts if pkts else 0
    totals = f"{flows},{byts},{pkts},{bps},{pps},{bpp}"
    return f"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n{totals}\n"


def render(
    frames: Mapping[str, LogFrame],
    world: World,
    out_dir: Path,
    span: tuple[float, float],
    *,
    layout: str = "1.6",
) -> list[Path]:
    """Write :data:`FILE_NAME` under ``out_dir`` in nfdump's ``layout`` (``1.6`` or ``1.7``)."""
    if layout not in ("1.6", "1.7"):
        raise ValueError(f"unknown nfdump layout {layout!r} (1.6 or 1.7)")
    records = sorted(_records(frames["conn"]), key=lambda r: (r[0], r[1]))
    stamp = _Stamp()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        if layout == "1.6":
            fh.write(V16_HEADER + "\n")
            fh.writelines(_v16_line(r, exported, stamp) + "\n" for exported, _, r in records)
            fh.write(_summary(records))
        else:
            fh.write(V17_HEADER + "\n")
            fh.writelines(_v17_line(r, stamp) + "\n" for _, _, r in records)
    return [path]
