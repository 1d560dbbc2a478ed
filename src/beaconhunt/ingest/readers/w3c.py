"""Web proxy logs in the W3C Extended Log File Format (a ``#Fields:`` header).

Layout
------
Directives start with ``#``; ``#Fields:`` names the columns of the records
below it, in any order (W3C Working Draft WD-logfile-960323). Written by
Blue Coat / Symantec ProxySG (``#Software: SGOS``), Microsoft ISA Server and
Forefront TMG (web proxy log, tab-separated), Cisco WSA (``#Software: AsyncOS
for Web``), IIS and others::

    #Software: SGOS 6.7.5.3
    #Version: 1.0
    #Fields: date time time-taken c-ip s-ip cs-method cs-uri-scheme cs-host cs-uri-port sc-status
    s-action sc-bytes cs-bytes cs(User-Agent) s-supplier-ip
    2026-11-03 08:00:00 412 10.1.1.5 10.1.1.250 CONNECT tcp c2.example 443 200 TCP_TUNNELED 4823
    1180 "Mozilla/5.0 (Windows NT 10.0)" 192.0.2.9

(the ``#Fields:`` line and the record are one line each, cut here)
A file is claimed when its first line is a directive and its first ``#Fields:``
line names a client (``c-ip``), a method (``cs-method``, TMG's ``s-operation``),
a time (``date`` and ``time``, or WSA's epoch ``timestamp``) and something that
names the destination (``cs-host``, ``cs(Host)``, ``r-host``, ``cs-uri``,
``cs-url`` or ``cs-uri-stem``), so the Windows Firewall's ``pfirewall.log``
(``#Fields: date time action protocol src-ip ...``) is not. A ``#Fields:`` line
may come again anywhere (rotated logs appended, an appliance restarted) and may
name other columns: every record is read with the header above it. Fields are
separated by spaces (a value with spaces in double quotes, ``""`` for a quote,
as ProxySG writes ``cs(User-Agent)``), or by tabs when the ``#Fields:`` line is
(ISA/TMG); ``-`` is an empty value. Other directives (``#Software``,
``#Version``, ``#Date``, ``#Remark``...) are ignored.

Mapping to the connection row
-----------------------------
====================  ==========================================================
ts                    start of the transaction: ``date`` + ``time`` (or
                      ``timestamp``) minus the time taken. By the W3C draft
                      ``date``/``time`` are when the transaction completed
ts (time zone)        UTC: the W3C draft says so, and IIS, ISA/TMG (W3C files
                      only) and ProxySG's ``date``/``time`` write UTC; no
                      override (export in UTC when a product writes local time)
duration              ``time-taken`` (WSA: ``x-elapsed-time``): an integer is
                      milliseconds, as IIS, ProxySG, TMG and WSA write it; a
                      value with a decimal point is seconds (the draft's
                      ``<fixed>``)
src_ip, src_host      ``c-ip`` (must be an address); ``c-dns`` when logged.
                      ``src_port`` stays empty
dst_domain            the requested host: ``cs-host`` (ProxySG), ``cs(Host)``
                      (IIS), else the host of the URL (``cs-uri``: ISA/TMG;
                      ``cs-url``: WSA, ``tunnel://host:443/`` for a tunnel; an
                      absolute ``cs-uri-stem``), else ``r-host`` (TMG's
                      destination host). ``domain_source`` is ``connect`` for
                      a ``CONNECT``, ``http_host`` otherwise. A host that is an
                      IP literal is ``dst_ip`` with no domain
dst_port              ``cs-uri-port`` / ``r-port``, else a port in the host or
                      URL, else by scheme (``cs-uri-scheme``/``cs-protocol`` or
                      the URL's): https 443, http 80, ftp 21; 443 for a
                      ``CONNECT``, 80 when nothing says otherwise
dst_ip                the upstream server: ``s-supplier-ip``, ``r-ip`` or an
                      address in ``s-supplier-name`` / WSA's
                      ``x-hierarchy-origin`` (``DIRECT/203.0.113.9``), unless
                      ``s-hierarchy`` says the object came from a parent proxy
                      or the cache (anything but ``DIRECT``), or it equals
                      ``s-ip``. ``s-ip`` is the proxy's own address on ProxySG
                      and IIS and is never used; otherwise NULL
bytes_in, bytes_out   ``sc-bytes`` (to the client), ``cs-bytes`` (from the
                      client); NULL when the header lacks them (without
                      ``cs-bytes`` the size sub-scores are neutral)
proto, proxied        ``tcp``; always proxied
service               ``http`` for http, ``ssl`` for https, none for tunnels
====================  ==========================================================

Records skipped and counted (``sink.skip``), not connections:

* proxy authentication (looked at first): status 407 (``sc-status``, or WSA's
  ``x-resultcode-httpstatus`` ``TCP_DENIED/407``), or ProxySG ``s-action``
  ``TCP_AUTH_*`` (``TCP_AUTH_REDIRECT``, ``TCP_AUTH_FORM``);
* denied or blocked by the proxy: a value containing ``DENIED`` or starting
  with ``BLOCK`` in ``s-action`` (ProxySG ``TCP_DENIED``), ``sc-filter-result``
  (ProxySG ``DENIED``), ``action`` (TMG ``Denied``), ``x-resultcode-httpstatus``
  (WSA ``TCP_DENIED/403``) or ``x-acltag`` (WSA ``BLOCK_...``);
* no destination host: a record whose host fields are empty and whose URL is
  relative (an IIS log without ``cs(Host)`` records only ``/path``);
* records under a ``#Fields:`` line that lacks a required field (the line
  itself is reported once).

A ``403`` without such an action is the origin server's answer and counts.
Malformed records (a field count other than the header's, an unreadable date,
time, number, client address or port, a record before any ``#Fields:`` line)
are reported with file and line and skipped; reading goes on. Hosts, URLs and
user agents are data, never formatted into SQL, and shown with escapes in
messages.

Limits
------
Every record is taken as a request through a proxy: an IIS *web server* log
with ``cs(Host)`` reads as its visitors' requests for its own site (give the
hunt proxy logs, or an IIS used as a forward proxy with ARR). Syslog-wrapped
lines (``Aug 18 12:30:46 10.8.24.10 #Fields: ...``) are not read. TMG's
``r-ip`` is the next hop, which is the parent proxy when TMG is chained.

Read by DuckDB
--------------
A file whose first ``#Fields:`` line (in its first 1,000 lines) names ``date``,
``time`` and the host in a field of its own (``cs-host``, ``cs(Host)``; no URL
field), space-separated, is read by DuckDB (:mod:`beaconhunt.ingest.linescan`) up
to the first ``#Fields:`` line that differs from it: a record is read in SQL when
it has the header's number of fields, each field the SQL reads in its usual shape
(an IPv4 client, a calendar date, a time, digits for sizes and ports, an ASCII
host) and the others plain words or wholly quoted values without a doubled quote.
Every other line — the ``#Fields:`` lines themselves, records before the first or
after a different one, records of any other shape, a host with a port out of
range, a record naming its host only in ``r-host`` — is read by this module's
Python (``_read_lines``), which gives it the same row, skip or problem as a file
read wholly in Python (``tests/ingest/test_w3c_sql.py`` holds the two paths to
each other). A ``#Fields:`` line with bytes that are not UTF-8 makes the scan
fail and the file is read in Python. Measured by ``benchmarks/bench_readers.py
--formats w3c`` (100 hosts, seed 7, 2026-12-05, this project's 2-core machine):
189,505 records in 0.71 s against 3.66 s in Python.

Equivalence (``tests/ingest/test_reader_w3c.py``): the synthetic capture of
``Scenario.small`` written as a ProxySG W3C log (:mod:`beaconhunt.synth.render.w3c`)
and as Zeek logs, hunted with the same settings, reports every implant pair a
proxy carries (four of the five families; Sliver's mTLS on 8888 is absent)
with the same connection count. Over seeds 3, 7, 11 and 21 the implants' scores
differ by at most 0.003 (``date``/``time`` are whole seconds, so starts move by
up to a second), every pair's by at most 0.06 (low-scoring browsing); the test
allows 0.02 for implants. Decisions: the same for implants with a name; a
direct-IP implant that Zeek escalates on ``dest.no_dns`` (DNS logs needed) is
monitored.
"""

