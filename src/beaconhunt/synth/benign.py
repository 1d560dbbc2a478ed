"""Benign traffic that is periodic or internal: the hunt's hard negatives.

* Pollers (:data:`catalog.BENIGN_POLLERS`): EDR check-ins, OS telemetry,
  update checks, mail and chat sync, a cloud-sync client and a cron job, each
  timed by :func:`timing.agent` with the period and jitter seen in labelled
  captures (CTU-Normal-40: AV every ~301 s, Microsoft every ~900 s).
* NTP: chrony on the Linux servers and the DC polls four pool servers every
  1024 s over udp/123, resolving the pool names once at start-up.
* Streaming: a few users watch video at lunch; segment fetches every 4-8 s
  of ~1 MB each (regular, but nothing like a beacon's size).
* Internal: Group Policy refresh every 90 min + up to 30 min (Kerberos, LDAP,
  SMB to the DC), file-share sessions, a database health check every minute and
  a nightly backup. Destinations are RFC 1918, so a hunt should skip them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog, timing
from beaconhunt.synth.catalog import Poller
from beaconhunt.synth.flows import Label, Traffic, heavy, sizes
from beaconhunt.synth.world import AD_DOMAIN, World

__all__ = ["add_internal", "add_ntp", "add_pollers", "add_streaming", "day_starts"]

FloatArray = NDArray[np.float64]

_SVCHOST = r"C:\Windows\System32\svchost.exe"


def day_starts(world: World) -> list[tuple[float, bool]]:
    """Local midnights (as epoch seconds) of every day the capture touches, with
    a flag telling whether it is a weekday."""
    s = world.scenario
    off = s.utc_offset_h * 3600.0
    first = float(np.floor((s.start + off) / 86400.0) * 86400.0 - off)
    out: list[tuple[float, bool]] = []
    day = first
    while day < s.end:
        out.append((day, datetime.fromtimestamp(day + off, UTC).weekday() < 5))
        day += 86400.0
    return out


def add_pollers(tr: Traffic) -> None:
    """Every benign poller on every host it is installed on."""
    for j, p in enumerate(catalog.BENIGN_POLLERS):
        pick = tr.rng("poller-hosts", j)
        for h in _eligible(tr.world, p.hosts):
            if pick.random() < p.share:
                _poller(tr, p, h, tr.rng("poller", j, h))


def _eligible(world: World, hosts: str) -> list[int]:
    """Indices of the hosts a poller's ``hosts`` selector names."""
    if hosts in ("windows", "linux"):
        return [i for i, h in enumerate(world.hosts) if h.os == hosts]
    if hosts == "workstations":
        return world.workstations()
    return [world.host_index(hosts)]


def _poller(tr: Traffic, p: Poller, host: int, rng: np.random.Generator) -> None:
    """One program on one host calling home on its timer, over TLS."""
    s = tr.world.scenario
    if p.cron:
        grid = np.arange(np.ceil(s.start / p.period) * p.period, s.end, p.period)
        ts = grid + rng.uniform(0.2, 1.5, grid.size)  # interpreter start-up after cron fires
        ts = ts[ts < s.end]
    else:
        ts = timing.agent(rng, s.start, s.end, p.period, p.jitter)
    ts = ts[tr.world.awake_mask(host, ts)]
    if ts.size == 0:
        return
    n = ts.size
    out, inn = sizes(rng, n, *p.out), sizes(rng, n, *p.inn)
    lab = tr.label(Label(p.kind, p.name, p.process, p.decision, p.period, p.jitter, 0.0))
    rows = tr.tcp(
        rng,
        host,
        ts,
        dst=tr.world.names[p.name].ips[0],
        port=p.port,
        service=p.service,
        out=out,
        inn=inn,
        duration=rng.uniform(0.1, 1.5, n),
        label=lab,
        qname=p.name,
    )
    tr.tls(
        rng,
        rows,
        sni=p.name,
        client="schannel" if p.process == _SVCHOST else p.kind,
        server=p.name,
        tls13=0.9,
        resumed=0.5,
        subject=f"CN={p.name}",
        issuer=catalog.CERT_ISSUERS[1],
    )


