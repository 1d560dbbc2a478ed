"""Long-lived sessions: interactive C2 and the benign programs that also hold a
connection for hours.

Zeek logs a TCP connection when it ends, and times it out after 5 minutes
without a packet (``tcp_inactivity_timeout = 5 min``, UDP 1 min, in Zeek's
``init-bare.zeek``); every session here therefore exchanges a packet at least
every few minutes, so each one is one conn.log row. A connection still open at
the end of the capture is logged at shutdown in its current state: ``S1``
(established, not closed; Zeek's ``conn_state`` in
``base/protocols/conn/main.zeek``) with the duration up to its last packet.

Implants (``escalate``):

``interactive_c2``
    Two implants. One is ``powershell.exe -EncodedCommand`` holding a TLS
    reverse shell to a young domain on 443, the other a dropped binary in the
    user's Temp folder talking raw TCP to a bare IP on 4444. Each makes 2-4
    connections that cover the capture (reconnecting 5-120 s after a drop), the
    last still open at the end; idle, they exchange a small heartbeat every
    20-90 s (an assumption: interactive C2 keeps its channel alive), plus the
    operator's bursts.
``netflow_split``
    A 10-hour TLS session (a proxy/tunnel over the C2: a packet every few
    seconds all the time). In Zeek it is one row; the NetFlow rendering exports
    it as one record per active timeout (:mod:`beaconhunt.synth.render.nfdump`).

Look-alikes:

``chat_websocket`` (close)
    Slack's real-time WebSocket (``wss-primary.slack.com``) on the hosts that
    run Slack, held all day and re-opened every 1-6 h; Slack's ping interval
    is not documented, 30 s is assumed.
``imap_idle`` (close)
    Thunderbird holding IMAP over TLS on 993 to the hosted mailbox server, in
    IDLE: the client re-issues IDLE every 29 minutes (RFC 2177 section 3: "at
    least every 29 minutes", https://datatracker.ietf.org/doc/rfc2177/) and the
    server, a Dovecot, sends ``* OK Still here`` every 2 minutes
    (``imap_idle_notify_interval = 2 mins`` in Dovecot's ``20-imap.conf``).
    Reconnects every 2-8 h (assumption).
``vpn_tunnel`` (monitor: an unsanctioned tunnel out of the network, not C2)
    The OpenVPN client on two workstations holding a UDP/1194 session to a
    partner's VPN server through the working day, with OpenVPN's ping every
    10 s (``keepalive 10 120`` in OpenVPN's sample ``server.conf``) and the
    user's traffic inside.
``cloud_sync_longpoll`` (close)
    Dropbox long-polling ``notify.dropboxapi.com``: each request is held until
    a change or the timeout, 30 s by default plus up to 90 s of random jitter
    (``files/list_folder/longpoll``, Dropbox API documentation); assumed to use
    a fresh connection each, re-issued at once.
``admin_ssh`` (close)
    The IT administrators' workstation ``adm-ws-01`` (assets.csv: role
    ``jump_host``, owner ``it-ops``; the asset reader's role vocabulary has no
    admin-workstation role) holding SSH sessions of 40 min to 4 h to the
    company's cloud bastion during working hours. OpenSSH sends no
    keepalives by default (``ServerAliveInterval 0``); the admins' ssh_config
    is assumed to set 60 s.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog
from beaconhunt.synth.flows import Label, Traffic, heavy
from beaconhunt.synth.implants import HiddenBeacon
from beaconhunt.synth.shapes.common import (
    awake_spans,
    pieces,
    register,
    register_c2,
    tcp_session,
    work_windows,
)
from beaconhunt.synth.world import IpPool

__all__ = ["IMAGES", "add_benign_sessions", "add_interactive", "add_netflow_split"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

IMAGES = {
    "interactive_c2": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    "interactive_c2_ip": r"C:\Users\{user}\AppData\Local\Temp\MicrosoftEdgeUpdateHelper.exe",
    "netflow_split": r"C:\ProgramData\Microsoft\DeviceSync\devicesyncsvc.exe",
    "chat_websocket": next(p.process for p in catalog.BENIGN_POLLERS if p.kind == "chat_presence"),
    "imap_idle": r"C:\Program Files\Mozilla Thunderbird\thunderbird.exe",
    "vpn_tunnel": r"C:\Program Files\OpenVPN\bin\openvpn.exe",
    "cloud_sync_longpoll": r"C:\Program Files (x86)\Dropbox\Client\Dropbox.exe",
    "admin_ssh": r"C:\Windows\System32\OpenSSH\ssh.exe",
}
#: the interactive C2 endpoints: (name or None, address, port, TLS)
INTERACTIVE = (
    ("api.remote-support-portal.net", "203.0.113.144", 443, True),
    (None, "198.51.100.166", 4444, False),
)
NETFLOW_SPLIT = ("sync.backup-relay-cloud.com", "192.0.2.177", 443)
_LE = catalog.CERT_ISSUERS[0]


def _drops(rng: np.random.Generator, k: int) -> list[str]:
    """Conn states of ``k`` consecutive connections: dropped ones, then one open at the end."""
    return [str(rng.choice(["RSTR", "RSTO", "SF"])) for _ in range(k - 1)] + ["S1"]


def add_interactive(tr: Traffic, h: int, i: int) -> HiddenBeacon:
    """The ``i``-th interactive C2 (0: TLS to a young domain, 1: raw TCP to a bare IP)."""
    world, s = tr.world, tr.world.scenario
    name, ip, port, tls = INTERACTIVE[i]
    rng = tr.rng("shapes", "interactive_c2", i)
    if name:
        register_c2(tr, name, ip, rng)
    image = IMAGES["interactive_c2" if tls else "interactive_c2_ip"]
    lab = tr.label(Label("interactive_c2", name, image, "escalate"))
    begin = s.start + float(rng.uniform(0.005, 0.03)) * (s.end - s.start)
    spans = awake_spans(world, h, begin, s.end)
    starts: list[float] = []
    ends: list[float] = []
    states: list[str] = []
    for a, b in spans:
        k = int(rng.integers(2, 5))
        for (x, y), st in zip(pieces(rng, a, b, k, (5.0, 120.0)), _drops(rng, k), strict=True):
            # the open one's last packet comes a little before the capture stops
            starts.append(x)
            ends.append(y - float(rng.uniform(0.5, 30.0)) if st == "S1" else y)
            states.append(st if b >= s.end - 1.0 or st != "S1" else "SF")
    start, dur = np.array(starts), np.maximum(np.array(ends) - np.array(starts), 1.0)
    beat = float(round(rng.uniform(20.0, 90.0)))
    n = start.size
    out = (dur / beat * rng.uniform(60, 160, n)).astype(np.int64) + heavy(rng, n, 6000, 1.0, 2e6)
    inn = (dur / beat * rng.uniform(60, 160, n)).astype(np.int64) + heavy(rng, n, 30000, 1.2, 2e7)
    rows = tcp_session(tr, rng, h, start, dur, dst=ip, port=port, service="ssl" if tls else None,
                       label=lab, qname=name, keepalive=beat, out=out, inn=inn,
                       states=states)  # fmt: skip
    if tls and name:
        tr.tls(rng, rows, sni=name, client="powershell", server=name, tls13=0.0, resumed=0.0,
               subject=f"CN={name}", issuer=_LE)  # fmt: skip
    host = world.hosts[h]
    covered = float(dur.sum()) / 3600.0
    notes = (
        f"{n} connections covering {covered:.1f} h, heartbeat ~{beat:.0f} s",
        "last one still open at the end (conn_state S1)",
        "TLS to a young domain" if tls else f"raw TCP to a bare IP on port {port}",
    )
    return HiddenBeacon(
        family="interactive_c2",
        hosts=(host.name,),
        src_ips=(host.ip,),
        dst=name or ip,
        dst_ip=ip,
        dst_port=port,
        transport="https" if tls else "tcp",
        sleep=beat,
        jitter=0.0,
        loss=0.0,
        connections=n,
        notes=notes,
        process=image.replace("{user}", host.user),
    )


def add_netflow_split(tr: Traffic, h: int) -> HiddenBeacon:
    """One 10-hour C2 session with traffic every few seconds (module docstring)."""
    world, s = tr.world, tr.world.scenario
    name, ip, port = NETFLOW_SPLIT
    rng = tr.rng("shapes", "netflow_split")
    register_c2(tr, name, ip, rng)
    image = IMAGES["netflow_split"]
    lab = tr.label(Label("netflow_split", name, image, "escalate"))
    span = s.end - s.start
    length = min(10 * 3600.0, 0.8 * span)
    a = s.start + float(rng.uniform(0.02, 0.1)) * span
    spans = awake_spans(world, h, a, a + length) or [(a, a + length)]
    x, y = max(spans, key=lambda p: p[1] - p[0])
    dur = np.array([y - x])
    step = float(round(rng.uniform(1.0, 5.0)))
    out = (dur / step * rng.uniform(150, 600)).astype(np.int64)
    inn = (dur / step * rng.uniform(400, 2500)).astype(np.int64)
    rows = tcp_session(tr, rng, h, np.array([x]), dur, dst=ip, port=port, service="ssl",
                       label=lab, qname=name, keepalive=step, out=out, inn=inn,
                       states=["SF"])  # fmt: skip
    tr.tls(rng, rows, sni=name, client="go", server=name, tls13=1.0, resumed=0.0)
    host = world.hosts[h]
    return HiddenBeacon(
        family="netflow_split",
        hosts=(host.name,),
        src_ips=(host.ip,),
        dst=name,
        dst_ip=ip,
        dst_port=port,
        transport="https",
        sleep=step,
        jitter=0.0,
        loss=0.0,
        connections=1,
        notes=(
            f"one {float(dur[0]) / 3600.0:.1f} h session, a packet every ~{step:.0f} s",
            "NetFlow exports it as one record per 30-minute active timeout",
        ),
        process=image,
    )


# -- the benign look-alikes ---------------------------------------------------------------------


def _poller_hosts(tr: Traffic, kind: str) -> list[int]:
    """The hosts :func:`~beaconhunt.synth.benign.add_pollers` installs poller ``kind`` on
    (the same random draws), so a long session runs where its program runs."""
    j = next(i for i, p in enumerate(catalog.BENIGN_POLLERS) if p.kind == kind)
    p = catalog.BENIGN_POLLERS[j]
    pick = tr.rng("poller-hosts", j)
    return [h for h in tr.world.workstations() if pick.random() < p.share]


def _some(tr: Traffic, key: str, share: float, at_least: int = 1) -> list[int]:
    """A seeded ``share`` of the workstations (at least ``at_least``)."""
    hosts = tr.world.workstations()
    pick = tr.rng("shapes-hosts", key)
    chosen = [h for h in hosts if pick.random() < share]
    if len(chosen) < at_least:
        rest = [h for h in hosts if h not in chosen]
        extra = pick.choice(len(rest), min(at_least - len(chosen), len(rest)), replace=False)
        chosen = sorted(chosen + [rest[int(i)] for i in extra])
    return chosen


def _held(
    tr: Traffic,
    kind: str,
    hosts: list[int],
    name: str,
    port: int,
    *,
    decision: str,
    keepalive: float,
    reconnect: tuple[float, float],
    rate: tuple[float, float],
    tls_client: str | None,
    proto: str = "tcp",
    service: str | None = "ssl",
    working_hours: bool = False,
) -> None:
    """Sessions of ``kind`` held while each host is on (or in working hours),
    re-opened after ``reconnect`` seconds each, moving ``rate`` bytes/s (out, in)."""
    world = tr.world
    s = world.scenario
    ip = world.names[name].ips[0]
    lab = tr.label(Label(kind, name, IMAGES[kind], decision, keepalive))
    for h in hosts:
        rng = tr.rng("shapes", kind, h)
        spans = work_windows(world, h) if working_hours else awake_spans(world, h, s.start, s.end)
        starts: list[float] = []
        ends: list[float] = []
        states: list[str] = []
        for a, b in spans:
            a += float(rng.uniform(30.0, 600.0))  # the program starts after logon
            if b - a < 600.0:
                continue
            k = max(1, int(np.ceil((b - a) / float(rng.uniform(*reconnect)))))
            for x, y in pieces(rng, a, b, k, (1.0, 30.0)):
                starts.append(x)
                at_end = y >= s.end - 1.0
                ends.append(y - float(rng.uniform(0.5, keepalive)) if at_end else y)
                states.append("S1" if at_end and proto == "tcp" else "SF")
        if not starts:
            continue
        start = np.array(starts)
        dur = np.maximum(np.array(ends) - start, 1.0)
        n = start.size
        out = (dur * rng.uniform(rate[0] * 0.7, rate[0] * 1.3, n)).astype(np.int64)
        inn = (dur * rng.uniform(rate[1] * 0.7, rate[1] * 1.3, n)).astype(np.int64)
        rows = tcp_session(tr, rng, h, start, dur, dst=ip, port=port, service=service, label=lab,
                           qname=name, keepalive=keepalive, out=out, inn=inn, states=states,
                           proto=proto)  # fmt: skip
        if tls_client:
            tr.tls(rng, rows, sni=name, client=tls_client, server=name, tls13=0.9,
                   resumed=0.3, subject=f"CN={name}", issuer=catalog.CERT_ISSUERS[1])  # fmt: skip


def _longpoll(tr: Traffic, hosts: list[int], name: str) -> None:
    """Dropbox's long-poll requests back to back while the host is on (module docstring)."""
    world = tr.world
    s = world.scenario
    ip = world.names[name].ips[0]
    lab = tr.label(Label("cloud_sync_longpoll", name, IMAGES["cloud_sync_longpoll"], "close",
                         30.0, None))  # fmt: skip
    for h in hosts:
        rng = tr.rng("shapes", "cloud_sync_longpoll", h)
        parts: list[FloatArray] = []
        durs: list[FloatArray] = []
        for a, b in awake_spans(world, h, s.start, s.end):
            held = rng.uniform(30.0, 120.0, int((b - a) / 20.0) + 2)
            early = rng.random(held.size) < 0.1  # a change ends the poll early
            held = np.where(early, rng.uniform(1.0, 30.0, held.size), held)
            gap = rng.uniform(0.2, 2.0, held.size)
            t = (
                a
                + float(rng.uniform(0.0, 60.0))
                + np.concatenate(([0.0], np.cumsum(held + gap)[:-1]))
            )
            keep = t + held < b
            parts.append(t[keep])
            durs.append(held[keep])
        if not parts or not np.concatenate(parts).size:
            continue
        ts, dur = np.concatenate(parts), np.concatenate(durs)
        n = ts.size
        out = rng.integers(1400, 2200, n)
        inn = rng.integers(4200, 5200, n)
        rows = tr.tcp(rng, h, ts, dst=ip, port=443, service="ssl", out=out, inn=inn,
                      duration=dur, label=lab, qname=name)  # fmt: skip
        tr.tls(rng, rows, sni=name, client="cloud_sync", server=name, tls13=0.9, resumed=0.5,
               subject=f"CN={name}", issuer=catalog.CERT_ISSUERS[1])  # fmt: skip


