"""Squid's ``access.log``: the native format and the built-in ``common``/``combined`` formats.

Layouts
-------
**Native** (``logformat squid``, the default: ``%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru
%[un %Sh/%<a %mt``, written by ``Log::Format::SquidNative``), ten whitespace-separated fields
``time elapsed remotehost code/status bytes method URL rfc931 peerstatus/peerhost type``::

    1793692800.412    412 10.1.1.5 TCP_TUNNEL/200 4823 CONNECT c2.test:443 - HIER_DIRECT/192.0.2.9 -
    1793692861.020    118 10.1.1.7 TCP_MISS/200 512 GET http://a.test/ - HIER_DIRECT/192.0.2.7 -

Fields after the tenth are ignored: the two ``[request headers] [reply headers]``
blocks of ``log_mime_hdrs on``, or fields a ``logformat`` appends to the native
ones (``... %mt %ssl::>sni``).

**common** and **combined** (``logformat common``/``combined``, Squid's Apache-style
formats, ``Log::Format::HttpdCommon``/``HttpdCombined``); a line holds ``] "``, which a
native line never does (each example is one line, cut here)::

    10.1.1.5 - - [03/Nov/2026:08:00:31 +0000] "CONNECT c2.test:443 HTTP/1.1" 200 4823
    TCP_TUNNEL:HIER_DIRECT
    10.1.1.5 - - [03/Nov/2026:08:00:31 +0000] "GET http://a.test/ HTTP/1.1" 200 51 "-" "UA"
    TCP_MISS:HIER_DIRECT

Other ``logformat`` definitions (custom field orders, ``referrer``, ``useragent``,
``icap_squid``) and access logs sent through syslog with a header in front are
not read; nor are Squid's ``cache.log`` and ``store.log``.

Mapping to the connection row
-----------------------------
====================  ==========================================================
ts                    start of the transaction: ``time`` - ``elapsed``. Squid
                      writes ``time`` when it logs the transaction, at its end
                      (``current_time``); common/combined carry no elapsed
                      time, so their ``ts`` is that end, to the second
duration              ``elapsed`` / 1000 (native only)
src_ip                ``remotehost`` (an IPv4-mapped IPv6 address as IPv4);
                      ``src_port`` is not logged
dst_domain            the requested host: the ``CONNECT`` target
                      (``domain_source`` ``connect``) or the host of an absolute
                      URL (``http_host``); a host that is an IP literal is no
                      name: it is ``dst_ip`` and ``dst_domain`` stays empty
dst_port              the requested port: ``host:port`` of a ``CONNECT``, the
                      URL's port, else the scheme's (http 80, https 443, ftp 21)
dst_ip                the origin server Squid connected to, from
                      ``peerstatus/peerhost`` when the code is a direct one
                      (``HIER_DIRECT``, ``CLOSEST_DIRECT``, ``ORIGINAL_DST``,
                      Squid 2's ``DIRECT``; ``TIMEOUT_`` ignored) and the host
                      is an address. A parent cache (``FIRST_PARENT_MISS/...``)
                      is not the destination, a cache hit (``HIER_NONE/-``) has
                      none: NULL. Never the proxy's own address
bytes_in              ``bytes``: what Squid delivered to the client, headers
                      included (for a tunnel, the tunnelled bytes)
bytes_out             NULL: no Squid built-in format logs the request size, so
                      the size sub-score of these rows measures ``bytes_in``
                      (the prefilter's size rules, on ``bytes_out``, stay off)
proto, proxied        ``tcp``; always proxied (these are requests to a proxy)
service               ``http`` for ``http://`` URLs, ``ssl`` for ``https://``
                      (SslBump), none for tunnels
====================  ==========================================================

Records skipped and counted (``sink.skip``), not connections:

* ``UDP_*`` codes: ICP/HTCP queries between caches, not client requests;
* status 407, whatever the code (``TCP_DENIED/407``: proxy authentication
  required, the client's first try before it sends credentials);
* code containing ``DENIED`` (``TCP_DENIED``, ``TCP_DENIED_REPLY``): the proxy
  refused the request, nothing reached the destination;
* URLs that name no host: ``error:invalid-request``,
  ``error:transaction-end-before-headers`` (Squid 4+), ``/path`` (accelerator
  mode), ``*``.

A ``403`` from the origin (``TCP_MISS/403``) is a connection and counts; a
``403`` that Squid itself served is ``TCP_DENIED/403`` and is skipped. Cache
hits count (the client still made the request), as do aborted transfers
(``TCP_MISS_ABORTED/000``) and failures to reach the server (``NONE_NONE/503``).

A malformed line (too few fields, an unreadable time, number, client address or
port, an empty host) is reported with file and line and skipped; reading goes on.
Hostnames and URLs are attacker-controlled: they are stored as data, never
formatted into SQL, and shown with escapes in messages.

Time zone
---------
Native ``time`` is epoch seconds (UTC) with milliseconds. common/combined times
carry their UTC offset (``[03/Nov/2026:09:00:31 +0100]``) and are converted.

Limits
------
With SslBump a decrypted session is logged as its ``CONNECT`` and as each
request inside it (``GET https://...``): each line counts as a connection, so
such a pair has more connections than a Zeek capture would. Squid's
``log_fqdn``/``%>A`` client names are not IP addresses and are reported.
The request size is missing, so ``size.consistent`` evidence never appears.

Read by DuckDB
--------------
:meth:`SquidReader.line_scan` reads the usual native line in SQL
(:mod:`beaconhunt.ingest.linescan`): printable ASCII fields, a time with
milliseconds, a canonical IPv4 client, an upper-case code and method, and a
``CONNECT host:port`` or ``scheme://host[:port]`` target whose host is a name
or a canonical IPv4 address. Every other line (common/combined, IPv6, user
information in a URL, a port out of range, tabs or non-ASCII text, leading or
trailing spaces, a line Python would report) goes to the same per-line Python
as :meth:`~SquidReader.read`, so the two read a file identically
(``tests/ingest/test_squid_sql.py``).

Equivalence (``tests/ingest/test_reader_squid.py``): the synthetic capture of
``Scenario.small`` written as a Squid log (:mod:`beaconhunt.synth.render.squid`)
and as Zeek logs, hunted with the same settings, reports every implant pair a
proxy carries (HTTPS to 443 and HTTP on any port: four of the five families;
Sliver's mTLS on 8888 does not use a proxy and is absent) with the same
connection count. Without ``bytes_out`` the size sub-score measures the replies
(``bytes_in``), which are as steady as the requests for idle check-ins:
implants' scores differ from Zeek's by at most 0.004 over seeds 3, 7, 11 and
21 (0.100 when the size was scored neutral instead); the test allows 0.02.
Decisions: the same for implants with a name (``monitor`` without context
files); a direct-IP implant that Zeek escalates on its ``dest.no_dns`` evidence
(which needs DNS logs, which a proxy log lacks) is monitored.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers._fields import IPV4_SQL, show, whole_number
from beaconhunt.ingest.sniff import open_text

__all__ = [
    "DEFAULT_PORTS",
    "READER",
    "SquidReader",
    "Target",
    "authority",
    "ip_text",
    "port_number",
    "target_of",
]

#: The port a URL scheme implies when the URL names none.
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443,
                                 "gopher": 70}  # fmt: skip
#: Hierarchy codes whose peer is the origin server itself.
_DIRECT = frozenset({"HIER_DIRECT", "DIRECT", "CLOSEST_DIRECT", "ORIGINAL_DST"})
#: Lines looked at by :meth:`SquidReader.detect`.
_DETECT_LINES = 5
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_SERVICE = {"http": "http", "https": "ssl"}

_DENIED = "denied by the proxy (DENIED)"
_AUTH = "proxy authentication required (407)"
_ICP = "ICP/HTCP queries between caches (UDP_*)"
_NO_HOST = "no destination host (error:, /path or * URL)"


# -- values shared with the W3C reader -------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def ip_text(text: str) -> str | None:
    """The canonical text of an IP address (``[...]`` removed, an IPv4-mapped IPv6
    address as IPv4), or None when ``text`` is not an address."""
    t = text[1:-1] if text[:1] == "[" and text[-1:] == "]" else text
    if ":" not in t and not t[:1].isdigit():
        return None  # a name: no need to try
    try:
        addr = ipaddress.ip_address(t)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def port_number(text: str) -> int:
    """A TCP port 1-65535 written in decimal; ``ValueError`` otherwise."""
    if not text.isdigit() or not 0 < int(text) <= 65535:
        raise ValueError(f"port {show(text)} out of range")
    return int(text)


def authority(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port).

    User information (``user@``) is dropped. Raises ``ValueError`` for an empty
    host or a port that is not 1-65535.
    """
    t = text[text.rfind("@") + 1 :]
    if t.startswith("["):
        end = t.find("]")
        if end < 0 or (len(t) > end + 1 and t[end + 1] != ":"):
            raise ValueError(f"unreadable IPv6 host {show(text)}")
        host, port = t[1:end], t[end + 2 :]
    elif t.count(":") > 1 and ip_text(t) is not None:
        host, port = t, ""  # a bare IPv6 address
    else:
        host, sep, port = t.rpartition(":")
        if not sep:
            host, port = t, ""
    if not host:
        raise ValueError(f"no host in {show(text)}")
    return host, port_number(port) if port else None