from __future__ import annotations

import csv
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import IPV4_SQL, show, whole_number
from beaconhunt.ingest.readers.squid import (
    DEFAULT_PORTS,
    authority,
    ip_text,
    port_number,
    target_of,
)
from beaconhunt.ingest.sniff import open_text

__all__ = ["READER", "W3CReader", "header_of"]

_FIELDS = "#Fields:"
#: role -> the field names that fill it (first present wins), lower case
_ROLES: dict[str, tuple[str, ...]] = {
    "date": ("date",), "time": ("time",), "epoch": ("timestamp",),
    "client": ("c-ip",), "client_dns": ("c-dns",),
    "method": ("cs-method", "s-operation"),
    "host": ("cs-host", "cs(host)"), "url": ("cs-uri", "cs-url", "cs-uri-stem"),
    "remote_host": ("r-host",), "scheme": ("cs-uri-scheme", "cs-protocol"),
    "port": ("cs-uri-port", "r-port"), "hierarchy": ("s-hierarchy",), "proxy_ip": ("s-ip",),
    "bytes_in": ("sc-bytes",), "bytes_out": ("cs-bytes",),
    "taken": ("time-taken", "x-elapsed-time"),
    "status": ("sc-status",), "result": ("x-resultcode-httpstatus",), "action": ("s-action",),
}  # fmt: skip
#: every field of these that is present is checked
_SUPPLIERS = ("s-supplier-ip", "r-ip", "s-supplier-name", "x-hierarchy-origin")
_VERDICTS = ("s-action", "sc-filter-result", "action", "x-resultcode-httpstatus", "x-acltag")
_NAMING = ("host", "url", "remote_host")
_SERVICE = {"http": "http", "https": "ssl"}
_TLS_SCHEMES = frozenset({"https", "ssl", "tcp", "tunnel", "ssl-tunnel", "wss"})

