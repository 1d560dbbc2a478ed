"""The Windows Defender Firewall log, ``pfirewall.log``.

Layout (Microsoft, "Configuring Firewall Log Files" / "Configure Windows
Firewall logging"; see tests/fixtures/winfw/README.txt): a W3C-like header,
then one space-separated record per line, ``-`` for an empty field::

    #Version: 1.5
    #Software: Microsoft Windows Firewall
    #Time Format: Local
    #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack
        tcpwin icmptype icmpcode info path pid         (one line in the file)

    2026-11-03 08:00:00 ALLOW TCP 10.1.1.5 203.0.113.9 50000 443 0 - 0 0 0 - - - SEND 4242

Columns are taken from the ``#Fields:`` line (any order; it must name date,
time, action, protocol, src-ip, dst-ip, src-port, dst-port and path; newer
Windows builds add ``pid``), and a header repeated further down (the firewall
starts a new file, someone concatenated two) takes effect from there. A file
whose header was cut off is read in the default order above when its first line
has the 17 fields of older builds or the 18 with ``pid``.

What counts as a connection. With "Log successful connections" on, the
firewall writes one ``ALLOW`` line when it permits a connection (a TCP
connection, a new UDP or ICMP flow), with ``path`` ``SEND`` for one this host
opened and ``RECEIVE`` for one it accepted. Only ``ALLOW ... SEND`` lines are
connections (and ``OPEN`` lines of the Windows XP SP2 firewall, which meant
the same). Skipped and counted with ``sink.skip``: ``ALLOW`` lines received
(inbound) or with another path (``FORWARD``, ``UNKNOWN``); ``DROP`` lines
(blocked packets, either direction); ``INFO-EVENTS-LOST`` (events the firewall
could not write: the count is in ``info``); XP's ``OPEN-INBOUND`` and
``CLOSE``; protocols other than TCP, UDP and ICMP. Malformed lines (wrong field
count, an unreadable time, address or port, an unknown action) are reported with
file and line; reading goes on.

Mapping to the connection row: ``ts`` = date + time (whole seconds);
``src_ip``/``src_port`` = src-ip/src-port (this host), ``dst_ip``/``dst_port``
= dst-ip/dst-port; ``proto`` = protocol (for ICMP, the ports are icmptype and
icmpcode, as in Zeek). The log has **no byte counts and no duration** (``size``
is the size of one packet, 0 on ALLOW lines), so ``bytes_out``, ``bytes_in`` and
``duration`` stay empty and the size sub-score of a pair is neutral. ``pid``
(the process, on newer builds) is not used: give Sysmon logs for process
attribution. ``src_host`` stays empty: the file does not name the host it was
written on (a finding shows the address). No names: findings are keyed by
address, named from DNS only if DNS logs are loaded alongside.

Time zone. ``#Time Format: Local``: times are the host's local time without
a zone; they are read as **UTC**. Hosts not set to UTC give findings whose
times are shifted by their offset (periods and scores do not change), and
files of hosts in different zones are shifted differently.

Known limits: the firewall caps the file (4 MB by default) and renames it to
``pfirewall.log.old`` when full, so a busy host keeps only hours of history
unless the size is raised or the file collected often; only the host's own
connections are in its file; UTF-16 files (written by some export tools) are
not decoded.

Read by DuckDB (:meth:`WinFwReader.line_scan`, :mod:`beaconhunt.ingest.linescan`).
``line_scan`` reads the head of the file as ``read()`` does, up to its first record,
for the layout (the ``#Fields:`` line's, or the default order of a headerless file),
and looks through the whole file, as bytes, for other ``#Fields:`` lines: the SQL is
used only when the layout cannot change (every ``#Fields:`` line is the same text as
the first, which comes before any record; none at all in a headerless file), and the
file is read in Python otherwise, or when the head has no record or an unusable
header. The SQL drops lines that begin with ``#`` (comments, and the repeated header,
which changes nothing) and reads a line of exactly the layout's number of printable
ASCII fields joined by single spaces: a skip by action, path or protocol as
:func:`_record` gives it, before any value is read; a connection when the date is a
real day of 1970-2099, the time has hours 00-23 and seconds 00-59, both addresses are
canonical IPv4 text and the ports (TCP, UDP) are ASCII digits up to 65535 or the ICMP
type and code are absent, not digits, or digits up to 255. Every other line (tabs,
other whitespace, non-ASCII, a wrong field count, an unknown action, IPv6, a leap
second, anything worded as a problem) is handed to the Python reader
(:meth:`_Lines.read`, the code ``read()`` runs, started with the file's layout)
(tests/ingest/test_winfw_sql.py holds the boundary).

Equivalence (tests/ingest/test_reader_winfw.py): a synthetic day written as
Zeek logs and as one ``pfirewall.log`` per Windows host
(:mod:`beaconhunt.synth.render.winfw`) reports every implant pair (source,
destination IP, port) in both, with a score within 0.15 of Zeek's (measured
at most 0.112 over seeds 3, 7, 11 and 21). Nearly all of it is the missing
bytes: the size sub-score (weight 0.20) is neutral, 0.5, where Zeek's is
about 0.99, which costs a regular beacon 0.1; whole-second times do the rest.
Decisions are the same except for the direct-IP implants that Zeek escalates
on DNS evidence (``dest.no_dns``), which are monitored here (hunted without
context files: Sliver and Meterpreter on every seed).
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from beaconhunt.ingest.lines import BoundedText, LineGuard, current_limit
from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import IPV4_SQL, address, show, whole_number
from beaconhunt.ingest.sniff import is_gzip, open_text

__all__ = ["DEFAULT_FIELDS", "READER", "WinFwReader"]

#: The ``#Fields:`` of Windows 7 to Windows 10 (newer builds add ``pid``).
DEFAULT_FIELDS: tuple[str, ...] = (
    "date", "time", "action", "protocol", "src-ip", "dst-ip", "src-port", "dst-port", "size",
    "tcpflags", "tcpsyn", "tcpack", "tcpwin", "icmptype", "icmpcode", "info", "path",
)  # fmt: skip
_REQUIRED = ("date", "time", "action", "protocol", "src-ip", "dst-ip", "src-port", "dst-port",
             "path")  # fmt: skip
_FIELDS = "#Fields:"
_PROTO = {"TCP": "tcp", "UDP": "udp", "ICMP": "icmp", "ICMPV6": "icmp",
          "6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}  # fmt: skip
#: action -> skip reason (None: an outbound connection when the path says so)
_ACTIONS: dict[str, str | None] = {
    "ALLOW": None,
    "OPEN": None,
    "DROP": "dropped (DROP)",
    "INFO-EVENTS-LOST": "events lost (INFO-EVENTS-LOST)",
    "OPEN-INBOUND": "inbound (OPEN-INBOUND)",
    "CLOSE": "session close (CLOSE)",
}
_PATH_SKIPS = {"RECEIVE": "inbound (ALLOW RECEIVE)"}
_DETECT_LINES = 10
_UNUSABLE = (
    "#Fields: lacks date, time, action, protocol, addresses, ports or path: records below skipped"
)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Positions of the fields used (-1: absent) and the field count."""

    width: int
    date: int
    time: int
    action: int
    proto: int
    src: int
    dst: int
    sport: int
    dport: int
    path: int
    icmptype: int
    icmpcode: int