class Target(NamedTuple):
    """Where a proxied request goes: ``host`` (a name as written, or the canonical
    address when ``ip`` is set), the port (None when unknown) and the URL scheme
    (``""`` for a ``CONNECT`` authority)."""

    host: str
    ip: str | None
    port: int | None
    scheme: str


def target_of(method: str, url: str) -> Target | None:
    """The destination of a request line: ``CONNECT host:port``, an absolute URL
    ``scheme://[user@]host[:port]/...`` or a bare ``host:port``; None when the URL
    names no host (``/path``, ``error:...``, ``*``). ``ValueError`` for a bad port."""
    sep = url.find("://")
    if sep > 0:
        scheme, rest = url[:sep].lower(), url[sep + 3 :]
        end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
                  default=len(rest))  # fmt: skip
        host, port = authority(rest[:end])
        if port is None:
            port = DEFAULT_PORTS.get(scheme)
    elif method == "CONNECT" or _is_authority(url):
        scheme = ""
        host, port = authority(url)
        if port is None and method == "CONNECT":
            port = 443
    else:
        return None
    ip = ip_text(host)
    return Target(ip or host, ip, port, scheme)


def _is_authority(url: str) -> bool:
    """``host:port`` without a scheme or path (``error:invalid-request`` is not)."""
    host, sep, port = url.rpartition(":")
    return bool(sep and host and port.isdigit() and "/" not in url)


