"""The synthetic capture as the Windows Defender Firewall of each Windows host logs it.

Every Windows machine of the simulated network (the domain controller, the
file server and the workstations) is taken to have firewall logging of
successful connections on, with the file size raised so a day fits, and its
clock on UTC. Each gets its own ``pfirewall/<host>/pfirewall.log``, written
as a Windows 11 host writes it: the four header lines (``#Fields:`` with
``pid``), a blank line, then one line per connection the firewall allowed,
CRLF line ends, in time order:

* ``ALLOW ... SEND`` for every connection the host opened, to any address
  (internal servers and the Internet alike): these are what the reader keeps;
* ``ALLOW ... RECEIVE`` for every connection another machine opened to it
  (the domain controller's DNS, Kerberos and LDAP, the file server's SMB):
  inbound, which the reader skips and counts.

Fields as the firewall fills them on ALLOW lines: ``size`` 0, ``tcpflags``
``-``, ``tcpsyn``/``tcpack``/``tcpwin`` 0 for TCP and ``-`` for UDP,
``icmptype``/``icmpcode`` only for ICMP (the ports are then ``-``), ``info``
``-``; ``pid`` is a stable made-up process id per host and service (4, the
System process, for SMB).

Not there, because this log does not have it: byte counts and durations,
names (DNS answers, TLS server names, HTTP hosts: findings are keyed by
address), sub-second times, and everything the Linux servers do (they have no
Windows Firewall; their connections to Windows hosts appear only as those
hosts' RECEIVE lines). Nothing is dropped in the simulation, so there are no
``DROP`` lines.
"""

from __future__ import annotations

import time
import zlib
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from beaconhunt.synth.world import World
from beaconhunt.synth.zeek_writer import LogFrame

__all__ = ["FOLDER", "HEADER", "render"]

#: Folder under the output directory holding one ``<host>/pfirewall.log`` per Windows host.
FOLDER = "pfirewall"
#: The header Windows writes at the top of every log file (CRLF line ends in the file).
HEADER = (
    "#Version: 1.5",
    "#Software: Microsoft Windows Firewall",
    "#Time Format: Local",
    "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn"
    " tcpack tcpwin icmptype icmpcode info path pid",
    "",
)
_SYSTEM_PORTS = frozenset({139, 445})


def _pid(host: str, what: str) -> int:
    """A stable process id (a multiple of 4, as Windows gives them) for one host's process."""
    return 4 * (250 + zlib.crc32(f"{host}|{what}".encode()) % 4000)


class _Stamp:
    """``2026-11-03 08:00:05`` of an epoch second, cached."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, second: int) -> str:
        found = self._cache.get(second)
        if found is None:
            found = self._cache[second] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        return found


def _line(stamp: str, proto: str, ends: tuple[str, str, int, int], path: str, pid: int) -> str:
    src, dst, sport, dport = ends
    if proto == "icmp":  # Zeek keeps ICMP type and code in the port columns
        return f"{stamp} ALLOW ICMP {src} {dst} - - 0 - - - - {sport} {dport} - {path} {pid}"
    tcp = "0 0 0" if proto == "tcp" else "- - -"
    return f"{stamp} ALLOW {proto.upper()} {src} {dst} {sport} {dport} 0 - {tcp} - - - {path} {pid}"


def render(
    frames: Mapping[str, LogFrame], world: World, out_dir: Path, span: tuple[float, float]
) -> list[Path]:
    """Write ``pfirewall/<host>/pfirewall.log`` for every Windows host that has traffic."""
    conn = frames["conn"]
    c = conn.columns
    windows = {h.ip: h.name for h in world.hosts if h.os == "windows"}
    per_host: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    stamp = _Stamp()
    rows = zip(conn.ts.tolist(), c["id.orig_h"].tolist(), c["id.orig_p"].tolist(),
               c["id.resp_h"].tolist(), c["id.resp_p"].tolist(), c["proto"].tolist(),
               strict=True)  # fmt: skip
    for i, (ts, oh, op, rh, rp, proto) in enumerate(rows):
        when = stamp(int(ts))
        ends = (oh, rh, op, rp)
        if oh in windows:
            name = windows[oh]
            per_host[name].append((ts, i, _line(when, proto, ends, "SEND", _pid(name, str(rp)))))
        if rh in windows:
            name = windows[rh]
            pid = 4 if rp in _SYSTEM_PORTS else _pid(name, f"listen {rp}")
            per_host[name].append((ts, i, _line(when, proto, ends, "RECEIVE", pid)))
    written = []
    for name in sorted(per_host):
        folder = out_dir / FOLDER / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "pfirewall.log"
        lines = [*HEADER, *(text for _, _, text in sorted(per_host[name]))]
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
        written.append(path)
    return written
