"""Shared plumbing of the traffic builders: the tables, labels and packet maths.

A connection is one row of the ``conn`` table; an application-layer record
(ssl/http/dns) is a row of its own table that points back at its connection by
row number, so every record later gets the same Zeek ``uid`` as its connection.
Packet and IP-byte counts follow TCP/UDP arithmetic: a handshake and teardown
of about 3+2 packets, payload in ~1,380-byte segments, 40 bytes of IP+TCP
header per TCP packet and 28 of IP+UDP per datagram, as in Zeek's
``orig_ip_bytes``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog
from beaconhunt.synth.table import CONN, DNS, HTTP, SSL, Table
from beaconhunt.synth.world import Host, World

__all__ = ["Label", "Traffic", "choose", "heavy", "sizes"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_DNS_CLIENT = {
    "windows": r"C:\Windows\System32\svchost.exe",
    "linux": "/usr/lib/systemd/systemd-resolved",
}
_TCP_STATES = (("SF", "ShADadFf"), ("SF", "ShADadfF"), ("RSTO", "ShADadR"), ("RSTR", "ShADadr"))


@dataclass(frozen=True, slots=True)
class Label:
    """Ground truth shared by a set of connections (one ``labels.csv`` line per
    source/destination pair). ``process`` may contain ``{user}``, ``{browser}``
    or ``{dns}``, filled in per source host."""

    kind: str
    dst: str | None
    process: str
    decision: str
    sleep: float | None = None
    jitter: float | None = None
    loss: float | None = None

    def image_on(self, host: Host) -> str:
        """The process path on ``host``: its user, browser and DNS client filled in."""
        browser = catalog.BROWSERS[host.browser][2] if host.browser >= 0 else ""
        dns = _DNS_CLIENT["windows" if host.os == "windows" else "linux"]
        return (
            self.process.replace("{user}", host.user)
            .replace("{browser}", browser)
            .replace("{dns}", dns)
        )


class Traffic:
    """The four tables being filled, the label registry and named random streams."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.seed = seed
        self.conn = Table(CONN)
        self.ssl = Table(SSL)
        self.http = Table(HTTP)
        self.dns = Table(DNS)
        self.labels: list[Label] = []
        self._label_ids: dict[Label, int] = {}

    def rng(self, *key: object) -> np.random.Generator:
        """An independent random stream named by ``key``, so adding one kind of
        traffic never changes the random numbers of another."""
        return np.random.default_rng([self.seed, zlib.crc32(repr(key).encode())])

    def label(self, lab: Label) -> int:
        """The id of ``lab`` (registered on first use)."""
        if lab not in self._label_ids:
            self._label_ids[lab] = len(self.labels)
            self.labels.append(lab)
        return self._label_ids[lab]

    def src_ports(self, rng: np.random.Generator, host: int, n: int) -> IntArray:
        """Ephemeral source ports as the host's OS picks them."""
        lo, hi = (49152, 65536) if self.world.hosts[host].os == "windows" else (32768, 61000)
        return rng.integers(lo, hi, n)

    def tcp(
        self,
        rng: np.random.Generator,
        host: int,
        ts: FloatArray,
        *,
        dst: Any,
        port: int,
        service: str | None,
        out: IntArray,
        inn: IntArray,
        duration: FloatArray,
        label: Any,
        qname: Any = None,
        states: NDArray[np.int64] | None = None,
    ) -> IntArray:
        """Add TCP connections from ``host``; ``states`` picks rows of ``_TCP_STATES``."""
        n = ts.size
        st = np.zeros(n, dtype=np.int64) if states is None else states
        conn_state = np.array([s for s, _ in _TCP_STATES], dtype=object)[st]
        history = np.array([h for _, h in _TCP_STATES], dtype=object)[st]
        o_pk = 3 + np.ceil(out / 1380.0).astype(np.int64) + inn // 6000
        r_pk = 2 + np.ceil(inn / 1380.0).astype(np.int64) + out // 6000
        return self.conn.add(
            n,
            ts=ts,
            src=host,
            orig_p=self.src_ports(rng, host, n),
            resp_h=dst,
            resp_p=port,
            proto="tcp",
            service=service,
            duration=duration,
            orig_bytes=out,
            resp_bytes=inn,
            conn_state=conn_state,
            history=history,
            orig_pkts=o_pk,
            orig_ip_bytes=out + 40 * o_pk,
            resp_pkts=r_pk,
            resp_ip_bytes=inn + 40 * r_pk,
            label=label,
            qname=qname,
        )

    def udp(
        self,
        rng: np.random.Generator,
        host: int,
        ts: FloatArray,
        *,
        dst: Any,
        port: int,
        service: str | None,
        out: Any,
        inn: Any,
        duration: FloatArray,
        label: int,
        qname: Any = None,
        pkts: tuple[Any, Any] = (1, 1),
    ) -> IntArray:
        """Add UDP flows: one request and one reply (DNS, NTP, Kerberos) unless
        ``pkts`` says how many packets went each way (0 back: no reply, ``S0``)."""
        n = ts.size
        o_pk, r_pk = (np.broadcast_to(np.asarray(p, dtype=np.int64), (n,)) for p in pkts)
        silent = r_pk == 0
        return self.conn.add(
            n,
            ts=ts,
            src=host,
            orig_p=self.src_ports(rng, host, n),
            resp_h=dst,
            resp_p=port,
            proto="udp",
            service=service,
            duration=duration,
            orig_bytes=out,
            resp_bytes=inn,
            conn_state=choose(silent, "S0", "SF"),
            history=choose(silent, "D", "Dd"),
            orig_pkts=o_pk,
            orig_ip_bytes=np.add(out, 28 * o_pk),
            resp_pkts=r_pk,
            resp_ip_bytes=np.add(inn, 28 * r_pk),
            label=label,
            qname=qname,
        )

    def tls(
        self,
        rng: np.random.Generator,
        rows: IntArray,
        *,
        sni: Any,
        client: str,
        server: Any,
        tls13: float = 0.8,
        resumed: float = 0.4,
        subject: Any = None,
        issuer: Any = None,
        validation: str = "ok",
    ) -> None:
        """Add ssl.log records for ``rows``. Certificates are only visible on
        TLS 1.2 full handshakes (TLS 1.3 encrypts them), as in real ssl.logs.
        ``server`` (names the JA3S), ``sni``, ``subject`` and ``issuer`` may be
        one value or one per row."""
        n = rows.size
        v13 = rng.random(n) < tls13
        res = rng.random(n) < resumed
        shows_cert = ~v13 & ~res & (subject is not None)
        self.ssl.add(
            n,
            row=rows,
            dt=rng.uniform(0.005, 0.08, n),
            version=np.where(v13, "TLSv13", "TLSv12").astype(object),
            cipher=np.where(
                v13, "TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ).astype(object),
            curve=np.where(v13, "x25519", "secp256r1").astype(object),
            server_name=sni,
            resumed=np.where(res, "T", "F").astype(object),
            established="T",
            next_protocol=choose(~v13, "h2", None) if client in catalog.BROWSER_NAMES else None,
            subject=choose(shows_cert, subject, None),
            issuer=choose(shows_cert, issuer, None),
            validation_status=choose(shows_cert, validation, None),
            ja3=catalog.fingerprint("ja3:" + client),
            ja3s=np.where(v13, _prints("ja3s13:", server), _prints("ja3s12:", server)),
        )


def _prints(prefix: str, server: Any) -> Any:
    """Fingerprint of one server name, or an object array of one per row."""
    if isinstance(server, str):
        return catalog.fingerprint(prefix + server)
    values = server.tolist()
    cache = {v: catalog.fingerprint(prefix + v) for v in set(values)}
    out = np.empty(len(values), dtype=object)
    out[:] = [cache[v] for v in values]
    return out


def sizes(rng: np.random.Generator, n: int, lo: int, hi: int, sigma: float = 0.15) -> IntArray:
    """Byte counts of a steady program: a per-stream level in ``[lo, hi]`` with
    ``sigma`` log-normal wobble, clipped to the range."""
    level = rng.uniform(lo, hi)
    return np.clip(np.round(level * rng.lognormal(0.0, sigma, n)), lo, hi).astype(np.int64)


def heavy(rng: np.random.Generator, n: int, median: float, sigma: float, cap: float) -> IntArray:
    """Heavy-tailed byte counts (log-normal with the given median), capped."""
    return np.minimum(np.round(median * rng.lognormal(0.0, sigma, n)), cap).astype(np.int64)


def choose(mask: NDArray[np.bool_], yes: Any, no: Any) -> NDArray[np.object_]:
    """Object column: ``yes`` where ``mask``, else ``no`` (each a scalar, ``None`` or a column)."""
    out = np.empty(mask.shape, dtype=object)
    out[...] = no
    out[mask] = yes[mask] if isinstance(yes, np.ndarray) else yes
    return out