def _layout(names: list[str]) -> _Layout | None:
    """The layout of a ``#Fields:`` list, or None without every required field."""
    where = {n: i for i, n in reversed(list(enumerate(names)))}
    if any(n not in where for n in _REQUIRED):
        return None
    return _Layout(len(names), where["date"], where["time"], where["action"],
                   where["protocol"], where["src-ip"], where["dst-ip"], where["src-port"],
                   where["dst-port"], where["path"], where.get("icmptype", -1),
                   where.get("icmpcode", -1))  # fmt: skip


def _header(line: str) -> _Layout | None:
    return _layout(line[len(_FIELDS) :].lower().split()) if line.startswith(_FIELDS) else None


def _is_date(text: str) -> bool:
    return len(text) == 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()


def _headerless(line: str) -> _Layout | None:
    """The default layout when ``line`` is a record of 17 or 18 fields (no header seen)."""
    cells = line.split()
    if len(cells) not in (17, 18) or not _is_date(cells[0]) or cells[1][2:3] != ":":
        return None
    if cells[2] not in _ACTIONS:
        return None
    return _layout(list(DEFAULT_FIELDS) + (["pid"] if len(cells) == 18 else []))


class _Values:
    """Field parsers with the caches one file shares."""

    def __init__(self) -> None:
        self.days: dict[str, float] = {}

    def clock(self, date: str, time: str) -> float:
        """``YYYY-MM-DD`` and ``hh:mm:ss`` as epoch seconds, read as UTC."""
        day = self.days.get(date)
        try:
            if day is None:
                if not _is_date(date):
                    raise ValueError
                when = datetime(int(date[:4]), int(date[5:7]), int(date[8:10]), tzinfo=UTC)
                day = self.days[date] = when.timestamp()
            if len(time) != 8 or time[2] != ":" or time[5] != ":":
                raise ValueError
            h, m, s = int(time[:2]), int(time[3:5]), int(time[6:8])
            if h > 23 or m > 59 or s > 60:
                raise ValueError
        except ValueError:
            raise ValueError(f"unreadable time {show(date + ' ' + time)}") from None
        return day + h * 3600 + m * 60 + s


