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

Read by DuckDB (:meth:`NetfilterReader.line_scan`, :mod:`beaconhunt.ingest.linescan`).
The SQL reads the kernel's own shape of an IPv4 packet line, proven by one strict
regular expression over the whole line: a BSD (``Nov  3 08:00:01``, ``Nov 03``), RFC
3339 (``T``, up to microseconds, ``Z``/``+hh:mm``/``+hhmm``/no zone) or epoch time, one
space, host and log-prefix words of printable ASCII without ``=``, ``IN=`` and ``OUT=``
interfaces, an optional ``MAC=``, the IPv4 header fields in the kernel's order with
dotted-quad addresses as ``ipaddress`` writes them, and a TCP header (flag words in the
kernel's order, then only ``OPT (...)`` and ``KEY=value`` words), a UDP or an ICMP one;
trailing spaces allowed. In such a line every key's first occurrence is the kernel's,
so the line is cut at ``=`` and each value read by position. BSD dates come from a
table of every ``month day`` made by the reader's own clock (year from the file's
modification time, the year before for a date after it) and passed as a parameter;
RFC 3339 times are whole microseconds over 10**6 as ``datetime.timestamp()`` divides
them. Lines without `` OUT=`` are "other log messages" in SQL. Every other line (a
``<PRI>``, IPv6, a tab or non-ASCII character, a port over 65535 or an ICMP type over
255, a date or time the clock refuses, a prefix touching ``IN=``, any other layout) goes
to the Python of :meth:`NetfilterReader.read`, with the file's clock, so the rows, skips
and problems are the same (tests/ingest/test_netfilter_sql.py). A BOM at the start is
dropped (DuckDB drops it too).
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
        line = (raw.removeprefix("\ufeff") if n == 1 else raw).strip()  # DuckDB drops a BOM too
        if not line:
            continue
        try:
            state.line(line)
        except ValueError as exc:
            sink.problem(n, str(exc))


# -- read by DuckDB --------------------------------------------------------------------------


