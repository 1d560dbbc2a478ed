"""The benign zoo: periodic software every enterprise runs, timed from its documentation.

:data:`ZOO` holds the kinds of ``zoo.toml`` (42 of them, in 22 categories: time
sync, OS update and telemetry, AV signatures, EDR/RMM/MDM check-ins, browser
updaters, chat and meeting clients, file sync, VPN keepalives, monitoring and
log shipping, backup, printers and IoT, mail, cloud metadata, revocation,
connectivity checks, DNS and network protocols). Each kind's period, jitter,
timer, transport and install path come from the vendor's or project's public
documentation, quoted and cited in ``docs/benign.md``; the few undocumented
timings are marked ``estimate``.

:func:`add_zoo` places them when ``Scenario.zoo`` is on: which hosts run a
kind (``runs_on`` and ``share``, drawn per seed), when they check in (the
kind's timer), what each connection carries (sizes, packets, duration), and
whether a DNS lookup precedes it (``resolves_dns``: a hard-coded address has
none). Most kinds are **not** on the allowlist, as on a real first day; the
label's decision is the kind's ``expected`` verdict (close or monitor, never
escalate).

Placeholders in the data: ``{tenant}`` is the customer's label in a SaaS name,
``{version}`` a product version folder, ``{user}`` the host's user; ``{dc}``,
``{dhcp_server}``, ``{broadcast}`` and ``{snmp_device}`` are internal addresses
(the hunt skips them, as it should). IPv4 literals in the RFC 5737 ranges
stand for the site's *own* public endpoints (a self-hosted manager, a VPN
concentrator, a backup server configured by address); they are replaced by a
random public address per seed, so they never collide with the lab's C2
servers, which live in those ranges.

With the zoo, the world also has more servers (4% of the hosts, half Linux)
and a few printers and IoT devices (2%), which the fixed five-server world
lacks (:func:`beaconhunt.synth.world.build_world`).
"""

from __future__ import annotations

import ipaddress
import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import timing
from beaconhunt.synth.flows import Label, Traffic, sizes
from beaconhunt.synth.world import IpPool, Name, World

__all__ = ["ZOO", "ZooKind", "add_zoo", "allowlisted_names", "load_zoo"]

FloatArray = NDArray[np.float64]

_DOC_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
_TENANT = "acme"
_ISSUER = "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US"


@dataclass(frozen=True, slots=True)
class ZooKind:
    """One kind of benign periodic software (the keys of ``zoo.toml``)."""

    id: str
    name: str
    category: str
    runs_on: str
    share: float
    proto: str
    port: int
    service: str
    destinations: tuple[str, ...]
    resolves_dns: bool
    period_s: float
    jitter: float
    timer: str
    bytes_out: tuple[int, int]
    bytes_in: tuple[int, int]
    packets_out: tuple[int, int]
    packets_in: tuple[int, int]
    duration_s: tuple[float, float]
    session: str
    process: str
    allowlisted: bool
    expected: str
    source: str
    estimate: bool = False
    min_period_s: float | None = None
    max_period_s: float | None = None
    process_args: str = ""
    company: str = ""
    original_file_name: str = ""
    user_agent: str = ""

    @classmethod
    def from_toml(cls, d: dict[str, Any]) -> ZooKind:
        def pair(key: str) -> tuple[Any, Any]:
            lo, hi = d[key]
            return (lo, hi)

        return cls(
            id=d["id"], name=d["name"], category=d["category"], runs_on=d["runs_on"],
            share=float(d["share"]), proto=d["proto"], port=int(d["port"]),
            service=d.get("service", ""), destinations=tuple(d["destinations"]),
            resolves_dns=bool(d["resolves_dns"]), period_s=float(d["period_s"]),
            jitter=float(d["jitter"]), timer=d["timer"], bytes_out=pair("bytes_out"),
            bytes_in=pair("bytes_in"), packets_out=pair("packets_out"),
            packets_in=pair("packets_in"), duration_s=pair("duration_s"),
            session=d["session"], process=d.get("process", ""),
            allowlisted=bool(d["allowlisted"]), expected=d["expected"], source=d["source"],
            estimate=bool(d.get("estimate", False)),
            min_period_s=d.get("min_period_s"), max_period_s=d.get("max_period_s"),
            process_args=d.get("process_args", ""), company=d.get("company", ""),
            original_file_name=d.get("original_file_name", ""),
            user_agent=d.get("user_agent", ""),
        )  # fmt: skip


@cache
def load_zoo() -> tuple[ZooKind, ...]:
    """Every kind of the packaged ``zoo.toml``."""
    text = resources.files("beaconhunt.synth").joinpath("zoo.toml").read_text("utf-8")
    return tuple(ZooKind.from_toml(k) for k in tomllib.loads(text)["kind"])


