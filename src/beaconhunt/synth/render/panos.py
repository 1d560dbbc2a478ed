"""The synthetic capture as a Palo Alto Networks edge firewall logs it: PAN-OS TRAFFIC by syslog.

One PAN-OS firewall (``PA-3220``, PAN-OS 10.2, time zone UTC) sits between
the internal hosts (zone ``trust``) and the Internet (zone ``untrust``),
with source NAT to its public address and one allow rule logging at session
end, the default. For every simulated connection from an internal host to an
external address it writes the ``end`` record of the session, as a syslog
server stores it (``Nov  3 08:00:05 PA-3220 1,2026/11/03 08:00:05,...``), in
the 115-field layout of PAN-OS 10.2 (the High Resolution Timestamp at position
102 with offset ``+00:00``). Records are in the order the firewall sends them:
by the time each session ended (a UDP session ends when it has been idle for
30 s, the default ``aged-out`` timeout). The fields that carry the connection:

* Start Time = the connection's start, whole seconds; Elapsed Time = its
  duration, whole seconds;
* Bytes Sent / Bytes Received / Packets Sent / Packets Received = the
  client's and the server's IP-layer bytes and packets (Zeek's
  ``orig_ip_bytes``...): the firewall counts headers, not only payload;
* Application = the App-ID of Zeek's service (``ssl``, ``web-browsing``,
  ``dns``, ``ntp``; ``incomplete`` when the client sent nothing,
  ``unknown-tcp``/``unknown-udp`` otherwise); Session End Reason from the
  connection state (``tcp-fin``, ``tcp-rst-from-client``/``-server``,
  ``aged-out``); Source User ``acme\\<user>`` for workstations (User-ID).

Not there, because this firewall does not see or log it: connections between
internal hosts (DNS to the domain controller, SMB, Kerberos, the database),
DNS answers, TLS server names and HTTP hosts (traffic logs carry no names:
findings are keyed by address), Zeek's ``conn_state`` and uid, sub-second
times. Deny, drop and ``start`` records are not written (nothing in the
simulation is blocked, and logging at session start is off by default).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["DEVICE", "FILE_NAME", "render"]

#: The file written (a syslog server's file for the firewall).
FILE_NAME = "pan-traffic.log"
#: The firewall's host name (syslog header and Device Name).
DEVICE = "PA-3220"
_SERIAL = "013201001234"
_PUBLIC_IP = "198.18.0.10"  # the NAT address (RFC 2544 benchmark range: never a destination)
_UDP_TIMEOUT = 30.0
_APP = {"ssl": "ssl", "http": "web-browsing", "dns": "dns", "ntp": "ntp", "krb": "kerberos",
        "krb_tcp": "kerberos", "ldap_tcp": "ldap", "ldap_udp": "ldap",
        "gssapi,smb": "ms-ds-smb", "dce_rpc": "msrpc"}  # fmt: skip
_END_REASON = {"SF": "tcp-fin", "RSTO": "tcp-rst-from-client", "RSTR": "tcp-rst-from-server",
               "REJ": "tcp-rst-from-server", "RSTOS0": "tcp-rst-from-client"}  # fmt: skip
_RULE_UUID = "7f3c2b9e-5d41-4c8a-9e0b-2a6f1d3c4b5a"
_FIELDS = 115


class _Stamp:
    """PAN-OS times of an epoch second, cached: ``2026/11/03 08:00:05`` and the syslog header's."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[str, str]] = {}

    def __call__(self, second: int) -> tuple[str, str]:
        found = self._cache.get(second)
        if found is None:
            t = time.gmtime(second)
            header = f"{time.strftime('%b', t)} {t.tm_mday:2d} {time.strftime('%H:%M:%S', t)}"
            found = (time.strftime("%Y/%m/%d %H:%M:%S", t), header)
            self._cache[second] = found
        return found


def _application(proto: str, service: str | None, orig_bytes: int) -> str:
    if service:
        return _APP.get(service, service.split(",")[0])
    if proto == "icmp":
        return "ping"
    return "incomplete" if orig_bytes <= 0 else f"unknown-{proto}"


