"""Sysmon events of the synthetic workstations, consistent with the Zeek logs.

Modelled on Sysmon 15 (schema 4.90) with a typical configuration that logs
process creation (event 1), network connections (3), file creation (11),
registry value sets (13) and DNS queries (22). Sysmon runs on every infected
workstation and on ``Scenario.sysmon_hosts`` clean ones (a seeded pick):

* one event 3 per connection the host opens in conn.log, with the same
  protocol, addresses and ports (the same source port), by the process of the
  pair's label (:mod:`beaconhunt.synth.processes`); ``Initiated`` is true;
* one event 22 per lookup of the host in dns.log (same name, the answers as
  Sysmon writes them: ``type:  5 <cname>;::ffff:<ip>;``) by the process whose
  connection needed it;
* one event 1 per process used and each of its ancestors, except the boot
  processes that start before Sysmon (:data:`~beaconhunt.synth.processes.PRE_SYSMON`):
  services at boot, the user's shell at logon, startup apps soon after,
  browsers and implants just before their first lookup or connection;
* the implants' persistence (Havoc's Run key as event 13, Mythic's Startup
  shortcut as event 11) a few seconds after they start.

Every host's clock is off by a fixed, seeded skew of up to :data:`MAX_SKEW`
seconds (event times = true time + skew), so joining Sysmon to Zeek must allow
for it. Process GUIDs follow Sysmon's layout: a per-machine first field, the
process start time (Unix seconds, low then high 16 bits), then
``0000-0010`` and a per-boot counter; logon GUIDs end with the logon ID
(``...-0000-0020<LogonId little-endian>``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth.flows import Traffic
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.processes import (
    Persistence,
    ProcSpec,
    implant_specs,
    process_key,
    specs_for_host,
    version_info,
)
from beaconhunt.synth.shapes.kinds import API_DNS_KINDS, RAW_DNS_KINDS
from beaconhunt.synth.world import AD_DOMAIN

__all__ = [
    "MAX_SKEW",
    "Event",
    "HostLog",
    "Proc",
    "host_logs",
    "sysmon_hosts",
    "utc_text",
    "utc_texts",
]

#: Largest clock skew (seconds, either way) of a host's Sysmon clock against Zeek's.
MAX_SKEW = 3.0

Columns = dict[str, NDArray[Any]]

_DOMAIN = AD_DOMAIN.split(".")[0].upper()
_ACCOUNTS = {  # account -> (user, logon id, session, integrity)
    "system": ("NT AUTHORITY\\SYSTEM", 0x3E7, 0, "System"),
    "network": ("NT AUTHORITY\\NETWORK SERVICE", 0x3E4, 0, "System"),
    "local": ("NT AUTHORITY\\LOCAL SERVICE", 0x3E5, 0, "System"),
}
_EARLY = {"system": 0.0, "wininit": 2.1, "winlogon": 2.3, "services": 3.0, "lsass": 3.1}
_PORT_NAMES = {
    53: "domain",
    80: "http",
    88: "kerberos",
    123: "ntp",
    389: "ldap",
    443: "https",
    445: "microsoft-ds",
}


class Event(NamedTuple):
    """One Sysmon record: the host clock's time, the event ID and ``EventData``
    (Sysmon's field names in its order; GUIDs as ``8C1A...`` text, numbers and
    booleans typed as the evtx crate writes them)."""

    t: float
    event_id: int
    data: dict[str, object]


@dataclass(slots=True)
class Proc:
    """One process on one host, with everything event 1 says about it."""

    spec: ProcSpec
    image: str
    command: str
    directory: str
    user: str
    logon_id: int
    logon_guid: str
    session: int
    integrity: str
    guid: str
    pid: int
    start: float
    hashes: str
    parent: Proc | None


@dataclass(frozen=True, slots=True)
class HostLog:
    """The Sysmon log of one host: its name, Sysmon's own process and threads,
    the first EventRecordID, the events in time order and for each the delay
    (seconds) between ``UtcTime`` and the record's ``SystemTime``."""

    computer: str
    sysmon_pid: int
    threads: NDArray[np.int64]
    first_record: int
    events: list[Event]
    delays: NDArray[np.float64]


