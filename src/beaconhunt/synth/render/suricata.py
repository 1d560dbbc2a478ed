"""The synthetic capture as Suricata 7 logs it: one ``eve.json`` of EVE JSON lines.

What Suricata writes for the simulated traffic, in time order:

* ``dns``: a query event when the question is seen and an answer event
  when the reply is (EVE v2, answers both ``detailed`` and ``grouped``, as
  Suricata 7 does by default); ``src_ip`` is the client in both.
* ``tls``: one event per handshake, with the SNI when the client sent one,
  the version and ``session_resumed``.
* ``http``: one event per request (extended logging): ``hostname`` with
  the port apart in ``http_port``, url, user agent, method, protocol,
  status, length and content type; and a ``fileinfo`` event for each
  response body, which readers skip as in real files.
* ``flow``: one event per connection when it ends (never before the
  flow's own application events): ``flow.start``/``end``/``age``, packets
  and bytes each way, state, reason ``timeout``, and TCP flags from the
  connection's history. ``flow_id`` ties the events of a connection together
  (a hash of the Zeek uid).

Not there, because Suricata does not log it: Zeek's uid, ``conn_state`` and
``history`` (Suricata's flow ``state`` instead: ``closed`` after FIN or RST,
``established``, or ``new`` when nobody answered), payload byte counts
(``bytes_toserver`` counts whole packets: Zeek's IP bytes plus a 14-byte
Ethernet header per packet), TLS certificates and JA3 (off by default).
Times are written in UTC (``+0000``), as a sensor set to UTC does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["EVE_FILE", "render"]

#: The file written, as Suricata names it.
EVE_FILE = "eve.json"
_IFACE = '"in_iface":"eth0"'
_ETHERNET = 14
_APP_PROTO = {
    "ssl": "tls",
    "krb": "krb5",
    "krb_tcp": "krb5",
    "ldap_tcp": "ldap",
    "ldap_udp": "ldap",
    "dce_rpc": "dcerpc",
    "gssapi,smb": "smb",
}
_TLS_VERSIONS = {"TLSv10": "TLS 1.0", "TLSv11": "TLS 1.1", "TLSv12": "TLS 1.2",
                 "TLSv13": "TLS 1.3", "SSLv3": "SSLv3"}  # fmt: skip
# TCP flag bits (Suricata prints them as two hex digits) from Zeek's history letters:
# upper case for the originator, lower case for the responder
_FIN, _SYN, _RST, _PSH, _ACK = 0x01, 0x02, 0x04, 0x08, 0x10
_HISTORY_FLAGS = {"s": _SYN, "h": _SYN | _ACK, "a": _ACK, "d": _PSH | _ACK, "f": _FIN, "r": _RST}
_FLAG_NAMES = ((_SYN, "syn"), (_FIN, "fin"), (_RST, "rst"), (_PSH, "psh"), (_ACK, "ack"))
#: events of one kind: the frame rows they belong to, their times, their lines
_Events = tuple[NDArray[np.int64], NDArray[np.float64], list[str]]


def render(
    frames: Mapping[str, LogFrame], world: World, out_dir: Path, span: tuple[float, float]
) -> list[Path]:
    """Write ``eve.json`` under ``out_dir``; return its path."""
    conn = frames["conn"]
    row = {uid: i for i, uid in enumerate(conn.columns["uid"].tolist())}
    flow_ids = [_flow_id(u) for u in conn.columns["uid"].tolist()]
    end = conn.ts + np.nan_to_num(conn.columns["duration"], nan=0.0)
    logged = end.copy()  # a flow is logged after its own application events
    parts: list[tuple[NDArray[np.float64], list[str]]] = []
    for path, lines in (("dns", _dns_events), ("ssl", _tls_events), ("http", _http_events)):
        frame = frames.get(path)
        if frame is None or not len(frame):
            continue
        rows = np.array([row[u] for u in frame.columns["uid"].tolist()], dtype=np.int64)
        ids = [flow_ids[i] for i in rows.tolist()]
        for which, times, text in lines(frame, ids):
            parts.append((times, text))
            np.maximum.at(logged, rows[which], times)
    parts.append((logged, _flow_events(conn, flow_ids, end, logged)))
    times = np.concatenate([t for t, _ in parts])
    text = [line for _, lines in parts for line in lines]
    order = np.argsort(times, kind="stable")  # flow events last at equal times
    target = out_dir / EVE_FILE
    target.write_text("".join(text[i] + "\n" for i in order.tolist()), encoding="utf-8")
    return [target]


def _flow_id(uid: str) -> int:
    """A stable 51-bit flow id for a Zeek uid (Suricata's are hashes of the flow too)."""
    return int.from_bytes(hashlib.blake2b(uid.encode(), digest_size=8).digest()) >> 13


def _iso(ts: NDArray[np.float64]) -> list[str]:
    """EVE's time format, ``2026-11-03T08:00:00.123456+0000``, for epoch seconds."""
    micros = np.round(ts * 1e6).astype(np.int64).astype("datetime64[us]")
    return [t + "+0000" for t in np.datetime_as_string(micros, unit="us").tolist()]


def _header(ts: str, flow_id: int, event: str, ids: tuple[Any, ...], proto: str) -> str:
    """The common part of an event: time, flow, type and the 5-tuple (no closing brace)."""
    src, sport, dst, dport = ids
    return (
        f'{{"timestamp":"{ts}","flow_id":{flow_id},{_IFACE},"event_type":"{event}",'
        f'"src_ip":{json.dumps(src)},"src_port":{sport},"dest_ip":{json.dumps(dst)},'
        f'"dest_port":{dport},"proto":"{proto}"'
    )


def _tuples(frame: LogFrame) -> list[tuple[Any, ...]]:
    c = frame.columns
    return list(zip(c["id.orig_h"].tolist(), c["id.orig_p"].tolist(), c["id.resp_h"].tolist(),
                    c["id.resp_p"].tolist(), strict=True))  # fmt: skip


# -- flow -------------------------------------------------------------------------------------


def _flow_events(
    conn: LogFrame, flow_ids: list[int], end: NDArray[np.float64], logged: NDArray[np.float64]
) -> list[str]:
    c = conn.columns
    starts, ends, stamps = _iso(conn.ts), _iso(end), _iso(logged)
    ages = (np.floor(end) - np.floor(conn.ts)).astype(np.int64).tolist()
    tcp_cache: dict[str, tuple[str, str]] = {}
    out = []
    columns = zip(
        _tuples(conn), c["proto"].tolist(), c["service"].tolist(), c["history"].tolist(),
        c["orig_pkts"].tolist(), c["resp_pkts"].tolist(),
        c["orig_ip_bytes"].tolist(), c["resp_ip_bytes"].tolist(), strict=True,
    )  # fmt: skip
    for i, (ids, proto, service, history, opk, rpk, oby, rby) in enumerate(columns):
        opk, rpk = max(opk, 0), max(rpk, 0)
        if proto == "tcp":
            if history not in tcp_cache:
                tcp_cache[history] = _tcp(history or "")
            tcp, state = tcp_cache[history]
        else:
            tcp, state = "", "established" if rpk else "new"
        head = _header(stamps[i], flow_ids[i], "flow", ids, proto.upper())
        if proto == "icmp":  # Zeek keeps ICMP type and code in the port columns
            head = head.replace(',"src_port":', ',"icmp_type":', 1)
            head = head.replace(',"dest_port":', ',"icmp_code":', 1)
        app = _app_proto(proto, service)
        flow = (
            f'"flow":{{"pkts_toserver":{opk},"pkts_toclient":{rpk},'
            f'"bytes_toserver":{max(oby, 0) + _ETHERNET * opk},'
            f'"bytes_toclient":{max(rby, 0) + _ETHERNET * rpk},'
            f'"start":"{starts[i]}","end":"{ends[i]}","age":{ages[i]},'
            f'"state":"{state}","reason":"timeout","alerted":false}}'
        )
        out.append(f"{head}{app},{flow}{tcp}}}")
    return out


def _app_proto(proto: str, service: str | None) -> str:
    """The ``app_proto`` member (with its leading comma), or nothing."""
    if service:
        name = _APP_PROTO.get(service, service.split(",")[0])
        return f',"app_proto":{json.dumps(name)}'
    return ',"app_proto":"failed"' if proto == "tcp" else ""


def _tcp(history: str) -> tuple[str, str]:
    """The ``tcp`` member and the flow state for a Zeek connection history."""
    ts = tc = 0
    for ch in history:
        bits = _HISTORY_FLAGS.get(ch.lower(), 0)
        if ch.isupper():
            ts |= bits
        else:
            tc |= bits
    flags = ts | tc
    named = "".join(f',"{name}":true' for bit, name in _FLAG_NAMES if flags & bit)
    closed = flags & (_FIN | _RST)
    state = "closed" if closed else "established" if tc & _SYN else "new"
    tcp_state = "closed" if closed else "established" if tc & _SYN else "syn_sent"
    member = (
        f',"tcp":{{"tcp_flags":"{flags:02x}","tcp_flags_ts":"{ts:02x}",'
        f'"tcp_flags_tc":"{tc:02x}"{named},"state":"{tcp_state}"}}'
    )
    return member, state


# -- application events -----------------------------------------------------------------------


def _dns_events(frame: LogFrame, flow_ids: list[int]) -> list[_Events]:
    """Query events at the question's time, answer events when the reply came."""
    c = frame.columns
    tuples = _tuples(frame)
    queries = []
    for ts, fid, ids, tid, name, qtype in zip(
        _iso(frame.ts), flow_ids, tuples, c["trans_id"].tolist(), c["query"].tolist(),
        c["qtype_name"].tolist(), strict=True,
    ):  # fmt: skip
        dns = (
            f'"dns":{{"type":"query","id":{max(tid, 0)},"rrname":{json.dumps(name or "")},'
            f'"rrtype":{json.dumps(qtype or "A")},"tx_id":0,"opcode":0}}'
        )
        queries.append(f"{_header(ts, fid, 'dns', ids, 'UDP')},{dns}}}")
    rtt = c["rtt"]
    answered = np.flatnonzero(~np.isnan(rtt))
    at = frame.ts[answered] + rtt[answered]
    answers = [
        _answer(ts, flow_ids[i], tuples[i], c, i)
        for ts, i in zip(_iso(at), answered.tolist(), strict=True)
    ]
    return [(np.arange(len(frame)), frame.ts, queries), (answered, at, answers)]


def _answer(ts: str, flow_id: int, ids: tuple[Any, ...], c: dict[str, Any], i: int) -> str:
    """One EVE v2 answer event (``detailed`` and ``grouped``)."""
    name, qtype = c["query"][i] or "", c["qtype_name"][i] or "A"
    bits = [(c["AA"][i], 0x0400, "aa"), (c["TC"][i], 0x0200, "tc"),
            (c["RD"][i], 0x0100, "rd"), (c["RA"][i], 0x0080, "ra")]  # fmt: skip
    flags = 0x8000 | sum(bit for on, bit, _ in bits if on == "T") | max(int(c["rcode"][i]), 0)
    parts = [
        f'"version":2,"type":"answer","id":{max(int(c["trans_id"][i]), 0)},"flags":"{flags:x}"',
        '"qr":true',
        *(f'"{key}":true' for on, _, key in bits if on == "T"),
        f'"opcode":0,"rrname":{json.dumps(name)},"rrtype":{json.dumps(qtype)}',
        f'"rcode":{json.dumps(c["rcode_name"][i] or "NOERROR")}',
    ]
    records = _records(name, c["answers"][i] or "", c["TTLs"][i] or "")
    if records:
        detailed = [{"rrname": o, "rrtype": t, "ttl": ttl, "rdata": d} for o, t, ttl, d in records]
        grouped: dict[str, list[str]] = {}
        for _, t, _, d in records:
            grouped.setdefault(t, []).append(d)
        parts.append('"answers":' + json.dumps(detailed, separators=(",", ":")))
        parts.append('"grouped":' + json.dumps(grouped, separators=(",", ":")))
    return f'{_header(ts, flow_id, "dns", ids, "UDP")},"dns":{{{",".join(parts)}}}}}'


def _records(name: str, answers: str, ttls: str) -> list[tuple[str, str, int, str]]:
    """Zeek's flat answer list as resource records: owner, type, TTL, data.

    A CNAME's target owns the records after it, as in the DNS message; IPv6
    addresses are written out in full, as Suricata does.
    """
    out = []
    owner = name
    times = ttls.split(",") if ttls else []
    for k, data in enumerate(answers.split(",") if answers else []):
        ttl = int(float(times[k])) if k < len(times) else 0
        kind = "AAAA" if ":" in data else "A" if data[:1].isdigit() else "CNAME"
        if kind == "AAAA":  # Suricata prints IPv6 answers uncompressed
            data = ip_address(data).exploded
        out.append((owner, kind, ttl, data))
        if kind == "CNAME":
            owner = data
    return out


def _tls_events(frame: LogFrame, flow_ids: list[int]) -> list[_Events]:
    c = frame.columns
    out = []
    for ts, fid, ids, sni, version, resumed in zip(
        _iso(frame.ts), flow_ids, _tuples(frame), c["server_name"].tolist(),
        c["version"].tolist(), c["resumed"].tolist(), strict=True,
    ):  # fmt: skip
        fields = []
        if resumed == "T":
            fields.append('"session_resumed":true')
        if sni:
            fields.append(f'"sni":{json.dumps(sni)}')
        if version:
            fields.append(f'"version":{json.dumps(_TLS_VERSIONS.get(version, version))}')
        out.append(f'{_header(ts, fid, "tls", ids, "TCP")},"tls":{{{",".join(fields)}}}}}')
    return [(np.arange(len(frame)), frame.ts, out)]


def _http_events(frame: LogFrame, flow_ids: list[int]) -> list[_Events]:
    """One http event per request; a fileinfo event for each response body."""
    c = frame.columns
    n = len(frame)
    empty = np.full(n, None, dtype=object)
    http, files, file_rows = [], [], []
    columns = zip(
        _iso(frame.ts), flow_ids, _tuples(frame), c["host"].tolist(), c["uri"].tolist(),
        c.get("user_agent", empty).tolist(), c.get("resp_mime_types", empty).tolist(),
        c["method"].tolist(), c.get("version", empty).tolist(), c["status_code"].tolist(),
        c["response_body_len"].tolist(), strict=True,
    )  # fmt: skip
    for i, (ts, fid, ids, host, uri, ua, mime, method, version, status, length) in enumerate(
        columns
    ):
        record = _http_record(host, uri, ua, mime, method, version, status, length)
        head = _header(ts, fid, "http", ids, "TCP")
        http.append(f'{head},"tx_id":0,"http":{record}}}')
        if length > 0:
            info = (
                f'"app_proto":"http","fileinfo":{{"filename":{json.dumps(uri or "/")},'
                f'"gaps":false,"state":"CLOSED","stored":false,"size":{length},"tx_id":0}}'
            )
            files.append(f"{_header(ts, fid, 'fileinfo', ids, 'TCP')},{info}}}")
            file_rows.append(i)
    with_file = np.array(file_rows, dtype=np.int64)
    return [(np.arange(n), frame.ts, http), (with_file, frame.ts[with_file], files)]


def _http_record(
    host: str | None,
    uri: str | None,
    ua: str | None,
    mime: str | None,
    method: str | None,
    version: str | None,
    status: int,
    length: int,
) -> str:
    """The ``http`` object of an extended-logging event, in Suricata's key order."""
    record: dict[str, Any] = {}
    if host:
        name, sep, port = host.rpartition(":")
        if sep and port.isdigit() and ":" not in name:
            record["hostname"], record["http_port"] = name, int(port)
        else:
            record["hostname"] = host
    record["url"] = uri or "/"
    if ua:
        record["http_user_agent"] = ua
    if mime:
        record["http_content_type"] = mime.split(",")[0]
    record["http_method"] = method or "GET"
    record["protocol"] = f"HTTP/{version or '1.1'}"
    if status >= 0:
        record["status"] = status
    record["length"] = max(length, 0)
    return json.dumps(record, separators=(",", ":"))