# -- one access.log line ---------------------------------------------------------------------


class _Record(NamedTuple):
    """What the connection row needs from one line, in either layout."""

    end: float  # when Squid logged it: the end of the transaction
    elapsed: float | None  # seconds
    client: str
    code: str  # TCP_MISS, TCP_TUNNEL, TCP_DENIED...
    status: str
    size: int
    method: str
    url: str
    peer: str  # "HIER_DIRECT/203.0.113.9" (native), "HIER_DIRECT" (common/combined)


def _count(text: str, what: str) -> int:
    return whole_number(text, what)  # bounded: a 30-digit size is out of range, not a crash


def _client(text: str) -> str:
    ip = ip_text(text)
    if ip is None:
        raise ValueError(f"client {show(text)} is not an IP address")
    return ip


def _code_status(text: str) -> tuple[str, str]:
    code, sep, status = text.rpartition("/")
    if not sep or not code.replace("_", "").isalpha() or not status.lstrip("-").isdigit():
        raise ValueError(f"unreadable code/status {show(text)}")
    return code, status


def _native(line: str) -> _Record:
    """A native line; ``ValueError`` says what is wrong with it."""
    parts = line.split(None, 10)
    if len(parts) < 10:
        raise ValueError(f"{len(parts)} fields where Squid's native format has 10")
    stamp, elapsed, client, result, size, method, url, _user, peer = parts[:9]
    try:
        end = float(stamp)
    except ValueError:
        end = math.nan
    if not (end >= 0 and math.isfinite(end)) or "." not in stamp:
        raise ValueError(f"unreadable time {show(stamp)}")
    code, status = _code_status(result)
    if "/" not in peer:
        raise ValueError(f"unreadable peerstatus/peerhost {show(peer)}")
    return _Record(end, _count(elapsed, "elapsed time") / 1000.0, _client(client), code, status,
                   _count(size, "size"), method, url, peer)  # fmt: skip


def _httpd_time(text: str) -> float:
    """``03/Nov/2026:08:00:31 +0000`` (Apache's ``%d/%b/%Y:%H:%M:%S %z``) as epoch seconds."""
    t = text.strip()
    try:
        if len(t) != 26 or t[2] != "/" or t[6] != "/" or t[11] != ":" or t[20] != " ":
            raise ValueError
        when = datetime(int(t[7:11]), _MONTHS[t[3:6]], int(t[:2]), int(t[12:14]),
                        int(t[15:17]), int(t[18:20]), tzinfo=UTC)  # fmt: skip
        sign = {"+": 1, "-": -1}[t[21]]
        offset = sign * (int(t[22:24]) * 3600 + int(t[24:26]) * 60)
    except (ValueError, KeyError):
        raise ValueError(f"unreadable time {show(text)}") from None
    return when.timestamp() - offset


