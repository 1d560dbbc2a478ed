"""Protocol knowledge by conformance: is this periodic traffic the protocol its port says?

Every network carries periodic protocols that are not anybody's beacon: time
synchronisation, DNS to an external resolver, DHCP, IPsec NAT-T keepalives,
STUN, SNMP, syslog, and link-local name protocols leaking out. A port alone
proves nothing (an implant can talk on udp/123), so each protocol here is
recognised from what the log says about the traffic: the sensor's protocol
guess (Zeek ``service``, Suricata ``app_proto``, PAN-OS ``app``), and the sizes
of the packets, which these protocols fix or bound:

=============  ===========  ==========================================================
code           transport    conforms when (per connection)
=============  ===========  ==========================================================
service.ntp    udp/123      every packet 48 bytes (RFC 5905 header), or 68/72 with a
                            symmetric-key MAC (key id + MD5/SHA-1 digest); the poll
                            interval, 2^n s, is reported, not required
service.dns    tcp,udp/53   queries of 17-512 bytes a packet (RFC 1035 4.2.1: a
                            UDP message is at most 512 bytes without EDNS), replies
                            up to 4,096 (EDNS0's usual buffer, RFC 6891)
service.dot    tcp/853      the sensor says TLS (DNS over TLS, RFC 7858)
service.dhcp   udp/67,68    240-1,500 bytes a packet (BOOTP's 236 fixed bytes plus
                            the 4-byte magic cookie, RFC 2131)
service.ipsec  udp/500,4500 IKE (at least its 28-byte header) or, on 4500, one-byte
                            NAT keepalives (0xFF, RFC 3948 2.3)
service.stun   udp,tcp/3478, 20-1,500 bytes a packet; with payload counts, a multiple
               19302-19309  of 4 (STUN's 20-byte header and 4-aligned attributes,
                            RFC 8489); never a mismatch: TURN relays media on these
                            ports (RFC 8656) and ICE multiplexes media, DTLS and
                            STUN on one port (RFC 7983)
service.snmp   udp/161,162  the sensor says SNMP, or 20-1,472 bytes a packet
service.syslog udp/514      one way only (no reply), at most 2,048 bytes a message
                            (RFC 5426 3.2)
service.netbios udp/137,138 name-service and datagram packets of 50-576 bytes
service.llmnr  udp/5355     17-512 bytes a packet (RFC 4795)
service.mdns   udp/5353     17-9,000 bytes a packet (RFC 6762 17)
service.ssdp   udp/1900     80-1,500 bytes a packet (an HTTP-over-UDP request line)
=============  ===========  ==========================================================

Traffic on one of these ports, or on a port whose protocol the sensor knows
(``tcp/443`` TLS, ``tcp/80`` HTTP, ``tcp/22`` SSH...), that does **not**
conform is ``service.mismatch``: an "NTP" flow of 900-byte packets, TLS on
port 53, plain HTTP on 443. RITA reports the same thing as a port/service
mismatch. It is a malicious indicator; the conformant codes explain the
traffic away (see :mod:`beaconhunt.decide.classes`).

**Byte counting.** Zeek counts payload; Suricata counts whole frames
(link-layer, IP and transport headers), NetFlow and firewalls IP packets. When
a log counts headers, each packet's size is allowed 20-80 bytes of headers on
top of the payload bounds (:data:`HEADER_BYTES`), and checks that need exact
payload sizes (the multiple of 4 of STUN, NTP's exact 48) become bounds.
Where packet counts are unknown, the per-packet size is the connection's bytes
over the fewest packets that could have carried them at the protocol's
largest packet, so a multi-packet connection is not mistaken for one huge
packet.

A pair conforms when at least :data:`CONFORM_SHARE` of its connections with a
known size do, and mismatches when at most :data:`MISMATCH_SHARE` do (or the
sensor names another protocol for most of them). Everything here is a pure
function of the arrays :meth:`~beaconhunt.store.duckdb.DuckDBStore.pair_traffic`
returns.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from beaconhunt.model import Evidence

__all__ = [
    "CONFORM_SHARE",
    "HEADER_BYTES",
    "MISMATCH_SHARE",
    "PROTOCOLS",
    "PROTOCOL_NAMES",
    "SENSOR_ALIASES",
    "SERVICE_CODES",
    "Protocol",
    "Traffic",
    "service_evidence",
]

FloatArray = NDArray[np.float64]

#: Share of a pair's sized connections that must conform for the pair to conform.
CONFORM_SHARE = 0.9
#: At most this share conforming (or the sensor naming another protocol) is a mismatch.
MISMATCH_SHARE = 0.5
#: Header bytes a packet may add on top of its payload, by how a log counts bytes:
#: Zeek counts payload; NetFlow and firewalls count IP packets (IPv4 + UDP = 28,
#: IPv6 + TCP with options up to ~80); Suricata counts frames (Ethernet adds 14-18).
HEADER_BYTES: dict[str, tuple[float, float]] = {
    "payload": (0.0, 0.0),
    "ip": (20.0, 80.0),
    "frame": (34.0, 98.0),
}
#: How each log (the ``log`` column) counts bytes; unlisted logs count payload.
LOG_BYTES: dict[str, str] = {
    "suricata": "frame",
    "nfdump": "ip",
    "panos": "ip",
    "winfw": "ip",
    "netfilter": "ip",
}
#: Protocol names as Zeek's analyzers write them in ``service``: what the checks
#: compare. Other names (vendor applications, unknown) are ignored.
PROTOCOL_NAMES = frozenset({
    "http", "ssl", "tls", "quic", "http2", "dns", "ssh", "ftp", "smtp", "imap", "pop3", "ntp",
    "snmp", "syslog", "dhcp", "krb", "dce_rpc", "smb", "rdp", "irc", "socks", "sip", "mysql",
    "radius", "ldap", "stun", "turn", "ike", "ipsec", "netbios", "nbns", "nbdgm", "llmnr",
    "mdns", "ssdp", "rfb", "mqtt", "xmpp", "websocket", "ntlm", "gssapi", "tftp", "telnet",
})  # fmt: skip
#: Other sensors' names for the same protocols: Suricata ``app_proto`` (``tls`` is
#: already stored as ``ssl``), PAN-OS App-IDs.
SENSOR_ALIASES: dict[str, str] = {
    "web-browsing": "http", "dns-base": "dns", "ntp-base": "ntp", "snmp-base": "snmp",
    "smtp-base": "smtp", "imap-base": "imap", "pop3-base": "pop3", "irc-base": "irc",
    "ms-rdp": "rdp", "ipsec-esp-udp": "ipsec", "netbios-ns": "netbios", "netbios-dg": "netbios",
    "kerberos": "krb", "krb5": "krb", "msrpc": "dce_rpc", "ms-ds-smb": "smb", "dcerpc": "dce_rpc",
    "ssh-tunnel": "ssh", "ftp-data": "ftp", "vnc": "rfb",
}  # fmt: skip
_NTP_SIZES = (48.0, 68.0, 72.0)
#: Most packets of an exact-size protocol one connection is taken to hold (NTP's
#: iburst sends 4-8 requests in a row, RFC 5905 13).
_BURST = 16


@dataclass(frozen=True, slots=True)
class Traffic:
    """One pair's connections as the checks see them (arrays of equal length;
    NaN or None where the log does not say)."""

    proto: str | None
    port: int | None
    service: Sequence[object]
    log: Sequence[object]
    bytes_out: FloatArray
    bytes_in: FloatArray
    pkts_out: FloatArray
    pkts_in: FloatArray

    @classmethod
    def from_columns(
        cls, proto: str | None, port: int | None, cols: Mapping[str, np.ndarray]
    ) -> Traffic:
        """From one pair's arrays as the store returns them."""
        return cls(
            proto=(proto or "").lower() or None,
            port=port,
            service=list(cols["service"]),
            log=list(cols["log"]),
            bytes_out=np.asarray(cols["bytes_out"], dtype=np.float64),
            bytes_in=np.asarray(cols["bytes_in"], dtype=np.float64),
            pkts_out=np.asarray(cols["pkts_out"], dtype=np.float64),
            pkts_in=np.asarray(cols["pkts_in"], dtype=np.float64),
        )

    @property
    def n(self) -> int:
        return int(self.bytes_out.size)

    def headers(self) -> tuple[FloatArray, FloatArray]:
        """Per connection, the least and most header bytes a packet may carry."""
        per_log = {log: HEADER_BYTES[LOG_BYTES.get(str(log), "payload")] for log in set(self.log)}
        pairs = np.array([per_log[log] for log in self.log], dtype=np.float64).reshape(-1, 2)
        return pairs[:, 0].copy(), pairs[:, 1].copy()

    def services(self) -> list[frozenset[str]]:
        """The sensor's protocol names per connection in Zeek's vocabulary
        (``"ssl,http"`` -> {ssl, http}; PAN-OS ``web-browsing`` -> {http}). Names
        outside :data:`PROTOCOL_NAMES` (an App-ID such as ``office365-base``, which
        runs over TLS) say nothing about the protocol and are dropped."""
        names = {s: _names(s) for s in set(self.service)}
        return [names[s] for s in self.service]