_DENIED = "denied or blocked by the proxy"
_AUTH = "proxy authentication required (407)"
_NO_HOST = "no destination host (relative URL, no host field)"
_NO_HEADER = "records under an unusable #Fields header"


#: one record's values by role; a role that is absent, empty or ``-`` is missing
_Values = dict[str, str]


@dataclass(frozen=True, slots=True)
class _Header:
    """Where each role is in the records below one ``#Fields:`` line (-1: absent)."""

    width: int
    tabs: bool
    at: dict[str, int]
    suppliers: tuple[int, ...]
    verdicts: tuple[int, ...]

    def values(self, cells: Sequence[str]) -> _Values:
        """The roles' values in one record (one dict per record: cheaper than a call per role)."""
        return {r: v for r, i in self.at.items() if i >= 0 and (v := cells[i]) not in ("-", "")}


def header_of(line: str) -> _Header | str:
    """The layout a ``#Fields:`` line announces, or why it cannot be used."""
    body = line[len(_FIELDS) :].strip()
    tabs = "\t" in body
    names = [n.strip().lower() for n in (body.split("\t") if tabs else body.split())]
    where = {n: i for i, n in reversed(list(enumerate(names)))}  # first occurrence wins
    at = {role: next((where[n] for n in ns if n in where), -1) for role, ns in _ROLES.items()}
    missing = [r for r in ("client", "method") if at[r] < 0]
    if at["epoch"] < 0 and (at["date"] < 0 or at["time"] < 0):
        missing.append("date/time")
    if all(at[r] < 0 for r in _NAMING):
        missing.append("host or URL")
    if missing:
        return f"#Fields header without {', '.join(missing)}"
    return _Header(
        len(names), tabs, at,
        tuple(where[n] for n in _SUPPLIERS if n in where),
        tuple(where[n] for n in _VERDICTS if n in where),
    )  # fmt: skip