def _icmp(cells: list[str], at: int) -> int | None:
    """An ICMP type or code (Zeek's ports for ICMP), None when absent; ``ValueError``
    above 255 (both are one byte)."""
    if at < 0 or not (cells[at].isascii() and cells[at].isdigit()):
        return None
    return whole_number(cells[at], "ICMP type or code", 255)


def _record(cells: list[str], lay: _Layout, v: _Values, sink: FlowSink) -> None:
    """One record: a connection, a skip, or ValueError."""
    action = cells[lay.action]
    if action not in _ACTIONS:
        raise ValueError(f"unknown action {show(action)}")
    skip = _ACTIONS[action]
    if skip is None and action == "ALLOW" and cells[lay.path] != "SEND":
        skip = _PATH_SKIPS.get(cells[lay.path], "forwarded or unknown path")
    if skip is not None:
        sink.skip(skip)
        return
    proto = _PROTO.get(cells[lay.proto].upper())
    if proto is None:
        sink.skip("not tcp/udp/icmp")
        return
    ts = v.clock(cells[lay.date], cells[lay.time])
    if proto == "icmp":
        sport, dport = _icmp(cells, lay.icmptype), _icmp(cells, lay.icmpcode)
    else:
        sport = whole_number(cells[lay.sport], "source port", 65535)
        dport = whole_number(cells[lay.dport], "destination port", 65535)
    sink.connection(ts, address(cells[lay.src]), sport, address(cells[lay.dst]), dport, proto)


class WinFwReader(NetworkReader):
    """The Windows Defender Firewall ``pfirewall.log``: outbound ``ALLOW`` lines."""

    name = "winfw"
    description = (
        "Windows Defender Firewall `pfirewall.log` (`#Fields: date time action protocol src-ip"
        " ...`); outbound `ALLOW ... SEND` lines, no byte counts"
    )

    def detect(self, head: str, path: Path) -> bool:
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()][:_DETECT_LINES]
        if not lines:
            return False
        if not lines[0].startswith("#"):
            return _headerless(lines[0]) is not None
        for line in lines:
            if not line.startswith("#"):
                break
            if line.startswith("#Software:") and "Windows Firewall" in line:
                return True
            if _header(line) is not None:
                return True
        return False

    def line_scan(self, path: Path) -> LineScan | None:
        """The SQL of the file's one layout (module docstring, "Read by DuckDB"); None
        when the file has no records, an unusable or changing layout, or cannot be read
        ahead, and Python reads it all."""
        try:
            layout = _steady_layout(path)
        except (OSError, EOFError, zlib.error):
            return None
        if layout is None:
            return None
        return LineScan(_scan_sql(layout), python=_Lines(layout).read)

    def read(self, path: Path, sink: FlowSink) -> None:
        with open_text(path) as fh:
            _Lines().read(enumerate(fh, start=1), sink)


