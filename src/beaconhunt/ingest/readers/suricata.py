"""Suricata EVE JSON (``eve.json``): flow events, named by the TLS, HTTP and DNS events.

Layout
------
One JSON object per line, as Suricata's ``eve-log`` output writes it
(``filetype: regular``; anything before the object, a ``prefix`` such as
``@cee: `` or a syslog header, is skipped), plain or gzip-compressed, current
or rotated (``eve.json.1``, ``eve-2026-11-03.json.gz``: the name does not
matter)::

    {"timestamp":"2026-11-03T08:00:31.000412+0000","flow_id":1193046010102834,
     "event_type":"flow","src_ip":"10.1.1.5","src_port":50112,"dest_ip":"203.0.113.9",
     "dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":7,
     "pkts_toclient":6,"bytes_toserver":1180,"bytes_toclient":4823,
     "start":"2026-11-03T08:00:00.123456+0000","end":"2026-11-03T08:00:01.373456+0000",
     "age":1,"state":"closed","reason":"timeout","alerted":false}}

A file is EVE when its first JSON object has ``event_type`` and ``timestamp``
and either the section its event type names (``"flow": {...}``) or ``src_ip``.

Events used
-----------
``flow``
    One connection per event (Suricata flows are bidirectional):

    ====================  =================================================
    ts                    ``flow.start`` (the event's ``timestamp`` is when
                          the flow was logged, after it timed out)
    duration              ``flow.end`` - ``flow.start``
    src_ip, src_port      ``src_ip``, ``src_port`` (the flow's client)
    dst_ip, dst_port      ``dest_ip``, ``dest_port``; for a ``CONNECT`` the
                          requested port, as for Zeek
    proto                 ``proto`` lower-cased; ``IPv6-ICMP`` is ``icmp``.
                          ICMP has no ports: ``icmp_type`` and ``icmp_code``
                          go in the port columns, as Zeek does
    service               ``app_proto`` in Zeek's words (``tls`` -> ``ssl``,
                          ``krb5`` -> ``krb``, ``dcerpc`` -> ``dce_rpc``);
                          ``failed``/``unknown`` -> none
    bytes_out, bytes_in   ``flow.bytes_toserver``, ``flow.bytes_toclient``
    conn_state            ``flow.state`` (``new``, ``established``,
                          ``closed``, ``bypassed``), not Zeek's SF/S0...
    dst_domain            from the flow's ``tls``/``http`` events, below
    ====================  =================================================

``tls``
    ``tls.sni`` names the flow with the same ``flow_id`` (``domain_source``
    ``sni``).
``http``
    ``http.hostname`` names it (``http_host``). A ``CONNECT host:port``
    request names it ``connect``, with the requested port as ``dst_port``, and
    marks it proxied, as does a request for an absolute ``http://`` URL (a
    client talking to a proxy): the same rules as for Zeek's http.log. A
    ``CONNECT`` name wins over SNI, SNI over the Host header.
``dns``
    Answers (``"type": "answer"``, ``"response"`` in EVE v3) give the
    question's name and its A/AAAA addresses to the DNS table, which names the
    flows the events above leave unnamed (TLS without SNI, other TCP/UDP) from
    what their source resolved, as for Zeek. All three layouts are read: v1
    (one event per answer record; a CNAME answer earlier in the file maps the
    alias back to the name asked), v2 (``answers`` list and/or ``grouped``;
    the question is the top-level ``rrname``) and v3 (``queries`` list).
    Older Suricata wrote answers in packet direction (``src_ip`` the server):
    when the source port is 53 and the destination port is not, the
    destination is taken as the client. A v2/v3 response is one whole lookup,
    so it is also kept, answered or not (NXDOMAIN, TXT, NULL), as a lookup with
    its resolver, query type and ``rcode`` for the DNS detector (the
    ``dns_lookup`` table); v1 writes one event per answer record and so gives no
    lookups.

Suricata writes a flow's tls and http events when it sees them and the flow
event when the flow times out, so names wait in a dictionary keyed by
``flow_id`` and leave it when their flow event is read. The dictionary is
bounded (``max_pending`` flows, oldest dropped first), so a file whose flow
events are missing cannot fill memory.

Skipped and counted (not problems): DNS queries (``dns queries``), answers
without an address (``dns answers without addresses``), tls/http events
without a ``flow_id``, ``netflow`` events and every other event type: alert,
anomaly, fileinfo, stats, drop, smb, ssh... (``other event types``).

**netflow events** are skipped. With ``netflow`` enabled Suricata writes one
record per direction of every flow, repeating what the ``flow`` event says;
reading them as well would count each connection two or three times. A file
with netflow events and no flow events gets a note asking for ``flow`` in
eve-log's ``types`` (it is in Suricata's default configuration).

Bytes and direction
-------------------
``src_ip`` is the flow's client (Suricata swaps the sides of a flow it picked
up mid-stream). ``bytes_toserver`` counts whole packets, link-layer, IP and
TCP headers included, where Zeek's ``orig_bytes`` counts payload: a small
check-in looks 54-66 bytes per packet larger. The size scores compare a
pair's connections with each other, so a constant overhead barely moves them.

Time
----
EVE times carry their UTC offset (``+0000``, ``-0800``, ``+05:30``) and are
converted to UTC; a time without an offset is taken as UTC.

Measured equivalence
--------------------
The synthetic captures of ``Scenario.small`` (seeds 3, 7, 11 and 21) written
as EVE (:mod:`beaconhunt.synth.render.suricata`) and as Zeek logs, hunted
with the same settings, report the same pairs with the same decisions and
connection counts; scores differ by at most 0.009 (implants: 0.002), from
the header bytes in the size scores. The equivalence test in
``tests/ingest/test_reader_suricata.py`` allows ``|score difference| <= 0.05``.

Read by DuckDB
--------------
A file is read by DuckDB (:mod:`beaconhunt.ingest.linescan`) when its lines are
the lines Python sees (no CR, no U+001F, only UTF-8). Each line is sorted by the
event type found after its first ``"event_type":"``, as the Python reader looks:

* ``flow`` and ``http`` events of the usual shape are read in SQL: a strict RE2
  pattern per event type proves the line is one JSON object whose keys occur once
  and whose values the reader reads are plain (no escapes), so DuckDB's JSON
  functions read what ``json.loads`` reads; times of Suricata's form are converted
  as ``datetime.fromisoformat`` converts them. The name each flow gets (a CONNECT
  target over SNI over a Host header, the first of a rank, names seen since the
  flow id's previous flow, :data:`MAX_PENDING` at most waiting) is chosen by window
  functions over the line numbers, as :class:`_File` chooses it;
* ``tls`` events are named in SQL and also handed to Python, which writes the
  ``ssl`` record; DNS answers, ``netflow`` events and lines without an event type
  go to Python; DNS queries and other event types are counted in SQL;
* a line that is none of these and could change a name (it ends in ``}`` and is
  not of a shape the SQL proves, an ``"event_type"`` key written twice or behind a
  ``\\u`` escape), an impossible value, or more names waiting than the limit, sends
  the whole file to Python, which reads it as it always did. A line that cannot be
  a JSON object (a cut line) is Python's problem, with its number.

The SQL and the Python give the same rows in every table, the same skips and the
same problems (``tests/ingest/test_suricata_sql.py`` loads every file both ways).
Measured (``benchmarks/bench_readers.py --formats suricata``, 100 hosts, seed 7,
2026-12-05, 2 cores): 16.4 s against 20.8 s in Python; most of the rest is the
DNS answers and TLS records still read in Python (361,062 of 975,678 lines).

Limits
------
A name whose flow event is in another file (a flow that spans a log rotation)
is lost; that flow is named from DNS like any other. EVE multi-line
("pretty") output is not read: one object per line, as Suricata writes it.
"""

