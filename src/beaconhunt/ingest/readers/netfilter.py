"""Linux netfilter packet logs: iptables/nftables ``LOG`` rules and ``ufw``, as kernel log lines.

What the kernel writes for a logged packet (``nf_log_syslog``): the rule's
log prefix, then ``IN= OUT= [MAC=] SRC= DST= LEN= ... PROTO= SPT= DPT= ...``
and, for TCP, the set flags as words (``SYN``, ``ACK``...). Syslog or the
journal adds a time and the host. Layouts accepted (see
tests/fixtures/netfilter/README.txt)::

    Nov  3 08:00:01 gw-01 kernel: [12345.678901] [UFW ALLOW] IN=eth1 OUT=eth0 MAC=...
        SRC=10.1.1.5 DST=203.0.113.9 LEN=52 TOS=0x00 PREC=0x00 TTL=127 ID=4321 DF PROTO=TCP
        SPT=50000 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0       (BSD syslog: kern.log, messages)
    2026-11-03T08:00:01.123456+00:00 gw-01 kernel: [UFW ALLOW] IN=... (rsyslog RFC 3339)
    2026-11-03T08:00:01+0000 gw-01 kernel: FW-ACCEPT IN=...      (journalctl -o short-iso[-precise])
    Nov 03 08:00:01 gw-01 kernel: ...                            (journalctl, default short)
    1793692801.123456 gw-01 kernel: ...                          (journalctl -o short-unix)
    <4>1 2026-11-03T08:00:01.123Z gw-01 kernel - - - [UFW ALLOW] IN=...   (RFC 5424, forwarded)

A ``<PRI>`` in front (a forwarded message) is allowed. Lines without the
netfilter fields (every other kernel or syslog message in the same file,
journalctl's ``-- Boot ... --`` lines) are skipped and counted, so a whole
``/var/log/syslog`` can be given.

What counts as a connection. The log prefix is chosen by whoever wrote the
rule, so it is read for words, case-insensitive: a prefix holding one of
:data:`BLOCK_WORDS` (``BLOCK``, ``DROP``, ``REJECT``, ``DENY``) is a blocked
packet, skipped; otherwise one holding one of :data:`ALLOW_WORDS` (``ALLOW``,
``ACCEPT``) is an allowed one; anything else is skipped, notably ufw's
``[UFW AUDIT]``, written at its higher logging levels for new connections that
are then logged again as ``[UFW ALLOW]`` or ``[UFW BLOCK]`` (``[UFW LIMIT
BLOCK]`` is a block). Of the allowed packets, a **connection start** is a TCP
packet with ``SYN`` and without ``ACK``, and each UDP or ICMP packet (ufw's
rules added with ``log`` and the usual ``-m conntrack --ctstate NEW -j LOG``
rules log only the first packet of a flow; ``log-all`` and rules that log
every packet count UDP and ICMP once per packet). Also
skipped and counted: packets that arrived for the logging host itself (``IN=``
set and ``OUT=`` empty: inbound), TCP packets that do not open a connection,
and protocols other than TCP, UDP and ICMP. Packets the host sent (``OUT=``
only) and packets it forwarded (both set: a gateway) are kept. A line with the
netfilter fields whose time, address, port or protocol is missing or unreadable
is reported with file and line; reading goes on.

Mapping to the connection row: ``ts`` = the line's time; ``src_ip``/``dst_ip``
= ``SRC``/``DST`` (the first ones: an ICMP error quotes another packet's
header in brackets after them), ``src_port``/``dst_port`` = ``SPT``/``DPT`` (for
ICMP: ``TYPE``/``CODE``, as in Zeek), ``proto`` = ``PROTO``. A packet log has
**no byte counts and no duration** (``LEN`` is one packet's length): they stay
empty and the size sub-score of a pair is neutral. ``src_host`` stays empty:
the syslog host is the machine that logged the packet (a gateway forwarding
for many), not necessarily its source; no names either (findings are keyed by
address, named from DNS only if DNS logs are loaded alongside).

Time. ISO 8601 times with a zone are exact; without a zone, and BSD syslog
times (``Nov  3 08:00:01``, which have none), are read as **UTC**: set the
logging host to UTC or expect findings' times to be shifted by its offset
(periods and scores do not change). BSD times also have no year: it is the
year of the file's modification time, or the year before for dates that
would fall after it (a line is never written after its file was last
modified), which also handles a file spanning New Year. A copy that lost its
modification time (``cp`` without ``-p``) is read as of the copy's date.

Known limits: ``dmesg`` output (uptime or ``dmesg -T`` times) is not read;
packets logged by several rules or on several hosts count once per line;
ulogd/NFLOG formats other than the kernel's text are not read.

Equivalence (tests/ingest/test_reader_netfilter.py): a synthetic day written
as Zeek logs and as a gateway's ufw log (:mod:`beaconhunt.synth.render.netfilter`)
reports every implant pair (source, destination IP, port) in both, with a score
within 0.15 of Zeek's (measured at most 0.112 with BSD times over seeds 3, 7,
11 and 21). Nearly all of it is the missing bytes: the size sub-score (weight
0.20) is neutral, 0.5, where Zeek's is about 0.99, which costs a regular beacon
0.1; whole-second BSD times do the rest. Decisions are the same except for the
direct-IP implants that Zeek escalates on DNS evidence (``dest.no_dns``), which
are monitored here (hunted without context files: Sliver and Meterpreter on
every seed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import IPV4_SQL, address, show, whole_number
from beaconhunt.ingest.sniff import open_text

__all__ = ["ALLOW_WORDS", "BLOCK_WORDS", "READER", "NetfilterReader"]

#: Log-prefix words of an allowed packet (case-insensitive).
ALLOW_WORDS: tuple[str, ...] = ("ALLOW", "ACCEPT")
#: Log-prefix words of a blocked packet; they win over :data:`ALLOW_WORDS`.
BLOCK_WORDS: tuple[str, ...] = ("BLOCK", "DROP", "REJECT", "DENY")

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}
_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMPV6": "icmp",
          "6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}  # fmt: skip
_OTHER = "other log messages"
_DAY = 86_400.0


def _split(line: str) -> tuple[str, str, str] | None:
    """(time, host and log prefix, netfilter fields) of a line, or None for another message."""
    head = line
    if head.startswith("<"):  # a forwarded message's <PRI>, and RFC 5424's version
        close = head.find(">", 0, 5)
        if close > 1 and head[1:close].isdigit():
            head = head[close + 1 :]
            head = head[2:] if head.startswith("1 ") else head
    if head[:1].isdigit():  # ISO 8601 or epoch seconds: one token
        stamp, _, rest = head.partition(" ")
    else:  # BSD: "Nov  3 08:00:01" or "Nov 03 08:00:01"
        parts = head.split(None, 3)
        if len(parts) < 4:
            return None
        stamp, rest = " ".join(parts[:3]), parts[3]
    out = rest.find(" OUT=")
    start = rest.rfind("IN=", 0, out) if out > 0 else -1
    if start < 0 or " " in rest[start:out]:  # IN=<interface> right before OUT=
        return None
    return stamp, rest[:start], rest[start:]


class _Clock:
    """Line times as epoch seconds UTC; BSD times get the year from the file's mtime."""

    def __init__(self, mtime: float) -> None:
        self.mtime = mtime
        self.year = datetime.fromtimestamp(mtime, UTC).year
        self.days: dict[str, float] = {}

    def __call__(self, stamp: str) -> float:
        try:
            if stamp[:1].isdigit():
                if "-" not in stamp:
                    return float(stamp)  # journalctl -o short-unix
                if "T" not in stamp:
                    raise ValueError
                when = datetime.fromisoformat(stamp)
                return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
            month, day, hms = stamp.split(" ")
            return self._day(month, day) + _seconds(hms)
        except (ValueError, OverflowError):
            raise ValueError(f"unreadable time {show(stamp)}") from None

    def _day(self, month: str, day: str) -> float:
        key = month + day
        found = self.days.get(key)
        if found is None:
            m, d = _MONTHS.get(month, 0), int(day)  # 0: ValueError below
            found = datetime(self.year, m, d, tzinfo=UTC).timestamp()
            if found > self.mtime + _DAY:  # after the file was written: last year's
                found = datetime(self.year - 1, m, d, tzinfo=UTC).timestamp()
            self.days[key] = found
        return found


