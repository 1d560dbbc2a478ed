"""NetFlow / IPFIX flows exported by ``nfdump -o csv``, and generic flow CSV.

Layouts accepted (recognised by the first non-empty line):

* **nfdump 1.6** (``-o csv`` up to 1.6.x, fixed columns; the header comes from
  ``csv_prolog`` in nfdump's ``output_csv.c``)::

    ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,...,tr
    2026-11-03 08:00:00,2026-11-03 08:00:00,0.163,10.1.1.5,203.0.113.9,50000,443,TCP,...AP.SF,...

  Times ``YYYY-MM-DD HH:MM:SS``, with or without ``.mmm``; ``pr`` a name
  (``TCP``) or number. The trailing ``Summary`` block (``Summary`` /
  ``flows,bytes,packets,avg_bps,avg_pps,avg_bpp`` / totals) is recognised and
  ignored, and a header repeated further down (outputs appended to one file)
  resumes reading. Without a header (``nfdump -q -o csv``) a first line of
  the 48 columns above, starting with two such times, is read the same way.
* **nfdump 1.7 and later** (named columns from the ``csvHeader`` names of
  ``output_csv.c``; the predefined ``-o csv`` is ``%ts,%td,%pr,%sa,%sp,%da,%dp,%pkt,%byt,%fl``)::

    firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows
    2026-11-03 08:00:00.358,0.163,6,10.1.1.5,50000,203.0.113.9,443,4,1001,1

  Any ``-o csv:%...`` format naming ``firstSeen``, ``srcAddr``, ``srcPort``,
  ``dstAddr``, ``dstPort``, ``proto`` and ``bytes`` or ``inBytes`` is read;
  ``lastSeen``, ``duration``, ``outBytes``, ``flows`` and ``fwdStatus`` are used
  when present. ``firstSeen`` may be a date (``%ts``), epoch seconds
  (``%tsr``: ``1793692800.358``) or epoch milliseconds (``-o csv-fast``).
* **Generic flow CSV**: a header holding one name of each group below
  (case, ``-`` and spaces ignored), comma-separated (quoted cells allowed) or,
  as in AWS VPC Flow Logs files delivered to S3
  (``version account-id interface-id srcaddr dstaddr srcport dstport protocol
  packets bytes start end action log-status``), space-separated. Unknown
  headers are not guessed: a file lacking a required group is not claimed.

  ==============  ==========================================================
  start time *    start, start_time, timestamp, ts, first_seen, flow_start
  end time        end, end_time, last_seen, flow_end
  duration (s)    duration
  source *        src_ip, srcaddr, src_addr, source_ip, source_address
  destination *   dst_ip, dstaddr, dst_addr, destination_ip, destination_address
  source port *   src_port, srcport, sport, source_port
  dest. port *    dst_port, dstport, dport, destination_port
  protocol *      proto, protocol (a name or an IANA number)
  bytes forward * bytes_out, bytes, orig_bytes, src_bytes, bytes_sent
  bytes reverse   bytes_in, resp_bytes, dst_bytes, bytes_received
  action          action (accept, accepted, allow, allowed, permit, pass kept)
  status          log_status (only ``OK`` kept: VPC NODATA/SKIPDATA are not)
  ==============  ==========================================================

  (* required.) Times: ``YYYY-MM-DD HH:MM:SS[.f]``, ISO 8601 (``T``, ``Z`` or
  an offset) or epoch seconds (milliseconds when digits only and above 10^11).

Mapping to the connection row: ``ts`` = start of the originator's record;
``src_ip``/``src_port``/``dst_ip``/``dst_port``/``proto`` from the originator's
record; ``duration`` = last end of the pair - start (``td``/``duration``, or
end - start); ``bytes_out`` = originator's bytes (``ibyt``/``bytes``/
``inBytes``), ``bytes_in`` = responder's. NetFlow counts IP-layer octets
(headers included), so both are a few dozen bytes per packet larger than Zeek's
payload ``orig_bytes``/``resp_bytes``. ``service``, ``conn_state`` and every
name column stay empty: flow records carry no names (findings are keyed by
address, and named from DNS only if DNS logs are loaded alongside).

Direction. A record with reverse bytes (biflow: IPFIX RFC 5103 exporters, ASA
NSEL, nfdump ``obyt``/``outBytes`` above 0, or a generic ``bytes_in``
column) is one connection as written. Otherwise records are unidirectional
(NetFlow v5/v9): a TCP session is a client->server record and a
server->client record. Two records **pair** when one is the other's 5-tuple
reversed and their times overlap (start of each <= end of the other + 2 s).
The originator of a pair is, in order: (1) the side whose destination port is
below 1024 while its source port is not; (2) the record that started first;
(3) on equal starts (whole-second times), the side whose destination is the
lower port; (4) the record read first. A record left unpaired is a one-way
connection with ``bytes_in`` unknown, except a record from a port below 1024
to a port from 1024, which is a reply whose request was not seen: it is
stored turned round, with ``bytes_out`` unknown and its bytes as ``bytes_in``.

Memory. Pairing streams: a record waiting for its reverse is kept in a dict
keyed by the canonical 5-tuple (protocol and the two address:port ends,
ordered) and in a heap by end time. It is given up (stored one-way) once a
record starting more than 600 s (:data:`PAIR_WINDOW`) after its end has been
read: nfdump lists a file in export order and ``-M`` interleaves the 5-minute
files of several exporters, so a reverse record is rarely further away. Most
records pair at once; what is held is the unanswered records of the last ten
minutes of flow time, and never more than 200,000 records (:data:`MAX_PENDING`,
about 50 MB): beyond that the oldest ending are given up first. Input sorted
by start (``-O tstart``) pairs as well; input sorted by something else
(``-O bytes``) pairs only what falls close together.

Records that are not connections we use, counted with ``sink.skip``: ICMP and
ICMPv6 (no ports; their ``dp`` is type*256+code), other protocols than TCP and
UDP (GRE, ESP...), records dropped by the exporter (forwarding status 128-191,
RFC 7270), aggregated nfdump records (``flows`` > 1, from ``-a``), and in
generic CSV rows whose ``action`` is not an accept (VPC ``REJECT``) or whose
``log_status`` is not ``OK``. Malformed lines (wrong number of columns, an
unreadable time, address, port or count) are reported with file and line and
skipped; reading goes on.

Time zone. nfdump prints times with ``localtime()`` of the machine that ran
it, without a zone; they are read as **UTC**. Export with ``TZ=UTC nfdump ...``
(or use ``%tsr`` epoch times) when that machine is not on UTC. Epoch and ISO
8601 times with a zone are exact.

Known limits: flows a router split at its active timeout count as several
connections (as Zeek would not); duplicate exports of one flow (several
routers, ingress and egress) are not removed; ICMP beaconing is not hunted
from flows.

Equivalence (tests/ingest/test_reader_nfdump.py): a synthetic day hunted as Zeek
logs and as nfdump CSV reports every implant pair (source, destination IP,
port) in both; over seeds 3, 7, 11 and 21 the score differs by at most 0.013
(1.6: whole-second starts) and 0.012 (1.7); the test allows 0.05. The decision
can be milder: without DNS logs there is no ``dest.no_dns`` evidence, so a
direct-IP implant that Zeek escalates (rare-and-correlated) is monitored.

Read by DuckDB (:meth:`NfdumpReader.line_scan`, :mod:`beaconhunt.ingest.linescan`).
The loader runs one SQL statement per file, built from the header's layout:
cells are split with ``string_split`` (quoted lines with a CSV tokenising
regular expression); a line whose cells have the usual shape (ASCII digits,
dotted-quad addresses, ``YYYY-MM-DD hh:mm:ss`` times) takes a short cast path,
and any other line the checks of ``_Parser.flow`` in the same order, worded
as they word them. One-way records are paired as ``_Pairer`` pairs them, in
the file's order, by a ``list_reduce`` over each 5-tuple's records, so the
rows, skips and problems equal ``read()``'s (tests/ingest/test_nfdump_sql.py
reads every file both ways). A value only Python reads exactly (non-ASCII
digits, IPv6 text, an ISO time form the SQL does not know, too many records
waiting to pair) makes the statement fail with ``_PYTHON``, and the loader
reads that file with ``read()``. Measured (``python benchmarks/bench_readers.py
--formats nfdump``, 2026-12-03): 106k records/s against 51k in Python; the
bare DuckDB scan of the same bytes is 15 times faster still, so the per-cell
checks, not the line split, are where the time goes.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
import itertools
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from beaconhunt.errors import InputProblem
from beaconhunt.ingest.lines import BoundedText, LineGuard, current_limit
from beaconhunt.ingest.linescan import LineScan, LineScanResult
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.plausible import TS_MAX
from beaconhunt.ingest.readers._fields import IPV4_SQL, LARGEST_COUNT, address, show
from beaconhunt.ingest.sniff import is_gzip, open_text

__all__ = ["READER", "V16_COLUMNS", "V16_HEADER", "NfdumpReader", "layout_of"]

#: The header of ``nfdump -o csv`` 1.6.x (``csv_prolog`` in nfdump 1.6.18-1.6.23).
V16_HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,"
    "nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,"
    "mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
)
#: Its columns, in order (used when the header is absent: ``nfdump -q``).
V16_COLUMNS: tuple[str, ...] = tuple(V16_HEADER.split(","))

# role -> the header names that fill it, per layout (required roles: _REQUIRED)
_V16: dict[str, tuple[str, ...]] = {
    "ts": ("ts",), "te": ("te",), "td": ("td",), "src": ("sa",), "dst": ("da",),
    "sport": ("sp",), "dport": ("dp",), "proto": ("pr",), "fwd": ("ibyt",),
    "rev": ("obyt",), "fwd_status": ("fwd",),
}  # fmt: skip
_V17: dict[str, tuple[str, ...]] = {
    "ts": ("firstSeen",), "te": ("lastSeen",), "td": ("duration",), "src": ("srcAddr",),
    "dst": ("dstAddr",), "sport": ("srcPort",), "dport": ("dstPort",), "proto": ("proto",),
    "fwd": ("inBytes", "bytes"), "rev": ("outBytes",), "flows": ("flows",),
    "fwd_status": ("fwdStatus",),
}  # fmt: skip
_GENERIC: dict[str, tuple[str, ...]] = {
    "ts": ("start", "start_time", "timestamp", "ts", "first_seen", "flow_start"),
    "te": ("end", "end_time", "last_seen", "flow_end"),
    "td": ("duration",),
    "src": ("src_ip", "srcaddr", "src_addr", "source_ip", "source_address"),
    "dst": ("dst_ip", "dstaddr", "dst_addr", "destination_ip", "destination_address"),
    "sport": ("src_port", "srcport", "sport", "source_port"),
    "dport": ("dst_port", "dstport", "dport", "destination_port"),
    "proto": ("proto", "protocol"),
    "fwd": ("bytes_out", "bytes", "orig_bytes", "src_bytes", "bytes_sent"),
    "rev": ("bytes_in", "resp_bytes", "dst_bytes", "bytes_received"),
    "action": ("action",),
    "status": ("log_status",),
}
_REQUIRED = ("ts", "src", "dst", "sport", "dport", "proto", "fwd")
_ROLES = (*_REQUIRED, "te", "td", "rev", "flows", "fwd_status", "action", "status")

_PROTO = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
          "icmp6": "icmp", "ipv6-icmp": "icmp", "icmpv6": "icmp", "58": "icmp",
          "TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMP6": "icmp"}  # fmt: skip
_ACCEPT = frozenset({"accept", "accepted", "allow", "allowed", "permit", "permitted", "pass"})

#: Seconds of flow time a record waits for its reverse after it ended.
PAIR_WINDOW = 600.0
#: Two records of one connection overlap in time, give or take this (clock resolution).
PAIR_SLACK = 2.0
#: Most records held waiting for their reverse.
MAX_PENDING = 200_000
_CACHE = 65_536  # parsed times kept before the cache is cleared


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which column holds what (-1: absent) in one file's layout."""

    kind: str  # nfdump-1.6, nfdump-1.7, flow-csv
    header: str  # the header line as written ("" when headerless)
    width: int
    comma: bool  # comma-separated (else whitespace)
    cols: dict[str, int]

    def at(self, role: str) -> int:
        return self.cols.get(role, -1)