from __future__ import annotations

import codecs
import gzip
import json
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

from beaconhunt.errors import InputProblem
from beaconhunt.ingest.linescan import LineScan, LineScanResult
from beaconhunt.ingest.network import MAX_PROBLEMS, FlowSink, NetworkReader
from beaconhunt.ingest.plausible import TS_MAX, TS_MIN
from beaconhunt.ingest.readers._fields import LARGEST_COUNT

__all__ = ["READER", "SuricataReader"]

#: tls/http names kept for flows whose flow event has not been read yet.
MAX_PENDING = 100_000
#: v1 DNS: alias -> the name asked, per client, for CNAME chains split over events.
_MAX_ALIASES = 10_000
#: JSON objects looked at by :meth:`SuricataReader.detect`.
_DETECT_LINES = 20

#: Suricata's app_proto in Zeek's ``service`` words (others are kept as they are).
_SERVICES = {"tls": "ssl", "krb5": "krb", "dcerpc": "dce_rpc", "failed": None, "unknown": None}
_PROTOS = {"ipv6-icmp": "icmp", "icmpv6": "icmp"}
_ADDRESS_TYPES = ("A", "AAAA")
#: Ports, and ICMP type and code (Zeek's ports for ICMP), are at most this.
_PORT_TOP = 65535
_OTHER = "other event types"
_TYPE_KEY = '"event_type":"'
_NETFLOW = "netflow events (flows are read from flow events)"
_NO_FLOW_ID = "tls/http events without flow_id"
_DNS_QUERY = "dns queries"
_DNS_EMPTY = "dns answers without addresses"
#: how sure a name is: a CONNECT target beats SNI, SNI beats a Host header
_RANK = {"connect": 0, "sni": 1, "http_host": 2}
#: FlowSink's last problem when more than MAX_PROBLEMS were told
_NOT_SHOWN = "further malformed lines not shown"


class _Name(NamedTuple):
    """What the tls/http events of one flow said about its destination."""

    name: str
    source: str
    proxied: bool
    port: int | None


_UNNAMED = _Name("", "", False, None)


class _File:
    """The state of reading one file: pending names, v1 DNS aliases, counts."""

    def __init__(self, sink: FlowSink, max_pending: int) -> None:
        self.sink = sink
        self.max_pending = max_pending
        self.names: OrderedDict[int | str, _Name] = OrderedDict()
        self.aliases: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.flows = 0
        self.netflows = 0

    def remember(self, flow_id: int | str, new: _Name) -> None:
        old = self.names.get(flow_id)
        if old is not None and _RANK[old.source] <= _RANK[new.source]:
            return
        self.names[flow_id] = new
        if len(self.names) > self.max_pending:
            self.names.popitem(last=False)

    def alias(self, client: str, alias: str, name: str) -> None:
        self.aliases[(client, alias)] = self.aliases.get((client, name), name)
        if len(self.aliases) > _MAX_ALIASES:
            self.aliases.popitem(last=False)