def _seconds(hms: str) -> float:
    """``hh:mm:ss[.ffffff]`` as seconds of the day."""
    if len(hms) < 8 or hms[2] != ":" or hms[5] != ":" or not hms[:2].isdigit():
        raise ValueError
    h, m, s = int(hms[:2]), int(hms[3:5]), float(hms[6:])
    if h > 23 or m > 59 or not 0 <= s < 61:
        raise ValueError
    return h * 3600 + m * 60 + s


class _Packet:
    """The netfilter fields of one line: ``KEY=value`` lookups and TCP flag words.

    Only the packet's own header is read: an ICMP error quotes the offending
    packet's header in brackets after it (``[SRC=... DST=...]``).
    """

    __slots__ = ("text",)

    def __init__(self, fields: str) -> None:
        bracket = fields.find(" [")
        self.text = " " + (fields if bracket < 0 else fields[:bracket]) + " "

    def get(self, key: str) -> str:
        """The value of `` KEY=`` (first occurrence), "" when absent."""
        text = self.text
        at = text.find(f" {key}=")
        if at < 0:
            return ""
        start = at + len(key) + 2
        return text[start : text.find(" ", start)]

    def flag(self, word: str) -> bool:
        return f" {word} " in self.text


def _verdict(prefix: str) -> str | None:
    """Why a prefix is skipped (None: an allowed packet)."""
    upper = prefix.upper()
    if any(w in upper for w in BLOCK_WORDS):
        return "blocked (log prefix)"
    if any(w in upper for w in ALLOW_WORDS):
        return None
    return "not an allow/accept log prefix"


