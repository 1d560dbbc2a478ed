"""Palo Alto Networks PAN-OS traffic logs: the CSV records a firewall sends by syslog.

Layout (PAN-OS "Syslog Field Descriptions", Traffic Log Fields, 8.0 to 11.x;
see tests/fixtures/panos/README.txt). One record per line, comma-separated,
fields in this fixed order (0-based positions used here in brackets)::

    FUTURE_USE, Receive Time, Serial Number, Type [3], Threat/Content Type [4],
    FUTURE_USE, Generated Time, Source Address [7], Destination Address [8],
    NAT Source IP, NAT Destination IP, Rule Name, Source User, Destination User,
    Application [14], Virtual System, Source Zone, Destination Zone, Inbound
    Interface, Outbound Interface, Log Action, FUTURE_USE, Session ID, Repeat
    Count, Source Port [24], Destination Port [25], NAT Source Port, NAT
    Destination Port, Flags, Protocol [29], Action [30], Bytes, Bytes Sent [32],
    Bytes Received [33], Packets, Start Time [35], Elapsed Time [36], Category,
    ... (PAN-OS 10.1 and later: High Resolution Timestamp [102]) ...

for example, as a syslog server writes it (the prefix is optional)::

    <14>Nov  3 08:00:05 PA-3220 1,2026/11/03 08:00:05,013201001234,TRAFFIC,end,2561,
    2026/11/03 08:00:05,10.1.1.5,203.0.113.9,198.18.0.10,0.0.0.0,allow-web,acme\\alice,,
    ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2026/11/03 08:00:05,4102,1,
    50000,443,31001,443,0x400000,tcp,allow,3391,1001,2390,10,2026/11/03 08:00:00,5,any,...

Any syslog header before the record (BSD ``<PRI>Mmm dd hh:mm:ss host``, RFC 5424
``<PRI>1 2026-11-03T08:00:05Z host - - - -``, or none, from a collector that
stores only the message) is ignored: the record starts after the last space
before its first comma. Fields holding commas are double-quoted, as PAN-OS
writes them. Records may carry any number of fields after Elapsed Time (the
list grew with every release); the first 37 are required.

Mapping to the connection row: ``ts`` = Start Time; ``duration`` = Elapsed
Time (whole seconds); ``src_ip``/``src_port`` = Source Address/Port;
``dst_ip``/``dst_port`` = Destination Address/Port, the **original (pre-NAT)**
destination: for outbound traffic that is the server the host called, while the
NAT Destination IP is only set when the firewall rewrites the destination
(inbound port forwarding), and the NAT Source IP is the firewall's own public
address, shared by every host; ``proto`` = Protocol; ``bytes_out`` = Bytes
Sent (client to server), ``bytes_in`` = Bytes Received (server to client),
both counted by the firewall with headers, so a little larger than Zeek's
payload bytes; ``service`` = Application (App-ID, e.g. ``ssl``,
``web-browsing``); ``src_host``, ``dst_domain`` and ``conn_state`` stay empty:
traffic logs carry no host or server names (findings are keyed by address and
named from DNS only if DNS logs are loaded alongside).

Records used and skipped. Only ``TRAFFIC`` records of subtype ``end`` with
Action ``allow`` are connections: PAN-OS writes one ``end`` record per session
when it closes, with its bytes and elapsed time, and that is its default
("Log at Session End"). ``start`` records ("Log at Session Start", off by
default) describe the same sessions again and are skipped, so nothing is counted
twice: a firewall must log at session end for this reader to see its traffic.
Skipped and counted with ``sink.skip``: ``start`` records; ``drop`` and
``deny`` records; ``end`` records whose Action is not ``allow`` (deny, drop,
drop-icmp, reset-client, reset-server, reset-both); protocols other than TCP,
UDP and ICMP; and the other PAN-OS log types sent to the same syslog server
(THREAT, SYSTEM, CONFIG...), by type. Lines that are not PAN-OS records, records
cut short and unreadable times, addresses, ports or counts are reported with file
and line; reading goes on. ICMP sessions have ports 0 in PAN-OS logs and are
stored so. A Repeat Count above 1 (sessions aggregated by the firewall) is
still one connection.

Time zone. Start Time is the firewall's local time, without a zone. PAN-OS
10.1 and later add a High Resolution Timestamp with the firewall's UTC offset
(``2026-11-03T09:00:05.123+01:00``, position 102): when a record carries it,
its offset converts Start Time to UTC exactly. Otherwise Start Time is read as
**UTC**: set the firewall (Device > Setup > Management > Time Zone) to UTC, or
expect findings' times to be shifted by its offset (periods and scores do not
change). The syslog header's time is never used.

Known limits: the CSV export of the web interface and Panorama (a header line
``Receive Time,Serial #,Type,...`` and another column order) and the LEEF/CEF
custom formats are not read; a session still open when the file ends has no
``end`` record yet and is not seen; long sessions are one connection however
long they last.

Read by DuckDB (:meth:`PanosReader.line_scan`, :mod:`beaconhunt.ingest.linescan`).
The SQL splits each line at every comma (the syslog header and FUTURE_USE are the
first piece, so the cells are those :func:`_cells` gives for a line without double
quotes) and reads a line whose first and last characters are printable ASCII (not
a space; the first not a comma) and that holds no ``"``: a record with Receive and
Generated Time of the ``YYYY/MM/DD hh:mm:ss`` shape and a known Type is a skip by
type, subtype, action or protocol as in Python, and an allowed ``end`` session is a
connection when its addresses are canonical IPv4 text, its ports (0-65535), bytes
and elapsed time are ASCII digits, its Application is printable ASCII without spaces,
its Start Time is a real date of 1970-2099 with hours 00-23 and seconds 00-59, and its
High Resolution Timestamp is empty, ends with ``Z``, or is the shape
:meth:`_Values.offset` reads (zone within +-23:59). Every other line (quoted cells, a
BOM, surrounding whitespace, IPv6, a leap second, an invalid date, a value out of
range, anything worded as a problem) is handed to the Python reader (``_read_lines``,
the code ``read()`` runs). No state carries between lines, so nothing else is needed
(tests/ingest/test_panos_sql.py holds the boundary).

Equivalence (tests/ingest/test_reader_panos.py): a synthetic day written as
Zeek logs and as this firewall's log (:mod:`beaconhunt.synth.render.panos`)
reports every implant pair (source, destination IP, port) in both, with a
score within 0.05 of Zeek's (measured at most 0.013 over seeds 3, 7, 11 and
21: Start Time is whole seconds and bytes include headers). The decision is the
same, except that without DNS logs there is no ``dest.no_dns`` evidence, so a
direct-IP implant that Zeek escalates on it is monitored instead.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import IPV4_SQL, address, show, whole_number
from beaconhunt.ingest.sniff import open_text

__all__ = ["LOG_TYPES", "MIN_FIELDS", "READER", "PanosReader"]

# 0-based positions in a record (module docstring)
_RECEIVED, _TYPE, _SUBTYPE, _GENERATED = 1, 3, 4, 6
_SRC, _DST, _APP = 7, 8, 14
_SPORT, _DPORT, _PROTOCOL, _ACTION = 24, 25, 29, 30
_SENT, _RECEIVED_BYTES, _START, _ELAPSED = 32, 33, 35, 36
_HIRES = 102
#: Fields a TRAFFIC record needs (up to Elapsed Time).
MIN_FIELDS = 37
#: The log types PAN-OS sends by syslog (the Type field), so a mixed file is read.
LOG_TYPES = frozenset({
    "TRAFFIC", "THREAT", "CONFIG", "SYSTEM", "HIPMATCH", "HIP-MATCH", "GLOBALPROTECT",
    "USERID", "AUTH", "DECRYPTION", "TUNNEL", "GTP", "SCTP", "IPTAG", "CORRELATION",
})  # fmt: skip
_PROTO = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "ipv6-icmp": "icmp", "icmp6": "icmp"}
_SUBTYPE_SKIPS = {
    "start": "session start (counted from its end record)",
    "drop": "dropped (subtype drop)",
    "deny": "denied (subtype deny)",
}
_DETECT_LINES = 5
#: A High Resolution Timestamp (``2026-11-03T09:00:05.123+01:00``): its shape, and the zone.
_HIRES_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:([+-])([0-9]{2}):?([0-9]{2}))?"
)


def _cells(line: str) -> list[str] | None:
    """The CSV fields of the record in ``line`` (after any syslog header), or None."""
    comma = line.find(",")
    if comma < 0:
        return None
    body = line[line.rfind(" ", 0, comma) + 1 :]
    if '"' in body:
        return next(csv.reader([body]), None)
    return body.split(",")


def _is_clock(text: str) -> bool:
    """``YYYY/MM/DD hh:mm:ss`` (shape only)."""
    return (
        len(text) == 19 and text[4] == "/" and text[7] == "/" and text[10] == " "
        and text[13] == ":" and text[16] == ":" and text[:4].isdigit()
    )  # fmt: skip


def _is_record(cells: list[str]) -> bool:
    """True when ``cells`` look like a PAN-OS syslog record of any log type."""
    return (
        len(cells) > _GENERATED
        and cells[_TYPE] in LOG_TYPES
        and _is_clock(cells[_RECEIVED])
        and _is_clock(cells[_GENERATED])
    )


class _Values:
    """Field parsers with the caches one file shares (days, addresses, UTC offsets)."""

    def __init__(self) -> None:
        self.days: dict[str, float] = {}

    def clock(self, text: str) -> float:
        """``YYYY/MM/DD hh:mm:ss`` as epoch seconds, read as UTC."""
        if not _is_clock(text):
            raise ValueError(f"unreadable time {show(text)}")
        day = self.days.get(text[:10])
        try:
            if day is None:
                when = datetime(int(text[:4]), int(text[5:7]), int(text[8:10]), tzinfo=UTC)
                day = self.days[text[:10]] = when.timestamp()
            h, m, s = int(text[11:13]), int(text[14:16]), int(text[17:19])
        except ValueError:
            raise ValueError(f"unreadable time {show(text)}") from None
        if h > 23 or m > 59 or s > 60:
            raise ValueError(f"unreadable time {show(text)}")
        return day + h * 3600 + m * 60 + s

    def offset(self, text: str) -> float:
        """The UTC offset (seconds) of a High Resolution Timestamp; 0 when absent."""
        if len(text) < 20 or text[10:11] != "T" or text.endswith("Z"):
            return 0.0
        # every line is checked the same way: the offset comes from the zone alone (the
        # date and time are Start Time's), so a value is never accepted only because an
        # earlier line had the same zone
        m = _HIRES_SHAPE.fullmatch(text)
        if m is None or (m[1] and (int(m[2]) > 23 or int(m[3]) > 59)):
            raise ValueError(f"unreadable high resolution timestamp {show(text)}")
        if not m[1]:
            return 0.0
        return (1 if m[1] == "+" else -1) * (int(m[2]) * 3600 + int(m[3]) * 60.0)


def _traffic(cells: list[str], v: _Values, sink: FlowSink) -> None:
    """One TRAFFIC record: a connection, a skip, or ValueError."""
    if len(cells) < MIN_FIELDS:
        raise ValueError(f"{len(cells)} fields where a TRAFFIC record has at least {MIN_FIELDS}")
    subtype = cells[_SUBTYPE]
    if subtype != "end":
        sink.skip(_SUBTYPE_SKIPS.get(subtype, "other traffic subtype"))
        return
    if cells[_ACTION] != "allow":
        sink.skip("denied, dropped or reset (action)")
        return
    proto = _PROTO.get(cells[_PROTOCOL].lower())
    if proto is None:
        sink.skip("not tcp/udp/icmp")
        return
    ts = v.clock(cells[_START])
    if len(cells) > _HIRES and cells[_HIRES]:
        ts -= v.offset(cells[_HIRES])
    app = cells[_APP]
    sink.connection(
        ts,
        address(cells[_SRC]),
        whole_number(cells[_SPORT], "source port", 65535),
        address(cells[_DST]),
        whole_number(cells[_DPORT], "destination port", 65535),
        proto,
        service=app if app else None,
        duration=float(whole_number(cells[_ELAPSED], "elapsed time")),
        bytes_out=whole_number(cells[_SENT], "bytes sent"),
        bytes_in=whole_number(cells[_RECEIVED_BYTES], "bytes received"),
    )


class PanosReader(NetworkReader):
    """PAN-OS TRAFFIC logs as CSV by syslog; ``end`` records of allowed sessions."""

    name = "panos"
    description = (
        "Palo Alto Networks PAN-OS traffic logs (CSV as sent by syslog, with or without the"
        " syslog header); allowed sessions' `end` records"
    )

    def detect(self, head: str, path: Path) -> bool:
        lines = [ln for ln in head.splitlines() if ln.strip()][:_DETECT_LINES]
        return any(_is_record(cells) for ln in lines if (cells := _cells(ln.strip())))

    def line_scan(self, path: Path) -> LineScan:
        """Records of the usual shape in SQL, every other line in Python (module
        docstring, "Read by DuckDB"). Nothing carries from line to line (the only
        state, :class:`_Values`, is a cache), so any line can go to either."""
        return LineScan(_SCAN_SQL, python=_read_lines)

    def read(self, path: Path, sink: FlowSink) -> None:
        with open_text(path) as fh:
            _read_lines(enumerate(fh, start=1), sink)


def _read_lines(lines: Iterable[tuple[int, str]], sink: FlowSink) -> None:
    """Numbered lines (with or without their line end) into ``sink``."""
    values = _Values()
    for n, raw in lines:
        line = raw.strip().removeprefix("\ufeff") if n == 1 else raw.strip()
        if not line:
            continue
        try:
            cells = _cells(line)
            if cells is None or not _is_record(cells):
                raise ValueError("not a PAN-OS log record")
            if cells[_TYPE] == "TRAFFIC":
                _traffic(cells, values, sink)
            else:
                sink.skip(f"other log types ({cells[_TYPE]})")
        except (ValueError, csv.Error) as exc:
            sink.problem(n, str(exc))


# -- read by DuckDB --------------------------------------------------------------------------

#: ``YYYY/MM/DD hh:mm:ss`` in ASCII digits (Receive and Generated Time: shape only, as
#: :func:`_is_clock` checks them).
_CLOCK = "[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
#: Start Time as the SQL reads it: years 1970-2099, hours 00-23, seconds 00-59 (a leap
#: second, 24:00:00 or a far year goes to Python); the day of the month is checked by a cast.
_START_TIME = (
    "(?:19[7-9][0-9]|20[0-9]{2})/(?:0[1-9]|1[0-2])/(?:0[1-9]|[12][0-9]|3[01])"
    " (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
)
#: The cells of a connection the SQL reads, joined by commas: Source and Destination
#: Address (canonical IPv4), Application (printable ASCII, no space), Source and
#: Destination Port, Bytes Sent and Received (ASCII digits), Start Time, Elapsed Time.
_CONNECTION = (
    rf"{IPV4_SQL},{IPV4_SQL},[!-+\--~]*,[0-9]{{1,5}},[0-9]{{1,5}},[0-9]{{1,18}},[0-9]{{1,18}},"
    rf"{_START_TIME},[0-9]{{1,15}}"
)
_HIRES_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
#: A High Resolution Timestamp with a zone :meth:`_Values.offset` accepts.
_HIRES_ZONE = rf"{_HIRES_DATE}[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9]"
_TYPES = ", ".join(f"'{t}'" for t in sorted(LOG_TYPES))
_PROTO_NAMES = ", ".join(f"'{k}'" for k in _PROTO)
_PROTOS = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _PROTO.items())
_SUBTYPES = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _SUBTYPE_SKIPS.items())


#: The cells the SQL uses, by the name its ``f`` gives them, and their position.
_USED = {
    "received": _RECEIVED, "type": _TYPE, "subtype": _SUBTYPE, "generated": _GENERATED,
    "src": _SRC, "dst": _DST, "app": _APP, "sport_text": _SPORT, "dport_text": _DPORT,
    "protocol": _PROTOCOL, "action": _ACTION, "sent": _SENT, "received_bytes": _RECEIVED_BYTES,
    "start_text": _START, "elapsed": _ELAPSED, "hires_text": _HIRES,
}  # fmt: skip
# ``c`` is the whole line split at every comma: the syslog header and FUTURE_USE are
# ``c[1]``, and cell i (0-based, as _cells counts them) is c[i + 1] however many spaces
# the header holds, as _cells splits the record after the header.
_CELLS = ", ".join(f"c[{i + 1}] AS {name}" for name, i in _USED.items())


def _offset(at: int) -> str:
    """The UTC offset in seconds of the zone that ends ``hires`` with its sign at ``at``
    (-6 for ``+01:00``, -5 for ``+0100``)."""
    return (
        f"(CASE substr(hires, {at}, 1) WHEN '+' THEN 1 ELSE -1 END)"
        f" * (CAST(substr(hires, {at + 1}, 2) AS INTEGER) * 3600"
        f" + CAST(substr(hires, -2, 2) AS INTEGER) * 60)"
    )


#: The cells a connection needs, joined by commas (NULL when the record is shorter).
_PROBE = " || ',' || ".join(
    ("src", "dst", "app", "sport_text", "dport_text", "sent",
     "received_bytes", "start_text", "elapsed")
)  # fmt: skip
_MIN = MIN_FIELDS

_SCAN_SQL = f"""
WITH a AS (
    SELECT n, line,
           NOT contains(line, '"') AND left(line, 1) BETWEEN '!' AND '~'
               AND left(line, 1) <> ',' AND right(line, 1) BETWEEN '!' AND '~' AS ok,
           string_split(line, ',') AS c
    FROM lines WHERE line IS NOT NULL
), f AS (
    SELECT n, line, ok, len(c) AS cells, {_CELLS} FROM a
), r AS (
    SELECT *,
           CASE WHEN NOT coalesce(ok AND type IN ({_TYPES})
                                  AND regexp_full_match(received || ',' || generated,
                                                        '{_CLOCK},{_CLOCK}'), false)
                    THEN 'python'
                WHEN type <> 'TRAFFIC' THEN 'type'
                WHEN cells < {_MIN} THEN 'python'
                WHEN subtype <> 'end' THEN 'subtype'
                WHEN action <> 'allow' THEN 'action'
                WHEN strlen(protocol) <> length(protocol) THEN 'python'
                WHEN lower(protocol) NOT IN ({_PROTO_NAMES}) THEN 'protocol'
                WHEN regexp_full_match({_PROBE}, '{_CONNECTION}') THEN 'connection'
                ELSE 'python' END AS what
    FROM f
), v AS (
    SELECT *,
           CASE WHEN what = 'connection' THEN epoch(TRY_CAST(replace(start_text, '/', '-')
                                                             AS TIMESTAMP)) END AS start,
           CASE WHEN what = 'connection' THEN coalesce(hires_text, '') END AS hires,
           CASE WHEN what = 'connection' THEN CAST(sport_text AS INTEGER) END AS sport,
           CASE WHEN what = 'connection' THEN CAST(dport_text AS INTEGER) END AS dport
    FROM r
), o AS (
    SELECT *,
           CASE WHEN hires = '' OR ends_with(hires, 'Z') THEN 0
                WHEN regexp_full_match(hires, '{_HIRES_ZONE}') THEN
                    CASE WHEN substr(hires, -3, 1) = ':' THEN {_offset(-6)} ELSE {_offset(-5)} END
                WHEN regexp_full_match(hires, '{_HIRES_DATE}') THEN 0 END AS offset_s
    FROM v
)
SELECT n,
       CASE WHEN what = 'python'
                 OR (what = 'connection' AND (start IS NULL OR offset_s IS NULL
                                              OR sport > 65535 OR dport > 65535))
            THEN line END AS python_line,
       CASE what WHEN 'type' THEN 'other log types (' || type || ')'
                 WHEN 'subtype' THEN CASE subtype {_SUBTYPES} ELSE 'other traffic subtype' END
                 WHEN 'action' THEN 'denied, dropped or reset (action)'
                 WHEN 'protocol' THEN 'not tcp/udp/icmp' END AS skip,
       start - CAST(offset_s AS DOUBLE) AS ts,
       CASE WHEN what = 'connection' THEN src END AS src_ip,
       sport AS src_port,
       CASE WHEN what = 'connection' THEN dst END AS dst_ip,
       dport AS dst_port,
       CASE WHEN what = 'connection' THEN CASE lower(protocol) {_PROTOS} END END AS proto,
       CASE WHEN what = 'connection' AND app <> '' THEN app END AS service,
       CASE WHEN what = 'connection' THEN CAST(elapsed AS DOUBLE) END AS duration,
       CASE WHEN what = 'connection' THEN CAST(sent AS BIGINT) END AS bytes_out,
       CASE WHEN what = 'connection' THEN CAST(received_bytes AS BIGINT) END AS bytes_in
FROM o
"""


READER = PanosReader()