def sysmon_hosts(
    tr: Traffic, beacons: Sequence[HiddenBeacon], unseen: Sequence[HiddenBeacon] = ()
) -> list[int]:
    """Indices of the hosts with Sysmon: every infected one plus a seeded pick of
    ``Scenario.sysmon_hosts`` clean workstations, in host order. The hosts of
    ``unseen`` implants (a network without endpoint telemetry there) have none."""
    world = tr.world
    infected = {world.host_index(name) for b in beacons for name in b.hosts}
    dark = {world.host_index(name) for b in unseen for name in b.hosts}
    clean = [h for h in world.workstations() if h not in infected and h not in dark]
    n = min(world.scenario.sysmon_hosts, len(clean))
    picked: list[int] = tr.rng("sysmon", "hosts").choice(len(clean), n, replace=False).tolist()
    return sorted(infected | {clean[i] for i in picked})


def host_logs(
    tr: Traffic,
    conn: Columns,
    dns: Columns,
    beacons: Sequence[HiddenBeacon],
    unseen: Sequence[HiddenBeacon] = (),
) -> Iterator[HostLog]:
    """The Sysmon log of every covered host, one host at a time (see the module doc).

    ``conn`` and ``dns`` are the finished tables (``dns`` rows point at their
    udp/53 connection by ``row`` and at the connection they served by ``cause``).
    ``unseen`` implants' hosts get no Sysmon (:func:`sysmon_hosts`).
    """
    hosts = sysmon_hosts(tr, beacons, unseen)
    chains: dict[int, dict[str, tuple[list[ProcSpec], list[Persistence]]]] = {}
    for i, b in enumerate(beacons):
        chain = implant_specs(b, tr.rng("sysmon", "implant", i))
        for name in b.hosts:
            chains.setdefault(tr.world.host_index(name), {})[b.family] = chain
    order = np.argsort(conn["src"], kind="stable")
    bounds = np.searchsorted(conn["src"][order], np.arange(len(tr.world.hosts) + 1))
    dns_src = conn["src"][dns["row"]]
    for h in hosts:
        rows = order[bounds[h] : bounds[h + 1]]
        lookups = np.flatnonzero(dns_src == h)
        yield _HostBuilder(tr, h, chains.get(h, {})).build(conn, rows, dns, lookups)


def utc_text(t: float) -> str:
    """Sysmon's ``UtcTime``: ``2026-11-03 08:00:01.523`` (milliseconds, truncated)."""
    ms = math.floor(t * 1000.0)
    sec, frac = divmod(ms, 1000)
    return f"{datetime.fromtimestamp(sec, UTC):%Y-%m-%d %H:%M:%S}.{frac:03d}"


def utc_texts(t: NDArray[np.float64]) -> list[str]:
    """:func:`utc_text` of many times at once."""
    ms = np.floor(t * 1000.0).astype(np.int64).astype("datetime64[ms]")
    return [x.replace("T", " ") for x in np.datetime_as_string(ms, unit="ms").tolist()]


def _guid(machine: int, t: float, tail: str) -> str:
    """A Sysmon GUID: machine part, start time (low, high 16 bits), ``tail``."""
    sec = int(t) & 0xFFFFFFFF
    return f"{machine:08X}-{sec & 0xFFFF:04X}-{sec >> 16:04X}-{tail}"


def _le(n: int) -> str:
    """``n`` as 4 little-endian bytes in upper-case hex (the end of a Sysmon GUID)."""
    return n.to_bytes(4, "little").hex().upper()


def _hashes(salt: str) -> str:
    """MD5, SHA256 and IMPHASH as Sysmon writes them (stand-ins derived from ``salt``)."""
    md5 = hashlib.md5(salt.encode(), usedforsecurity=False).hexdigest().upper()
    sha = hashlib.sha256(salt.encode()).hexdigest().upper()
    imp = hashlib.md5(("imp:" + salt).encode(), usedforsecurity=False).hexdigest().upper()
    return f"MD5={md5},SHA256={sha},IMPHASH={imp}"


