"""The synthetic capture as a Linux edge gateway's ufw logs it: netfilter kernel log lines.

Which host logs what: the simulated network reaches the Internet through one
Linux gateway (``gw-01``: ``eth1`` inside, ``eth0`` outside) running ufw with
a logged route rule (``ufw route allow log from 10.0.0.0/8``), so every
connection an internal host opens to an external address is logged once,
when its first packet is forwarded: ``[UFW ALLOW] IN=eth1 OUT=eth0`` with the
Ethernet header (``MAC=``), the IP header after the gateway decremented the
TTL (127 from Windows hosts, 63 from Linux ones), and the first packet's
transport header: a TCP ``SYN`` (``WINDOW=64240 RES=0x00 SYN URGP=0``), a UDP
datagram with its length, or an ICMP type and code. Lines go to
``kern.log`` in the order the packets passed, as rsyslog writes them.

This single vantage point is a choice: the Linux servers' own ufw logs (their
``OUT=`` lines) would describe the same outbound connections a second time and
a hunt given both would count each twice; and the implants all run on Windows
workstations, which have no netfilter log of their own, so only a gateway's log
carries them. Connections between internal hosts do not cross the gateway and
are absent.

``layout="syslog"`` (default) writes the traditional rsyslog format with the
kernel's uptime stamp (``Nov  3 08:00:01 gw-01 kernel: [259201.123456] [UFW
ALLOW] IN=...``): times to the second, no year and no zone (the gateway runs
on UTC); the file's modification time is set to its last line's time, as the
gateway would leave it, since the reader takes the year from it.
``layout="iso"`` writes rsyslog's RFC 3339 format (``2026-11-03T08:00:01.123456+00:00
gw-01 kernel: [UFW ALLOW] IN=...``) with microseconds.

Not there, because a packet log does not have it: byte counts and durations
(``LEN`` is one packet's length), DNS answers, TLS server names and HTTP hosts
(findings are keyed by address), Zeek's service and state. Nothing is blocked
in the simulation, so there are no ``[UFW BLOCK]`` lines.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Mapping
from pathlib import Path

from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["FILE_NAME", "GATEWAY", "render"]

#: The file written (the gateway's kernel log).
FILE_NAME = "kern.log"
#: The gateway's host name.
GATEWAY = "gw-01"
_GW_MAC = "52:54:00:0a:00:01"
_BOOT_BEFORE = 3 * 86_400.0  # the gateway has been up three days when the capture starts
_TTL = {"windows": 127, "linux": 63}


def _mac(ip: str) -> str:
    """A stable made-up MAC address for a host (Hyper-V's 00:15:5d prefix)."""
    a, b, c = (zlib.crc32(ip.encode()) & 0xFFFFFF).to_bytes(3, "big")
    return f"00:15:5d:{a:02x}:{b:02x}:{c:02x}"


def _packet(proto: str, sport: int, dport: int, payload: int, ttl: int, ip_id: int) -> str:
    """The IP and transport part of the logged first packet (after ``DST=``)."""
    if proto == "tcp":
        return (f"LEN=52 TOS=0x00 PREC=0x00 TTL={ttl} ID={ip_id} DF PROTO=TCP SPT={sport} "
                f"DPT={dport} WINDOW=64240 RES=0x00 SYN URGP=0")  # fmt: skip
    if proto == "udp":
        return (f"LEN={28 + payload} TOS=0x00 PREC=0x00 TTL={ttl} ID={ip_id} PROTO=UDP "
                f"SPT={sport} DPT={dport} LEN={8 + payload}")  # fmt: skip
    # Zeek keeps ICMP type and code in the port columns
    return (f"LEN={28 + payload} TOS=0x00 PREC=0x00 TTL={ttl} ID={ip_id} PROTO=ICMP "
            f"TYPE={sport} CODE={dport} ID={ip_id} SEQ=1")  # fmt: skip


class _Stamp:
    """The line's time for ``layout``, cached per second."""

    def __init__(self, layout: str) -> None:
        self.iso = layout == "iso"
        self._cache: dict[int, str] = {}

    def __call__(self, ts: float) -> str:
        micros = round(ts * 1e6)
        second = micros // 1_000_000
        found = self._cache.get(second)
        if found is None:
            t = time.gmtime(second)
            if self.iso:
                found = time.strftime("%Y-%m-%dT%H:%M:%S", t)
            else:  # "Nov  3 08:00:01": day padded with a space
                found = f"{time.strftime('%b', t)} {t.tm_mday:2d} {time.strftime('%H:%M:%S', t)}"
            self._cache[second] = found
        return f"{found}.{micros % 1_000_000:06d}+00:00" if self.iso else found


def render(
    frames: Mapping[str, LogFrame],
    world: World,
    out_dir: Path,
    span: tuple[float, float],
    *,
    layout: str = "syslog",
) -> list[Path]:
    """Write :data:`FILE_NAME` under ``out_dir`` in ``layout`` (``syslog`` or ``iso``)."""
    if layout not in ("syslog", "iso"):
        raise ValueError(f"unknown kern.log layout {layout!r} (syslog or iso)")
    conn = frames["conn"]
    c = conn.columns
    hosts = {h.ip: h for h in world.hosts}
    boot = span[0] - _BOOT_BEFORE
    stamp = _Stamp(layout)
    rows = zip(conn.ts.tolist(), c["uid"].tolist(), c["id.orig_h"].tolist(),
               c["id.orig_p"].tolist(), c["id.resp_h"].tolist(), c["id.resp_p"].tolist(),
               c["proto"].tolist(), c["orig_bytes"].tolist(), c["orig_pkts"].tolist(),
               strict=True)  # fmt: skip
    lines: list[tuple[float, str]] = []
    for ts, uid, oh, op, rh, rp, proto, obytes, opkts in rows:
        host = hosts.get(oh)
        if host is None or rh in hosts:
            continue  # not internal -> external: does not cross the gateway
        payload = max(obytes, 0) // max(opkts, 1)
        ip_id = zlib.crc32(uid.encode()) & 0xFFFF
        packet = _packet(proto, op, rp, payload, _TTL.get(host.os, 63), ip_id)
        uptime = "" if layout == "iso" else f"[{ts - boot:12.6f}] "
        lines.append((ts, (
            f"{stamp(ts)} {GATEWAY} kernel: {uptime}[UFW ALLOW] IN=eth1 OUT=eth0 "
            f"MAC={_GW_MAC}:{_mac(oh)}:08:00 SRC={oh} DST={rh} {packet}\n"
        )))  # fmt: skip
    lines.sort(key=lambda x: x[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE_NAME
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(text for _, text in lines)
    last = lines[-1][0] if lines else span[1]
    os.utime(path, (last + 1.0, last + 1.0))
    return [path]