class SuricataReader(NetworkReader):
    """Suricata ``eve.json``: one connection per flow event."""

    name = "suricata"
    description = (
        "Suricata EVE JSON (eve.json, rotated or gzip): flow events named by tls/http/dns events"
    )

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self.max_pending = max_pending

    def detect(self, head: str, path: Path) -> bool:
        for line in head.splitlines()[:_DETECT_LINES]:
            obj = _object(line.strip())
            if isinstance(obj, dict):  # the first JSON object decides
                et, ts = obj.get("event_type"), obj.get("timestamp")
                return (
                    isinstance(et, str)
                    and isinstance(ts, str)
                    and ts[:1].isdigit()
                    and (isinstance(obj.get(et), dict) or "src_ip" in obj)
                )
        return False

    def line_scan(self, path: Path) -> LineScan | None:
        """Flow events of the usual shape in SQL, named in SQL; tls, dns and netflow events
        and unusual lines in Python (module docstring, "Read by DuckDB"). None for a file
        whose lines DuckDB would not see as Python does (CR, U+001F, bytes not UTF-8)."""
        try:
            if not _lines_as_python_reads_them(path):
                return None
        except (OSError, EOFError, zlib.error):
            return None
        states: list[_File] = []
        max_pending = self.max_pending

        def python(lines: Iterable[tuple[int, str]], sink: FlowSink) -> None:
            state = _File(sink, max_pending)
            states.append(state)
            _read_lines(lines, state)

        def notes(result: LineScanResult) -> list[InputProblem]:
            state = states[-1] if states else None
            if state is None or not state.netflows or state.flows or result.connections:
                return []  # no flow read by the SQL either: it has connections only
            _tell(result, _no_flows(state.netflows))
            return []

        return LineScan(_scan_sql(max_pending), python=python, notes=notes)

    def read(self, path: Path, sink: FlowSink) -> None:
        from beaconhunt.ingest.sniff import open_text

        state = _File(sink, self.max_pending)
        with open_text(path) as fh:
            _read_lines(enumerate(fh, start=1), state)
        if state.netflows and not state.flows:
            sink.problem(None, _no_flows(state.netflows))


def _no_flows(netflows: int) -> str:
    return (
        f"{netflows} netflow events but no flow events: enable 'flow' in"
        " eve-log types to read connections"
    )


def _tell(result: LineScanResult, message: str) -> None:
    """``FlowSink.problem(None, message)`` told after the lines' problems of ``result``:
    shown while fewer than MAX_PROBLEMS are, else counted in the last one."""
    shown = result.bad_lines
    result.bad_lines += 1
    if shown < MAX_PROBLEMS:
        result.problems.append(InputProblem(result.file, None, message, 1))
    elif shown == MAX_PROBLEMS:
        result.problems.append(InputProblem(result.file, None, _NOT_SHOWN, 1))
    else:
        last = result.problems[-1]
        result.problems[-1] = InputProblem(last.file, None, last.message, last.skipped + 1)


def _read_lines(lines: Iterable[tuple[int, str]], state: _File) -> None:
    """Numbered lines (with or without their line end) into ``state``'s sink."""
    for n, line in lines:
        _read_line(line, n, state)


def _read_line(line: str, n: int, state: _File) -> None:
    text = line.strip()
    if not text:
        return
    # events we do not use are counted without parsing them (Suricata writes
    # "event_type" before any payload-derived value, without spaces)
    at = text.find(_TYPE_KEY)
    if at >= 0:
        kind = text[at + len(_TYPE_KEY) : text.find('"', at + len(_TYPE_KEY))]
        if kind not in _HANDLERS and kind != "netflow":
            state.sink.skip(_OTHER)
            return
        if kind == "dns" and ('"type":"query"' in text or '"type":"request"' in text):
            state.sink.skip(_DNS_QUERY)  # a quote inside a JSON string is escaped:
            return  # these can only be the dns object's own type
    obj = _object(text)
    if isinstance(obj, str):
        state.sink.problem(n, obj)
        return
    et = obj.get("event_type")
    if not isinstance(et, str):
        state.sink.problem(n, "no event_type")
        return
    handler = _HANDLERS.get(et)
    if handler is None:
        if et == "netflow":
            state.netflows += 1
            state.sink.skip(_NETFLOW)
        else:
            state.sink.skip(_OTHER)
        return
    error = handler(obj, state)
    if error:
        state.sink.problem(n, error)


def _object(text: str) -> dict[str, Any] | str:
    """The JSON object on one line (after an optional prefix), or what is wrong."""
    start = text.find("{")
    if start < 0:
        return "not a JSON object"
    try:
        obj = json.loads(text[start:] if start else text)
    except (ValueError, RecursionError):
        return "not valid JSON"
    return obj if isinstance(obj, dict) else "not a JSON object"


# -- events -----------------------------------------------------------------------------------