def _cells(line: str, header: _Header) -> list[str]:
    """A record's fields: tab-separated, or space-separated with ``"quoted strings"``."""
    if header.tabs:
        return line.split("\t")
    if '"' not in line:
        return line.split()
    parts = line.split('"')
    if len(parts) % 2 == 0 or '""' in line:  # "" inside a string, or unbalanced: the slow way
        try:
            return next(csv.reader([line], delimiter=" ", skipinitialspace=True))
        except csv.Error as exc:  # a quoted string longer than csv's field limit
            raise ValueError(f"unreadable quoted strings: {exc}") from None
    out: list[str] = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(part)  # inside quotes
        else:
            out.extend(part.split())
    return out


# -- values -----------------------------------------------------------------------------------


class _Clock:
    """W3C ``date`` (``2026-11-03``) and ``time`` (``08:00:31[.fff]``) as epoch seconds, UTC."""

    def __init__(self) -> None:
        self._days: dict[str, float] = {}

    def __call__(self, date: str | None, time: str | None) -> float:
        day = self._days.get(date or "")
        if day is None:
            day = self._day(date or "")
        t = time or ""
        if len(t) < 8 or t[2] != ":" or t[5] != ":" or not (t[:2] + t[3:5]).isdigit():
            raise ValueError(f"unreadable time {show(t)}")
        try:
            sec = float(t[6:])
        except ValueError:
            raise ValueError(f"unreadable time {show(t)}") from None
        if not 0 <= sec < 61 or int(t[:2]) > 23 or int(t[3:5]) > 59:
            raise ValueError(f"unreadable time {show(t)}")
        return day + int(t[:2]) * 3600 + int(t[3:5]) * 60 + sec

    def _day(self, date: str) -> float:
        try:
            if len(date) != 10 or date[4] != "-" or date[7] != "-":
                raise ValueError
            day = datetime(int(date[:4]), int(date[5:7]), int(date[8:]), tzinfo=UTC).timestamp()
        except ValueError:
            raise ValueError(f"unreadable date {show(date)}") from None
        if len(self._days) > 4096:
            self._days.clear()
        self._days[date] = day
        return day


def _number(text: str | None, what: str) -> int | None:
    return None if text is None else whole_number(text, what)


def _seconds(text: str | None) -> float | None:
    """``time-taken``: integer milliseconds, or seconds when written with a decimal point."""
    if text is None:
        return None
    try:
        value = float(text) if "." in text else int(text) / 1000.0
    except (ValueError, OverflowError):  # OverflowError: more milliseconds than a float holds
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"unreadable time-taken {show(text)}")
    return value


def _epoch(text: str | None) -> float:
    try:
        value = float(text or "")
    except ValueError:
        value = math.nan
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"unreadable timestamp {show(text or '')}")
    return value


# -- one record ---------------------------------------------------------------------------------


def _refused(v: _Values, cells: Sequence[str], h: _Header) -> str | None:
    """Why the proxy did not let the request through (a skip reason), or None."""
    status = v.get("status") or v.get("result", "").partition("/")[2]
    if status == "407" or v.get("action", "").upper().startswith("TCP_AUTH"):
        return _AUTH  # checked first: a 407 is also written TCP_DENIED
    for i in h.verdicts:
        verdict = cells[i].upper()
        if "DENIED" in verdict or verdict.startswith("BLOCK"):
            return _DENIED
    return None


def _destination(v: _Values, method: str) -> tuple[str, str | None, int, str] | None:
    """(host, its address if a literal, port, scheme) of the request; None without a host."""
    scheme = v.get("scheme", "").lower()
    host: str | None = None
    port: int | None = None
    field = v.get("host")
    if field is not None:
        host, port = authority(field)
    url = v.get("url")
    target = target_of(method, url) if url is not None else None
    if target is not None:
        scheme = scheme or target.scheme
        host = host or target.host
        port = port or target.port
    host = host or v.get("remote_host")
    if host is None:
        return None
    explicit = v.get("port")
    if explicit is not None:
        port = port_number(explicit)
    if port is None:
        tls = method == "CONNECT" or scheme in _TLS_SCHEMES
        port = 443 if tls else DEFAULT_PORTS.get(scheme, 80)
    ip = ip_text(host)
    return ip or host, ip, port, scheme