def add_benign_sessions(tr: Traffic, pool: IpPool) -> None:
    """Every long-session look-alike (module docstring)."""
    world = tr.world
    names = {
        "chat_websocket": ("wss-primary.slack.com", 60),
        "imap_idle": ("imap.acme-corp.com", 3600),
        "vpn_tunnel": ("vpn.northwind-partners.com", 300),
        "cloud_sync_longpoll": ("notify.dropboxapi.com", 300),
        "admin_ssh": ("bastion.acme-corp.com", 3600),
    }
    for name, ttl in names.values():
        register(world, name, pool.take(2 if ttl < 3600 else 1), ttl)
    _held(tr, "chat_websocket", _poller_hosts(tr, "chat_presence"), names["chat_websocket"][0],
          443, decision="close", keepalive=30.0, reconnect=(3600.0, 6 * 3600.0),
          rate=(3.0, 12.0), tls_client="slack")  # fmt: skip
    _held(tr, "imap_idle", _some(tr, "imap_idle", 0.1), names["imap_idle"][0], 993,
          decision="close", keepalive=120.0, reconnect=(2 * 3600.0, 8 * 3600.0),
          rate=(0.3, 2.0), tls_client="thunderbird", service="ssl")  # fmt: skip
    _held(tr, "vpn_tunnel", _some(tr, "vpn_tunnel", 0.0, 2), names["vpn_tunnel"][0], 1194,
          decision="monitor", keepalive=10.0, reconnect=(10 * 3600.0, 12 * 3600.0),
          rate=(400.0, 3000.0), tls_client=None, proto="udp", service=None,
          working_hours=True)  # fmt: skip
    _longpoll(tr, _poller_hosts(tr, "cloud_sync"), names["cloud_sync_longpoll"][0])
    _admin_ssh(tr, world.host_index("adm-ws-01"), names["admin_ssh"][0])