def _flow(obj: dict[str, Any], state: _File) -> str | None:
    """One flow event -> one connection; the error message if it is unusable."""
    flow = obj.get("flow")
    if not isinstance(flow, dict):
        return "flow event without a 'flow' object"
    src, dst = obj.get("src_ip"), obj.get("dest_ip")
    if not isinstance(src, str) or not src or not isinstance(dst, str) or not dst:
        return "flow event without src_ip/dest_ip"
    start = _time(flow.get("start"))
    if start is None:
        return f"flow.start is not a time: {_show(flow.get('start'))}"
    end = _time(flow.get("end"))
    proto = _proto(obj.get("proto"))
    ports = ("icmp_type", "icmp_code") if proto == "icmp" else ("src_port", "dest_port")
    try:
        sport, dport = _count(obj, ports[0], _PORT_TOP), _count(obj, ports[1], _PORT_TOP)
        out, back = _count(flow, "bytes_toserver"), _count(flow, "bytes_toclient")
        pkts_out, pkts_in = _count(flow, "pkts_toserver"), _count(flow, "pkts_toclient")
    except _NotACount as exc:
        return str(exc)
    state.flows += 1
    flow_id = _flow_id(obj)
    named = state.names.pop(flow_id, _UNNAMED) if flow_id is not None else _UNNAMED
    app = obj.get("app_proto")
    state.sink.connection(
        start, src, sport, dst, dport if named.port is None else named.port, proto,
        service=_SERVICES.get(app, app) if isinstance(app, str) and app else None,
        duration=end - start if end is not None and end >= start else None,
        bytes_out=out, bytes_in=back, pkts_out=pkts_out, pkts_in=pkts_in,
        uid=_uid(flow_id) if flow_id is not None else None,
        conn_state=_text(flow.get("state")),
        dst_domain=named.name or None,
        domain_source=named.source or None,
        proxied=named.proxied,
    )  # fmt: skip
    return None


def _tls(obj: dict[str, Any], state: _File) -> str | None:
    tls = obj.get("tls")
    if not isinstance(tls, dict):
        return "tls event without a 'tls' object"
    sni = _text(tls.get("sni"))
    if sni is not None:
        _remember(obj, _Name(sni, "sni", False, None), state)
    flow_id = _flow_id(obj)
    ts = _time(obj.get("timestamp"))
    if flow_id is None or ts is None:
        return None
    try:
        sport, dport = _count(obj, "src_port", _PORT_TOP), _count(obj, "dest_port", _PORT_TOP)
    except _NotACount as exc:
        return str(exc)
    state.sink.tls(
        ts, _uid(flow_id), _text(obj.get("src_ip")), sport, _text(obj.get("dest_ip")), dport,
        server_name=sni, ja3=_hash(tls, "ja3"), ja3s=_hash(tls, "ja3s"),
        ja4=_text(tls.get("ja4")), subject=_text(tls.get("subject")),
        issuer=_text(tls.get("issuerdn")),
    )  # fmt: skip
    return None


def _uid(flow_id: int | str) -> str:
    """The connection uid a flow and its TLS event share (Suricata's flow_id)."""
    return f"suricata:{flow_id}"


def _hash(tls: Mapping[str, Any], key: str) -> str | None:
    """``tls.ja3.hash`` (EVE: an object with ``hash`` and ``string``)."""
    value = tls.get(key)
    return _text(value.get("hash")) if isinstance(value, dict) else None


def _http(obj: dict[str, Any], state: _File) -> str | None:
    http = obj.get("http")
    if not isinstance(http, dict):
        return "http event without an 'http' object"
    url = _text(http.get("url")) or ""
    host = _text(http.get("hostname"))
    if http.get("http_method") == "CONNECT":
        target, port = _authority(url)
        new = _Name(target or host or "", "connect", True, port)
    else:
        new = _Name(host or "", "http_host", url.lower().startswith("http://"), None)
    if new.name:
        _remember(obj, new, state)
    return None


def _remember(obj: Mapping[str, Any], name: _Name, state: _File) -> None:
    flow_id = _flow_id(obj)
    if flow_id is None:
        state.sink.skip(_NO_FLOW_ID)
    else:
        state.remember(flow_id, name)


def _dns(obj: dict[str, Any], state: _File) -> str | None:
    dns = obj.get("dns")
    if not isinstance(dns, dict):
        return "dns event without a 'dns' object"
    kind = dns.get("type")
    if kind in ("query", "request"):
        state.sink.skip(_DNS_QUERY)
        return None
    if kind not in ("answer", "response"):
        return f"dns.type is neither query nor answer: {_show(kind)}"
    ts = _time(obj.get("timestamp"))
    if ts is None:
        return f"timestamp is not a time: {_show(obj.get('timestamp'))}"
    client = _client(obj)
    if client is None:
        return "dns event without src_ip/dest_ip"
    name = _question(dns)
    addresses = _addresses(dns, client, name, state)
    # v2/v3 write one event per response (v2 says "version": 2 from Suricata 5 on);
    # v1, one per answer record
    whole = dns.get("version") in (2, 3) or any(k in dns for k in ("answers", "grouped", "queries"))
    if name is None or not (addresses or whole):
        state.sink.skip(_DNS_EMPTY)
        return None
    if not whole:  # v1: the record's owner, maybe an alias; one event per answer record
        name = state.aliases.get((client, name.lower().rstrip(".")), name)
        state.sink.dns(ts, client, name, addresses)
        return None
    # v2/v3: one event per response, so one lookup (what the DNS detector counts)
    state.sink.dns(ts, client, name, addresses, resolver=_server(obj, client),
                   qtype=_qtype(dns), rcode=_text(dns.get("rcode")), lookup=True)  # fmt: skip
    return None


def _server(obj: Mapping[str, Any], client: str) -> str | None:
    """The other side of the DNS event: the resolver the client asked."""
    src, dst = _text(obj.get("src_ip")), _text(obj.get("dest_ip"))
    return dst if src == client else src