def _httpd(line: str) -> _Record:
    """A common/combined line: ``client ident user [time] "method URL proto" status bytes
    ["referer" "agent"] code:hierarchy``."""
    open_ = line.find(" [")
    close = line.find('] "', open_)
    quote = line.find('"', close + 3)
    head = line[:open_].split()
    if open_ < 0 or quote < 0 or len(head) != 3:
        raise ValueError("not a Squid common/combined line")
    request = line[close + 3 : quote].split()
    rest = line[quote + 1 :].split()
    if len(request) < 2 or len(rest) < 3 or ":" not in rest[-1]:
        raise ValueError("not a Squid common/combined line")
    code, _, hierarchy = rest[-1].partition(":")
    if not code.replace("_", "").isalpha():
        raise ValueError(f"unreadable code:hierarchy {show(rest[-1])}")
    status = rest[0]
    if not status.lstrip("-").isdigit():
        raise ValueError(f"unreadable status {show(status)}")
    return _Record(_httpd_time(line[open_ + 2 : close]), None, _client(head[0]), code, status,
                   _count(rest[1], "size"), request[0], request[1], hierarchy)  # fmt: skip


def _parse(line: str) -> _Record:
    return _httpd(line) if '] "' in line else _native(line)


def _direct_peer(peer: str) -> str | None:
    """The origin server's address from ``HIER_DIRECT/203.0.113.9``; None for a parent,
    a cache hit or a name."""
    code, _, host = peer.partition("/")
    return ip_text(host) if code.removeprefix("TIMEOUT_") in _DIRECT and host else None


def _emit(rec: _Record, sink: FlowSink) -> None:
    """One record -> one connection, or a counted skip; ``ValueError`` if unusable."""
    if rec.code.startswith("UDP_"):
        sink.skip(_ICP)
    elif rec.status == "407":  # TCP_DENIED/407: the challenge before the client authenticates
        sink.skip(_AUTH)
    elif "DENIED" in rec.code:
        sink.skip(_DENIED)
    elif (target := target_of(rec.method, rec.url)) is None:
        sink.skip(_NO_HOST)
    else:
        elapsed = rec.elapsed
        sink.connection(
            rec.end - elapsed if elapsed is not None else rec.end, rec.client, None,
            target.ip or _direct_peer(rec.peer), target.port, "tcp",
            service=_SERVICE.get(target.scheme),
            duration=elapsed,
            bytes_in=rec.size,
            dst_domain=None if target.ip else target.host,
            domain_source="connect" if rec.method == "CONNECT" else "http_host",
            proxied=True,
        )  # fmt: skip


class SquidReader(NetworkReader):
    """Squid ``access.log``: native, common and combined formats."""

    name = "squid"
    description = (
        "Squid access.log (native `time elapsed client code/status bytes method URL ...`, "
        "or the common/combined formats): one connection per request or CONNECT tunnel"
    )

    def detect(self, head: str, path: Path) -> bool:
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
        for line in lines[:_DETECT_LINES]:  # one cut or broken line does not hide the rest
            try:
                _parse(line)
            except ValueError:
                continue
            return True
        return False

    def line_scan(self, path: Path) -> LineScan:
        """Native lines of the usual shape in SQL, every other line in Python
        (module docstring, "Read by DuckDB")."""
        return LineScan(_SCAN_SQL, python=_read_lines)

    def read(self, path: Path, sink: FlowSink) -> None:
        with open_text(path) as fh:
            _read_lines(enumerate(fh, start=1), sink)


def _read_lines(lines: Iterable[tuple[int, str]], sink: FlowSink) -> None:
    """Numbered lines (with or without their line end) into ``sink``; a byte-order
    mark before line 1 is no part of it (DuckDB drops it too)."""
    for n, raw in lines:
        line = raw.strip().removeprefix("\ufeff") if n == 1 else raw.strip()
        if not line:
            continue
        try:
            _emit(_parse(line), sink)
        except ValueError as exc:
            sink.problem(n, str(exc))


# -- read by DuckDB --------------------------------------------------------------------------