def _upstream(v: _Values, cells: Sequence[str], h: _Header) -> str | None:
    """The origin server's address, never the proxy's own (``s-ip``)."""
    hierarchy = v.get("hierarchy")
    if hierarchy is not None and "DIRECT" not in hierarchy.upper():
        return None  # from a parent proxy or the cache
    own = ip_text(v.get("proxy_ip", ""))
    for i in h.suppliers:
        code, sep, rest = cells[i].partition("/")
        if sep and "DIRECT" not in code.upper():
            continue  # x-hierarchy-origin from a parent: DEFAULT_PARENT/proxy2
        ip = ip_text(rest if sep else cells[i])
        if ip is not None and ip != own:
            return ip
    return None


class W3CReader(NetworkReader):
    """W3C extended log format web proxy logs (ProxySG, ISA/TMG, WSA, IIS...)."""

    name = "w3c"
    description = (
        "W3C extended web proxy logs (`#Fields:` header: Blue Coat ProxySG, ISA/Forefront TMG,"
        " Cisco WSA, IIS): one connection per request or CONNECT tunnel, named by the host"
    )

    def detect(self, head: str, path: Path) -> bool:
        lines = head.splitlines()
        first = next((ln for ln in lines if ln.strip()), "")
        if not first.startswith("#"):
            return False
        fields = next((ln for ln in lines if ln.startswith(_FIELDS)), None)
        return fields is not None and isinstance(header_of(fields.rstrip("\r\n")), _Header)

    def line_scan(self, path: Path) -> LineScan | None:
        """The SQL of the file's first ``#Fields:`` layout when it is one the SQL reads
        (module docstring, "Read by DuckDB"), else None."""
        try:
            first = _first_fields(path)
        except (OSError, EOFError, zlib.error):
            return None
        if first is None or "\ufffd" in first:
            return None
        header = header_of(first)
        if not isinstance(header, _Header) or not _in_sql(header):
            return None
        return LineScan(_scan_sql(header), (first,), python=_read_lines)

    def read(self, path: Path, sink: FlowSink) -> None:
        with open_text(path) as fh:
            _read_lines(enumerate(fh, start=1), sink)


def _read_lines(lines: Iterable[tuple[int, str]], sink: FlowSink) -> None:
    """Numbered lines (with or without their line end) into ``sink``, each record with
    the ``#Fields:`` line above it. The lines may be a part of the file (those its SQL
    leaves to Python) if they hold every ``#Fields:`` line of it."""
    header: _Header | None = None
    seen = False  # a #Fields line was seen, usable or not
    clock = _Clock()
    for n, raw in lines:
        line = raw.rstrip("\r\n")
        if n == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        if line.startswith("#"):
            if line.startswith(_FIELDS):
                found = header_of(line)
                header = found if isinstance(found, _Header) else None
                seen = True
                if isinstance(found, str):
                    sink.problem(n, f"{found}: the records below it are skipped")
            continue
        if header is None:
            if seen:
                sink.skip(_NO_HEADER)
            else:
                sink.problem(n, "record before any #Fields header")
            continue
        try:
            _record(line.strip(), header, clock, sink)
        except ValueError as exc:
            sink.problem(n, str(exc))