def _qtype(dns: Mapping[str, Any]) -> str | None:
    """The question's type: v3 ``queries[0].rrtype``, v2 the top-level ``rrtype``."""
    queries = dns.get("queries")
    if isinstance(queries, list) and queries and isinstance(queries[0], dict):
        return _text(queries[0].get("rrtype"))
    return _text(dns.get("rrtype"))


_HANDLERS: dict[str, Callable[[dict[str, Any], _File], str | None]] = {
    "flow": _flow,
    "tls": _tls,
    "http": _http,
    "dns": _dns,
}


# -- DNS layouts ------------------------------------------------------------------------------


def _client(obj: Mapping[str, Any]) -> str | None:
    """The resolver's client: ``src_ip``, unless the event is in packet direction."""
    src, dst = _text(obj.get("src_ip")), _text(obj.get("dest_ip"))
    if src is None or dst is None:
        return None
    if obj.get("src_port") == 53 and obj.get("dest_port") != 53:
        return dst
    return src


def _question(dns: Mapping[str, Any]) -> str | None:
    """The name asked: v3 ``queries[0]``, v2/v1 ``rrname``, else the first answer's owner."""
    queries = dns.get("queries")
    if isinstance(queries, list) and queries and isinstance(queries[0], dict):
        return _text(queries[0].get("rrname"))
    name = _text(dns.get("rrname"))
    if name is not None:
        return name
    answers = dns.get("answers")
    if isinstance(answers, list) and answers and isinstance(answers[0], dict):
        return _text(answers[0].get("rrname"))
    return None


def _addresses(dns: Mapping[str, Any], client: str, name: str | None, state: _File) -> list[str]:
    """The A/AAAA addresses of an answer event, whatever its layout, without repeats."""
    found: list[Any] = []
    answers, grouped = dns.get("answers"), dns.get("grouped")
    if isinstance(answers, list):
        found += [a.get("rdata") for a in answers
                  if isinstance(a, dict) and a.get("rrtype") in _ADDRESS_TYPES]  # fmt: skip
    if isinstance(grouped, dict):
        for kind in _ADDRESS_TYPES:
            values = grouped.get(kind)
            found += values if isinstance(values, list) else []
    if answers is None and grouped is None:  # v1: one record per event
        rrtype, rdata = dns.get("rrtype"), dns.get("rdata")
        if rrtype in _ADDRESS_TYPES:
            found.append(rdata)
        elif rrtype == "CNAME" and name is not None and isinstance(rdata, str) and rdata:
            state.alias(client, rdata.lower().rstrip("."), name.lower().rstrip("."))
    return list(dict.fromkeys(a for v in found if (a := _address(v)) is not None))


def _address(value: Any) -> str | None:
    """An answer's address as flows print it. Suricata writes AAAA data uncompressed
    (``2606:4700:0000:...``) and flow addresses compressed, so IPv6 is normalized;
    IPv4 is kept as written (the DNS table keeps only address-shaped answers)."""
    if not isinstance(value, str) or not value or "," in value:
        return None
    if ":" not in value:
        return value
    try:
        return str(ip_address(value))
    except ValueError:
        return None


# -- values -----------------------------------------------------------------------------------


class _NotACount(ValueError):
    """A port or byte count that is not a non-negative integer."""


def _time(value: Any) -> float | None:
    """EVE's ISO 8601 time (``2026-11-03T08:00:00.123456+0000``) as epoch seconds UTC."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _count(obj: Mapping[str, Any], key: str, top: int = LARGEST_COUNT) -> int | None:
    """``obj[key]`` as an integer from 0 to ``top``, None when absent."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _NotACount(f"{key} is not a count: {_show(value)}")
    if value > top:
        raise _NotACount(f"{key} is out of range: {_show(value)}")
    return value


