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

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import address, show, whole_number
from beaconhunt.ingest.sniff import open_text

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

    def read(self, path: Path, sink: FlowSink) -> None:
        values = _Values()
        layout: _Layout | None = None
        unusable = False  # under a #Fields: line this reader cannot use
        with open_text(path) as fh:
            for n, raw in enumerate(fh, start=1):
                line = raw.strip().removeprefix("\ufeff") if n == 1 else raw.strip()
                if not line:
                    continue
                if line[0] == "#":
                    if line.startswith(_FIELDS):
                        layout = _header(line)
                        unusable = layout is None
                        if unusable:
                            sink.problem(n, _UNUSABLE)
                    continue
                if unusable:
                    sink.problem(n, "record under an unusable #Fields: header")
                    continue
                if layout is None:
                    layout = _headerless(line)
                    if layout is None:
                        sink.problem(n, "no #Fields: header and not a default-order record")
                        continue
                cells = line.split()
                if len(cells) != layout.width:
                    sink.problem(n, f"{len(cells)} fields where the header has {layout.width}")
                    continue
                try:
                    _record(cells, layout, values, sink)
                except ValueError as exc:
                    sink.problem(n, str(exc))


READER = WinFwReader()