def _bsd_days(clock: _Clock) -> list[float | None]:
    """Midnight (epoch seconds) of every BSD ``month day`` as ``clock`` dates it, days 1-31
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
#: Printable ASCII without space or ``=``: the words of the host and log prefix.
_WORD = "[!-<>-~]+"
_IFACE = "[A-Za-z0-9._-]*"
_HEX = "[0-9A-Fa-f]"
#: The kernel's IPv4 header fields (nf_log_syslog's ``dump_ipv4_packet``), before the protocol.
_IP = (
    rf" SRC={IPV4_SQL} DST={IPV4_SQL} LEN=[0-9]+ TOS=0x{_HEX}{{2}} PREC=0x{_HEX}{{2}}"
    rf" TTL=[0-9]+ ID=[0-9]+(?: CE)?(?: DF)?(?: MF)?(?: OPT \({_HEX}*\))? PROTO="
)
#: TCP: ports, optional sequence numbers, window, the flag words in the kernel's order, then
#: only ``OPT (...)`` and ``KEY=value`` words (never a bare word such as ``SYN``).
_TCP = (
    "TCP SPT=[0-9]{1,5} DPT=[0-9]{1,5}(?: SEQ=[0-9]+ ACK=[0-9]+)? WINDOW=[0-9]+"
    f" RES=0x{_HEX}{{2}}(?: CWR)?(?: ECE)?(?: URG)?(?: ACK)?(?: PSH)?(?: RST)?(?: SYN)?(?: FIN)?"
    rf" URGP=[0-9]+(?: OPT \({_HEX}*\))?(?: +[A-Z]+=[!-~]*)*"
)
_UDP = "UDP SPT=[0-9]{1,5} DPT=[0-9]{1,5}(?: +[!-~]+)*"
_ICMP = "ICMP TYPE=[0-9]{1,3} CODE=[0-9]{1,3}(?: +[!-~]+)*"
#: The line the SQL reads: a time, one space, the host and log-prefix words (no ``=``),
#: ``IN=`` and ``OUT=`` interfaces, an optional ``MAC=``, the IPv4 header and a TCP, UDP or
#: ICMP header; trailing spaces allowed. In it the first `` KEY=`` of every key read is the
#: kernel's, so a field ends where the next one starts.
_LINE = (
    f"(?:{_BSD}|{_ISO}|{_EPOCH}) {_WORD}(?: +{_WORD})* +IN={_IFACE} OUT={_IFACE}"
    f"(?: MAC={_HEX.replace(']', ':]')}*)?{_IP}(?:{_TCP}|{_UDP}|{_ICMP}) *"
)
_BLOCKED = " OR ".join(f"contains(hp, '{w}')" for w in BLOCK_WORDS)
_ALLOWED = " OR ".join(f"contains(hp, '{w}')" for w in ALLOW_WORDS)

#: Epoch seconds of an ISO time: ``stamp`` (its first 19 characters, ``hh`` its hour) and
#: ``tail`` (after the seconds: ``.ffffff``, then the zone), as ``datetime.timestamp()``
#: gives them: whole microseconds over 10**6, one correctly rounded division. NULL (the
#: line goes to Python) for a time ``fromisoformat`` refuses or the SQL does not check:
#: DuckDB's cast refuses what Python refuses but hour 24, checked here.
_ISO_TS = """CASE WHEN hh <= 23
                AND (zone IN ('', 'Z') OR (TRY_CAST(substr(zone, 2, 2) AS INTEGER) <= 23
                                           AND TRY_CAST(right(zone, 2) AS INTEGER) <= 59))
           THEN CAST(epoch_us(TRY_CAST(substr(stamp, 1, 19) AS TIMESTAMP))
                     + CAST(rpad(frac, 6, '0') AS BIGINT)
                     - CASE WHEN zone IN ('', 'Z') THEN 0
                            ELSE (CASE zone[1] WHEN '-' THEN -1 ELSE 1 END)
                                 * (TRY_CAST(substr(zone, 2, 2) AS BIGINT) * 3600
                                    + TRY_CAST(right(zone, 2) AS BIGINT) * 60) END
                       * 1000000 AS DOUBLE) / 1000000.0::DOUBLE END"""

#: Midnight of a BSD ``Mon dd`` (``stamp``) from the clock's table (the one parameter).
_BSD_DAY = f"""(?::DOUBLE[])[(strpos('{"".join(_MONTH_NAMES)}', substr(stamp, 1, 3)) + 2) // 3 * 31
                               - 31 + CAST(trim(substr(stamp, 5, 2)) AS INTEGER)]"""

#: In a line of :data:`_LINE`, cut at every ``=`` (``e``): ``e[1]`` is the time, host and
#: log prefix then `` IN``; ``e[2]`` the IN interface then `` OUT``; ``e[3]`` the OUT
#: interface then `` MAC`` or `` SRC``; with a MAC (``k`` = 1) the next piece is its
#: value; then ``e[4+k]`` SRC then `` DST``, ``e[5+k]`` DST then `` LEN``, ``e[11+k]``
#: the protocol, ``e[12+k]`` and ``e[13+k]`` SPT and DPT (ICMP: TYPE and CODE), each up
#: to its first space; for TCP ``e[15+k]`` (``e[17+k]`` after ``SEQ= ACK=``) is ``RES``'s
#: value with the flag words.
_SCAN_SQL = f"""
WITH m AS (
    SELECT n, line, coalesce(regexp_full_match(line, '{_LINE}'), false) AS ok
    FROM lines WHERE line IS NOT NULL
), e AS (
    SELECT n, line, ok, CASE WHEN ok THEN string_split(line, '=') END AS e,
           CASE WHEN ok THEN CASE WHEN line >= 'A' THEN 'bsd'
                                  WHEN substr(line, 5, 1) = '-'
                                       AND NOT contains(substr(line, 1, 4), ' ') THEN 'iso'
                                  ELSE 'epoch' END
                END AS kind
    FROM m
), k AS (
    SELECT n, line, ok, e, kind, ends_with(e[3], ' MAC')::INTEGER AS k,
           CASE WHEN kind = 'bsd' THEN 17 ELSE strpos(e[1], ' ') + 1 END AS rs
    FROM e
), f AS (
    SELECT n, line, ok, kind,
           substr(e[1], 1, rs - 2) AS stamp,
           substr(e[1], rs) AS r1,
           CASE substr(e[11 + k], 1, 1) WHEN 'T' THEN 'tcp' WHEN 'U' THEN 'udp' ELSE 'icmp' END
               AS proto,
           left(e[4 + k], -4) AS src, left(e[5 + k], -4) AS dst,
           CAST(split_part(e[12 + k], ' ', 1) AS INTEGER) AS a,
           CAST(split_part(e[13 + k], ' ', 1) AS INTEGER) AS b,
           e[2] <> ' OUT' AND starts_with(e[3], ' ') AS inbound,
           CASE WHEN substr(e[11 + k], 1, 1) = 'T'
                THEN e[15 + k + 2 * ends_with(e[13 + k], ' SEQ')::INTEGER] END AS res
    FROM k
), g AS (
    SELECT n, line, ok, kind, stamp, proto, src, dst, a, b, inbound, res,
           upper(substr(r1, strpos(r1, ' ') + 1)) AS hp,
           CASE kind WHEN 'bsd' THEN CAST(substr(stamp, 8, 2) AS INTEGER)
                     WHEN 'iso' THEN CAST(substr(stamp, 12, 2) AS INTEGER) END AS hh,
           CASE WHEN kind = 'iso' THEN substr(stamp, 20) END AS tail
    FROM f
), z AS (
    SELECT *, ltrim(tail, '.0123456789') AS zone FROM g
), y AS (
    SELECT *,
           CASE WHEN tail[1] = '.' THEN substr(tail, 2, length(tail) - length(zone) - 1)
                ELSE '' END AS frac
    FROM z
), c AS (
    SELECT *,
           CASE kind
           WHEN 'bsd' THEN
                CASE WHEN hh <= 23 AND substr(stamp, 11, 2) <= '59' AND substr(stamp, 14, 2) <= '60'
                          AND CAST(trim(substr(stamp, 5, 2)) AS INTEGER) BETWEEN 1 AND 31
                THEN {_BSD_DAY}
                     + (CAST(hh * 3600 + CAST(substr(stamp, 11, 2) AS INTEGER) * 60 AS DOUBLE)
                        + CAST(substr(stamp, 14, 2) AS DOUBLE)) END
           WHEN 'epoch' THEN CAST(stamp AS DOUBLE)
           WHEN 'iso' THEN {_ISO_TS} END AS ts
    FROM y
), v AS (
    SELECT *,
           CASE WHEN ts IS NULL THEN NULL
                WHEN {_BLOCKED} THEN 'blocked (log prefix)'
                WHEN NOT ({_ALLOWED}) THEN 'not an allow/accept log prefix'
                WHEN inbound THEN 'inbound to the logging host'
                WHEN a > CASE proto WHEN 'icmp' THEN 255 ELSE 65535 END
                     OR b > CASE proto WHEN 'icmp' THEN 255 ELSE 65535 END THEN NULL
                WHEN proto = 'tcp' AND (NOT contains(res, 'SYN') OR contains(res, 'ACK'))
                    THEN 'not a connection start (TCP without SYN, or with ACK)'
                ELSE '' END AS what
    FROM c
)
SELECT n,
       CASE WHEN ok THEN CASE WHEN what IS NULL THEN line END
            WHEN contains(line, ' OUT=') OR NOT regexp_matches(line, '[!-~]') THEN line
            END AS python_line,
       CASE WHEN ok THEN nullif(what, '') ELSE '{_OTHER}' END AS skip,
       ts, src AS src_ip, a AS src_port, dst AS dst_ip, b AS dst_port, proto
FROM v
"""


READER = NetfilterReader()