class _Reader:
    """The state of one file: its clock and parsed-address cache."""

    def __init__(self, sink: FlowSink, mtime: float) -> None:
        self.sink = sink
        self.clock = _Clock(mtime)

    def line(self, line: str) -> None:
        """One line: a connection, a skip, or ValueError."""
        parts = _split(line)
        if parts is None:
            self.sink.skip(_OTHER)
            return
        stamp, prefix, rest = parts
        ts = self.clock(stamp)
        host_and_prefix = prefix.strip().partition(" ")[2]  # the host is not the prefix
        skip = _verdict(host_and_prefix)
        if skip is None:
            skip = self._connection(ts, rest)
        if skip is not None:
            self.sink.skip(skip)

    def _connection(self, ts: float, fields: str) -> str | None:
        """Store the packet as a connection, or say why it is skipped."""
        f = _Packet(fields)
        if f.get("IN") and not f.get("OUT"):
            return "inbound to the logging host"
        proto = _PROTO.get(_need(f, "PROTO").upper())
        if proto is None:
            return "not tcp/udp/icmp"
        src, dst = address(_need(f, "SRC")), address(_need(f, "DST"))
        if proto == "icmp":
            sport, dport = _icmp(f.get("TYPE"), "TYPE"), _icmp(f.get("CODE"), "CODE")
        else:
            sport, dport = (
                whole_number(_need(f, "SPT"), "SPT", 65535),
                whole_number(_need(f, "DPT"), "DPT", 65535),
            )
        if proto == "tcp" and (not f.flag("SYN") or f.flag("ACK")):
            return "not a connection start (TCP without SYN, or with ACK)"
        self.sink.connection(ts, src, sport, dst, dport, proto)
        return None


def _need(f: _Packet, key: str) -> str:
    value = f.get(key)
    if not value:
        raise ValueError(f"no {key}=")
    return value


def _icmp(text: str, key: str) -> int | None:
    """An ICMP type or code (Zeek's ports for ICMP), None when absent; ``ValueError``
    above 255 (both are one byte)."""
    return whole_number(text, key, 255) if text.isascii() and text.isdigit() else None