def _names(service: object) -> frozenset[str]:
    text = str(service).lower() if service not in (None, "", "-") else ""
    found = {SENSOR_ALIASES.get(p.strip(), p.strip()) for p in text.split(",")}
    return frozenset(found & PROTOCOL_NAMES)


@dataclass(frozen=True, slots=True)
class Protocol:
    """One protocol a network carries by design: where it runs and what it looks like.

    ``payload`` bounds each packet's payload in bytes (client, server); ``names``
    are the sensor names that identify it (Zeek ``service``, Suricata
    ``app_proto`` as stored); ``one_way`` means the server never replies
    (syslog); ``exact`` lists the only payload sizes allowed when the log counts
    payload (NTP); ``align`` a payload multiple (STUN); ``tiny`` a payload size
    allowed below the bounds (NAT-T's one-byte keepalive).
    """

    code: str
    what: str
    protos: frozenset[str]
    ports: frozenset[int]
    payload: tuple[tuple[float, float], tuple[float, float]]
    names: frozenset[str] = frozenset()
    one_way: bool = False
    exact: tuple[float, ...] = ()
    align: int = 0
    tiny: float | None = None
    #: the sensor must name the protocol (sizes cannot tell it: TLS of DNS over TLS)
    named_only: bool = False
    #: other traffic on the port is no mismatch: the port carries it by design
    #: (STUN/TURN ports relay media and multiplex it with STUN, RFC 8656 and RFC 7983)
    shared: bool = False

    def applies(self, t: Traffic) -> bool:
        return t.proto in self.protos and t.port in self.ports

    def conforming(self, t: Traffic) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Per connection: (judged, conforms). A connection is judged when the
        sensor named a protocol or its size is known."""
        names = t.services()
        named = np.array([bool(s) for s in names], dtype=bool)
        says_me = np.array([bool(s & self.names) for s in names], dtype=bool)
        says_other = named & ~says_me
        if self.named_only:
            return named, says_me
        lo, hi = t.headers()
        payload_counted = hi == 0
        # TCP packet counts include handshake and bare ACKs: sizes per packet mean
        # nothing there, so TCP connections are judged on their bytes alone
        no_pkts = np.full(t.n, np.nan)
        pkts_out, pkts_in = (no_pkts, no_pkts) if t.proto == "tcp" else (t.pkts_out, t.pkts_in)
        ok_out, known_out = _sizes_ok(t.bytes_out, pkts_out, self.payload[0], lo, hi,
                                      self, payload_counted)  # fmt: skip
        if self.one_way:
            silent = ~(t.bytes_in > 0) & ~(t.pkts_in > 0)
            ok_in, known_in = silent, np.ones(t.n, dtype=bool)
        else:
            ok_in, known_in = _sizes_ok(t.bytes_in, pkts_in, self.payload[1], lo, hi,
                                        self, payload_counted)  # fmt: skip
        sized = known_out | known_in
        size_ok = (ok_out | ~known_out) & (ok_in | ~known_in)
        judged = sized | named
        conforms = np.where(sized, size_ok, says_me) & ~says_other
        return judged, conforms


def _sizes_ok(
    total: FloatArray,
    pkts: FloatArray,
    bounds: tuple[float, float],
    lo_hdr: FloatArray,
    hi_hdr: FloatArray,
    proto: Protocol,
    payload_counted: NDArray[np.bool_],
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per connection, whether one direction's packets fit ``bounds`` (and, where
    the log counts payload, the protocol's exact sizes or alignment); and whether
    the size was known at all. Zero bytes in a direction (no reply, no payload)
    conforms: the checks judge what was sent, not what was not."""
    lo, hi = bounds
    known = np.isfinite(total)
    has_pkts = np.isfinite(pkts) & (pkts > 0)
    # without packet counts: the fewest packets that could carry the bytes at the
    # protocol's largest packet
    n = np.where(has_pkts, pkts, np.maximum(1.0, np.ceil(total / (hi + hi_hdr))))
    n = np.where(np.isfinite(n), n, 1.0)
    size = total / n
    empty = known & (total <= 0)
    fits = (size >= lo + lo_hdr) & (size <= hi + hi_hdr)
    if proto.exact:  # a burst of exact-size packets without counts: judged by multiples
        fits |= ~has_pkts & payload_counted & (total <= _BURST * hi)
    if proto.tiny is not None:
        fits |= (size >= proto.tiny + lo_hdr) & (size <= proto.tiny + hi_hdr)
    exact_ok = np.ones(total.size, dtype=bool)
    if proto.exact:
        exact_ok = np.zeros(total.size, dtype=bool)
        for e in proto.exact:
            exact_ok |= np.abs(size - e) < 1e-6
            # without packet counts: a whole number of such packets (a burst)
            k = total / e
            exact_ok |= ~has_pkts & (np.abs(k - np.round(k)) < 1e-6) & (k >= 1) & (k <= _BURST)
        if proto.tiny is not None:
            exact_ok |= np.abs(size - proto.tiny) < 1e-6
        exact_ok |= ~payload_counted
    if proto.align:
        whole = has_pkts | (n == 1)
        aligned = np.abs(np.remainder(size, proto.align)) < 1e-6
        exact_ok &= aligned | ~payload_counted | ~whole
    ok = empty | (fits & exact_ok)
    return ok & known, known