def _norm(name: str) -> str:
    return name.strip().strip('"').strip().lower().replace("-", "_").replace(" ", "_")


def _named(names: list[str], kind: str, table: dict[str, tuple[str, ...]], header: str,
           comma: bool) -> _Layout | None:  # fmt: skip
    """The layout if ``names`` has every required role of ``table``."""
    where = {n: i for i, n in reversed(list(enumerate(names)))}  # first occurrence wins
    cols: dict[str, int] = {}
    for role in _ROLES:
        i = next((where[n] for n in table.get(role, ()) if n in where), -1)
        if i >= 0:
            cols[role] = i
        elif role in _REQUIRED:
            return None
    return _Layout(kind, header, len(names), comma, cols)


def layout_of(first: str) -> _Layout | None:
    """The layout a file's first non-empty line announces, or None."""
    line = first.strip().lstrip("\ufeff")
    if not line or line[0] in "#{[<":
        return None
    if "," not in line:
        names = line.split()
        return _named([_norm(n) for n in names], "flow-csv", _GENERIC, line, False)
    names = [c.strip() for c in line.split(",")]
    if names[:8] == ["ts", "te", "td", "sa", "da", "sp", "dp", "pr"]:
        return _named(names, "nfdump-1.6", _V16, line, True)
    v17 = _named(names, "nfdump-1.7", _V17, line, True)
    if v17 is not None:
        return v17
    generic = _named([_norm(n) for n in names], "flow-csv", _GENERIC, line, True)
    return generic if generic is not None else _headerless(names)


def _headerless(cells: list[str]) -> _Layout | None:
    """``nfdump -q -o csv`` (1.6): no header, the 48 columns of :data:`V16_COLUMNS`."""
    if len(cells) != len(V16_COLUMNS) or not cells[7].isalnum():
        return None
    try:
        for cell in cells[:2]:
            _clock(cell, {})
    except ValueError:
        return None
    return _named(list(V16_COLUMNS), "nfdump-1.6", _V16, "", True)


# -- values -----------------------------------------------------------------------------------


def _clock(text: str, cache: dict[str, float]) -> float:
    """``YYYY-MM-DD HH:MM:SS[.fff]`` (space or ``T``) as epoch seconds, read as UTC."""
    t = text.strip()
    head = t[:19]
    base = cache.get(head)
    if base is None:
        if len(head) != 19 or head[4] != "-" or head[10] not in " T" or head[13] != ":":
            raise ValueError(f"unreadable time {show(text)}")
        try:
            when = datetime(int(head[:4]), int(head[5:7]), int(head[8:10]), int(head[11:13]),
                            int(head[14:16]), int(head[17:19]), tzinfo=UTC)  # fmt: skip
        except ValueError:
            raise ValueError(f"unreadable time {show(text)}") from None
        if len(cache) > _CACHE:
            cache.clear()
        base = cache[head] = when.timestamp()
    rest = t[19:]
    if not rest:
        return base
    if rest[0] != "." or not rest[1:].isdigit():
        raise ValueError(f"unreadable time {show(text)}")
    return base + float(rest)


def _epoch(text: str) -> float:
    """Epoch seconds (``1793692800.358``), or milliseconds when digits only and above 10^11."""
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        raise ValueError(f"unreadable time {show(text)}") from None
    if not 0 <= value < math.inf:  # negative, NaN or infinite
        raise ValueError(f"unreadable time {show(text)}")
    return value / 1000.0 if value > 1e11 and t.isdigit() else value


def _any_time(text: str, cache: dict[str, float]) -> float:
    """Any time a flow export writes: see the module docstring."""
    t = text.strip()
    if len(t) >= 19 and t[4:5] == "-":
        if len(t) == 19 or (t[19] == "." and t[20:].isdigit()):
            return _clock(t, cache)
        try:
            when = datetime.fromisoformat(t)
        except ValueError:
            raise ValueError(f"unreadable time {show(text)}") from None
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return _epoch(t)


def _int(text: str, what: str, top: int = LARGEST_COUNT) -> int:
    """A count or port: a whole number from 0 to ``top``."""
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"unreadable {what} {show(text)}") from None
    if not 0 <= n <= top:
        raise ValueError(f"{what} {show(text)} out of range")
    return n


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"unreadable duration {show(text)}") from None
    if not 0 <= value < math.inf:  # negative, NaN or infinite
        raise ValueError(f"unreadable duration {show(text)}")
    return value


def _proto(text: str) -> str | None:
    """tcp, udp or icmp; None for another protocol; ValueError when unreadable."""
    found = _PROTO.get(text)  # the usual spellings, as written
    if found is not None:
        return found
    t = text.strip().lower()
    found = _PROTO.get(t)
    if found is not None:
        return found
    if t and len(t) <= 16 and t.replace("-", "").isalnum():
        return None
    raise ValueError(f"unreadable protocol {show(text)}")


