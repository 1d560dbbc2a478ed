"""Plumbing shared by the shapes: hosts, awake spans, names, encodings, sessions."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth.benign import day_starts
from beaconhunt.synth.flows import Traffic
from beaconhunt.synth.scenario import SHAPE_HOSTS
from beaconhunt.synth.world import IpPool, Name, World, c2_created

__all__ = [
    "B32",
    "awake_spans",
    "b32",
    "b64",
    "dotify",
    "established",
    "fill_name",
    "hexs",
    "pieces",
    "pool",
    "register",
    "register_c2",
    "shape_hosts",
    "tcp_session",
    "work_windows",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: iodine's Base32 alphabet (lower case letters, then 0-5).
B32 = "abcdefghijklmnopqrstuvwxyz012345"


def shape_hosts(tr: Traffic) -> list[int]:
    """The :data:`~beaconhunt.synth.scenario.SHAPE_HOSTS` workstations the shapes
    infect: the ones the implant placement (:func:`~beaconhunt.synth.implants.add_implants`)
    left, desktops first (long sessions need a machine that stays on)."""
    world = tr.world
    s = world.scenario
    order = [int(h) for h in tr.rng("implants", "placement").permutation(world.workstations())]
    rest = order[s.infected_hosts :]
    desktops = [h for h in rest if not world.hosts[h].laptop]
    laptops = [h for h in rest if world.hosts[h].laptop]
    return (desktops + laptops)[:SHAPE_HOSTS]


def awake_spans(world: World, h: int, start: float, end: float) -> list[tuple[float, float]]:
    """The intervals of ``[start, end)`` in which host ``h`` is on."""
    spans = world.awake[h]
    if spans is None:
        return [(start, end)] if end > start else []
    out = []
    for a, b in zip(spans[0].tolist(), spans[1].tolist(), strict=True):
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            out.append((lo, hi))
    return out


def work_windows(world: World, h: int) -> list[tuple[float, float]]:
    """The host's awake time inside local working hours on weekdays (the whole
    awake capture when that is empty, e.g. a capture of one night)."""
    s = world.scenario
    out: list[tuple[float, float]] = []
    for day, weekday in day_starts(world):
        if weekday:
            a, b = day + s.work_start_h * 3600.0, day + s.work_end_h * 3600.0
            out += awake_spans(world, h, a, b)
    out = [(max(a, s.start), min(b, s.end)) for a, b in out if min(b, s.end) > max(a, s.start)]
    return out or awake_spans(world, h, s.start, s.end)


def pieces(
    rng: np.random.Generator, a: float, b: float, k: int, gap: tuple[float, float]
) -> list[tuple[float, float]]:
    """``k`` back-to-back intervals covering ``[a, b)`` with reconnect gaps of
    ``gap`` seconds between them (random lengths, none shorter than a tenth)."""
    w = rng.dirichlet(np.full(k, 3.0))
    gaps = rng.uniform(*gap, k - 1) if k > 1 else np.empty(0)
    usable = (b - a) - float(gaps.sum())
    if usable <= 0:
        return [(a, b)]
    lengths = w * usable
    out = []
    t = a
    for i in range(k):
        out.append((t, t + float(lengths[i])))
        t += float(lengths[i]) + (float(gaps[i]) if i < k - 1 else 0.0)
    return out


def established(name: str) -> str:
    """Registration date of an established vendor domain: long before the
    capture (2000-2015), fixed per name (as the zoo does)."""
    n = sum(name.encode()) % (16 * 365)
    year, day = 2000 + n // 365, n % 365
    return f"{year}-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}"


def register(
    world: World, name: str, ips: Sequence[str], ttl: int, created: str | None = None
) -> Name:
    """Publish ``name`` in the world's DNS (kept if it already exists)."""
    if name not in world.names:
        world.add_name(Name(name, tuple(ips), None, ttl, created or established(name)))
    return world.names[name]


def register_c2(tr: Traffic, name: str, ip: str, rng: np.random.Generator, ttl: int = 300) -> Name:
    """Publish a C2 name: its domain registered days before the capture (whois)."""
    return register(tr.world, name, (ip,), ttl, c2_created(tr.world.scenario, rng))