class _Lines:
    """The per-line reading of a file, with its state: the layout of the last ``#Fields:``
    line (or of the first record, without one) and whether it was unusable. ``read()``
    starts without a layout; the SQL's Python starts with the file's one layout."""

    def __init__(self, layout: _Layout | None = None) -> None:
        self.values = _Values()
        self.layout = layout
        self.unusable = False  # under a #Fields: line this reader cannot use

    def read(self, lines: Iterable[tuple[int, str]], sink: FlowSink) -> None:
        """Numbered lines (with or without their line end) into ``sink``."""
        for n, raw in lines:
            line = raw.strip().removeprefix("\ufeff") if n == 1 else raw.strip()
            if not line:
                continue
            if line[0] == "#":
                if line.startswith(_FIELDS):
                    self.layout = _header(line)
                    self.unusable = self.layout is None
                    if self.unusable:
                        sink.problem(n, _UNUSABLE)
                continue
            if self.unusable:
                sink.problem(n, "record under an unusable #Fields: header")
                continue
            if self.layout is None:
                self.layout = _headerless(line)
                if self.layout is None:
                    sink.problem(n, "no #Fields: header and not a default-order record")
                    continue
            layout = self.layout
            cells = line.split()
            if len(cells) != layout.width:
                sink.problem(n, f"{len(cells)} fields where the header has {layout.width}")
                continue
            try:
                _record(cells, layout, self.values, sink)
            except ValueError as exc:
                sink.problem(n, str(exc))


# -- read by DuckDB --------------------------------------------------------------------------


def _head(path: Path) -> tuple[_Layout, str | None] | None:
    """The layout in force at the first record of ``path`` as :meth:`_Lines.read` reads
    it, and the ``#Fields:`` line that set it (None: taken from the record); None when
    there is no record or the layout is unusable."""
    raw: IO[str]
    if is_gzip(path):
        raw = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")  # noqa: SIM115 (closed by BoundedText)
    else:
        raw = path.open("r", encoding="utf-8", errors="replace")
    header: str | None = None
    layout: _Layout | None = None
    with BoundedText(raw, str(path), LineGuard(current_limit())) as fh:
        for n, text in enumerate(fh, start=1):
            line = text.strip().removeprefix("\ufeff") if n == 1 else text.strip()
            if not line:
                continue
            if line[0] == "#":
                if line.startswith(_FIELDS):
                    header, layout = line, _header(line)
                    if layout is None:
                        return None
                continue
            if layout is None:
                layout = _headerless(line)
            return (layout, header) if layout is not None else None
    return None


def _field_lines(path: Path) -> Iterator[str]:
    """Every line of ``path`` that holds ``#Fields:``, as :meth:`_Lines.read` sees it
    (decoded, stripped; a BOM removed on line 1). Lines end at ``\\n``, ``\\r`` or both,
    as Python's universal newlines end them; read in blocks, never whole."""
    needle = _FIELDS.encode()
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        carry, start = b"", 0  # carry: the unfinished last line; start: its offset
        while True:
            chunk = fh.read(1 << 20)
            data = carry + chunk
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1 if chunk else len(data)
            done, carry = data[:cut], data[cut:]
            at = done.find(needle)
            while at >= 0:
                first = max(done.rfind(b"\n", 0, at), done.rfind(b"\r", 0, at)) + 1
                ends = [i for i in (done.find(b"\n", at), done.find(b"\r", at)) if i >= 0]
                last = min(ends, default=len(done))
                line = done[first:last].decode("utf-8", errors="replace").strip()
                yield line.removeprefix("\ufeff") if start + first == 0 else line
                at = done.find(needle, last)
            start += len(done)
            if not chunk:
                return


def _steady_layout(path: Path) -> _Layout | None:
    """The one layout every record of ``path`` is read in, or None: when the file has
    no record, an unusable layout, or a ``#Fields:`` line that could change it (any
    after a record of a file without a header; any that differs from the first)."""
    head = _head(path)
    if head is None:
        return None
    layout, header = head
    for line in _field_lines(path):
        if line.startswith(_FIELDS) and line != header:
            return None
    return layout


_DATE = "(?:19[7-9][0-9]|20[0-9]{2})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_SKIP_ACTIONS = " ".join(f"WHEN '{a}' THEN '{r}'" for a, r in _ACTIONS.items() if r)
_ACTION_NAMES = ", ".join(f"'{a}'" for a in _ACTIONS)
_PROTOS = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _PROTO.items())
_PROTO_NAMES = ", ".join(f"'{k}'" for k in _PROTO)