class NetfilterReader(NetworkReader):
    """Kernel log lines of netfilter LOG rules and ufw; allowed connection starts."""

    name = "netfilter"
    description = (
        "Linux netfilter/ufw kernel log lines (`[UFW ALLOW] IN= OUT= SRC= DST= PROTO= SPT= DPT=`)"
        " in syslog, RFC 3339/5424 or journalctl layouts; allowed connection starts"
    )

    def detect(self, head: str, path: Path) -> bool:
        clock = _Clock(0.0)
        for line in head.splitlines():
            if " OUT=" not in line or " SRC=" not in line or " PROTO=" not in line:
                continue
            parts = _split(line.strip())
            if parts is None:
                continue
            try:
                clock(parts[0])
            except ValueError:
                continue
            return True
        return False

    def line_scan(self, path: Path) -> LineScan | None:
        """Lines of the usual shape in SQL, every other line in Python (module
        docstring, "Read by DuckDB"); the BSD dates are the clock's own, given as a
        parameter. None when the file's modification time is unusable."""
        try:
            mtime = path.stat().st_mtime
            clock = _Clock(mtime)
        except (OSError, ValueError, OverflowError):
            return None
        return LineScan(_SCAN_SQL, (_bsd_days(clock),), python=partial(_read_lines, mtime=mtime))

    def read(self, path: Path, sink: FlowSink) -> None:
        mtime = path.stat().st_mtime
        with open_text(path) as fh:
            _read_lines(enumerate(fh, start=1), sink, mtime)


def _read_lines(lines: Iterable[tuple[int, str]], sink: FlowSink, mtime: float) -> None:
    """Numbered lines (with or without their line end) of a file last modified at
    ``mtime`` into ``sink``."""
    state = _Reader(sink, mtime)
    for n, raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            state.line(line)
        except ValueError as exc:
            sink.problem(n, str(exc))


# -- read by DuckDB --------------------------------------------------------------------------


def _bsd_days(clock: _Clock) -> list[float | None]:
    """Midnight (epoch seconds) of every BSD ``month day`` as ``clock`` dates it, day 1-31
    of each month in turn (index ``(month - 1) * 31 + day``); None for a day the clock
    refuses (``Feb 30``, or ``Feb 29`` of a year without it)."""
    out: list[float | None] = []
    for month in _MONTH_NAMES:
        for day in range(1, 32):
            try:
                out.append(clock._day(month, str(day)))
            except (ValueError, OverflowError):
                out.append(None)
    return out


#: BSD syslog's ``Nov  3 08:00:01`` / ``Nov 03 08:00:01`` (15 characters, no fraction).
_BSD = "(?:" + "|".join(_MONTH_NAMES) + ") (?: [1-9]|[0-9]{2}) [0-9]{2}:[0-9]{2}:[0-9]{2}"
#: RFC 3339 / ISO 8601 with a ``T``, up to microseconds, ``Z``, ``+hh:mm``, ``+hhmm`` or no zone.
_ISO = (
    r"[12][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
#: journalctl's ``-o short-unix``.
_EPOCH = r"[0-9]{1,10}(?:\.[0-9]{1,6})?"
#: A line the SQL reads: a time, then printable ASCII words separated by single spaces.
_LINE = f"(?:{_BSD}|{_ISO}|{_EPOCH}) [!-~]+(?: [!-~]+)*"
_BLOCKED = " OR ".join(f"contains(hp, '{w}')" for w in BLOCK_WORDS)
_ALLOWED = " OR ".join(f"contains(hp, '{w}')" for w in ALLOW_WORDS)
_PROTO_SQL = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _PROTO.items())


def _get(key: str) -> str:
    """``_Packet.get``: the value after the first `` KEY=`` of ``t``, up to a space."""
    return f"split_part(split_part(t, ' {key}=', 2), ' ', 1)"


def _port(v: str, top: int) -> str:
    """A port the SQL reads (ASCII digits, at most ``top``), else NULL."""
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{1,5}}') AND CAST({v} AS INTEGER) <= {top}"
        f" THEN CAST({v} AS INTEGER) END"
    )