class _HostBuilder:
    """Builds one host's processes and events."""

    def __init__(
        self, tr: Traffic, h: int, chains: dict[str, tuple[list[ProcSpec], list[Persistence]]]
    ) -> None:
        self.tr = tr
        self.h = h
        self.host = tr.world.hosts[h]
        self.fqdn = f"{self.host.name}.{AD_DOMAIN}"
        self.chains = chains
        self.rng = tr.rng("sysmon", "host", h)
        self.skew = float(self.rng.uniform(-MAX_SKEW, MAX_SKEW))
        self.machine = int(self.rng.integers(0x10000000, 0xFFFFFFFF))
        dom = tr.rng("sysmon", "domain").integers(10**9, 4 * 10**9, 3)
        self.sid = f"S-1-5-21-{dom[0]}-{dom[1]}-{dom[2]}-{1104 + h}"
        self.names = {x.ip: f"{x.name}.{AD_DOMAIN}" for x in tr.world.hosts}

    def build(
        self, conn: Columns, rows: NDArray[np.int64], dns: Columns, lookups: NDArray[np.int64]
    ) -> HostLog:
        """Processes first (they need every connection's first use), then events."""
        keys = self._keys(conn, rows, sockets=True)
        lookups = self._logged_lookups(conn, dns, lookups)
        cause_keys = self._keys(conn, dns["cause"][lookups])
        dns_t = conn["ts"][dns["row"][lookups]] + dns["rtt"][lookups]
        first: dict[str, float] = {}
        for key, t in zip(
            [*keys, *cause_keys], [*conn["ts"][rows].tolist(), *dns_t.tolist()], strict=True
        ):
            if t < first.get(key, math.inf):
                first[key] = t
        procs = self._processes(first)
        events = self._creates(procs)
        events += self._persistence(procs)
        events += self._connections(conn, rows, keys, procs)
        events += self._queries(dns, lookups, dns_t, cause_keys, procs)
        events.sort(key=lambda e: e.t)
        rng = self.rng
        return HostLog(
            computer=self.fqdn,
            sysmon_pid=int(rng.integers(500, 1500)) * 4,
            threads=rng.integers(1000, 2500, 3) * 4,
            first_record=int(rng.integers(20_000, 900_000)),
            events=events,
            delays=rng.uniform(0.0002, 0.03, len(events)),
        )

    def _keys(self, conn: Columns, rows: NDArray[np.int64], sockets: bool = False) -> list[str]:
        """The process key of each connection row. With ``sockets``, the process
        that owns the socket: the DNS Client service for lookups that programs
        make through the Windows DNS API (the program itself is event 22's)."""
        cache: dict[int, str] = {}
        out: list[str] = []
        for lab_id in conn["label"][rows].tolist():
            key = cache.get(lab_id)
            if key is None:
                lab = self.tr.labels[lab_id]
                if sockets and lab.kind in API_DNS_KINDS:
                    key = cache[lab_id] = "svchost:Dnscache"
                else:
                    key = cache[lab_id] = process_key(lab, lab.image_on(self.host))
            out.append(key)
        return out

    def _logged_lookups(
        self, conn: Columns, dns: Columns, lookups: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """The lookups event 22 records: not those of tools that write their own
        DNS packets (Sysmon sees DNS only through the DNS Client's events)."""
        raw = [i for i, lab in enumerate(self.tr.labels) if lab.kind in RAW_DNS_KINDS]
        if not raw:
            return lookups
        mine = np.isin(conn["label"][dns["cause"][lookups]], raw)
        return lookups[~mine]

    # -- processes ----------------------------------------------------------------------------

    def _processes(self, first: dict[str, float]) -> dict[str, Proc]:
        """Every process used (and its ancestors), with start time, PID and GUIDs."""
        implants = {fam: chain for fam, (chain, _) in self.chains.items()}
        specs = specs_for_host(self.host, set(first), implants)
        rng = self.rng
        boot = min(first.values(), default=self.tr.world.scenario.start) - rng.uniform(45, 600)
        logon = boot + float(rng.uniform(20.0, 40.0))
        want: dict[str, float] = {}

        def desired(key: str) -> float:
            if key in want:
                return want[key]
            spec = specs[key]
            if spec.start == "early":
                t = boot + _EARLY.get(key, 3.5)
            elif spec.start == "boot":
                t = boot + float(rng.uniform(8.0, 40.0))
            elif spec.start == "logon":
                t = logon + (float(rng.uniform(1.0, 3.0)) if key == "explorer" else 0.0)
            elif spec.start == "startup":
                t = logon + float(rng.uniform(5.0, 60.0))
            elif key in first:
                t = first[key] - float(rng.uniform(2.0, 20.0))
            else:  # an ancestor that makes no traffic itself (WINWORD, cmd, the browser)
                kids = [desired(k) for k in sorted(specs) if specs[k].parent == key]
                t = min(kids) - float(rng.uniform(0.5, 30.0))
            want[key] = t
            return t

        for key in sorted(specs):
            desired(key)
        starts: dict[str, float] = {}

        def settle(key: str) -> float:
            if key not in starts:
                parent = specs[key].parent
                t = want[key] if parent is None else max(want[key], settle(parent) + 0.2)
                starts[key] = min(t, first.get(key, math.inf) - 0.05)
            return starts[key]

        for key in sorted(specs):
            settle(key)
        return self._instances(specs, starts, boot, logon)

    def _instances(
        self, specs: dict[str, ProcSpec], starts: dict[str, float], boot: float, logon: float
    ) -> dict[str, Proc]:
        """PIDs, GUIDs, users and hashes, handed out in start order."""
        rng = self.rng
        keys = sorted(specs, key=lambda k: (starts[k], k))
        pids = (rng.choice(np.arange(100, 5000), len(keys), replace=False) * 4).tolist()
        counter = int(rng.integers(0x1000, 0x40000))
        user_logon = int(rng.integers(0x20000, 0xFFFFF))
        procs: dict[str, Proc] = {}
        for key, pid in zip(keys, pids, strict=True):
            spec = specs[key]
            counter += int(rng.integers(1, 40))
            if spec.account == "user":
                user, logon_id, session, integrity = (
                    f"{_DOMAIN}\\{self.host.user}",
                    user_logon,
                    1,
                    "Medium",
                )
                logon_t = logon
            else:
                user, logon_id, session, integrity = _ACCOUNTS[spec.account]
                logon_t = boot
            fill = spec.image.replace("{user}", self.host.user)
            salt = f"{fill}|{version_info(fill, key).file_version}"
            if key.startswith("implant:") and not fill.lower().startswith("c:\\windows\\"):
                salt += f"|{self.tr.seed}|{self.h}"
            procs[key] = Proc(
                spec=spec,
                image=fill,
                command=spec.command.replace("{user}", self.host.user),
                directory=spec.directory.replace("{user}", self.host.user),
                user=user,
                logon_id=logon_id,
                logon_guid=_guid(self.machine, logon_t, "0000-0020" + _le(logon_id)),
                session=session,
                integrity=integrity,
                guid=_guid(self.machine, starts[key], "0000-0010" + _le(counter)),
                pid=4 if key == "system" else pid,
                start=starts[key],
                hashes=_hashes(salt),
                parent=None,
            )
        for p in procs.values():
            p.parent = procs[p.spec.parent] if p.spec.parent else None
        return procs

    # -- events -------------------------------------------------------------------------------

    def _creates(self, procs: dict[str, Proc]) -> list[Event]:
        """Event 1 for every process that starts after Sysmon."""
        out: list[Event] = []
        for key, p in procs.items():
            if p.spec.start == "early":
                continue
            t = p.start + self.skew
            v = version_info(p.image, key)
            parent = p.parent
            assert parent is not None  # only boot processes lack a parent
            data: dict[str, object] = {
                "RuleName": "-",
                "UtcTime": utc_text(t),
                "ProcessGuid": p.guid,
                "ProcessId": p.pid,
                "Image": p.image,
                "FileVersion": v.file_version,
                "Description": v.description,
                "Product": v.product,
                "Company": v.company,
                "OriginalFileName": v.original,
                "CommandLine": p.command,
                "CurrentDirectory": p.directory,
                "User": p.user,
                "LogonGuid": p.logon_guid,
                "LogonId": f"0x{p.logon_id:x}",
                "TerminalSessionId": p.session,
                "IntegrityLevel": p.integrity,
                "Hashes": p.hashes,
                "ParentProcessGuid": parent.guid,
                "ParentProcessId": parent.pid,
                "ParentImage": parent.image,
                "ParentCommandLine": parent.command,
                "ParentUser": parent.user,
            }
            out.append(Event(t, 1, data))
        return out

    def _persistence(self, procs: dict[str, Proc]) -> list[Event]:
        """Events 11 and 13 of the implants' persistence."""
        out: list[Event] = []
        for family, (_, items) in sorted(self.chains.items()):
            p = procs.get(f"implant:{family}")
            if p is None:  # the implant never ran while the host was on
                continue
            for item in items:
                t = p.start + float(self.rng.uniform(2.0, 12.0)) + self.skew
                target = item.target.replace("{user}", self.host.user).replace("{sid}", self.sid)
                head = {"RuleName": "-"}
                proc = {"ProcessGuid": p.guid, "ProcessId": p.pid, "Image": p.image}
                if item.event_id == 13:
                    data: dict[str, object] = {
                        **head,
                        "EventType": "SetValue",
                        "UtcTime": utc_text(t),
                        **proc,
                        "TargetObject": target,
                        "Details": item.details,
                        "User": p.user,
                    }
                else:
                    data = {
                        **head,
                        "UtcTime": utc_text(t),
                        **proc,
                        "TargetFilename": target,
                        "CreationUtcTime": utc_text(t),
                        "User": p.user,
                    }
                out.append(Event(t, item.event_id, data))
        return out

    def _connections(
        self, conn: Columns, rows: NDArray[np.int64], keys: list[str], procs: dict[str, Proc]
    ) -> list[Event]:
        """Event 3 for every connection of the host in conn.log."""
        t_all = conn["ts"][rows] + self.skew + self.rng.uniform(0.0005, 0.004, rows.size)
        src_ip = self.host.ip
        out: list[Event] = []
        cols = zip(
            t_all.tolist(),
            utc_texts(t_all),
            keys,
            conn["proto"][rows].tolist(),
            conn["orig_p"][rows].tolist(),
            conn["resp_h"][rows].tolist(),
            conn["resp_p"][rows].tolist(),
            strict=True,
        )
        for t, utc, key, proto, sport, dst, dport in cols:
            p = procs[key]
            data: dict[str, object] = {
                "RuleName": "-",
                "UtcTime": utc,
                "ProcessGuid": p.guid,
                "ProcessId": p.pid,
                "Image": p.image,
                "User": p.user,
                "Protocol": proto,
                "Initiated": True,
                "SourceIsIpv6": False,
                "SourceIp": src_ip,
                "SourceHostname": self.fqdn,
                "SourcePort": sport,
                "SourcePortName": "-",
                "DestinationIsIpv6": False,
                "DestinationIp": dst,
                "DestinationHostname": self.names.get(dst, "-"),
                "DestinationPort": dport,
                "DestinationPortName": _PORT_NAMES.get(dport, "-"),
            }
            out.append(Event(t, 3, data))
        return out

    def _queries(
        self,
        dns: Columns,
        lookups: NDArray[np.int64],
        done: NDArray[np.float64],
        keys: list[str],
        procs: dict[str, Proc],
    ) -> list[Event]:
        """Event 22 for every lookup of the host in dns.log, by the process that asked."""
        t_all = done + self.skew + self.rng.uniform(0.0, 0.0004, lookups.size)
        out: list[Event] = []
        cols = zip(
            t_all.tolist(),
            utc_texts(t_all),
            keys,
            dns["query"][lookups].tolist(),
            dns["answers"][lookups].tolist(),
            dns["rcode"][lookups].tolist(),
            strict=True,
        )
        for t, utc, key, query, answers, rcode in cols:
            p = procs[key]
            data: dict[str, object] = {
                "RuleName": "-",
                "UtcTime": utc,
                "ProcessGuid": p.guid,
                "ProcessId": p.pid,
                "QueryName": query,
                # Windows reports NXDOMAIN as DNS_ERROR_RCODE_NAME_ERROR (9003)
                "QueryStatus": "9003" if rcode == 3 else "0",
                "QueryResults": _results(answers) if rcode != 3 else "-",
                "Image": p.image,
                "User": p.user,
            }
            out.append(Event(t, 22, data))
        return out


def _results(answers: str | None) -> str:
    """dns.log answers (``cname,ip,ip``) as Sysmon's ``QueryResults`` (TXT
    strings, which only the shapes' DNS beacon asks for, as ``type:  16 <text>``)."""
    out = []
    for a in (answers or "").split(","):
        if a.startswith("TXT "):
            out.append(f"type:  16 {a.split(' ', 2)[2]};")
        elif a:
            out.append(f"::ffff:{a};" if a[0].isdigit() else f"type:  5 {a};")
    return "".join(out)
