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
"""

from __future__ import annotations

import csv
import heapq
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import LARGEST_COUNT, address, show
from beaconhunt.ingest.sniff import open_text

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