def _icmp_sql(at: int) -> tuple[str, str]:
    """(value, unreadable) of an ICMP type or code at position ``at`` as :func:`_icmp`
    reads it: NULL when absent or not all digits; unreadable when the Python would
    raise or read more digits than the SQL does."""
    if at < 0:
        return "NULL::INTEGER", "false"
    cell = f"c[{at + 1}]"
    digits = f"regexp_full_match({cell}, '[0-9]+')"
    value = f"CASE WHEN {digits} AND strlen({cell}) <= 3 THEN CAST({cell} AS INTEGER) END"
    bad = (f"CASE WHEN NOT {digits} THEN false WHEN strlen({cell}) > 3 THEN true"
           f" ELSE CAST({cell} AS INTEGER) > 255 END")  # fmt: skip
    return value, bad


def _scan_sql(lay: _Layout) -> str:
    """The SQL of one layout: every line of ``lay.width`` printable ASCII fields joined
    by single spaces in SQL (skips before values, as :func:`_record` reads them), ``#``
    lines ignored, every other line to Python."""
    shape = f"[!-~]+(?: [!-~]+){{{lay.width - 1}}}"

    def cell(at: int) -> str:
        return f"c[{at + 1}]"

    action, path, proto = cell(lay.action), cell(lay.path), f"upper({cell(lay.proto)})"
    itype, itype_bad = _icmp_sql(lay.icmptype)
    icode, icode_bad = _icmp_sql(lay.icmpcode)
    where = (f"{cell(lay.date)} || ' ' || {cell(lay.time)} || ' ' || {cell(lay.src)} || ' '"
             f" || {cell(lay.dst)}")  # fmt: skip
    ports = f"{where} || ' ' || {cell(lay.sport)} || ' ' || {cell(lay.dport)}"
    return f"""
WITH b AS (
    SELECT n, line, regexp_full_match(line, '{shape}') AS ok, string_split(line, ' ') AS c
    FROM lines WHERE NOT starts_with(line, '#')
), r AS (
    SELECT n, line, c,
           CASE WHEN NOT ok OR {action} NOT IN ({_ACTION_NAMES}) THEN 'python'
                WHEN {action} NOT IN ('ALLOW', 'OPEN') THEN 'action'
                WHEN {action} = 'ALLOW' AND {path} <> 'SEND' THEN 'path'
                WHEN {proto} NOT IN ({_PROTO_NAMES}) THEN 'protocol'
                WHEN CASE {proto} {_PROTOS} END = 'icmp'
                    THEN CASE WHEN regexp_full_match({where},
                                       '{_DATE} {_TIME} {IPV4_SQL} {IPV4_SQL}')
                                   AND NOT {itype_bad} AND NOT {icode_bad}
                              THEN 'icmp' ELSE 'python' END
                WHEN regexp_full_match({ports},
                         '{_DATE} {_TIME} {IPV4_SQL} {IPV4_SQL} [0-9]{{1,5}} [0-9]{{1,5}}')
                    THEN 'connection'
                ELSE 'python' END AS what
    FROM b
), v AS (
    SELECT n, line, c, what,
           CASE WHEN what IN ('icmp', 'connection') THEN epoch(TRY_CAST(
               {cell(lay.date)} || ' ' || {cell(lay.time)} AS TIMESTAMP)) END AS ts,
           CASE WHEN what = 'icmp' THEN {itype}
                WHEN what = 'connection' THEN CAST({cell(lay.sport)} AS INTEGER) END AS sport,
           CASE WHEN what = 'icmp' THEN {icode}
                WHEN what = 'connection' THEN CAST({cell(lay.dport)} AS INTEGER) END AS dport
    FROM r
)
SELECT n,
       CASE WHEN what = 'python'
                 OR (what IN ('icmp', 'connection')
                     AND (ts IS NULL OR sport > 65535 OR dport > 65535))
            THEN line END AS python_line,
       CASE what WHEN 'action' THEN CASE {action} {_SKIP_ACTIONS} END
                 WHEN 'path' THEN CASE {path} WHEN 'RECEIVE' THEN '{_PATH_SKIPS["RECEIVE"]}'
                                  ELSE 'forwarded or unknown path' END
                 WHEN 'protocol' THEN 'not tcp/udp/icmp' END AS skip,
       ts,
       CASE WHEN what IN ('icmp', 'connection') THEN {cell(lay.src)} END AS src_ip,
       sport AS src_port,
       CASE WHEN what IN ('icmp', 'connection') THEN {cell(lay.dst)} END AS dst_ip,
       dport AS dst_port,
       CASE WHEN what IN ('icmp', 'connection') THEN CASE {proto} {_PROTOS} END END AS proto
FROM v
"""


READER = WinFwReader()
