"""Hidden implants: check-ins of Cobalt Strike, Sliver, Havoc, Mythic and Meterpreter.

Timing comes from :mod:`beaconhunt.synth.timing` (each family's own sleep and
jitter arithmetic). Sizes follow what idle beacons look like on the wire: a
small, steady request and reply (a few hundred bytes out, up to ~2 kB in),
with rare tasking check-ins that pull a module or push results (tens of kB to
MB). Endpoints mix the tradecraft analysts meet: a domain fronted behind a CDN
edge that benign sites share, own look-alike domains (DNS lookup, SNI or
``Host``), and bare IPs (no DNS, no SNI); the first Mythic implant is a
campaign on several hosts calling one server.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog, timing
from beaconhunt.synth.catalog import C2Endpoint, FamilyProfile
from beaconhunt.synth.flows import Label, Traffic, choose, heavy, sizes
from beaconhunt.synth.scenario import FAMILIES, Scenario
from beaconhunt.synth.table import make_ids
from beaconhunt.synth.world import CDN_SUFFIX, Name, c2_created

__all__ = ["HiddenBeacon", "add_implants"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_CS_CERT = (
    "CN=Major Cobalt Strike,OU=AdvancedPenTesting,O=cobaltstrike,L=Somewhere,ST=Cyberspace,C=Earth"
)
_SELF_SIGNED = "CN=localhost,O=Default Company Ltd,L=Default City,C=XX"
_TASK_RATE = 0.015


@dataclass(frozen=True, slots=True)
class HiddenBeacon:
    """One implant hidden in the traffic, as the demo prints it.

    ``dst`` is what a hunt should report: the C2 domain, or the IP for
    direct-IP implants. ``jitter`` is a fraction of ``sleep``. ``process`` is
    the image that makes the check-ins on the first host, as labels.csv and
    Sysmon name it (a path under a user profile differs per host of a campaign).
    """

    family: str
    hosts: tuple[str, ...]
    src_ips: tuple[str, ...]
    dst: str
    dst_ip: str
    dst_port: int
    transport: str
    sleep: float
    jitter: float
    loss: float
    connections: int
    notes: tuple[str, ...]
    process: str = ""


def add_implants(tr: Traffic) -> list[HiddenBeacon]:
    """Place every implant of the scenario on distinct workstations and add its check-ins."""
    s = tr.world.scenario
    order = [int(h) for h in tr.rng("implants", "placement").permutation(tr.world.workstations())]
    out: list[HiddenBeacon] = []
    for family in FAMILIES:
        for i in range(s.implants.counts()[family]):
            n_hosts = s.campaign_hosts if family == "mythic" and i == 0 else 1
            hosts, order = order[:n_hosts], order[n_hosts:]
            out.append(_implant(tr, family, i, hosts))
    return out


def _implant(tr: Traffic, family: str, i: int, hosts: list[int]) -> HiddenBeacon:
    """Add one implant (on one host, or a campaign on several) and describe it."""
    s = tr.world.scenario
    prof = catalog.FAMILY_PROFILES[family]
    rng = tr.rng("implant", family, i)
    ep = _endpoint(prof, i)
    sleep = s.sleep if s.sleep is not None else prof.sleep
    jitter = round(float(rng.uniform(*prof.jitter)), 2) if s.jitter is None else s.jitter
    jitter = 0.05 if family == "meterpreter" else jitter
    loss = prof.loss if s.loss is None else s.loss
    dst_ip = _register(tr, ep, rng)
    lab = tr.label(Label(family, ep.name, prof.process, "escalate", sleep, jitter, loss))
    total = tasked = 0
    for k, h in enumerate(hosts):
        hrng = tr.rng("implant", family, i, h)
        begin = s.start + (s.end - s.start) * 0.1 * k
        ts = _timing(family, hrng, s, begin, sleep, jitter, loss)
        ts = ts[tr.world.awake_mask(h, ts)]
        tasked += _checkins(tr, hrng, h, ts, ep, dst_ip, lab, prof, sleep)
        total += ts.size
    return HiddenBeacon(
        family=family,
        hosts=tuple(tr.world.hosts[h].name for h in hosts),
        src_ips=tuple(tr.world.hosts[h].ip for h in hosts),
        dst=ep.name or dst_ip,
        dst_ip=dst_ip,
        dst_port=ep.port,
        transport=ep.transport,
        sleep=sleep,
        jitter=jitter,
        loss=loss,
        connections=total,
        notes=_notes(tr, family, ep, hosts, tasked),
        process=tr.labels[lab].image_on(tr.world.hosts[hosts[0]]),
    )


def _endpoint(prof: FamilyProfile, i: int) -> C2Endpoint:
    """The i-th implant's endpoint: the profile's list, then numbered variants of it."""
    base = prof.endpoints[i % len(prof.endpoints)]
    k = i // len(prof.endpoints)
    if k == 0:
        return base
    ip = base.ip or "192.0.2.9"
    head, _, tail = ip.rpartition(".")
    name = None
    if base.name:
        first, _, rest = base.name.partition(".")
        name = f"{first}{k + 1}.{rest}"
    mode = "domain" if base.mode == "fronted" else base.mode
    return C2Endpoint(
        mode, name, f"{head}.{(int(tail) + 3 * k) % 250 + 2}", base.port, base.transport
    )


def _register(tr: Traffic, ep: C2Endpoint, rng: np.random.Generator) -> str:
    """Publish the C2 domain in DNS (fronted ones CNAME to the shared CDN edge)."""
    s = tr.world.scenario
    if ep.mode == "fronted" and ep.name:
        ip = tr.world.shared_edge
        cname = f"{ep.name.replace('.', '-')}.{CDN_SUFFIX}"
        tr.world.add_name(Name(ep.name, (ip,), cname, 20, c2_created(s, rng)))
        return ip
    assert ep.ip is not None
    if ep.name:
        tr.world.add_name(Name(ep.name, (ep.ip,), None, 300, c2_created(s, rng)))
    return ep.ip


def _timing(
    family: str,
    rng: np.random.Generator,
    s: Scenario,
    begin: float,
    sleep: float,
    jitter: float,
    loss: float,
) -> FloatArray:
    """Check-in times of one implant from ``begin`` to the end of the capture."""
    end = s.end
    if family == "cobalt_strike":
        return timing.cobalt_strike(rng, begin, end, sleep, jitter, loss)
    if family == "sliver":
        return timing.sliver(rng, begin, end, sleep, jitter * sleep, loss)
    if family == "havoc":
        return timing.havoc(
            rng, begin, end, sleep, jitter, loss, s.work_start_h, s.work_end_h, s.utc_offset_h
        )
    if family == "mythic":
        return timing.mythic(rng, begin, end, sleep, jitter, loss)
    return timing.meterpreter(rng, begin, end, sleep, loss)


def _checkins(
    tr: Traffic,
    rng: np.random.Generator,
    host: int,
    ts: FloatArray,
    ep: C2Endpoint,
    dst_ip: str,
    lab: int,
    prof: FamilyProfile,
    sleep: float,
) -> int:
    """Add the check-in connections (and their ssl/http records); return the tasked count."""
    n = ts.size
    # Meterpreter polls fast while an operator works it: those are tasked check-ins
    fast = np.diff(ts, prepend=-np.inf) < min(5.0, 0.5 * sleep)
    fast &= prof.family == "meterpreter"
    tasked = (rng.random(n) < _TASK_RATE) | fast
    out, inn = sizes(rng, n, 200, 600, 0.08), sizes(rng, n, 100, 2000, 0.1)
    k = int(tasked.sum())
    sends = np.zeros(n, dtype=bool)  # the check-in after a task carries its output
    sends[1:] = tasked[:-1]
    inn[tasked] += heavy(rng, k, 20000.0, 1.2, 2e6)
    out[sends] += heavy(rng, int(sends.sum()), 8000.0, 1.5, 5e6)
    duration = rng.uniform(0.08, 0.6, n) + (inn + out) / 4e6
    service = "http" if ep.transport == "http" else "ssl"
    rows = tr.tcp(
        rng,
        host,
        ts,
        dst=dst_ip,
        port=ep.port,
        service=service,
        out=out,
        inn=inn,
        duration=duration,
        label=lab,
        qname=ep.name,
    )
    if ep.transport == "http":
        _http(tr, rng, rows, ep, dst_ip, prof, out, inn, sends)
    else:
        _tls(tr, rng, rows, ep, dst_ip, prof.family)
    return k


def _tls(
    tr: Traffic, rng: np.random.Generator, rows: IntArray, ep: C2Endpoint, dst_ip: str, family: str
) -> None:
    """ssl.log of a TLS implant: CDN TLS 1.3 when fronted, a Let's Encrypt cert on
    its own domain, a self-signed cert on a bare IP, Go TLS 1.3 for Sliver."""
    wininet = family in ("cobalt_strike", "havoc", "meterpreter")
    tls13 = 1.0 if ep.mode == "fronted" or family == "sliver" else 0.0
    if ep.mode == "domain":
        subject, issuer = f"CN={ep.name}", catalog.CERT_ISSUERS[0]
        validation = "ok"
    else:
        subject = issuer = _CS_CERT if family == "cobalt_strike" else _SELF_SIGNED
        validation = "self signed certificate"
    tr.tls(
        rng,
        rows,
        sni=ep.name,
        # the TLS stack, not the program, makes the client fingerprint: Sliver is Go,
        # the others call the Windows stack (SChannel) like the OS's own services
        client="go" if family == "sliver" else "schannel",
        server=dst_ip,
        tls13=tls13,
        resumed=0.7 if wininet else 0.0,
        subject=subject,
        issuer=issuer,
        validation=validation,
    )


def _http(
    tr: Traffic,
    rng: np.random.Generator,
    rows: IntArray,
    ep: C2Endpoint,
    dst_ip: str,
    prof: FamilyProfile,
    out: IntArray,
    inn: IntArray,
    sends: NDArray[np.bool_],
) -> None:
    """http.log of an HTTP implant: Mythic polls with ``GET /index?q=`` and posts
    results to ``/data``; Meterpreter uses one per-session URI with the LHOST as
    ``Host``. Check-ins that carry task output are POSTs."""
    n = rows.size
    if prof.family == "mythic":
        raw = rng.integers(0, 256, size=(n, 45), dtype=np.uint8)
        polls = [f"/index?q={base64.urlsafe_b64encode(r.tobytes()).decode()}" for r in raw]
        uri = np.where(sends, "/data", np.array(polls, dtype=object))
        host: str = ep.name or dst_ip
        mime = "text/plain"
    else:
        token = base64.urlsafe_b64encode(rng.bytes(33)).decode().rstrip("=")
        uri = np.full(n, f"/{token}/", dtype=object)
        host = dst_ip if ep.port == 80 else f"{dst_ip}:{ep.port}"
        mime = "application/octet-stream"
    body = np.maximum(inn - 180, 0)
    fuids = np.array(make_ids(rng, n, "F"), dtype=object)
    tr.http.add(
        n,
        row=rows,
        dt=rng.uniform(0.002, 0.05, n),
        trans_depth=1,
        method=np.where(sends, "POST", "GET").astype(object),
        host=host,
        uri=uri,
        version="1.1",
        user_agent=prof.user_agent,
        request_body_len=np.where(sends, np.maximum(out - 250, 0), 0),
        response_body_len=body,
        status_code=200,
        status_msg="OK",
        resp_fuids=choose(body > 0, fuids, None),
        resp_mime_types=choose(body > 0, mime, None),
    )


def _notes(
    tr: Traffic, family: str, ep: C2Endpoint, hosts: list[int], tasked: int
) -> tuple[str, ...]:
    """Human notes on what makes this implant easy or hard to find."""
    notes: list[str] = []
    if ep.mode == "fronted":
        shared = sum(tr.world.shared_edge in tr.world.names[c].ips for c in tr.world.cdn_sites)
        notes.append(
            f"fronted: CNAME to CDN edge {tr.world.shared_edge}, shared with {shared} benign sites"
        )
    elif ep.mode == "ip":
        notes.append("direct IP: no DNS lookup" + (", no SNI" if ep.transport != "http" else ""))
    else:
        notes.append(
            "own domain: DNS lookup, " + ("Host header" if ep.transport == "http" else "SNI")
        )
    if family == "havoc":
        notes.append("silent outside working hours")
    if len(hosts) > 1:
        notes.append(f"campaign: {len(hosts)} hosts, infections staggered through the day")
    if any(tr.world.hosts[h].laptop for h in hosts):
        notes.append("laptop: off outside office hours")
    notes.append(f"{tasked} tasking check-ins with larger transfers")
    return tuple(notes)