def _fs(text: str) -> frozenset[str]:
    return frozenset(text.split(","))


_UDP, _TCP_UDP = _fs("udp"), _fs("udp,tcp")

#: The protocols checked, most specific first (one port may serve two: 53 is DNS).
PROTOCOLS: tuple[Protocol, ...] = (
    Protocol("service.ntp", "NTP time synchronisation", _UDP, frozenset({123}),
             ((48, 72), (48, 72)), _fs("ntp"), exact=_NTP_SIZES),
    Protocol("service.dns", "DNS to an external resolver", _TCP_UDP, frozenset({53}),
             ((17, 512), (12, 4096)), _fs("dns")),
    Protocol("service.dot", "DNS over TLS", _fs("tcp"), frozenset({853}), ((0, 0), (0, 0)),
             _fs("ssl,tls"), named_only=True),
    Protocol("service.dhcp", "DHCP", _UDP, frozenset({67, 68}), ((240, 1500), (240, 1500)),
             _fs("dhcp")),
    Protocol("service.ipsec", "IPsec IKE / NAT-T keepalives", _UDP, frozenset({500, 4500}),
             ((28, 1500), (28, 1500)), _fs("ike,ipsec"), tiny=1.0),
    Protocol("service.stun", "STUN/TURN (WebRTC connectivity checks)", _TCP_UDP,
             frozenset({3478, 5349, *range(19302, 19310)}), ((20, 1500), (20, 1500)),
             _fs("stun,turn"), align=4, shared=True),
    Protocol("service.snmp", "SNMP", _UDP, frozenset({161, 162}), ((20, 1472), (20, 1472)),
             _fs("snmp")),
    Protocol("service.syslog", "syslog", _UDP, frozenset({514}), ((10, 2048), (0, 0)),
             _fs("syslog"), one_way=True),
    Protocol("service.netbios", "NetBIOS name/datagram service", _UDP, frozenset({137, 138}),
             ((50, 576), (50, 576)), _fs("netbios,nbns,nbdgm,dns")),
    Protocol("service.llmnr", "LLMNR", _UDP, frozenset({5355}), ((17, 512), (17, 512)),
             _fs("llmnr,dns")),
    Protocol("service.mdns", "multicast DNS", _UDP, frozenset({5353}), ((17, 9000), (17, 9000)),
             _fs("mdns,dns")),
    Protocol("service.ssdp", "SSDP (UPnP discovery)", _UDP, frozenset({1900}),
             ((80, 1500), (80, 1500)), _fs("ssdp")),
)  # fmt: skip