def pool(tr: Traffic) -> IpPool:
    """Public-looking addresses for the shapes' benign services (their own stream)."""
    return IpPool(tr.rng("shapes", "addresses"))


def hexs(rng: np.random.Generator, n_bytes: int) -> str:
    """``n_bytes`` random bytes as lower-case hex."""
    return rng.bytes(n_bytes).hex()


def b32(rng: np.random.Generator, n_chars: int, alphabet: str = B32) -> str:
    """``n_chars`` random characters of a Base32 alphabet."""
    idx = rng.integers(0, len(alphabet), n_chars)
    return "".join(alphabet[i] for i in idx.tolist())


def b64(rng: np.random.Generator, n_chars: int) -> str:
    """A random standard Base64 string of ``n_chars`` characters."""
    raw = base64.b64encode(rng.bytes(n_chars * 3 // 4 + 3)).decode()
    return raw[:n_chars]


def dotify(data: str, every: int) -> str:
    """``data`` with a dot after every ``every`` characters (DNS labels)."""
    return ".".join(data[i : i + every] for i in range(0, len(data), every))


def fill_name(rng: np.random.Generator, zone: str, every: int, limit: int = 253,
              prefix: str = "", alphabet: str = "0123456789abcdef") -> str:  # fmt: skip
    """A name of about ``limit`` characters: random data in ``every``-character
    labels in front of ``zone`` (a tunnel's full-size upstream query)."""
    room = limit - len(zone) - 1
    n = room - room // (every + 1)
    data = prefix + b32(rng, max(1, n - len(prefix)), alphabet)
    name = f"{dotify(data, every)}.{zone}"
    while len(name) > limit:
        data = data[:-1]
        name = f"{dotify(data, every)}.{zone}"
    return name


_TCP_HISTORY = {"SF": "ShADadFf", "S1": "ShADad", "RSTO": "ShADadR", "RSTR": "ShADadr"}


def tcp_session(
    tr: Traffic,
    rng: np.random.Generator,
    h: int,
    start: FloatArray,
    duration: FloatArray,
    *,
    dst: object,
    port: int,
    service: str | None,
    label: int,
    qname: object,
    keepalive: float,
    out: IntArray,
    inn: IntArray,
    states: Sequence[str],
    proto: str = "tcp",
) -> IntArray:
    """Long connections whose packets follow a keepalive every ``keepalive``
    seconds each way plus their data (in ~1,380-byte segments), with Zeek's
    packet and IP-byte counts (40 bytes of IP+TCP header a packet, 28 of
    IP+UDP). ``states`` are Zeek conn states (``S1``: still open at the end)."""
    n = start.size
    beats = np.floor(duration / keepalive).astype(np.int64)
    o_pk = beats + np.ceil(out / 1380.0).astype(np.int64)
    r_pk = beats + np.ceil(inn / 1380.0).astype(np.int64)
    head = 40 if proto == "tcp" else 28
    if proto == "tcp":
        o_pk += 3
        r_pk += 2
        conn_state = np.array(list(states), dtype=object)
        history = np.array([_TCP_HISTORY[x] for x in states], dtype=object)
        lo, hi = (49152, 65536) if tr.world.hosts[h].os == "windows" else (32768, 61000)
        ports = rng.integers(lo, hi, n)
    else:
        o_pk = np.maximum(o_pk, 1)
        r_pk = np.maximum(r_pk, 1)
        conn_state = np.full(n, "SF", dtype=object)
        history = np.full(n, "Dd", dtype=object)
        ports = tr.src_ports(rng, h, n)
    return tr.conn.add(
        n,
        ts=start,
        src=h,
        orig_p=ports,
        resp_h=dst,
        resp_p=port,
        proto=proto,
        service=service,
        duration=duration,
        orig_bytes=out,
        resp_bytes=inn,
        conn_state=conn_state,
        history=history,
        orig_pkts=o_pk,
        orig_ip_bytes=out + head * o_pk,
        resp_pkts=r_pk,
        resp_ip_bytes=inn + head * r_pk,
        label=label,
        qname=qname,
    )