def add_ntp(tr: Traffic) -> None:
    """chrony (Linux servers) and w32time on the DC polling the NTP pool."""
    world = tr.world
    for h, host in enumerate(world.hosts):
        if not (host.os == "linux" or host.role == "domain_controller"):
            continue
        process = "/usr/sbin/chronyd" if host.os == "linux" else _SVCHOST
        for k, name in enumerate(catalog.NTP_SOURCES):
            rng = tr.rng("ntp", h, k)
            s = world.scenario
            ts = timing.agent(rng, s.start, s.end, catalog.NTP_PERIOD, 0.01)
            if ts.size == 0:
                continue
            qname = np.full(ts.size, None, dtype=object)
            qname[0] = name  # resolved once when the daemon starts
            lab = tr.label(Label("ntp", name, process, "close", catalog.NTP_PERIOD, 0.01, 0.0))
            tr.udp(
                rng,
                h,
                ts,
                dst=world.names[name].ips[0],
                port=123,
                service="ntp",
                out=48,
                inn=48,
                duration=rng.uniform(0.005, 0.06, ts.size),
                label=lab,
                qname=qname,
            )


def add_streaming(tr: Traffic) -> None:
    """Lunchtime video on a few workstations: a segment every few seconds."""
    world, s = tr.world, tr.world.scenario
    rng = tr.rng("streaming", "users")
    ws = world.workstations()
    users = rng.choice(ws, min(s.streaming_users, len(ws)), replace=False)
    name = catalog.STREAMING
    for u in (int(x) for x in users):
        urng = tr.rng("streaming", u)
        parts = [
            _viewing(urng, day, s.work_start_h, s.work_end_h)
            for day, wd in day_starts(world)
            if wd or urng.random() < 0.5
        ]
        ts = np.concatenate(parts) if parts else np.empty(0)
        ts = ts[(ts >= s.start) & (ts < s.end)]
        ts = ts[world.awake_mask(u, ts)]
        if ts.size == 0:
            continue
        n = ts.size
        inn = heavy(urng, n, 1.2e6, 0.35, 8e6)
        lab = tr.label(Label("streaming", name, "{browser}", "close"))
        rows = tr.tcp(
            urng,
            u,
            ts,
            dst=world.names[name].ips[0],
            port=443,
            service="ssl",
            out=sizes(urng, n, 300, 900),
            inn=inn,
            duration=inn / urng.uniform(2e6, 8e6, n) + 0.05,
            label=lab,
            qname=name,
        )
        browser = catalog.BROWSERS[world.hosts[u].browser][0]
        tr.tls(urng, rows, sni=name, client=browser, server=name, tls13=1.0, resumed=0.9)


def _viewing(
    rng: np.random.Generator, day: float, work_start: float, work_end: float
) -> FloatArray:
    """Segment fetch times of one viewing session that day (around lunch)."""
    mid = 0.5 * (work_start + work_end)
    t0 = day + (mid - 1.5 + 2.0 * rng.random()) * 3600.0
    t1 = t0 + rng.uniform(20.0, 70.0) * 60.0
    return timing.agent(rng, t0, t1, float(rng.uniform(4.0, 8.0)), 0.2)


def add_internal(tr: Traffic) -> None:
    """Internal-to-internal traffic: GPO refresh, file shares, DB checks, backups."""
    _gpo(tr)
    _file_shares(tr)
    _db_health(tr)
    _backup(tr)


def _internal_label(tr: Traffic, kind: str, process: str) -> int:
    """Label of internal traffic (destination reported as an IP, decision close)."""
    return tr.label(Label(kind, None, process, "close"))