#: Every code this module emits, with its meaning (for the evidence registry).
SERVICE_CODES: dict[str, str] = {
    **{p.code: f"the traffic conforms to {p.what} on its standard port (sizes, sensor's protocol)"
       for p in PROTOCOLS},
    "service.mismatch": "the traffic on a well-known port is not the protocol of that port"
    " (sizes, or the sensor names another protocol): RITA's port/service mismatch",
}  # fmt: skip

#: Well-known TCP ports whose protocol sensors recognise, for the mismatch check on
#: ports with no size rule: the sensor's name must be one of these when it names one.
_EXPECTED_NAMES: dict[tuple[str, int], frozenset[str]] = {
    ("tcp", 80): frozenset({"http"}),
    ("tcp", 443): frozenset({"ssl", "tls", "http2", "quic"}),
    ("tcp", 22): frozenset({"ssh"}),
    ("tcp", 25): frozenset({"smtp", "ssl"}),
    ("tcp", 587): frozenset({"smtp", "ssl"}),
    ("tcp", 465): frozenset({"ssl", "smtp"}),
    ("tcp", 993): frozenset({"ssl", "imap"}),
    ("tcp", 995): frozenset({"ssl", "pop3"}),
    ("tcp", 21): frozenset({"ftp"}),
    ("tcp", 3389): frozenset({"rdp", "ssl"}),
}