def _admin_ssh(tr: Traffic, h: int, name: str) -> None:
    """2-4 SSH sessions of 40 min to 4 h a working day from the admin workstation."""
    world = tr.world
    ip = world.names[name].ips[0]
    lab = tr.label(Label("admin_ssh", name, IMAGES["admin_ssh"], "close", 60.0))
    rng = tr.rng("shapes", "admin_ssh", h)
    starts: list[float] = []
    ends: list[float] = []
    for a, b in work_windows(world, h):
        for _ in range(int(rng.integers(2, 5))):
            dur = min(float(rng.uniform(2400.0, 4 * 3600.0)), b - a)
            t0 = a + float(rng.uniform(0.0, max(b - a - dur, 0.0)))
            if all(t0 + dur < x or t0 > y for x, y in zip(starts, ends, strict=True)):
                starts.append(t0)
                ends.append(t0 + dur)
    if not starts:
        return
    start = np.array(starts)
    dur = np.array(ends) - start
    n = start.size
    out = (dur * rng.uniform(10.0, 25.0, n)).astype(np.int64)  # keystrokes, keepalives
    inn = (dur * rng.uniform(40.0, 150.0, n)).astype(np.int64)  # terminal output
    end = world.scenario.end
    states = ["S1" if e >= end - 1.0 else "SF" for e in ends]
    dur = np.where(np.array(ends) >= end - 1.0, dur - rng.uniform(0.5, 60.0, n), dur)
    tcp_session(tr, rng, h, start, np.maximum(dur, 1.0), dst=ip, port=22, service="ssh",
                label=lab, qname=name, keepalive=60.0, out=out, inn=inn,
                states=states)  # fmt: skip