# -- records and pairing ----------------------------------------------------------------------


class _Flow:
    """One flow record (one direction unless ``rev`` is known)."""

    __slots__ = ("dport", "dst", "fwd", "paired", "proto", "rev", "sport", "src", "td", "te", "ts")

    def __init__(self, ts: float, td: float | None, src: str, sport: int, dst: str, dport: int,
                 proto: str, fwd: int, rev: int | None) -> None:  # fmt: skip
        self.ts, self.td, self.te = ts, td, ts + (td or 0.0)
        self.src, self.sport, self.dst, self.dport = src, sport, dst, dport
        self.proto, self.fwd, self.rev = proto, fwd, rev
        self.paired = False

    def key(self) -> tuple[str, tuple[str, int], tuple[str, int]]:
        a, b = (self.src, self.sport), (self.dst, self.dport)
        return (self.proto, a, b) if a <= b else (self.proto, b, a)


def _originator(a: _Flow, b: _Flow) -> tuple[_Flow, _Flow]:
    """(originator's record, responder's record) of a pair; ``a`` was read first."""
    if a.dport < 1024 <= a.sport:
        return a, b
    if a.sport < 1024 <= a.dport:
        return b, a
    if a.ts != b.ts:
        return (a, b) if a.ts < b.ts else (b, a)
    return (b, a) if a.sport < a.dport else (a, b)


def _emit(sink: FlowSink, f: _Flow, rev: int | None) -> None:
    sink.connection(f.ts, f.src, f.sport, f.dst, f.dport, f.proto,
                    duration=f.td, bytes_out=f.fwd, bytes_in=rev)  # fmt: skip


def _emit_one_way(sink: FlowSink, f: _Flow) -> None:
    """A record whose reverse never came: a lone reply is stored turned round."""
    if f.sport < 1024 <= f.dport:
        sink.connection(f.ts, f.dst, f.dport, f.src, f.sport, f.proto,
                        duration=f.td, bytes_out=None, bytes_in=f.fwd)  # fmt: skip
    else:
        _emit(sink, f, None)


class _Pairer:
    """Joins unidirectional records into connections with bounded memory (module docstring)."""

    def __init__(self, sink: FlowSink) -> None:
        self.sink = sink
        self.pending: dict[tuple[str, tuple[str, int], tuple[str, int]], list[_Flow]] = {}
        self.heap: list[tuple[float, int, _Flow]] = []
        self.seq = 0
        self.newest = float("-inf")

    def add(self, f: _Flow) -> None:
        key = f.key()
        waiting = self.pending.get(key)
        partner = self._partner(f, waiting) if waiting else None
        if partner is not None and waiting is not None:
            waiting.remove(partner)
            if not waiting:
                del self.pending[key]
            partner.paired = True
            orig, resp = _originator(partner, f)
            end = max(orig.te, resp.te)
            self.sink.connection(orig.ts, orig.src, orig.sport, orig.dst, orig.dport, orig.proto,
                                 duration=max(end - orig.ts, 0.0), bytes_out=orig.fwd,
                                 bytes_in=resp.fwd)  # fmt: skip
        else:
            self.pending.setdefault(key, []).append(f)
            self.seq += 1
            heapq.heappush(self.heap, (f.te, self.seq, f))
        if f.ts > self.newest:
            self.newest = f.ts
        heap = self.heap
        if heap and (heap[0][0] < self.newest - PAIR_WINDOW or len(heap) > MAX_PENDING):
            self._expire(self.newest - PAIR_WINDOW)

    @staticmethod
    def _partner(f: _Flow, waiting: list[_Flow]) -> _Flow | None:
        """The waiting record of the other direction overlapping ``f`` in time."""
        for other in waiting:
            if (other.src != f.src or other.sport != f.sport) and (
                other.ts <= f.te + PAIR_SLACK and f.ts <= other.te + PAIR_SLACK
            ):
                return other
        return None

    def _expire(self, before: float) -> None:
        heap = self.heap
        if len(heap) > MAX_PENDING:  # drop the paired records first, then give up the oldest
            heap[:] = [e for e in heap if not e[2].paired]
            heapq.heapify(heap)
        limit = MAX_PENDING if len(heap) <= MAX_PENDING else MAX_PENDING * 9 // 10
        while heap and (heap[0][0] < before or len(heap) > limit):
            f = heapq.heappop(heap)[2]
            if f.paired:
                continue
            key = f.key()
            waiting = self.pending[key]
            waiting.remove(f)
            if not waiting:
                del self.pending[key]
            _emit_one_way(self.sink, f)

    def finish(self) -> None:
        self._expire(math.inf)
        for _, _, f in self.heap:  # ends no float reaches (1e308 + 1e308): given up too
            if not f.paired:
                _emit_one_way(self.sink, f)
        self.heap.clear()
        self.pending.clear()


# -- the reader -------------------------------------------------------------------------------


class _Parser:
    """Turns the cells of one line into a :class:`_Flow` or a skip reason."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        self.times: dict[str, float] = {}
        c = layout.at
        self.ts, self.te, self.td = c("ts"), c("te"), c("td")
        self.src, self.dst, self.sport, self.dport = c("src"), c("dst"), c("sport"), c("dport")
        self.proto, self.fwd, self.rev = c("proto"), c("fwd"), c("rev")
        self.flows, self.fwd_status = c("flows"), c("fwd_status")
        self.action, self.status = c("action"), c("status")
        self.biflow_column = layout.kind == "flow-csv" and self.rev >= 0
        self.filters = max(self.flows, self.fwd_status, self.action, self.status) >= 0

    def flow(self, cells: list[str]) -> _Flow | str:
        skip = self._skip(cells) if self.filters else ""
        if skip:
            return skip
        proto = _proto(cells[self.proto])
        if proto is None:
            return "not tcp/udp"
        if proto == "icmp":
            return "icmp (no ports)"
        ts, td = self._times(cells)
        fwd = _int(cells[self.fwd], "bytes")
        rev = _int(cells[self.rev], "bytes") if self.rev >= 0 else None
        if not self.biflow_column and not rev:
            rev = None  # nfdump writes obyt 0 for unidirectional records
        src, dst = address(cells[self.src].strip()), address(cells[self.dst].strip())
        sport, dport = (
            _int(cells[self.sport], "port", 65535),
            _int(cells[self.dport], "port", 65535),
        )
        return _Flow(ts, td, src, sport, dst, dport, proto, fwd, rev)

    def _skip(self, cells: list[str]) -> str:
        """Why a well-formed record is not a connection we use ("" when it is)."""
        if self.status >= 0 and cells[self.status].strip().upper() != "OK":
            return "no data (log status)"
        if self.action >= 0 and cells[self.action].strip().lower() not in _ACCEPT:
            return "rejected or denied"
        if self.flows >= 0 and _int(cells[self.flows], "flow count") > 1:
            return "aggregated (flows > 1)"
        if self.fwd_status >= 0 and _int(cells[self.fwd_status], "forwarding status") >> 6 == 2:
            return "dropped (forwarding status)"
        return ""

    def _times(self, cells: list[str]) -> tuple[float, float | None]:
        """Start (epoch seconds) and duration (None when the layout has neither)."""
        kind = self.layout.kind
        if kind == "nfdump-1.6":
            ts = _clock(cells[self.ts], self.times)
        elif kind == "nfdump-1.7":
            first = cells[self.ts].strip()
            if first.startswith("0000-"):
                raise ValueError("no start time (0000-00-00)")
            ts = _clock(first, self.times) if first[4:5] == "-" else _epoch(first)
        else:
            ts = _any_time(cells[self.ts], self.times)
        if self.td >= 0:
            return ts, _seconds(cells[self.td])
        if self.te >= 0:
            last = cells[self.te].strip()
            end = _any_time(last, self.times) if kind != "nfdump-1.6" else _clock(last, self.times)
            return ts, max(end - ts, 0.0)
        return ts, None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-empty lines with their 1-based numbers, line ends removed."""
    with open_text(path) as fh:
        for n, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if n == 1:
                line = line.removeprefix("\ufeff")
            if line.strip():
                yield n, line


# -- read by DuckDB ---------------------------------------------------------------------------