def service_evidence(t: Traffic, interval: float | None = None) -> list[Evidence]:
    """``service.<protocol>`` when the pair's traffic conforms to the protocol of
    its port, ``service.mismatch`` when it clearly does not, else nothing."""
    if t.n == 0 or t.proto is None:
        return []
    for proto in PROTOCOLS:
        if proto.applies(t):
            return _judge(proto, t, interval)
    return _named_mismatch(t)


def _judge(proto: Protocol, t: Traffic, interval: float | None) -> list[Evidence]:
    judged, conforms = proto.conforming(t)
    k = int(np.count_nonzero(judged))
    if k == 0:
        return []
    share = float(np.count_nonzero(conforms & judged)) / k
    where = f"{t.proto}/{t.port}"
    if share >= CONFORM_SHARE:
        text = (f"{share:.0%} of {k:,} connections on {where} conform to {proto.what}"
                f"{_size_note(t, judged)}{_poll_note(proto, interval)}")  # fmt: skip
        return [Evidence(proto.code, text)]
    if share <= MISMATCH_SHARE and not proto.shared:
        other = _other_names(t, proto.names)
        why = f"the sensor says {other}" if other else f"sizes do not fit{_size_note(t, judged)}"
        return [Evidence(
            "service.mismatch",
            f"{where} is the port of {proto.what}, but only {share:.0%} of {k:,} connections"
            f" conform: {why}",
        )]  # fmt: skip
    return []


def _named_mismatch(t: Traffic) -> list[Evidence]:
    expected = _EXPECTED_NAMES.get((t.proto or "", t.port or -1))
    if expected is None:
        return []
    names = t.services()
    named = [s for s in names if s]
    if not named:
        return []
    wrong = [s for s in named if not (s & expected)]
    if len(wrong) / len(named) <= 1 - MISMATCH_SHARE:
        return []
    said = Counter(n for s in wrong for n in s).most_common(2)
    shown = ", ".join(f"{name} ({count:,})" for name, count in said)
    return [Evidence(
        "service.mismatch",
        f"{t.proto}/{t.port} is the port of {'/'.join(sorted(expected))}, but the sensor names"
        f" another protocol for {len(wrong):,} of {len(named):,} connections: {shown}",
    )]  # fmt: skip


def _other_names(t: Traffic, mine: frozenset[str]) -> str:
    said = Counter(n for s in t.services() for n in s if n not in mine).most_common(2)
    return ", ".join(f"{name} ({count:,} connections)" for name, count in said)


def _size_note(t: Traffic, judged: NDArray[np.bool_]) -> str:
    out = t.bytes_out[judged & np.isfinite(t.bytes_out)]
    back = t.bytes_in[judged & np.isfinite(t.bytes_in)]
    if not out.size:
        return ""
    note = f" (median {np.median(out):,.0f} bytes out"
    note += f", {np.median(back):,.0f} in" if back.size else ""
    pk = t.pkts_out[judged & np.isfinite(t.pkts_out)]
    note += f", {np.median(pk):,.0f} packet(s) out)" if pk.size else ")"
    return note


def _poll_note(proto: Protocol, interval: float | None) -> str:
    """For NTP, whether the median interval sits near a 2^n-second poll (RFC 5905 7.3)."""
    if proto.code != "service.ntp" or not interval or interval <= 0:
        return ""
    n = round(math.log2(interval))
    near = abs(interval - 2.0**n) <= 0.1 * 2.0**n and 4 <= n <= 17
    return f"; median interval {interval:,.0f} s" + (f", near the 2^{n} s poll" if near else "")