def _flow_id(obj: Mapping[str, Any]) -> int | str | None:
    value = obj.get("flow_id")
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _proto(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    p = value.lower()
    return _PROTOS.get(p, p)


def _authority(target: str) -> tuple[str | None, int | None]:
    """``host:443`` (a CONNECT target) -> (``host``, 443); brackets of IPv6 removed."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or (host.count(":") and not host.endswith("]")):
        return (target.strip("[]") or None), None
    return (host.strip("[]") or None), int(port)


def _show(value: Any) -> str:
    """A value for a problem message: repr (escapes control characters), cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- read by DuckDB ---------------------------------------------------------------------------

_CHUNK = 1 << 24


def _lines_as_python_reads_them(path: Path) -> bool:
    """True when DuckDB's lines of ``path`` are the lines ``open_text`` gives: no CR
    (DuckDB and universal newlines split on it differently), no U+001F (DuckDB's
    column separator in ``lines``: the rest of the line would be lost) and only UTF-8
    (DuckDB rejects a line that is not, and linescan reads it apart from the others,
    which a name waiting for its flow cannot be)."""
    from beaconhunt.ingest.sniff import is_gzip

    decoder = codecs.getincrementaldecoder("utf-8")()
    opened = gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # noqa: SIM115
    with cast(IO[bytes], opened) as fh:
        while chunk := fh.read(_CHUNK):
            if b"\r" in chunk or b"\x1f" in chunk:
                return False
            if not chunk.isascii():
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _key_except(*words: str) -> str:
    """An RE2 pattern of a JSON key without escapes (quotes included) that is none of
    ``words`` (ASCII words): the keys an object of the usual shape may hold besides
    those the reader reads, so that those cannot occur twice."""

    def rest(done: str) -> str:
        after = sorted({w[len(done)] for w in words if w.startswith(done) and len(w) > len(done)})
        alternatives = [] if done in words else [""]
        alternatives += [c + rest(done + c) for c in after]
        alternatives.append(f"[^{''.join(after)}{_NOT_CHAR}]{_CHAR}*")
        return "(?:" + "|".join(alternatives) + ")"

    return f'"{rest("")}"'


#: a character of a JSON string that is not written with an escape
_NOT_CHAR = r'"\\\x00-\x1f'
_CHAR = f"[^{_NOT_CHAR}]"
#: a string without escapes (the values read are all written so), and one with
_STR = f'"{_CHAR}*"'
_NONEMPTY = f'"{_CHAR}+"'
_ESCAPED = rf'"(?:{_CHAR}|\\["\\/bfnrt])*"'
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"


def _array(value: str) -> str:
    return rf"\[(?:{value}(?:,{value})*)?\]"


def _object_of(value: str) -> str:
    return rf"\{{(?:{_STR}:{value}(?:,{_STR}:{value})*)?\}}"


#: values the SQL does not read: before ``event_type`` scalars and lists of them
#: (no key can hide there from Python's look for ``"event_type":"``), after it also
#: flat objects and lists of them (``tcp``, ``metadata``, ``ja3``, HTTP headers)
_PLAIN = f"(?:{_STR}|{_NUMBER}|true|false|null)"
_BEFORE = f"(?:{_PLAIN}|{_array(_PLAIN)})"
_SCALAR = f"(?:{_ESCAPED}|{_NUMBER}|true|false|null)"
_FLAT = f"(?:{_SCALAR}|{_array(_SCALAR)})"
_ANY = f"(?:{_FLAT}|{_object_of(_FLAT)}|{_array(_object_of(_FLAT))})"
_PORT = "(?:0|[1-9][0-9]{0,4})"
#: counts of at most 18 digits (a BIGINT), flow ids of at most 19 (a UBIGINT)
_COUNT = "(?:0|[1-9][0-9]{0,17})"
_FLOW_ID = "(?:0|[1-9][0-9]{0,18})"
#: Suricata's time: the SQL reproduces ``datetime.fromisoformat`` for this form only
_TIME = (
    '"(?:19[7-9][0-9]|20[0-9][0-9])-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])'
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}[+-](?:[01][0-9]|2[0-3])[0-5][0-9]\""
)
#: what ``_object`` skips before the object (a ``@cee:`` prefix, a syslog header)
_PREFIX = r'[^{"\\]*'


def _event(kind: str, read: tuple[str, ...], body: str) -> str:
    """The usual line of one event type: timestamp, flow id, event type (other keys
    between them holding plain values), then ``body`` (which starts with a comma),
    every other top-level key being none of ``read``."""
    before = f",{_key_except('flow_id', 'event_type', *read)}:{_BEFORE}"
    return (
        rf'{_PREFIX}\{{"timestamp":{_STR},"flow_id":{_FLOW_ID}(?:{before})*,"event_type":"{kind}"'
        f"{body}\\}}"
    )


def _others(*read: str) -> str:
    return f"(?:,{_key_except(*read)}:{_ANY})*"


_FLOW_TOP = ("flow_id", "event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto",
             "icmp_type", "icmp_code", "app_proto", "flow")  # fmt: skip
_FLOW_KEYS = ("pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient", "start",
              "end", "state")  # fmt: skip
_FLOW_OBJECT = (
    rf'\{{"pkts_toserver":{_COUNT},"pkts_toclient":{_COUNT},"bytes_toserver":{_COUNT},'
    rf'"bytes_toclient":{_COUNT},"start":{_TIME},"end":{_TIME}'
    rf'{_others(*_FLOW_KEYS)}(?:,"state":{_STR}{_others(*_FLOW_KEYS)})?\}}'
)
#: other keys only where Suricata writes them (before ``event_type``, ``vlan`` after
#: it, any after the flow object): between the keys read they make RE2's DFA too big
_FLOW_LINE = _event(
    "flow",
    _FLOW_TOP,
    rf'(?:,"vlan":\[[0-9]{{1,4}}(?:,[0-9]{{1,4}})*\])?,"src_ip":{_NONEMPTY}'
    f'(?:,"src_port":{_PORT})?,"dest_ip":{_NONEMPTY}(?:,"dest_port":{_PORT})?'
    f',"proto":"[A-Za-z0-9_.-]{{0,32}}"(?:,"icmp_type":{_PORT},"icmp_code":{_PORT}'
    f'(?:,"response_icmp_type":{_PORT},"response_icmp_code":{_PORT})?)?'
    f'(?:,"app_proto":{_STR})?,"flow":{_FLOW_OBJECT}{_others(*_FLOW_TOP, "vlan")}',
)
_TX = f"{_key_except('sni')}:{_ANY}"
_TLS_LINE = _event(
    "tls",
    ("tls",),
    f'{_others("flow_id", "event_type", "tls")},"tls":'
    rf'\{{(?:(?:{_TX},)*"sni":{_STR}(?:,{_TX})*|{_TX}(?:,{_TX})*)?\}}'
    f"{_others('flow_id', 'event_type', 'tls')}",
)
_HX = f"{_key_except('hostname', 'url', 'http_method')}:{_ANY}"
_HTTP_LINE = _event(
    "http",
    ("http",),
    f'{_others("flow_id", "event_type", "http")},"http":'
    rf'\{{(?:{_HX},)*(?:"hostname":{_STR},(?:{_HX},)*)?"url":{_STR}(?:,{_HX})*'
    rf'(?:,"http_method":{_STR}(?:,{_HX})*)?\}}'
    f"{_others('flow_id', 'event_type', 'http')}",
)
#: a CONNECT target ``_authority`` reads as host and port
_TARGET = r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}"