ZOO: tuple[ZooKind, ...] = load_zoo()


def allowlisted_names() -> list[str]:
    """Destination names of the kinds a first-day allowlist would list."""
    return sorted(
        {d.replace("{tenant}", _TENANT) for k in ZOO if k.allowlisted for d in k.destinations
         if not _is_ip(d) and "{" not in d.replace("{tenant}", "")}
    )  # fmt: skip


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _eligible(world: World, runs_on: str) -> list[int]:
    hosts = world.hosts
    servers = [i for i, h in enumerate(hosts) if h.role not in ("workstation", "laptop")
               and h.os != "device"]  # fmt: skip
    pick: dict[str, list[int]] = {
        "workstations": world.workstations(),
        "windows": [i for i, h in enumerate(hosts) if h.os == "windows"],
        "servers": servers,
        "linux_servers": [i for i in servers if hosts[i].os == "linux"],
        "all": [i for i, h in enumerate(hosts) if h.os != "device"],
        # the world has no macOS hosts: kinds for Macs are not generated
        "macs": [],
        "devices": [i for i, h in enumerate(hosts) if h.os == "device"],
    }
    return pick[runs_on]


def add_zoo(tr: Traffic) -> None:
    """Every zoo kind on the hosts that run it (module docstring)."""
    world = tr.world
    own = _OwnEndpoints(tr.rng("zoo", "own-endpoints"))
    for k in ZOO:
        hosts = _eligible(world, k.runs_on)
        pick = tr.rng("zoo-hosts", k.id)
        chosen = [h for h in hosts if pick.random() < k.share]
        if hosts and not chosen and k.share >= 0.05:
            chosen = [hosts[int(pick.integers(len(hosts)))]]
        for h in chosen:
            _run(tr, k, h, own, tr.rng("zoo", k.id, h))


class _OwnEndpoints:
    """The site's own public addresses, standing in for the RFC 5737 literals (one
    fresh address per literal, from the world's pool of public-looking addresses)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._pool = IpPool(rng)
        self._map: dict[str, str] = {}

    def get(self, literal: str) -> str:
        if literal not in self._map:
            self._map[literal] = self._pool.take(1)[0]
        return self._map[literal]


def _destination(tr: Traffic, k: ZooKind, h: int, own: _OwnEndpoints,
                 rng: np.random.Generator) -> tuple[str, str | None]:  # fmt: skip
    """(address, name or None) this host's instance of ``k`` talks to."""
    world = tr.world
    raw = k.destinations[int(rng.integers(len(k.destinations)))].replace("{tenant}", _TENANT)
    host = world.hosts[h]
    internal = {
        "{dc}": world.hosts[0].ip,
        "{dhcp_server}": world.hosts[0].ip,
        "{broadcast}": host.ip.rsplit(".", 1)[0] + ".255",
        "{snmp_device}": next((x.ip for x in world.hosts if x.os == "device"), world.hosts[1].ip),
    }
    if raw in internal:
        return internal[raw], None
    if _is_ip(raw):
        ip = ipaddress.ip_address(raw)
        return (own.get(raw) if any(ip in n for n in _DOC_RANGES) else raw), None
    if raw not in world.names:
        ips = (own.get(f"name:{raw}:0"), own.get(f"name:{raw}:1"))
        world.add_name(Name(raw, ips, None, 300, _established(raw)))
    return world.names[raw].ips[0], raw


def _established(name: str) -> str:
    """A vendor domain's registration date: long before the capture (2000-2015),
    fixed per name."""
    n = sum(name.encode()) % (16 * 365)
    year, day = 2000 + n // 365, n % 365
    return f"{year}-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}"


def _times(k: ZooKind, rng: np.random.Generator, start: float, end: float) -> FloatArray:
    """Check-in times of one instance, by the kind's documented timer."""
    period = k.period_s
    if k.timer == "poll_2n":
        return _poll_2n(rng, start, end, k.min_period_s or period, k.max_period_s or period)
    if k.timer == "random_window":
        lo = k.min_period_s or period
        hi = k.max_period_s or period
        return timing.walk(rng, start, end, lambda n: rng.uniform(lo, max(lo, hi), n))
    if k.timer == "exponential_backoff":
        # steady polling; a failed check-in (5%) doubles the next wait
        def backoff(n: int) -> FloatArray:
            base = period * (1.0 + k.jitter * (2.0 * rng.random(n) - 1.0))
            return np.asarray(np.where(rng.random(n) < 0.05, 2.0 * base, base))

        return timing.walk(rng, start, end, backoff)
    return timing.agent(rng, start, end, period, k.jitter)