def _end_reason(proto: str, state: str | None) -> str:
    return _END_REASON.get(state or "", "aged-out") if proto == "tcp" else "aged-out"


def render(
    frames: Mapping[str, LogFrame], world: World, out_dir: Path, span: tuple[float, float]
) -> list[Path]:
    """Write :data:`FILE_NAME` under ``out_dir``; return its path."""
    conn = frames["conn"]
    c = conn.columns
    hosts = {h.ip: h for h in world.hosts}
    orig, resp = c["id.orig_h"].tolist(), c["id.resp_h"].tolist()
    edge = [i for i, (o, r) in enumerate(zip(orig, resp, strict=True))
            if o in hosts and r not in hosts]  # fmt: skip
    ts = conn.ts.tolist()
    dur = np.nan_to_num(c["duration"].astype(float), nan=0.0).tolist()
    proto = c["proto"].tolist()
    ended = [ts[i] + dur[i] + (_UDP_TIMEOUT if proto[i] == "udp" else 0.0) for i in edge]
    order = sorted(range(len(edge)), key=lambda k: (ended[k], ts[edge[k]]))
    cols = {k: c[k].tolist() for k in ("id.orig_p", "id.resp_p", "service", "conn_state",
                                       "orig_bytes", "orig_pkts", "resp_pkts",
                                       "orig_ip_bytes", "resp_ip_bytes", "uid")}  # fmt: skip
    stamp = _Stamp()
    lines = []
    for seq, k in enumerate(order, start=1):
        i = edge[k]
        host = hosts[orig[i]]
        user = f"acme\\{host.user}" if host.role in ("workstation", "laptop") else ""
        gen_ms = round(ended[k] * 1000.0)
        generated, header = stamp(gen_ms // 1000)
        start = stamp(int(ts[i]))[0]
        p = proto[i]
        sent, received = max(cols["orig_ip_bytes"][i], 0), max(cols["resp_ip_bytes"][i], 0)
        opk, rpk = max(cols["orig_pkts"][i], 0), max(cols["resp_pkts"][i], 0)
        session = 100_000 + (zlib.crc32(cols["uid"][i].encode()) % 900_000)
        nat_port = 1024 + session % 64_000
        app = _application(p, cols["service"][i], cols["orig_bytes"][i])
        hires = f"{generated[:10].replace('/', '-')}T{generated[11:]}.{gen_ms % 1000:03d}+00:00"
        sport, dport = cols["id.orig_p"][i], cols["id.resp_p"][i]
        if p == "icmp":
            sport = dport = 0
        fields = [
            "1", generated, _SERIAL, "TRAFFIC", "end", "2561", generated, orig[i], resp[i],
            _PUBLIC_IP, "0.0.0.0", "allow-outbound", user, "", app, "vsys1", "trust", "untrust",
            "ethernet1/2", "ethernet1/1", "default", generated, str(session), "1", str(sport),
            str(dport), str(nat_port if p != "icmp" else 0), str(dport), "0x400000", p, "allow",
            str(sent + received), str(sent), str(received), str(opk + rpk), start,
            str(int(dur[i])), "any", "0", str(seq), "0x0", "10.0.0.0-10.255.255.255",
            "United States", "0", str(opk), str(rpk), _end_reason(p, cols["conn_state"][i]),
            "0", "0", "0", "0", "", DEVICE, "from-policy", "", "", "0", "", "0", "", "N/A",
            "0", "0", "0", "0", _RULE_UUID, "0", "0", "", "0",
        ]  # fmt: skip
        fields += [""] * (102 - len(fields))  # SD-WAN, device-ID, container and EDL fields
        fields += [hires, "", "", "", "", "", "", "", "", app, "no", "no", "0"]
        assert len(fields) == _FIELDS
        lines.append(f"{header} {DEVICE} {','.join(fields)}\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(lines)
    return [path]