#: What Python's ``str.isspace`` calls white space (``strip``, ``split`` and ``int`` use it).
_WS = (
    r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]"
)
_AWS = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"  # its ASCII part
#: Marks a problem whose value Python words (``show``): ``before`` M ``after`` M ``value``.
_SHOW = "\x01"
#: Raised by the SQL when a file holds something only the Python reader reads exactly:
#: the loader then reads that file in Python.
_PYTHON = "nfdump: read in Python"


def _strip(x: str) -> str:
    return f"regexp_replace({x}, '^{_WS}+|{_WS}+$', '', 'g')"


def _shown(before: str, value: str, after: str = "") -> str:
    """A problem message with ``value`` worded by :func:`show` (in :func:`_word`)."""
    return f"('{before}{_SHOW}{after}{_SHOW}' || {value})"


def _int_sql(x: str, top: int) -> str:
    """``_int``: a struct ``v`` (the number), ``e`` (NULL, 'u' unreadable, 'r' out of
    range, 'p' only Python can tell)."""
    s = _strip(x)
    bare = f"replace(replace(replace({s}, '_', ''), '+', ''), '-', '')"
    digits = f"ltrim({bare}, '0')"
    return f"""(CASE WHEN regexp_full_match({x}, '[0-9]{{1,18}}') THEN
        {{'v': CAST({x} AS BIGINT), 'e': CASE WHEN CAST({x} AS BIGINT) > {top} THEN 'r' END}}
      WHEN regexp_full_match({s}, '[+-]?[0-9](_?[0-9])*') THEN
        CASE WHEN length({bare}) > 4300 THEN {{'v': NULL::BIGINT, 'e': 'u'}}
             WHEN (starts_with({s}, '-') AND {digits} <> '') OR length({digits}) > 19
                  OR CAST('0' || {digits} AS HUGEINT) > {top} THEN {{'v': NULL::BIGINT, 'e': 'r'}}
             ELSE {{'v': CAST('0' || {digits} AS BIGINT), 'e': NULL}} END
      WHEN regexp_full_match({s}, '[+-]?[\\p{{Nd}}_]+') THEN {{'v': NULL::BIGINT, 'e': 'p'}}
      ELSE {{'v': NULL::BIGINT, 'e': 'u'}} END)"""


def _float_sql(x: str) -> str:
    """``float(x)`` from 0 to infinity (``_seconds``, ``_epoch``): struct ``v``, ``e``
    (NULL, 'u', 'p'); ``s`` the stripped text."""
    s = _strip(x)
    grammar = (r"[+-]?(([0-9](_?[0-9])*)(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)"
               r"([eE][+-]?[0-9](_?[0-9])*)?")  # fmt: skip
    v = f"TRY_CAST(replace({s}, '_', '') AS DOUBLE)"
    return f"""(CASE WHEN regexp_full_match({x}, '[0-9]{{1,15}}(\\.[0-9]{{1,15}})?') THEN
        {{'v': CAST({x} AS DOUBLE), 'e': NULL, 's': {x}}}
      WHEN regexp_full_match({s}, '{grammar}') THEN
        {{'v': {v}, 'e': CASE WHEN NOT coalesce({v} >= 0 AND isfinite({v}), false) THEN 'u' END,
          's': {s}}}
      WHEN regexp_matches({s}, '[^\\x00-\\x7f]')
           AND regexp_full_match({s}, '[+-]?[\\p{{Nd}}_.eE+-]+')
               THEN {{'v': NULL, 'e': 'p', 's': {s}}}
      ELSE {{'v': NULL, 'e': 'u', 's': {s}}} END)"""


def _ascii_int(x: str) -> str:
    return (f"(CASE WHEN regexp_full_match({x}, '{_AWS}*[+-]?[0-9](_?[0-9])*{_AWS}*') THEN"
            f" TRY_CAST(regexp_replace({x}, '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f _+]', '', 'g')"
            " AS INTEGER) END)")  # fmt: skip


def _civil(y: str, mo: str, d: str, h: str, mi: str, se: str) -> str:
    """Epoch seconds (BIGINT) of a valid date and time, NULL when Python's ``datetime``
    would refuse it."""
    leap = f"({y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0))"
    dim = (f"CASE WHEN {mo} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END"
           f" WHEN {mo} IN (4, 6, 9, 11) THEN 30 ELSE 31 END")  # fmt: skip
    ok = (
        f"{y} BETWEEN 1 AND 9999 AND {mo} BETWEEN 1 AND 12 AND {d} >= 1 AND {d} <= {dim}"
        f" AND {h} BETWEEN 0 AND 23 AND {mi} BETWEEN 0 AND 59 AND {se} BETWEEN 0 AND 59"
    )
    return (f"(CASE WHEN {ok} THEN (make_date({y}, {mo}, {d}) - DATE '1970-01-01') * 86400"
            f" + {h} * 3600 + {mi} * 60 + {se} END)")  # fmt: skip


def _clock_sql(x: str) -> str:
    """``_clock(x)``: struct ``v`` (epoch seconds), ``e`` (NULL, 'u', 'p')."""
    fast = (f"regexp_full_match({x}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[ T][0-9]{{2}}:[0-9]{{2}}"
            f":[0-9]{{2}}(\\.[0-9]{{1,15}})?')")  # fmt: skip

    def value(t: str) -> str:  # Python's int() of each part, any spacing and sign
        base = _civil(
            *(
                _ascii_int(f"substr({t}, {a}, {n})")
                for a, n in ((1, 4), (6, 2), (9, 2), (12, 2), (15, 2), (18, 2))
            )
        )
        return f"({base}::DOUBLE + coalesce(TRY_CAST(substr({t}, 20) AS DOUBLE), 0.0))"

    t = _strip(x)
    shape = (f"length({t}) >= 19 AND substr({t}, 5, 1) = '-' AND substr({t}, 11, 1) IN (' ', 'T')"
             f" AND substr({t}, 14, 1) = ':'")  # fmt: skip
    rest = f"substr({t}, 20)"

    def known(v: str) -> str:  # NULL: a date or time Python's datetime refuses ('u')
        return f"{{'v': {v}, 'e': NULL}}"

    ok = f"substr({x}, 12, 2) <= '23' AND substr({x}, 1, 4) <> '0000'"
    stamp = f"TRY_CAST(CASE WHEN {ok} THEN substr({x}, 1, 19) END AS TIMESTAMP)"
    quick = (
        f"((epoch_us({stamp}) // 1000000)::DOUBLE"
        f" + coalesce(TRY_CAST(substr({x}, 20) AS DOUBLE), 0.0))"
    )
    return f"""(CASE WHEN {fast} THEN {known(quick)}
      WHEN NOT ({shape}) THEN {{'v': NULL, 'e': 'u'}}
      WHEN regexp_matches({t}, '[^\\x00-\\x7f]') THEN {{'v': NULL, 'e': 'p'}}
      WHEN {rest} <> '' AND NOT regexp_full_match({rest}, '\\.[0-9]+') THEN {{'v': NULL, 'e': 'u'}}
      ELSE {known(value(t))} END)"""


def _iso_sql(t: str) -> str:
    """``datetime.fromisoformat(t)`` (``t`` stripped, not a ``_clock`` time) as epoch
    seconds: struct ``v``, ``e`` (NULL, 'u', 'p': a form this SQL does not read)."""
    full = (
        r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})"
        r"(?:[.,]([0-9]+))?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
    )

    def g(i: int) -> str:
        return f"regexp_extract({t}, '^{full}$', {i})"

    def num(i: int) -> str:
        return f"TRY_CAST(nullif({g(i)}, '') AS INTEGER)"

    z = g(8)
    secs = _civil(num(1), num(2), num(3), num(4), num(5), f"coalesce({num(6)}, 0)")
    oh = f"CASE WHEN {z} IN ('', 'Z') THEN 0 ELSE CAST(substr({z}, 2, 2) AS INTEGER) END"
    om = (
        f"CASE WHEN length(replace({z}, ':', '')) = 5 THEN CAST(right({z}, 2) AS INTEGER)"
        " ELSE 0 END"
    )
    sign = f"CASE WHEN starts_with({z}, '-') THEN -1 ELSE 1 END"
    utc = f"({secs} - ({oh} * 3600 + {om} * 60) * {sign})"
    us = f"CAST(rpad(substr({g(7)}, 1, 6), 6, '0') AS BIGINT)"
    return f"""(CASE WHEN NOT regexp_full_match({t}, '{full}') THEN {{'v': NULL, 'e': 'p'}}
        WHEN {secs} IS NULL OR {oh} > 23 OR {om} > 59 THEN {{'v': NULL, 'e': 'u'}}
        WHEN abs({utc}) > 9000000000 THEN {{'v': NULL, 'e': 'p'}}
        ELSE {{'v': ({utc} * 1000000 + {us})::DOUBLE / 1000000.0, 'e': NULL}} END)"""