def _poll_2n(rng: np.random.Generator, start: float, end: float, lo: float,
             hi: float) -> FloatArray:  # fmt: skip
    """NTP's poll: 2^minpoll at start-up, doubling after every 8 good samples up to
    2^maxpoll (RFC 5905 13; chrony and ntpd behave so on a stable clock)."""
    lo_n, hi_n = round(math.log2(max(lo, 1.0))), round(math.log2(max(hi, lo, 1.0)))
    # the daemon started some time before the capture: it may already poll at max
    n = int(rng.integers(lo_n, hi_n + 1))
    t = start + float(rng.uniform(0.0, 2.0**n))
    out: list[float] = []
    good = 0
    while t < end:
        out.append(t)
        good += 1
        if good >= 8 and n < hi_n:
            n, good = n + 1, 0
        t += 2.0**n * (1.0 + 0.002 * (2.0 * rng.random() - 1.0))
    return np.asarray(out, dtype=np.float64)


def _run(tr: Traffic, k: ZooKind, h: int, own: _OwnEndpoints, rng: np.random.Generator) -> None:
    world, s = tr.world, tr.world.scenario
    held = k.session == "long_held"
    ts = _sessions(rng, k, s.start, s.end) if held else _times(k, rng, s.start, s.end)
    ts = ts[world.awake_mask(h, ts)]
    if ts.size == 0:
        return
    n = ts.size
    dst, name = _destination(tr, k, h, own, rng)
    process = k.process.replace("{version}", "4.2.1") if world.hosts[h].os != "device" else ""
    lab = tr.label(Label(k.id, name or dst, process, k.expected, k.period_s, k.jitter, 0.0))
    qname: Any = None
    if k.resolves_dns and name is not None:
        qname = name
    out = sizes(rng, n, *k.bytes_out) if k.bytes_out[1] > 0 else np.zeros(n, dtype=np.int64)
    inn = sizes(rng, n, *k.bytes_in) if k.bytes_in[1] > 0 else np.zeros(n, dtype=np.int64)
    duration = rng.uniform(*k.duration_s, n)
    if held:  # each session lasts until the next one starts (a reconnect), at most
        gaps = np.diff(ts, append=s.end) - rng.uniform(1.0, 30.0, n)
        duration = np.clip(np.minimum(duration, gaps), 1.0, None)
    if k.proto == "udp":
        o_pk = rng.integers(k.packets_out[0], k.packets_out[1] + 1, n)
        r_pk = rng.integers(k.packets_in[0], k.packets_in[1] + 1, n)
        out = _per_packet(out, o_pk, k.bytes_out, k.packets_out)
        inn = np.where(r_pk == 0, 0, _per_packet(inn, r_pk, k.bytes_in, k.packets_in))
        tr.udp(rng, h, ts, dst=dst, port=k.port, service=k.service or None, out=out,
               inn=inn, duration=duration, label=lab, qname=qname, pkts=(o_pk, r_pk))  # fmt: skip
        return
    rows = tr.tcp(rng, h, ts, dst=dst, port=k.port, service=k.service or None, out=out,
                  inn=inn, duration=duration, label=lab, qname=qname)  # fmt: skip
    if k.service == "ssl" and name is not None:
        tr.tls(rng, rows, sni=name, client=k.id, server=name, tls13=0.9, resumed=0.3,
               subject=f"CN={name}", issuer=_ISSUER)  # fmt: skip


def _per_packet(
    total: NDArray[np.int64], pkts: NDArray[np.int64], b: tuple[int, int], p: tuple[int, int]
) -> NDArray[np.int64]:
    """UDP bytes consistent with the packet count: the kind's bytes a packet
    (``bytes / packets`` at both ends of its ranges; one fixed size when they
    agree, as for NTP's 48 or NAT-T's 1) times the packets."""
    lo, hi = b[0] / max(1, p[0]), b[1] / max(1, p[1])
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo < 1e-9:
        return np.asarray(np.round(pkts * lo), dtype=np.int64)
    return np.asarray(np.clip(total, np.ceil(pkts * lo), np.floor(pkts * hi)), dtype=np.int64)


def _sessions(rng: np.random.Generator, k: ZooKind, start: float, end: float) -> FloatArray:
    """Start times of a long-held connection that reconnects when it ends."""
    lo, hi = k.duration_s
    gap = lambda n: rng.uniform(lo, max(lo, hi), n) + rng.uniform(1.0, 30.0, n)  # noqa: E731
    return timing.walk(rng, start, end, gap)