def _scan_sql(max_pending: int) -> str:
    """The statement over ``lines`` (module docstring, "Read by DuckDB")."""
    return rf"""
WITH a AS (
    SELECT n, line, strpos(line, '"event_type":"') AS p FROM lines WHERE line IS NOT NULL
), b AS (
    SELECT n, line,
           CASE WHEN p = 0 THEN
                    CASE WHEN NOT contains(line, '{{') THEN 'py'
                         WHEN strpos(line, '"event_type"') = 0 AND NOT contains(line, '\u')
                         THEN 'py' ELSE 'odd' END
                WHEN NOT contains(substr(line, p + 14, 16), '"') THEN 'py'
                ELSE CASE split_part(substr(line, p + 14, 16), '"', 1)
                    WHEN 'flow' THEN 'flow' WHEN 'tls' THEN 'tls' WHEN 'http' THEN 'http'
                    WHEN 'dns' THEN
                        CASE WHEN contains(line, '"type":"query"')
                                  OR contains(line, '"type":"request"') THEN 'query'
                             WHEN {_ONE_TYPE} THEN 'py' ELSE 'odd' END
                    WHEN 'netflow' THEN CASE WHEN {_ONE_TYPE} THEN 'py' ELSE 'odd' END
                    ELSE 'other' END
           END AS cls
    FROM a
), c AS MATERIALIZED (
    SELECT n, line,
           CASE WHEN cls = 'flow' AND NOT regexp_full_match(line, '{_FLOW_LINE}')
                  OR cls = 'tls' AND NOT regexp_full_match(line, '{_TLS_LINE}')
                  OR cls = 'http' AND NOT regexp_full_match(line, '{_HTTP_LINE}')
                THEN CASE WHEN regexp_full_match(right(line, 1), '[!-|~]') THEN 'py' ELSE 'odd' END
                ELSE cls END AS cls,
           CASE WHEN cls NOT IN ('flow', 'tls', 'http') THEN NULL
                WHEN starts_with(line, '{{') THEN line ELSE substr(line, strpos(line, '{{')) END
               AS j
    FROM b
), fx AS (
    SELECT n, json_extract_string(CASE WHEN cls = 'flow' THEN j END,
               ['$.flow_id', '$.src_ip', '$.src_port', '$.dest_ip',
               '$.dest_port', '$.proto', '$.icmp_type', '$.icmp_code', '$.app_proto',
               '$.flow.pkts_toserver', '$.flow.pkts_toclient', '$.flow.bytes_toserver',
               '$.flow.bytes_toclient', '$.flow.start', '$.flow.end', '$.flow.state']) AS x
    FROM c WHERE cls = 'flow'
), fp AS (
    SELECT n, x[1] AS fid, x[2] AS src_ip, x[4] AS dst_ip,
           CASE lower(x[6]) WHEN '' THEN NULL WHEN 'ipv6-icmp' THEN 'icmp'
                WHEN 'icmpv6' THEN 'icmp' ELSE lower(x[6]) END AS proto,
           x[3] AS sport, x[5] AS dport, x[7] AS itype, x[8] AS icode,
           CASE x[9] WHEN '' THEN NULL WHEN 'tls' THEN 'ssl' WHEN 'krb5' THEN 'krb'
                WHEN 'dcerpc' THEN 'dce_rpc' WHEN 'failed' THEN NULL WHEN 'unknown' THEN NULL
                ELSE x[9] END AS service,
           CAST(x[10] AS BIGINT) AS pkts_out, CAST(x[11] AS BIGINT) AS pkts_in,
           CAST(x[12] AS BIGINT) AS bytes_out, CAST(x[13] AS BIGINT) AS bytes_in,
           {_epoch_us("x[14]")} AS start_us, {_epoch_us("x[15]")} AS end_us,
           CASE WHEN x[16] <> '' THEN x[16] END AS conn_state
    FROM fx
), fl AS MATERIALIZED (
    SELECT n, fid, src_ip, dst_ip, proto, service, pkts_out, pkts_in, bytes_out, bytes_in,
           conn_state,
           CAST(CASE WHEN proto = 'icmp' THEN itype ELSE sport END AS INTEGER) AS src_port,
           CAST(CASE WHEN proto = 'icmp' THEN icode ELSE dport END AS INTEGER) AS dst_port,
           CAST(start_us AS DOUBLE) / 1000000::DOUBLE AS ts,
           CAST(end_us AS DOUBLE) / 1000000::DOUBLE AS te
    FROM fp
), fk AS MATERIALIZED (
    SELECT *, coalesce(ts BETWEEN {TS_MIN} AND {TS_MAX}, false)
                  AND coalesce(src_port <= {_PORT_TOP}, true)
                  AND coalesce(dst_port <= {_PORT_TOP}, true) AS ok
    FROM fl
), tx AS (
    SELECT n, json_extract_string(CASE WHEN cls = 'tls' THEN j END, ['$.flow_id', '$.tls.sni'])
               AS x
    FROM c WHERE cls = 'tls'
), hx AS MATERIALIZED (
    SELECT n, json_extract_string(CASE WHEN cls = 'http' THEN j END,
                                  ['$.flow_id', '$.http.hostname', '$.http.url',
                                     '$.http.http_method']) AS x
    FROM c WHERE cls = 'http'
), hn AS (
    SELECT n, x[1] AS fid, x[4] = 'CONNECT' AS connect, x[2] AS host, x[3] AS url
    FROM hx
), nm AS MATERIALIZED (
    SELECT n, x[1] AS fid, 1 AS rank, coalesce(x[2], '') AS name, 'sni' AS source,
           false AS proxied, NULL::INTEGER AS port, true AS shaped
    FROM tx
    UNION ALL
    SELECT n, fid, 0, trim(left(url, strlen(url) - strlen(string_split(url, ':')[-1]) - 1), '[]'),
           'connect', true, TRY_CAST(string_split(url, ':')[-1] AS INTEGER),
           regexp_full_match(url, '{_TARGET}')
    FROM hn WHERE coalesce(connect, false)
    UNION ALL
    SELECT n, fid, 2, coalesce(host, ''), 'http_host',
           regexp_matches(url, '^[Hh][Tt][Tt][Pp]://'), NULL, true
    FROM hn WHERE NOT coalesce(connect, false)
), nk AS MATERIALIZED (
    SELECT *, shaped AND coalesce(port <= {_PORT_TOP}, true)
                     AND NOT regexp_matches(name, '[^\x00-\x7f]') AS ok
    FROM nm
), ev AS (
    SELECT n, fid, true AS pop FROM fk WHERE ok
    UNION ALL
    SELECT n, fid, false FROM nk WHERE ok AND name <> ''
), sg AS MATERIALIZED (
    SELECT n, fid, pop,
           coalesce(sum(CASE WHEN pop THEN 1 ELSE 0 END) OVER (
               PARTITION BY fid ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
               0) AS seg
    FROM ev
), won AS MATERIALIZED (
    SELECT s.fid, s.seg, min(s.n) AS first,
           arg_min({{'name': k.name, 'source': k.source, 'proxied': k.proxied,
                     'port': k.port}}, k.rank * 1099511627776 + k.n) AS w
    FROM sg s JOIN nk k USING (n) WHERE NOT s.pop GROUP BY s.fid, s.seg
), named AS MATERIALIZED (
    SELECT s.n, w.first, w.w FROM sg s JOIN won w USING (fid, seg) WHERE s.pop
), peak AS (
    SELECT coalesce(max(pending), 0) AS peak FROM (
        SELECT sum(d) OVER (ORDER BY n ROWS UNBOUNDED PRECEDING) AS pending
        FROM (SELECT first AS n, 1 AS d FROM won
              UNION ALL SELECT n, -1 FROM named)
    )
), g AS (
    SELECT (SELECT count(*) FROM c WHERE cls = 'odd') = 0
           AND (SELECT count(*) FROM fk WHERE NOT ok) = 0
           AND (SELECT count(*) FROM nk WHERE NOT ok) = 0
           AND (SELECT peak FROM peak) <= {int(max_pending)} AS fast
)
SELECT c.n,
       CASE WHEN NOT g.fast OR c.cls IN ('py', 'tls') THEN c.line END AS python_line,
       CASE c.cls WHEN 'other' THEN '{_OTHER}' WHEN 'query' THEN '{_DNS_QUERY}' END AS skip,
       f.ts, f.src_ip, f.src_port, f.dst_ip,
       coalesce(m.w.port, f.dst_port) AS dst_port, f.proto, f.service,
       CASE WHEN f.te >= f.ts THEN f.te - f.ts END AS duration,
       f.bytes_out, f.bytes_in, f.conn_state,
       m.w.name AS dst_domain, m.w.source AS domain_source,
       coalesce(m.w.proxied, false) AS proxied,
       f.pkts_out, f.pkts_in, 'suricata:' || f.fid AS uid
FROM c CROSS JOIN g LEFT JOIN fk f USING (n) LEFT JOIN named m USING (n)
WHERE NOT g.fast OR c.cls <> 'http'
"""


def _epoch_us(time: str) -> str:
    """SQL: microseconds since the epoch of an EVE time of the usual shape (``_TIME``),
    NULL for a day the month does not have, as ``datetime.fromisoformat`` and
    ``timestamp()`` compute it."""
    offset = (
        f"(CASE substr({time}, 27, 1) WHEN '-' THEN -1 ELSE 1 END)"
        f" * (CAST(substr({time}, 28, 2) AS BIGINT) * 3600"
        f" + CAST(substr({time}, 30, 2) AS BIGINT) * 60) * 1000000"
    )
    return f"(epoch_us(TRY_CAST(substr({time}, 1, 26) AS TIMESTAMP)) - {offset})"


#: the one ``"event_type"`` of the line is the one found, and no key hides it behind
#: a ``\\u`` escape: Python's event type is then the one found (or none at all)
_ONE_TYPE = (
    "(strpos(line, '\"event_type\"') = p"
    " AND strpos(substr(line, p + 12), '\"event_type\"') = 0 AND NOT contains(line, '\\u'))"
)


READER = SuricataReader()