_SCAN_SQL = f"""
WITH m AS (
    SELECT n, line, contains(line, ' OUT=') AS nf,
           contains(line, ' OUT=') AND coalesce(regexp_full_match(line, '{_LINE}'), false) AS ok
    FROM lines WHERE line IS NOT NULL
), s AS (
    SELECT n, line, nf, ok,
           CASE WHEN NOT ok THEN NULL
                WHEN line[1] BETWEEN '0' AND '9' THEN strpos(line, ' ') ELSE 16 END AS sp
    FROM m
), r AS (
    SELECT n, line, nf, ok, substr(line, 1, sp - 1) AS stamp, substr(line, sp + 1) AS rest
    FROM s
), b AS (
    SELECT *, split_part(rest, ' OUT=', 1) AS before FROM r
), k AS (
    SELECT *, split_part(before, ' ', -1) AS tok FROM b
), p AS (
    SELECT *, left(before, length(before) - length(tok)) AS prefix FROM k
), q AS (
    SELECT *, upper(substr(prefix, strpos(prefix, ' ') + 1)) AS hp,
           ' ' || split_part(substr(rest, length(prefix) + 1), ' [', 1) || ' ' AS t,
           length(before) < length(rest) AND starts_with(tok, 'IN=')
               AND NOT contains(substr(tok, 4), 'IN=') AS split_ok
    FROM p
), z AS (  -- the stamp's parts, as _Clock reads them
    SELECT *,
           CASE WHEN NOT ok THEN NULL
                WHEN NOT (stamp[1] BETWEEN '0' AND '9') THEN 'bsd'
                WHEN contains(stamp, '-') THEN 'iso' ELSE 'epoch' END AS kind,
           substr(stamp, 20) AS tail
    FROM q
), zz AS (
    SELECT *,
           CASE WHEN kind = 'iso' AND tail[1] = '.'
                THEN split_part(split_part(split_part(substr(tail, 2), 'Z', 1), '+', 1), '-', 1)
                ELSE '' END AS frac
    FROM z
), w AS (
    SELECT *,
           CASE WHEN kind = 'bsd' THEN substr(stamp, 8, 2)
                WHEN kind = 'iso' THEN substr(stamp, 12, 2) END AS hh,
           CASE WHEN kind = 'bsd' THEN substr(stamp, 11, 2)
                WHEN kind = 'iso' THEN substr(stamp, 15, 2) END AS mi,
           CASE WHEN kind = 'bsd' THEN substr(stamp, 14, 2)
                WHEN kind = 'iso' THEN substr(stamp, 18, 2) END AS ss,
           CASE WHEN kind = 'iso' THEN substr(tail, length(frac) + (frac <> '')::INTEGER + 1)
                END AS zone
    FROM zz
), c AS (
    SELECT *,
           CASE kind
           WHEN 'epoch' THEN CAST(stamp AS DOUBLE)
           WHEN 'bsd' THEN CASE WHEN CAST(hh AS INTEGER) <= 23 AND CAST(mi AS INTEGER) <= 59
                                     AND CAST(ss AS INTEGER) <= 60
                                     AND CAST(trim(substr(stamp, 5, 2)) AS INTEGER) BETWEEN 1 AND 31
                THEN (?::DOUBLE[])[
                        (strpos('{"".join(_MONTH_NAMES)}', substr(stamp, 1, 3)) + 2) // 3 * 31 - 31
                        + CAST(trim(substr(stamp, 5, 2)) AS INTEGER)]
                     + (CAST(CAST(hh AS INTEGER) * 3600 + CAST(mi AS INTEGER) * 60 AS DOUBLE)
                        + CAST(ss AS DOUBLE)) END
           WHEN 'iso' THEN CASE WHEN CAST(hh AS INTEGER) <= 23 AND CAST(mi AS INTEGER) <= 59
                                     AND CAST(ss AS INTEGER) <= 59
                                     AND (zone IN ('', 'Z')
                                          OR (TRY_CAST(substr(zone, 2, 2) AS INTEGER) <= 23
                                              AND TRY_CAST(right(zone, 2) AS INTEGER) <= 59))
                THEN CAST(
                    ((date_diff('day', DATE '1970-01-01', TRY_CAST(substr(stamp, 1, 10) AS DATE))
                      * 86400 + CAST(hh AS INTEGER) * 3600 + CAST(mi AS INTEGER) * 60
                      + CAST(ss AS INTEGER)
                      - CASE WHEN zone IN ('', 'Z') THEN 0
                             ELSE (CASE zone[1] WHEN '-' THEN -1 ELSE 1 END)
                                  * (TRY_CAST(substr(zone, 2, 2) AS INTEGER) * 3600
                                     + TRY_CAST(right(zone, 2) AS INTEGER) * 60) END)
                     * 1000000 + CAST(rpad(frac, 6, '0') AS BIGINT)) AS DOUBLE)
                    / 1000000.0::DOUBLE END
           END AS ts
    FROM w
), f AS (
    SELECT n, line, nf, ok, split_ok, ts, t,
           CASE WHEN {_BLOCKED} THEN 'blocked (log prefix)'
                WHEN {_ALLOWED} THEN NULL
                ELSE 'not an allow/accept log prefix' END AS verdict,
           {_get("IN")} AS in_v, {_get("OUT")} AS out_v, {_get("PROTO")} AS proto_v,
           {_get("SRC")} AS src, {_get("DST")} AS dst
    FROM c
), g AS (
    SELECT *,
           CASE upper(proto_v) {_PROTO_SQL} END AS proto,
           regexp_full_match(src, '{IPV4_SQL}') AND regexp_full_match(dst, '{IPV4_SQL}') AS ips
    FROM f
), h AS (
    SELECT *,
           CASE WHEN proto = 'icmp' THEN {_get("TYPE")} ELSE {_get("SPT")} END AS sp_v,
           CASE WHEN proto = 'icmp' THEN {_get("CODE")} ELSE {_get("DPT")} END AS dp_v
    FROM g
), o AS (
    SELECT *,
           CASE WHEN proto = 'icmp' AND NOT regexp_full_match(sp_v, '[0-9]+') THEN NULL
                ELSE {_port("sp_v", 65535)} END AS src_port,
           CASE WHEN proto = 'icmp' AND NOT regexp_full_match(dp_v, '[0-9]+') THEN NULL
                ELSE {_port("dp_v", 65535)} END AS dst_port,
           proto = 'icmp' AND regexp_full_match(sp_v, '[0-9]{{4,}}') AS sp_odd,
           proto = 'icmp' AND regexp_full_match(dp_v, '[0-9]{{4,}}') AS dp_odd
    FROM h
), v AS (
    SELECT *,
           CASE WHEN NOT nf THEN 'other'
                WHEN NOT (ok AND split_ok) OR ts IS NULL THEN 'python'
                WHEN verdict IS NOT NULL THEN 'verdict'
                WHEN in_v <> '' AND out_v = '' THEN 'inbound'
                WHEN proto_v = '' THEN 'python'
                WHEN proto IS NULL THEN 'proto'
                WHEN NOT ips THEN 'python'
                WHEN proto = 'icmp' AND (sp_odd OR dp_odd OR coalesce(src_port > 255, false)
                                         OR coalesce(dst_port > 255, false)) THEN 'python'
                WHEN proto <> 'icmp' AND (src_port IS NULL OR dst_port IS NULL) THEN 'python'
                WHEN proto = 'tcp' AND (NOT contains(t, ' SYN ') OR contains(t, ' ACK '))
                    THEN 'flags'
                ELSE 'row' END AS what
    FROM o
)
SELECT n,
       CASE WHEN what = 'python' OR (what = 'other' AND NOT regexp_matches(line, '[!-~]'))
            THEN line END AS python_line,
       CASE what WHEN 'other' THEN '{_OTHER}' WHEN 'verdict' THEN verdict
                 WHEN 'inbound' THEN 'inbound to the logging host'
                 WHEN 'proto' THEN 'not tcp/udp/icmp'
                 WHEN 'flags' THEN 'not a connection start (TCP without SYN, or with ACK)'
                 END AS skip,
       ts, src AS src_ip, src_port, dst AS dst_ip, dst_port, proto
FROM v
"""


READER = NetfilterReader()