_IPV4 = IPV4_SQL
#: A printable ASCII field without spaces (Python's ``str.split`` splits on more).
_F = "[!-~]+"
#: A host of a URL or CONNECT target the SQL reads: letters, digits, ``.``, ``_``, ``-``.
_HOST = "[A-Za-z0-9._-]+"
#: The usual native line: time, elapsed, client, code/status, size, method, then a
#: CONNECT target or an absolute URL, user, hierarchy/peer, type, anything after.
_NATIVE = (
    rf"([0-9]{{1,10}}\.[0-9]{{3}}) +([0-9]{{1,15}}) ({_IPV4}) ([A-Z][A-Z_]*)/([0-9]{{1,5}})"
    rf" ([0-9]{{1,18}}) ([A-Z]+) ({_F}) {_F} ([A-Z][A-Z_]*)/({_F}) {_F}(?: .*[!-~])?"
)
#: ``scheme://host[:port][/?#...]`` and ``host:port``, as the SQL reads them.
_URL = rf"([A-Za-z][A-Za-z0-9+.-]*)://({_HOST})(?::([0-9]{{1,5}}))?(?:[/?#][!-~]*)?"
_CONNECT = rf"({_HOST}):([0-9]{{1,5}})"
_SCHEME_PORTS = " ".join(f"WHEN '{k}' THEN {v}" for k, v in DEFAULT_PORTS.items())
_SCAN_SQL = f"""
WITH m AS (
    SELECT n, line,
           coalesce(regexp_full_match(line, '{_NATIVE}') AND NOT contains(line, '] "'),
                    false) AS ok
    FROM lines WHERE line IS NOT NULL
), f AS (
    SELECT n, line, ok,
           CASE WHEN ok THEN string_split(split_part(line, ' ', 1) || ' '
                    || ltrim(line[strlen(split_part(line, ' ', 1)) + 2:]), ' ') END AS c
    FROM m
), r AS (
    SELECT n, line, ok,
           c[1] AS stamp, c[2] AS elapsed, c[3] AS client,
           split_part(c[4], '/', 1) AS code, split_part(c[4], '/', 2) AS status,
           c[5] AS size, c[6] AS method, c[7] AS url,
           split_part(c[9], '/', 1) AS peer_code,
           c[9][strlen(split_part(c[9], '/', 1)) + 2:] AS peer_host
    FROM f
), k AS (
    SELECT *,
           CASE WHEN NOT ok THEN NULL
                WHEN starts_with(code, 'UDP_') THEN '{_ICP}'
                WHEN status = '407' THEN '{_AUTH}'
                WHEN contains(code, 'DENIED') THEN '{_DENIED}' END AS skip,
           CASE WHEN NOT ok THEN NULL
                WHEN method = 'CONNECT' AND regexp_full_match(url, '{_CONNECT}')
                    THEN {{'scheme': '', 'host': split_part(url, ':', 1),
                          'port': split_part(url, ':', 2)}}
                WHEN regexp_full_match(url, '{_URL}')
                    THEN regexp_extract(url, '{_URL}', ['scheme', 'host', 'port'])
           END AS t
    FROM r
), h AS (
    SELECT *,
           lower(coalesce(t.scheme, '')) AS scheme,
           t.host AS host,
           CASE WHEN t.port <> '' THEN CAST(t.port AS INTEGER) END AS port,
           regexp_full_match(t.host, '{_IPV4}') AS host_ip,
           regexp_matches(t.host, '[A-Za-z_-]') AS host_name,
           CASE WHEN peer_code IN ('HIER_DIRECT', 'DIRECT', 'CLOSEST_DIRECT', 'ORIGINAL_DST',
                                   'TIMEOUT_HIER_DIRECT', 'TIMEOUT_DIRECT',
                                   'TIMEOUT_CLOSEST_DIRECT', 'TIMEOUT_ORIGINAL_DST')
                 AND peer_host <> '' THEN peer_host END AS direct
    FROM k
)
SELECT n,
       CASE WHEN NOT ok
                 OR (skip IS NULL AND (
                        t IS NULL OR NOT (host_ip OR host_name)
                        OR NOT coalesce(port BETWEEN 1 AND 65535, true)
                        OR regexp_matches(coalesce(direct, ''), '[:\\[]')))
            THEN line END AS python_line,
       skip,
       CAST(stamp AS DOUBLE) - CAST(elapsed AS DOUBLE) / 1000.0::DOUBLE AS ts,
       CAST(elapsed AS DOUBLE) / 1000.0::DOUBLE AS duration,
       client AS src_ip,
       CASE WHEN host_ip THEN host
            WHEN regexp_full_match(direct, '{_IPV4}') THEN direct END AS dst_ip,
       coalesce(port, CASE WHEN method = 'CONNECT' AND scheme = '' THEN 443 END,
                CASE scheme {_SCHEME_PORTS} END) AS dst_port,
       'tcp' AS proto,
       CASE scheme WHEN 'http' THEN 'http' WHEN 'https' THEN 'ssl' END AS service,
       CAST(size AS BIGINT) AS bytes_in,
       CASE WHEN NOT host_ip THEN host END AS dst_domain,
       CASE WHEN method = 'CONNECT' THEN 'connect' ELSE 'http_host' END AS domain_source,
       true AS proxied
FROM h
"""


READER = SquidReader()