_IPV4 = IPV4_SQL


def _proto_sql(x: str) -> str:
    """``_proto(x)``: struct ``v`` (tcp, udp, icmp), ``e`` (NULL, 'n' another protocol,
    'u' unreadable, 'p' only Python can tell)."""

    def lookup(t: str) -> str:
        groups: dict[str, list[str]] = {}
        for k, v in _PROTO.items():
            groups.setdefault(v, []).append(f"'{k}'")
        whens = " ".join(f"WHEN {t} IN ({', '.join(ks)}) THEN '{v}'" for v, ks in groups.items())
        return f"CASE {whens} END"

    low = f"lower({_strip(x)})"
    named = (
        f"({low} <> '' AND length({low}) <= 16"
        f" AND regexp_full_match({low}, '-*[a-z0-9][a-z0-9-]*'))"
    )
    return f"""(CASE WHEN {lookup(x)} IS NOT NULL THEN {{'v': {lookup(x)}, 'e': NULL}}
      WHEN regexp_matches({_strip(x)}, '[^\\x00-\\x7f]') THEN {{'v': NULL, 'e': 'p'}}
      WHEN {lookup(low)} IS NOT NULL THEN {{'v': {lookup(low)}, 'e': NULL}}
      WHEN {named} THEN {{'v': NULL, 'e': 'n'}}
      ELSE {{'v': NULL, 'e': 'u'}} END)"""


def _address_sql(x: str) -> str:
    """``address(x.strip())``: struct ``v`` (the canonical text), ``e`` (NULL, 'u', 'p':
    IPv6, canonical text Python's ``ipaddress`` gives), ``s`` (the stripped text)."""
    s = _strip(x)
    return f"""(CASE WHEN regexp_full_match({x}, '{_IPV4}') THEN {{'v': {x}, 'e': NULL, 's': {x}}}
      WHEN regexp_full_match({s}, '{_IPV4}') THEN {{'v': {s}, 'e': NULL, 's': {s}}}
      WHEN contains({s}, ':') THEN {{'v': NULL, 'e': 'p', 's': {s}}}
      ELSE {{'v': NULL, 'e': 'u', 's': {s}}} END)"""


def _cells_sql(layout: _Layout) -> str:
    """The cells of ``line`` as the Python reader splits it."""
    if not layout.comma:
        return f"string_split_regex({_strip('line')}, '{_WS}+')"
    # csv.reader (excel dialect) on one line: a field is quoted ("" a quote, what follows
    # the closing quote kept, an open quote running to the end of the line) or not
    token = r'("(?:[^"]|"")*(?:"[^,]*)?|[^,"][^,]*|),'
    unquote = (r"""CASE WHEN starts_with(t, '"') THEN replace(regexp_extract(t,"""
               r"""'^"((?:[^"]|"")*)(?:"(.*))?$', 1), '""', '"') || regexp_extract(t,"""
               r"""'^"((?:[^"]|"")*)(?:"(.*))?$', 2) ELSE t END""")  # fmt: skip
    return (
        f"CASE WHEN contains(line, '\"') THEN list_transform(regexp_extract_all(line || ',',"
        f" '{token}', 1), lambda t: {unquote}) ELSE string_split(line, ',') END"
    )


def _time_sql(layout: _Layout, x: str, role: str) -> tuple[str, str]:
    """The struct (``v``, ``e``) of a start (``role`` ts) or end time, and the text a
    problem shows."""
    if layout.kind == "nfdump-1.6":
        return _clock_sql(x), x if role == "ts" else _strip(x)
    t = _strip(x)
    if layout.kind == "nfdump-1.7" and role == "ts":
        clock, epoch = _clock_sql(t), _epoch_sql(t)
        return (f"(CASE WHEN substr({t}, 5, 1) = '-' THEN {clock} ELSE {epoch} END)", t)
    clockish = (
        f"length({t}) >= 19 AND substr({t}, 5, 1) = '-' AND (length({t}) = 19 OR"
        f" regexp_full_match(substr({t}, 20), '\\.[0-9]+'))"
    )
    iso = f"(length({t}) >= 19 AND substr({t}, 5, 1) = '-')"
    shown = f"(CASE WHEN {iso} AND NOT ({clockish}) THEN {x} ELSE {t} END)"
    return (
        f"(CASE WHEN {clockish} THEN {_clock_sql(t)} WHEN {iso} THEN {_iso_sql(t)}"
        f" ELSE {_epoch_sql(t)} END)",
        shown,
    )


def _epoch_sql(t: str) -> str:
    """``_epoch(t)``: struct ``v``, ``e`` (milliseconds when digits only and above 10^11)."""
    return (
        f"list_transform([{_float_sql(t)}], lambda x: CASE WHEN x.e IS NOT NULL THEN"
        " {'v': NULL, 'e': x.e} WHEN x.v > 1e11 AND regexp_full_match(x.s, '[0-9]+') THEN"
        " {'v': x.v / 1000.0, 'e': NULL} ELSE {'v': x.v, 'e': NULL} END)[1]"
    )


_CLOCK_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,15})?"
_DECIMAL_RE = r"[0-9]{1,15}(?:\.[0-9]{1,15})?"


def _fast_sql(layout: _Layout, skips: dict[str, int]) -> tuple[str, dict[str, str], str]:
    """The common line, read without the checks a damaged one needs: a condition on
    ``line`` (one regular expression over the used columns, the count of cells), the
    values (``q_ts``...) and the step (:func:`_scan_sql`) it stops at. A line it does
    not fit is read by the full checks."""
    if not layout.comma:
        null = {
            c: "NULL" for c in ("ts", "td", "src", "sport", "dst", "dport", "proto", "fwd", "rev")
        }
        null["sport"] = null["dport"] = "NULL::BIGINT"
        null["ts"] = "NULL::DOUBLE"
        return "false", null, "0"
    roles = {layout.at(r): r for r in _ROLES if layout.at(r) >= 0}
    protos = "|".join(sorted(_PROTO, key=len, reverse=True))
    times = _CLOCK_RE if layout.kind == "nfdump-1.6" else f"{_CLOCK_RE}|{_DECIMAL_RE}"
    pattern = {"ts": times, "te": times, "td": _DECIMAL_RE, "src": _IPV4, "dst": _IPV4,
               "sport": "[0-9]{1,5}", "dport": "[0-9]{1,5}", "proto": protos,
               "fwd": "[0-9]{1,18}", "rev": "[0-9]{1,18}", "flows": "[0-9]{1,18}",
               "fwd_status": "[0-9]{1,18}", "action": "[A-Za-z]{1,16}",
               "status": "[A-Za-z]{1,16}"}  # fmt: skip
    last = max(roles)
    parts = [f"(?:{pattern[roles[i]]})" if i in roles else '[^,"]*' for i in range(last + 1)]
    regex = "^" + ",".join(parts) + "(?:,|$)"
    fast = (
        f"(NOT quoted AND w = {layout.width} AND regexp_matches(line, '{regex}')"
        " AND NOT contains(line, '\ufffd'))"
    )

    def cell(role: str) -> str:
        return f"c[{layout.at(role) + 1}]"

    def when(role: str) -> str:
        x = cell(role)
        ok = f"substr({x}, 12, 2) <= '23' AND substr({x}, 1, 4) <> '0000'"
        clock = (
            f"((epoch_us(TRY_CAST(CASE WHEN {ok} THEN substr({x}, 1, 19) END AS TIMESTAMP))"
            f" // 1000000)::DOUBLE + coalesce(TRY_CAST(substr({x}, 20) AS DOUBLE), 0.0))"
        )
        if layout.kind == "nfdump-1.6":
            return clock
        epoch = (
            f"CASE WHEN TRY_CAST({x} AS DOUBLE) > 1e11 AND NOT contains({x}, '.')"
            f" THEN TRY_CAST({x} AS DOUBLE) / 1000.0 ELSE TRY_CAST({x} AS DOUBLE) END"
        )
        return f"CASE WHEN substr({x}, 5, 1) = '-' THEN {clock} ELSE {epoch} END"

    def count(role: str) -> str:
        return f"TRY_CAST({cell(role)} AS BIGINT)"

    groups: dict[str, list[str]] = {}
    for k, v in _PROTO.items():
        groups.setdefault(v, []).append(f"'{k}'")
    proto = (
        "CASE "
        + " ".join(
            f"WHEN {cell('proto')} IN ({', '.join(ks)}) THEN '{v}'" for v, ks in groups.items()
        )
        + " END"
    )
    quick = {"ts": when("ts")}
    if layout.at("td") >= 0:
        quick["td"] = f"TRY_CAST({cell('td')} AS DOUBLE)"
    elif layout.at("te") >= 0:
        quick["td"] = (
            f"CASE WHEN ({when('te')}) - q_ts < 0.0 THEN 0.0 ELSE ({when('te')}) - q_ts END"
        )
    else:
        quick["td"] = "NULL::DOUBLE"
    quick.update(
        src=cell("src"),
        sport=count("sport"),
        dst=cell("dst"),
        dport=count("dport"),
        proto=proto,
        fwd=count("fwd"),
    )
    if layout.at("rev") < 0:
        quick["rev"] = "NULL::BIGINT"
    elif layout.kind == "flow-csv":
        quick["rev"] = count("rev")
    else:
        quick["rev"] = f"CASE WHEN {count('rev')} <> 0 THEN {count('rev')} END"
    checks = []
    if layout.at("status") >= 0:
        checks.append((f"upper({cell('status')}) <> 'OK'", skips["no data (log status)"]))
    if layout.at("action") >= 0:
        words = ", ".join(f"'{w}'" for w in sorted(_ACCEPT))
        checks.append((f"lower({cell('action')}) NOT IN ({words})", skips["rejected or denied"]))
    if layout.at("flows") >= 0:
        checks.append((f"{count('flows')} > 1", skips["aggregated (flows > 1)"]))
    if layout.at("fwd_status") >= 0:
        checks.append((f"{count('fwd_status')} >> 6 = 2", skips["dropped (forwarding status)"]))
    checks.append(("q_proto = 'icmp'", skips["icmp (no ports)"]))
    step = "CASE " + " ".join(f"WHEN {c} THEN {i}" for c, i in checks) + " ELSE 0 END"
    return fast, quick, step