def _record(line: str, h: _Header, clock: _Clock, sink: FlowSink) -> None:
    """One record -> one connection or a counted skip; ``ValueError`` if malformed."""
    cells = _cells(line, h)
    if len(cells) != h.width:
        raise ValueError(f"{len(cells)} fields where the #Fields header has {h.width}")
    client = ip_text(cells[h.at["client"]])
    if client is None:
        raise ValueError(f"c-ip {show(cells[h.at['client']])} is not an IP address")
    v = h.values(cells)
    epoch = h.at["epoch"] >= 0  # WSA's epoch timestamp, else date and time
    end = _epoch(v.get("epoch")) if epoch else clock(v.get("date"), v.get("time"))
    taken = _seconds(v.get("taken"))
    bytes_in = _number(v.get("bytes_in"), "sc-bytes")
    bytes_out = _number(v.get("bytes_out"), "cs-bytes")
    refused = _refused(v, cells, h)
    if refused:
        sink.skip(refused)
        return
    method = v.get("method", "").upper()
    dest = _destination(v, method)
    if dest is None:
        sink.skip(_NO_HOST)
        return
    host, ip, port, scheme = dest
    sink.connection(
        end - taken if taken is not None else end, client, None,
        ip or _upstream(v, cells, h), port, "tcp",
        service=_SERVICE.get(scheme),
        duration=taken,
        bytes_out=bytes_out,
        bytes_in=bytes_in,
        dst_domain=None if ip else host,
        domain_source="connect" if method == "CONNECT" else "http_host",
        proxied=True,
        src_host=v.get("client_dns"),
    )  # fmt: skip


# -- read by DuckDB --------------------------------------------------------------------------

#: Lines looked at for the first ``#Fields:`` line.
_HEAD_LINES = 1000
#: The statement's error when a ``#Fields:`` line had bytes that are not UTF-8: DuckDB
#: re-reads such a line alone, after the others were read under the header above it, so
#: the file is read in Python instead (the loader does so when the scan fails).
_PYTHON = "w3c: a #Fields line with bytes that are not UTF-8 is read in Python"
#: A field the SQL reads: printable ASCII without spaces or double quotes.
_WORD = "[!#-~]+"
#: A field the SQL does not read: a word, or one wholly in double quotes (no ``""`` inside,
#: not empty) with spaces (``_FREE``) or without (``_FREE_WORD``), which Python's
#: ``_cells`` splits the same way.
_FREE = '[!#-~]+|"[ !#-~]+"'
_FREE_WORD = '[!#-~]+|"[!#-~]+"'
#: The fields the SQL reads in their usual shape, by role (any other role read: a word).
_PATTERNS = {
    "client": IPV4_SQL,
    "date": "[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}",
    "time": r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]{1,6})?",
    "taken": r"-|[0-9]{1,15}(?:\.[0-9]{1,6})?",
    "bytes_in": "-|[0-9]{1,18}",
    "bytes_out": "-|[0-9]{1,18}",
    "host": "-|[A-Za-z0-9._-]+(?::[0-9]{1,5})?",
    "port": "-|[0-9]{1,5}",
    "proxy_ip": f"-|{IPV4_SQL}",
}
_TLS_SQL = ", ".join(f"'{s}'" for s in sorted(_TLS_SCHEMES))
_PORTS_SQL = " ".join(f"WHEN '{k}' THEN {v}" for k, v in DEFAULT_PORTS.items())
#: The roles the SQL reads (``_record``'s, but ``epoch`` and ``url``, which it does not
#: read, and ``remote_host``, only read when the host field is empty: then in Python).
_READ = ("client", "date", "time", "taken", "bytes_in", "bytes_out", "status", "result", "action",
         "method", "host", "scheme", "port", "hierarchy", "proxy_ip", "client_dns")  # fmt: skip


def _first_fields(path: Path) -> str | None:
    """The first ``#Fields:`` line of ``path`` as :func:`_read_lines` sees it (None when
    the head has none)."""
    with open_text(path) as fh:
        for n, raw in enumerate(fh, start=1):
            if n > _HEAD_LINES:
                return None
            line = raw.rstrip("\r\n")
            line = line.removeprefix("\ufeff") if n == 1 else line
            if line.startswith(_FIELDS):
                return line
    return None


def _in_sql(h: _Header) -> bool:
    """Whether the SQL reads records of layout ``h``: space-separated, ``date`` and
    ``time``, and the host in a field of its own (no URL field)."""
    at = h.at
    return (
        not h.tabs and at["epoch"] < 0 and at["date"] >= 0 and at["time"] >= 0
        and at["url"] < 0 and at["host"] >= 0
    )  # fmt: skip