def _gpo(tr: Traffic) -> None:
    """Group Policy refresh: every 90 min plus a random 0-30 min, Kerberos + LDAP + SMB.

    The Group Policy client (svchost) asks LDAP; the Kerberos ticket comes from
    lsass and the policy files are read by the kernel's SMB client (``System``),
    as Sysmon shows them."""
    world, s = tr.world, tr.world.scenario
    dc = world.hosts[world.resolver]
    lab = _internal_label(tr, "gpo_refresh", _SVCHOST)
    krb = _internal_label(tr, "gpo_refresh", r"C:\Windows\System32\lsass.exe")
    smb = _internal_label(tr, "gpo_refresh", "System")
    for h, host in enumerate(world.hosts):
        if host.os != "windows" or h == world.resolver:
            continue
        rng = tr.rng("gpo", h)
        ts = timing.agent(rng, s.start, s.end - 0.2, 6300.0, 900.0 / 6300.0)
        ts = ts[world.awake_mask(h, ts)]
        n = ts.size
        if n == 0:
            continue
        tr.udp(
            rng,
            h,
            ts,
            dst=dc.ip,
            port=88,
            service="krb",
            out=sizes(rng, n, 1400, 1700),
            inn=sizes(rng, n, 1500, 1800),
            duration=rng.uniform(0.001, 0.01, n),
            label=krb,
        )
        tr.tcp(
            rng,
            h,
            ts + 0.05,
            dst=dc.ip,
            port=389,
            service="ldap_tcp",
            out=sizes(rng, n, 2000, 4000),
            inn=sizes(rng, n, 3000, 9000),
            duration=rng.uniform(0.02, 0.3, n),
            label=lab,
            qname=f"{dc.name}.{AD_DOMAIN}",
        )
        tr.tcp(
            rng,
            h,
            ts + 0.2,
            dst=dc.ip,
            port=445,
            service="gssapi,smb",
            out=heavy(rng, n, 6000.0, 0.5, 1e6),
            inn=heavy(rng, n, 20000.0, 0.8, 5e6),
            duration=rng.uniform(0.2, 3.0, n),
            label=smb,
        )


def _file_shares(tr: Traffic) -> None:
    """Users opening documents on the file server in bursts during the day."""
    world, s = tr.world, tr.world.scenario
    fs = world.hosts[world.host_index("srv-file-01")]
    lab = _internal_label(tr, "file_share", "System")
    for h in world.workstations():
        rng = tr.rng("smb", h)
        ts = timing.browsing(
            rng, s.start, s.end, 0.6, 3.0, s.work_start_h, s.work_end_h, s.utc_offset_h
        )
        ts = ts[world.awake_mask(h, ts)]
        n = ts.size
        if n == 0:
            continue
        tr.tcp(
            rng,
            h,
            ts,
            dst=fs.ip,
            port=445,
            service="gssapi,smb",
            out=heavy(rng, n, 15000.0, 1.5, 5e8),
            inn=heavy(rng, n, 150000.0, 1.8, 2e9),
            duration=np.minimum(rng.lognormal(np.log(30.0), 1.0, n), 3600.0),
            label=lab,
            qname=f"{fs.name}.{AD_DOMAIN}",
        )


def _db_health(tr: Traffic) -> None:
    """The app server's connection pool validates a fresh DB connection every minute."""
    world, s = tr.world, tr.world.scenario
    app, db = world.host_index("srv-app-01"), world.hosts[world.host_index("srv-db-02")]
    rng = tr.rng("db-health")
    ts = timing.agent(rng, s.start, s.end, 60.0, 0.005)
    n = ts.size
    lab = _internal_label(tr, "db_healthcheck", "/usr/lib/jvm/java-21-openjdk/bin/java")
    tr.tcp(
        rng,
        app,
        ts,
        dst=db.ip,
        port=5432,
        service=None,
        out=sizes(rng, n, 150, 190),
        inn=sizes(rng, n, 330, 400),
        duration=rng.uniform(0.003, 0.02, n),
        label=lab,
        qname=f"{db.name}.{AD_DOMAIN}",
    )


def _backup(tr: Traffic) -> None:
    """Nightly database dump to the file server at 01:30 local time."""
    world, s = tr.world, tr.world.scenario
    db, fs = world.host_index("srv-db-02"), world.hosts[world.host_index("srv-file-01")]
    rng = tr.rng("backup")
    ts = np.array([d + 5400.0 + rng.uniform(0, 120) for d, _ in day_starts(world)])
    ts = ts[(ts >= s.start) & (ts < s.end)]
    n = ts.size
    if n == 0:
        return
    lab = _internal_label(tr, "backup", "/usr/bin/pg_dump")
    tr.tcp(
        rng,
        db,
        ts,
        dst=fs.ip,
        port=445,
        service="gssapi,smb",
        out=heavy(rng, n, 3e9, 0.2, 8e9),
        inn=heavy(rng, n, 4e5, 0.3, 1e7),
        duration=rng.uniform(900.0, 1500.0, n),
        label=lab,
    )