def _conn_sql(first: str, second: str, line: str) -> str:
    """The connection of a pair of records (``first`` read first: column prefixes), as
    ``_Pairer.add`` makes it (:func:`_originator`)."""

    def pick(name: str, orig: bool) -> str:
        a, b = f"{first}{name}", f"{second}{name}"
        o, r = (a, b) if orig else (b, a)
        return (
            f"CASE WHEN {first}dport < 1024 AND {first}sport >= 1024 THEN {o}"
            f" WHEN {first}sport < 1024 AND {first}dport >= 1024 THEN {r}"
            f" WHEN {first}ts <> {second}ts"
            f" THEN CASE WHEN {first}ts < {second}ts THEN {o} ELSE {r} END"
            f" WHEN {first}sport < {first}dport THEN {r} ELSE {o} END"
        )

    end = f"greatest({pick('te', True)}, {pick('te', False)}) - {pick('ts', True)}"
    return (
        f"{line} AS n, {pick('ts', True)} AS ts, {pick('src', True)} AS src,"
        f" {pick('sport', True)} AS sport, {pick('dst', True)} AS dst,"
        f" {pick('dport', True)} AS dport, proto,"
        f" CASE WHEN {end} < 0.0 THEN 0.0 ELSE {end} END AS td,"
        f" {pick('fwd', True)} AS fwd, {pick('fwd', False)} AS rev,"
        f" {pick('blk', True)} AS ob, {pick('blk', False)} AS rb"
    )