def _record_re(h: _Header, free: str) -> str:
    """The whole record of layout ``h``: each field read in its shape, the others ``free``."""
    shape = dict.fromkeys(range(h.width), free)
    for i in (*h.suppliers, *h.verdicts):
        shape[i] = f"-|{IPV4_SQL}" if i in h.suppliers else _WORD
    for role in _READ:
        i = h.at[role]
        if i >= 0:
            shape[i] = _PATTERNS.get(role, shape[i] if shape[i] != free else _WORD)
    return " ".join(f"(?:{shape[i]})" for i in range(h.width))


def _scan_sql(h: _Header) -> str:
    """The select of layout ``h`` over ``lines``; its one parameter is the first
    ``#Fields:`` line: records below it are read in SQL up to the first ``#Fields:``
    line that differs from it, all records after that in Python. Every ``#Fields:``
    line goes to Python, so that its reader holds the header of each record it is
    given."""
    at = {role: i for role, i in h.at.items() if i >= 0}
    cells = sorted({*(at[r] for r in _READ if r in at), *h.suppliers, *h.verdicts})
    picked = ", ".join(f"c[{i + 1}] AS x{i}" for i in cells)

    def x(role: str) -> str:
        return f"x{at[role]}"

    def given(role: str) -> str:
        """The role's value, NULL when absent or ``-`` (``_Header.values``)."""
        return f"nullif({x(role)}, '-')" if role in at else "NULL"

    status = f"coalesce({given('status')}, '')"
    if "result" in at:
        result = given("result")
        status = (
            f"coalesce({given('status')}, CASE WHEN contains({result}, '/')"
            f" THEN substr({result}, strpos({result}, '/') + 1) END, '')"
        )
    auth = f"{status} = '407' OR starts_with(upper(coalesce({given('action')}, '')), 'TCP_AUTH')"
    denied = (
        " OR ".join(
            f"contains(upper(x{i}), 'DENIED') OR starts_with(upper(x{i}), 'BLOCK')"
            for i in h.verdicts
        )
        or "false"
    )
    # after the skips, as _destination reads them: the host field's port, the explicit port
    late = ["coalesce(host_port NOT BETWEEN 1 AND 65535, false)"]
    if "remote_host" in at:
        late.insert(0, f"{given('host')} IS NULL")  # r-host names it then: Python's
    explicit = "NULL"
    if "port" in at:
        explicit = f"CAST({given('port')} AS INTEGER)"
        late.append(f"coalesce({explicit} NOT BETWEEN 1 AND 65535, false)")
    upstream = "coalesce(" + ", ".join(
        [f"CASE WHEN x{i} <> '-' AND x{i} IS DISTINCT FROM own THEN x{i} END" for i in h.suppliers]
        + ["NULL"]
    ) + ")"  # fmt: skip
    if "hierarchy" in at:
        hierarchy = given("hierarchy")
        upstream = (
            f"CASE WHEN {hierarchy} IS NOT NULL AND NOT contains(upper({hierarchy}), 'DIRECT')"
            f" THEN NULL ELSE {upstream} END"
        )
    taken = "NULL"
    if "taken" in at:
        taken = (
            f"CASE WHEN {x('taken')} = '-' THEN NULL WHEN contains({x('taken')}, '.')"
            f" THEN CAST({x('taken')} AS DOUBLE)"
            f" ELSE CAST({x('taken')} AS BIGINT) / 1000.0::DOUBLE END"
        )
    time = x("time")
    return f"""
WITH w AS (
    SELECT n, line,
           min(CASE WHEN starts_with(line, '{_FIELDS}') THEN n END) OVER () AS f1,
           min(CASE WHEN starts_with(line, '{_FIELDS}') AND line <> ? THEN n END) OVER () AS fd
    FROM lines WHERE line IS NOT NULL
), m AS (
    SELECT n, line, starts_with(line, '#') AS directive,
           CASE WHEN starts_with(line, '#')
                     OR NOT coalesce(n > f1 AND n < coalesce(fd, n + 1), false) THEN 0
                WHEN regexp_full_match(line, '{_record_re(h, _FREE_WORD)}') THEN 1
                WHEN regexp_full_match(line, '{_record_re(h, _FREE)}') THEN 2
                ELSE 0 END AS shape
    FROM w
), s AS (
    SELECT n, line, directive, shape > 0 AS ok,
           CASE shape WHEN 1 THEN string_split(line, ' ')
                WHEN 2 THEN string_split(array_to_string(list_transform(string_split(line, '"'),
                    lambda p, i: CASE WHEN i % 2 = 0 THEN replace(p, ' ', chr(31)) ELSE p END),
                    '"'), ' ') END AS c
    FROM m
), v AS (
    SELECT n, line, directive, ok, {picked} FROM s
), r AS (
    SELECT *,
           TRY_CAST({x("date")} AS DATE) AS day,
           CASE WHEN {auth} THEN '{_AUTH}' WHEN {denied} THEN '{_DENIED}' END AS refused,
           upper(coalesce({given("method")}, '')) AS method,
           lower(coalesce({given("scheme")}, '')) AS scheme,
           split_part({x("host")}, ':', 1) AS host,
           TRY_CAST(nullif(split_part({x("host")}, ':', 2), '') AS INTEGER) AS host_port,
           {given("proxy_ip")} AS own
    FROM v
), d AS (
    SELECT *,
           CASE WHEN NOT ok OR day IS NULL THEN 'python'
                WHEN refused IS NOT NULL THEN refused
                WHEN {given("host")} IS NULL AND {given("remote_host")} IS NULL
                    THEN '{_NO_HOST}'
                WHEN {" OR ".join(late)} THEN 'python'
                END AS what
    FROM r
), e AS (
    SELECT *,
           CASE WHEN what IS NULL THEN
                CAST(date_diff('day', DATE '1970-01-01', day) * 86400
                     + CAST(substr({time}, 1, 2) AS INTEGER) * 3600
                     + CAST(substr({time}, 4, 2) AS INTEGER) * 60 AS DOUBLE)
                + CAST(substr({time}, 7) AS DOUBLE) END AS done,
           CASE WHEN what IS NULL THEN {taken} END AS taken,
           CASE WHEN regexp_full_match(host, '{IPV4_SQL}') THEN host END AS ip
    FROM d
)
SELECT n,
       CASE WHEN directive OR what = 'python' THEN line END AS python_line,
       CASE WHEN what <> 'python' THEN what END AS skip,
       coalesce(done - taken, done) AS ts,
       taken AS duration,
       {x("client")} AS src_ip,
       coalesce(ip, {upstream}) AS dst_ip,
       coalesce(CASE WHEN what IS NULL THEN {explicit} END, host_port,
                CASE WHEN method = 'CONNECT' OR scheme IN ({_TLS_SQL}) THEN 443
                     ELSE CASE scheme {_PORTS_SQL} ELSE 80 END END) AS dst_port,
       'tcp' AS proto,
       CASE scheme WHEN 'http' THEN 'http' WHEN 'https' THEN 'ssl' END AS service,
       CASE WHEN what IS NULL THEN CAST({given("bytes_out")} AS BIGINT) END AS bytes_out,
       CASE WHEN what IS NULL THEN CAST({given("bytes_in")} AS BIGINT) END AS bytes_in,
       CASE WHEN ip IS NULL THEN host END AS dst_domain,
       CASE WHEN method = 'CONNECT' THEN 'connect' ELSE 'http_host' END AS domain_source,
       true AS proxied,
       {given("client_dns")} AS src_host,
       CASE WHEN starts_with(line, '{_FIELDS}') AND contains(line, '\ufffd')
            THEN error('{_PYTHON}') END AS _guard
FROM e
WHERE NOT directive OR starts_with(line, '{_FIELDS}')
"""


READER = W3CReader()
