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

Limits
------
A name whose flow event is in another file (a flow that spans a log rotation)
is lost; that flow is named from DNS like any other. EVE multi-line
("pretty") output is not read: one object per line, as Suricata writes it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any, NamedTuple

from beaconhunt.ingest.network import FlowSink, NetworkReader
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

    def read(self, path: Path, sink: FlowSink) -> None:
        from beaconhunt.ingest.sniff import open_text

        state = _File(sink, self.max_pending)
        with open_text(path) as fh:
            for n, line in enumerate(fh, start=1):
                self._line(line, n, state)
        if state.netflows and not state.flows:
            sink.problem(
                None,
                f"{state.netflows} netflow events but no flow events: enable 'flow' in"
                " eve-log types to read connections",
            )

    def _line(self, line: str, n: int, state: _File) -> None:
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


READER = SuricataReader()