def _scan_sql(layout: _Layout) -> str:
    """The select over ``lines`` that reads a file of ``layout`` (module docstring,
    "Read by DuckDB"). Parameters: the header line, the first line as read, its number,
    csv's field size limit. Column positions come from the layout (numbers), never text."""

    def cell(role: str) -> str:
        return f"c[{layout.at(role) + 1}]"

    # the checks of _Parser.flow, in its order: (kind, condition, problem or skip)
    steps: list[tuple[str, str, str]] = []

    def whole(role: str, what: str, top: int) -> None:
        steps.append(("py", f"{role}.e = 'p'", ""))
        steps.append(("problem", f"{role}.e = 'u'", _shown(f"unreadable {what} ", cell(role))))
        steps.append(
            ("problem", f"{role}.e = 'r'", _shown(f"{what} ", cell(role), " out of range"))
        )

    parsed: dict[str, str] = {}
    # a line read again with bytes that were not UTF-8 is parsed alone: without the
    # lines before it (summary state, pairing), only the Python reader reads it right
    steps.append(("py", "contains(line, '\ufffd')", ""))
    if layout.comma:
        steps.append(
            (
                "problem",
                "csv_error",
                "'unreadable CSV line: field larger than field limit (' || $4 || ')'",
            )
        )
    steps.append(
        ("problem", f"w <> {layout.width}", f"w || ' fields where the header has {layout.width}'")
    )
    if layout.at("status") >= 0:
        ok = (
            f"(upper({_strip(cell('status'))}) = 'OK'"
            f" AND NOT regexp_matches({cell('status')}, '[^\\x00-\\x7f]'))"
        )
        steps.append(("skip", f"NOT {ok}", "no data (log status)"))
    if layout.at("action") >= 0:
        words = ", ".join(f"'{w}'" for w in sorted(_ACCEPT))
        ok = (
            f"(lower({_strip(cell('action'))}) IN ({words})"
            f" AND NOT regexp_matches({cell('action')}, '[^\\x00-\\x7f]'))"
        )
        steps.append(("skip", f"NOT {ok}", "rejected or denied"))
    if layout.at("flows") >= 0:
        parsed["flows"] = _int_sql(cell("flows"), LARGEST_COUNT)
        whole("flows", "flow count", LARGEST_COUNT)
        steps.append(("skip", "flows.v > 1", "aggregated (flows > 1)"))
    if layout.at("fwd_status") >= 0:
        parsed["fwd_status"] = _int_sql(cell("fwd_status"), LARGEST_COUNT)
        whole("fwd_status", "forwarding status", LARGEST_COUNT)
        steps.append(("skip", "fwd_status.v >> 6 = 2", "dropped (forwarding status)"))
    parsed["proto"] = _proto_sql(cell("proto"))
    steps.append(("py", "proto.e = 'p'", ""))
    steps.append(("skip", "proto.e = 'n'", "not tcp/udp"))
    steps.append(("problem", "proto.e = 'u'", _shown("unreadable protocol ", cell("proto"))))
    steps.append(("skip", "proto.v = 'icmp'", "icmp (no ports)"))
    if layout.kind == "nfdump-1.7":
        steps.append(
            (
                "problem",
                f"starts_with({_strip(cell('ts'))}, '0000-')",
                "'no start time (0000-00-00)'",
            )
        )
    parsed["t0"], shown = _time_sql(layout, cell("ts"), "ts")
    steps.append(("py", "t0.e = 'p'", ""))
    steps.append(("problem", "t0.e = 'u' OR t0.v IS NULL", _shown("unreadable time ", shown)))
    if layout.at("td") >= 0:
        parsed["t1"] = _float_sql(cell("td"))
        steps.append(("py", "t1.e = 'p'", ""))
        steps.append(("problem", "t1.e = 'u'", _shown("unreadable duration ", cell("td"))))
    elif layout.at("te") >= 0:
        parsed["t1"], shown = _time_sql(layout, _strip(cell("te")), "te")
        steps.append(("py", "t1.e = 'p'", ""))
        steps.append(("problem", "t1.e = 'u' OR t1.v IS NULL", _shown("unreadable time ", shown)))
    parsed["fwd"] = _int_sql(cell("fwd"), LARGEST_COUNT)
    whole("fwd", "bytes", LARGEST_COUNT)
    if layout.at("rev") >= 0:
        parsed["rev"] = _int_sql(cell("rev"), LARGEST_COUNT)
        whole("rev", "bytes", LARGEST_COUNT)
    for role in ("src", "dst"):
        parsed[role] = _address_sql(cell(role))
        steps.append(("py", f"{role}.e = 'p'", ""))
        steps.append(("problem", f"{role}.e = 'u'", _shown("not an IP address: ", f"{role}.s")))
    for role in ("sport", "dport"):
        parsed[role] = _int_sql(cell(role), 65535)
        whole(role, "port", 65535)

    # the first check that fails (0: none), then what it makes of the line
    step = "CASE " + " ".join(f"WHEN {cond} THEN {i}" for i, (_, cond, _) in enumerate(steps, 1))
    step += " ELSE 0 END"
    at = {msg: i for i, (k, _, msg) in enumerate(steps, 1) if k == "skip"}
    fast, quick, quick_step = _fast_sql(layout, at)
    kinds = ", ".join(f"'{k}'" for k, _, _ in steps)
    kind = f"CASE WHEN st = 0 THEN 'rec' ELSE [{kinds}][st] END"
    problem = (
        "CASE st "
        + " ".join(
            f"WHEN {i} THEN {msg}" for i, (k, _, msg) in enumerate(steps, 1) if k == "problem"
        )
        + " END"
    )
    skip = (
        "CASE st "
        + " ".join(
            f"WHEN {i} THEN '{msg}'" for i, (k, _, msg) in enumerate(steps, 1) if k == "skip"
        )
        + " END"
    )
    if layout.at("td") >= 0:
        td = "t1.v"
    elif layout.at("te") >= 0:
        td = "CASE WHEN t1.v - t0.v < 0.0 THEN 0.0 ELSE t1.v - t0.v END"
    else:
        td = "NULL::DOUBLE"
    if layout.at("rev") < 0:
        rev = "NULL::BIGINT"
    elif layout.kind == "flow-csv":
        rev = "rev.v"
    else:
        rev = "CASE WHEN rev.v <> 0 THEN rev.v END"  # nfdump writes obyt 0 one way
    csv_error = (
        "quoted AND list_bool_or(list_transform(c, lambda v: length(v) > $4))"
        if layout.comma
        else "false"
    )
    parsed = {"csv_error": csv_error, **parsed}
    slow = ", ".join(f"'{name}': {expr}" for name, expr in parsed.items())
    unpack = ", ".join(f"sl.{name} AS {name}" for name in parsed)
    outs = {
        "ts": "t0.v",
        "td": td,
        "src": "src.v",
        "sport": "sport.v",
        "dst": "dst.v",
        "dport": "dport.v",
        "proto": "proto.v",
        "fwd": "fwd.v",
        "rev": rev,
    }
    cols = ", ".join(f"CASE WHEN fast THEN q_{c} ELSE {e} END AS {c}" for c, e in outs.items())
    quick_cols = ", ".join(f"{e} AS q_{c}" for c, e in quick.items())
    return f"""
WITH a AS MATERIALIZED (
  SELECT n, mk, k, problem, skip, {cols}
  FROM (SELECT *, {kind} AS k, {problem} AS problem, {skip} AS skip
  FROM (SELECT *, CASE WHEN fast THEN {quick_step} ELSE {step} END AS st
  FROM (SELECT *, {unpack}
  FROM (SELECT *, CASE WHEN NOT fast THEN {{{slow}}} END AS sl
  FROM (SELECT *, {fast} AND q_ts IS NOT NULL AND q_sport <= 65535 AND q_dport <= 65535 AS fast
  FROM (SELECT n, mk, c, w, quoted, line, {quick_cols}
  FROM (SELECT n, mk, c, len(c) AS w, quoted, line
  FROM (SELECT n, mk, line, {_cells_sql(layout)} AS c, contains(line, '"') AS quoted FROM (
          SELECT n, line, CASE WHEN line = $1 THEN 'h' WHEN line = 'Summary' THEN 's' END AS mk
          FROM (SELECT n, CASE WHEN n = 1 THEN regexp_replace(line, '^\\x{{feff}}', '')
              ELSE line END AS line
                FROM lines WHERE line IS NOT NULL)
          WHERE NOT regexp_full_match(line, '{_WS}*') AND NOT (n = $3 AND line = $2))))))))))
  ),
rng AS (
  SELECT s.n AS lo, coalesce(min(h.n), 9223372036854775807) AS hi
  FROM a s LEFT JOIN a h ON h.mk = 'h' AND h.n > s.n WHERE s.mk = 's' GROUP BY s.n
),
d AS (
  SELECT * FROM a WHERE mk IS NULL
      AND NOT EXISTS (SELECT 1 FROM rng WHERE a.n > rng.lo AND a.n < rng.hi)
),
p AS MATERIALIZED (
  SELECT n, n // 64 AS blk, ts, td, ts + coalesce(td, 0.0) AS te, src, sport, dst, dport, proto,
         fwd, fore,
         CASE WHEN fore THEN src ELSE dst END AS k1, CASE WHEN fore THEN sport ELSE dport END AS k2,
         CASE WHEN fore THEN dst ELSE src END AS k3, CASE WHEN fore THEN dport ELSE sport END AS k4
  FROM (SELECT *, src < dst OR (src = dst AND sport <= dport) AS fore
        FROM d WHERE k = 'rec' AND rev IS NULL)
),
bl AS MATERIALIZED (  -- per block of 64 lines: the newest start before it (lo), up to its end (hi)
  SELECT blk, coalesce(max(top) OVER (ORDER BY blk
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                       '-inf'::DOUBLE) AS lo,
         max(top) OVER (ORDER BY blk ROWS UNBOUNDED PRECEDING) AS hi
  FROM (SELECT blk, max(ts) AS top FROM p GROUP BY blk)
),
g AS MATERIALIZED (
  SELECT proto, k1, k2, k3, k4, count(*) AS c, min(n) AS n1, max(n) AS n2
  FROM p GROUP BY proto, k1, k2, k3, k4
),
two AS MATERIALIZED (  -- the usual connection: two records of one 5-tuple
  SELECT a.n AS a_n, a.blk AS a_blk, a.ts AS a_ts, a.td AS a_td, a.te AS a_te, a.src AS a_src,
         a.sport AS a_sport, a.dst AS a_dst, a.dport AS a_dport, a.fwd AS a_fwd,
         b.n AS b_n, b.blk AS b_blk, b.ts AS b_ts, b.td AS b_td, b.te AS b_te, b.src AS b_src,
         b.sport AS b_sport, b.dst AS b_dst, b.dport AS b_dport, b.fwd AS b_fwd, g.proto,
         a.fore <> b.fore AND a.ts <= b.te + 2.0 AND b.ts <= a.te + 2.0 AS meet,
         a.te >= bl.hi - 600.0 AS alive, a.te < bl.lo - 600.0 AS dead, bl.lo
  FROM g JOIN p a ON a.n = g.n1 JOIN p b ON b.n = g.n2 JOIN bl ON bl.blk = b.blk
  WHERE g.c = 2
),
many AS MATERIALIZED (
  SELECT p.*, bl.lo, bl.hi FROM p SEMI JOIN (SELECT proto, k1, k2, k3, k4 FROM g WHERE c > 2) m
    USING (proto, k1, k2, k3, k4) JOIN bl USING (blk)
),
unsure AS (  -- records whose newest earlier start the block bounds do not settle
  SELECT b_n AS n, b_blk AS blk, lo FROM two WHERE meet AND NOT alive AND NOT dead
  UNION ALL
  SELECT x.n, x.blk, x.lo FROM many x SEMI JOIN many y
    ON x.proto = y.proto AND x.k1 = y.k1 AND x.k2 = y.k2 AND x.k3 = y.k3 AND x.k4 = y.k4
       AND y.n < x.n AND y.te >= x.lo - 600.0 AND y.te < x.hi - 600.0
),
exact AS MATERIALIZED (
  SELECT u.n, greatest(any_value(u.lo), coalesce(max(p.ts), '-inf'::DOUBLE)) AS pm
  FROM unsure u LEFT JOIN p ON p.blk = u.blk AND p.n < u.n GROUP BY u.n
),
paired AS MATERIALIZED (
  SELECT t.* FROM two t LEFT JOIN exact e ON e.n = t.b_n
  WHERE t.meet AND (t.alive OR (NOT t.dead AND t.a_te >= e.pm - 600.0))
),
mt AS MATERIALIZED (
  SELECT unnest(list_reduce(r, lambda acc, x:
      CASE WHEN len(list_filter(acc.w, lambda y: {_OK})) > 0
      THEN {{'w': list_filter(acc.w,
          lambda y: y.n <> list_filter(acc.w, lambda z: {_OK.replace("y.", "z.")})[1].n),
            'm': list_append(acc.m,
                {{'f': x, 'p': list_filter(acc.w, lambda z: {_OK.replace("y.", "z.")})[1]}})}}
      ELSE {{'w': list_append(list_filter(acc.w, lambda y: y.te >= x.pm - 600.0), x),
          'm': acc.m}} END,
      {{'w': list_filter(r, lambda y: false),
          'm': list_transform(list_filter(r, lambda y: false), lambda y: {{'f': y, 'p': y}})}}
    ).m) AS m, proto
  FROM (SELECT proto, list({{'n': n, 'd': fore, 'ts': ts, 'td': td, 'te': te, 'blk': blk,
                             'src': src, 'sport': sport, 'dst': dst, 'dport': dport, 'fwd': fwd,
                             'pm': coalesce(e.pm, m.hi)}} ORDER BY n) AS r
        FROM many m LEFT JOIN exact e USING (n) GROUP BY proto, k1, k2, k3, k4)
),
conn AS MATERIALIZED (
  SELECT {_conn_sql("a_", "b_", "b_n")} FROM paired
  UNION ALL
  SELECT {_conn_sql("m.p.", "m.f.", "m.f.n")} FROM mt
),
lone AS MATERIALIZED (
  SELECT n, blk, ts, td, te, src, sport, dst, dport, proto, fwd FROM p
  SEMI JOIN (SELECT n1 AS n FROM g WHERE c = 1) USING (n)
  UNION ALL
  SELECT a_n, a_blk, a_ts, a_td, a_te, a_src, a_sport, a_dst, a_dport, proto, a_fwd
  FROM two ANTI JOIN paired USING (a_n)
  UNION ALL
  SELECT b_n, b_blk, b_ts, b_td, b_te, b_src, b_sport, b_dst, b_dport, proto, b_fwd
  FROM two ANTI JOIN paired USING (a_n)
  UNION ALL
  SELECT n, blk, ts, td, te, src, sport, dst, dport, proto, fwd FROM many
  ANTI JOIN (SELECT m.f.n AS n FROM mt UNION ALL SELECT m.p.n FROM mt) USING (n)
),
ends AS (SELECT lo - 600.0 AS lim, blk FROM bl),
gone AS (
  SELECT l.blk, greatest(e.blk, l.blk) AS last FROM lone l ASOF LEFT JOIN ends e ON l.te < e.lim
),
busy AS (  -- at most this many records wait unanswered at once (by blocks: a bound)
  SELECT max(c) AS most FROM (
    SELECT sum(d) OVER (ORDER BY b ROWS UNBOUNDED PRECEDING) AS c FROM (
      SELECT b, sum(d) AS d FROM (
        SELECT least(ob, rb) AS b, 1 AS d FROM conn
            UNION ALL SELECT greatest(ob, rb) + 1, -1 FROM conn
        UNION ALL SELECT blk, 1 FROM gone
            UNION ALL SELECT last + 1, -1 FROM gone WHERE last IS NOT NULL)
      GROUP BY b))
)
SELECT n, NULL::DOUBLE AS ts, NULL AS src_ip, NULL::BIGINT AS src_port, NULL AS dst_ip,
       NULL::BIGINT AS dst_port, NULL AS proto, NULL::DOUBLE AS duration, NULL::BIGINT AS bytes_out,
       NULL::BIGINT AS bytes_in, skip, problem,
       CASE WHEN k = 'py' THEN error('{_PYTHON}') END AS python
FROM d WHERE k IN ('problem', 'skip', 'py')
UNION ALL
SELECT n, ts, src, sport, dst, dport, proto, td, fwd, rev, NULL, NULL, NULL
FROM d WHERE k = 'rec' AND rev IS NOT NULL
UNION ALL
SELECT n, ts, src, sport, dst, dport, proto, td, fwd, rev, NULL, NULL, NULL FROM conn
UNION ALL
SELECT n, ts,
       CASE WHEN sport < 1024 AND dport >= 1024 THEN dst ELSE src END,
       CASE WHEN sport < 1024 AND dport >= 1024 THEN dport ELSE sport END,
       CASE WHEN sport < 1024 AND dport >= 1024 THEN src ELSE dst END,
       CASE WHEN sport < 1024 AND dport >= 1024 THEN sport ELSE dport END,
       proto, td,
       CASE WHEN sport < 1024 AND dport >= 1024 THEN NULL ELSE fwd END,
       CASE WHEN sport < 1024 AND dport >= 1024 THEN fwd END, NULL, NULL,
       CASE WHEN NOT (ts BETWEEN 0 AND {TS_MAX}) THEN error('{_PYTHON}') END
FROM lone
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, error('{_PYTHON}')
FROM (SELECT 1) WHERE (SELECT most FROM busy) > {MAX_PENDING}
"""


#: A waiting record ``y`` the record ``x`` pairs with (``_Pairer._partner``), alive (not
#: given up before ``x`` was read)
_OK = "y.d <> x.d AND y.ts <= x.te + 2.0 AND x.ts <= y.te + 2.0 AND y.te >= x.pm - 600.0"


def _word(result: LineScanResult) -> list[InputProblem]:
    """Word the problems whose value the SQL left to :func:`show` (``_SHOW``)."""
    for i, p in enumerate(result.problems):
        if _SHOW in p.message:
            before, after, value = p.message.split(_SHOW, 2)
            result.problems[i] = InputProblem(
                p.file, p.line, before + show(value) + after, p.skipped
            )
    return []


def _head_line(path: Path) -> tuple[int, str] | None:
    """The first non-empty line as :func:`_lines` reads it (a too-long one is not told
    to the load's guard: the scan tells it)."""
    raw: IO[str]
    if is_gzip(path):
        raw = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")  # noqa: SIM115
    else:
        raw = path.open("r", encoding="utf-8", errors="replace")
    with BoundedText(raw, str(path), LineGuard(current_limit())) as fh:
        for n, text in enumerate(fh, start=1):
            line = text.rstrip("\r\n")
            if n == 1:
                line = line.removeprefix("\ufeff")
            if line.strip():
                return n, line
    return None


class NfdumpReader(NetworkReader):
    """NetFlow/IPFIX from ``nfdump -o csv`` (1.6 and 1.7+ layouts) and generic flow CSV."""

    name = "nfdump"
    description = (
        "NetFlow/IPFIX as `nfdump -o csv` (1.6 `ts,te,td,sa,da,...` and 1.7+ named columns)"
        " and generic flow CSV (AWS VPC Flow Logs); one-way records paired into connections"
    )

    def detect(self, head: str, path: Path) -> bool:
        first = next((ln for ln in head.splitlines() if ln.strip()), "")
        return layout_of(first) is not None

    def line_scan(self, path: Path) -> LineScan | None:
        """The SQL of ``path``'s layout (module docstring, "Read by DuckDB"); None for a
        file without records or a layout, which Python reads as fast."""
        try:
            first = _head_line(path)
        except (OSError, EOFError, zlib.error):
            return None
        layout = layout_of(first[1]) if first is not None else None
        if first is None or layout is None:
            return None
        n, line = first if layout.header else (-1, "")
        values = (layout.header, line, n, csv.field_size_limit())
        params: list[object] = []

        def bind(m: re.Match[str]) -> str:  # DuckDB's parameters are ``?``, in text order
            params.append(values[int(m.group(1)) - 1])
            return "?"

        select = re.sub(r"\$([1-4])\b", bind, _scan_sql(layout))
        return LineScan(select, tuple(params), notes=_word)

    def read(self, path: Path, sink: FlowSink) -> None:
        lines = _lines(path)
        first = next(lines, None)
        if first is None:
            return
        layout = layout_of(first[1])
        if layout is None:
            sink.problem(first[0], "not an nfdump or flow CSV header")
            return
        parser, pairer = _Parser(layout), _Pairer(sink)
        data = lines if layout.header else itertools.chain([first], lines)
        header, width, comma = layout.header, layout.width, layout.comma
        flow, add, summary = parser.flow, pairer.add, False
        for n, line in data:
            if line == header:  # repeated header: appended outputs
                summary = False
                continue
            if summary or line == "Summary":
                summary = True  # nfdump's trailing totals: not flows
                continue
            if not comma:
                cells = line.split()
            else:
                try:
                    cells = line.split(",") if '"' not in line else next(csv.reader([line]))
                except csv.Error as exc:  # a quoted cell longer than csv's field limit
                    sink.problem(n, f"unreadable CSV line: {exc}")
                    continue
            if len(cells) != width:
                sink.problem(n, f"{len(cells)} fields where the header has {width}")
                continue
            try:
                got = flow(cells)
            except ValueError as exc:
                sink.problem(n, str(exc))
                continue
            if isinstance(got, str):
                sink.skip(got)
            elif got.rev is not None:
                _emit(sink, got, got.rev)
            else:
                add(got)
        pairer.finish()


READER = NfdumpReader()
