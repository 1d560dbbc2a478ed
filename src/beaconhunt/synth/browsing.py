"""Human web browsing: the bulk of the traffic and the hunt's background noise.

Page views come from :func:`timing.browsing` (Poisson sessions in working hours,
bursts of requests with exponential think times), scaled per user (log-normal
activity) and down to ~8% on weekends. Each session visits one site, picked from
the user's handful of favourites or from a Zipf popularity law over a few
hundred sites; every page view pulls a Poisson number of shared third-party
hosts (analytics, fonts, CDNs, OCSP). Browsers keep a connection open and
reuse it while it is used at least once a minute, so a burst of requests
to one host becomes one connection whose bytes are the sum of heavy-tailed
(log-normal) request and response sizes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth import catalog, timing
from beaconhunt.synth.benign import day_starts
from beaconhunt.synth.flows import Label, Traffic, choose, heavy
from beaconhunt.synth.table import make_ids

__all__ = ["add_browsing"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_IDLE = 60.0  # seconds a browser keeps an unused connection
_SESSION_GAP = 180.0  # a longer pause starts a new browsing session
_CRYPTOAPI = "Microsoft-CryptoAPI/10.0"


def add_browsing(tr: Traffic) -> None:
    """Browsing of every workstation user over the whole capture."""
    if tr.world.scenario.browsing <= 0:
        return
    world = tr.world
    lam = tr.rng("browsing", "sites").uniform(2.0, 9.0, len(world.sites))
    subs = [s for group in world.site_subs for s in group]
    names = np.array(world.sites + world.third_party + subs, dtype=object)
    first = len(world.sites) + len(world.third_party)
    own: list[list[int]] = []
    for group in world.site_subs:
        own.append(list(range(first, first + len(group))))
        first += len(group)
    for h in world.workstations():
        _host(tr, h, lam, names, own)


def _pages(tr: Traffic, h: int, rng: np.random.Generator) -> FloatArray:
    """Page-view times of one user, day by day."""
    s = tr.world.scenario
    level = float(rng.lognormal(0.0, 0.4))
    parts: list[FloatArray] = []
    for day, weekday in day_starts(tr.world):
        lo, hi = max(day, s.start), min(day + 86400.0, s.end)
        if hi > lo:
            rate = 5.0 * s.browsing * level * (1.0 if weekday else 0.08)
            parts.append(
                timing.browsing(
                    rng, lo, hi, rate, 7.0, s.work_start_h, s.work_end_h, s.utc_offset_h
                )
            )
    pages = np.sort(np.concatenate(parts)) if parts else np.empty(0)
    return pages[tr.world.awake_mask(h, pages)]


def _requests(
    tr: Traffic, rng: np.random.Generator, pages: FloatArray, lam: FloatArray, own: list[list[int]]
) -> tuple[FloatArray, IntArray]:
    """Every request (time, name index) behind the page views: the site, then
    its own asset hosts and its third-party hosts a moment later."""
    world = tr.world
    n_sites = len(world.sites)
    sid = np.concatenate(([0], np.cumsum(np.diff(pages) > _SESSION_GAP)))
    n_sess = int(sid[-1]) + 1
    favs = rng.choice(n_sites, 6, replace=False, p=world.site_weights)
    site = np.where(
        rng.random(n_sess) < 0.4,
        favs[rng.integers(0, 6, n_sess)],
        rng.choice(n_sites, n_sess, p=world.site_weights),
    )[sid]
    k = rng.poisson(lam[site])
    extra = int(k.sum())
    t = np.concatenate([pages, np.repeat(pages, k) + rng.uniform(0.05, 2.0, extra)])
    third = n_sites + rng.choice(len(world.third_party), extra, p=world.third_weights)
    sub_t, sub_name = _own_assets(rng, pages, site, own)
    return (np.concatenate([t, sub_t]), np.concatenate([site, third, sub_name]).astype(np.int64))


def _own_assets(
    rng: np.random.Generator, pages: FloatArray, site: IntArray, own: list[list[int]]
) -> tuple[FloatArray, IntArray]:
    """Requests to the site's own asset hosts: each fetched on 60% of page views."""
    times: list[FloatArray] = []
    names: list[IntArray] = []
    for s in np.unique(site).tolist():
        on = pages[site == s]
        for idx in own[s]:
            hit = on[rng.random(on.size) < 0.6]
            times.append(hit + rng.uniform(0.05, 1.0, hit.size))
            names.append(np.full(hit.size, idx, dtype=np.int64))
    if not times:
        return np.empty(0), np.empty(0, dtype=np.int64)
    return np.concatenate(times), np.concatenate(names)


def _host(
    tr: Traffic, h: int, lam: FloatArray, names: NDArray[np.object_], own: list[list[int]]
) -> None:
    """Connections (with DNS names, TLS and HTTP records) of one user's browsing."""
    rng = tr.rng("browsing", h)
    pages = _pages(tr, h, rng)
    if pages.size == 0:
        return
    t, name = _requests(tr, rng, pages, lam, own)
    inside = t < tr.world.scenario.end  # asset fetches just after the capture ends are lost
    t, name = t[inside], name[inside]
    order = np.lexsort((t, name))
    t, name = t[order], name[order]
    new = np.ones(t.size, dtype=bool)
    new[1:] = (name[1:] != name[:-1]) | (np.diff(t) > _IDLE)
    first = np.flatnonzero(new)
    req_out = heavy(rng, t.size, 700.0, 0.5, 2e5)
    req_in = heavy(rng, t.size, 15000.0, 1.6, 5e7)
    conn_name = names[name[first]]
    http = np.array([n in tr.world.http_names for n in conn_name.tolist()], dtype=bool)
    for plain in (True, False):
        sel = first[http == plain]
        if sel.size:
            _connections(tr, rng, h, t, req_out, req_in, first, sel, names[name[sel]], plain)


def _connections(
    tr: Traffic,
    rng: np.random.Generator,
    h: int,
    t: FloatArray,
    req_out: IntArray,
    req_in: IntArray,
    first: IntArray,
    sel: IntArray,
    conn_names: NDArray[np.object_],
    plain: bool,
) -> None:
    """Add the connections starting at request indices ``sel`` (all HTTP or all TLS)."""
    ends = np.append(first[1:], t.size)[np.searchsorted(first, sel)]
    out = np.add.reduceat(req_out, first)[np.searchsorted(first, sel)]
    inn = np.add.reduceat(req_in, first)[np.searchsorted(first, sel)]
    n = sel.size
    if not plain:
        out, inn = out + 520, inn + rng.integers(250, 4500, n)  # TLS handshake
    tail = np.minimum(rng.lognormal(np.log(5.0), 1.0, n), 240.0)
    duration = t[ends - 1] - t[sel] + tail
    states = rng.choice(4, n, p=[0.7, 0.15, 0.1, 0.05])
    browser = catalog.BROWSERS[tr.world.hosts[h].browser][0]
    listed = conn_names.tolist()
    label_of = {
        x: tr.label(Label("browsing", x, _process(x), "close")) for x in dict.fromkeys(listed)
    }
    labels = np.array([label_of[x] for x in listed], dtype=np.int64)
    dst = np.array([tr.world.names[x].ips[0] for x in listed], dtype=object)
    rows = tr.tcp(
        rng,
        h,
        t[sel],
        dst=dst,
        port=80 if plain else 443,
        service="http" if plain else "ssl",
        out=out,
        inn=inn,
        duration=duration,
        label=labels,
        qname=conn_names,
        states=states,
    )
    if plain:
        _http(tr, rng, h, t, req_in, sel, ends, rows, conn_names)
    else:
        issuer = np.array(catalog.CERT_ISSUERS, dtype=object)[
            np.array([_hash(x) % len(catalog.CERT_ISSUERS) for x in listed])
        ]
        subject = np.array(["CN=" + x for x in listed], dtype=object)
        tr.tls(
            rng,
            rows,
            sni=conn_names,
            client=browser,
            server=conn_names,
            tls13=0.8,
            resumed=0.4,
            subject=subject,
            issuer=issuer,
        )


def _hash(name: str) -> int:
    """A small stable number derived from a name (picks its certificate issuer)."""
    return sum(name.encode()) % 9973


def _process(name: str) -> str:
    """Who makes a request: CryptoAPI (svchost) for OCSP/CTL, else the browser."""
    if name.startswith(("ocsp.", "r11.", "ctldl.")):
        return r"C:\Windows\System32\svchost.exe"
    return "{browser}"


def _http(
    tr: Traffic,
    rng: np.random.Generator,
    h: int,
    t: FloatArray,
    req_in: IntArray,
    sel: IntArray,
    ends: IntArray,
    rows: IntArray,
    conn_names: NDArray[np.object_],
) -> None:
    """One http.log record per request on plain-HTTP connections (``trans_depth`` 1, 2...)."""
    counts = ends - sel
    req = np.concatenate(
        [np.arange(a, b) for a, b in zip(sel.tolist(), ends.tolist(), strict=True)]
    )
    conn_of = np.repeat(np.arange(sel.size), counts)
    depth = req - np.repeat(sel, counts) + 1
    hosts = conn_names[conn_of]
    n = req.size
    ua = catalog.BROWSERS[tr.world.hosts[h].browser][1]
    uri, mime, agent = _uris(rng, hosts)
    body = np.maximum(req_in[req] - 320, 0)
    fuids = np.array(make_ids(rng, n, "F"), dtype=object)
    tr.http.add(
        n,
        row=rows[conn_of],
        dt=t[req] - t[sel][conn_of] + rng.uniform(0.01, 0.05, n),
        trans_depth=depth,
        method="GET",
        host=hosts,
        uri=uri,
        referrer=choose(depth > 1, np.array([f"http://{x}/" for x in hosts.tolist()]), None),
        version="1.1",
        user_agent=np.where(agent, _CRYPTOAPI, ua).astype(object),
        request_body_len=0,
        response_body_len=body,
        status_code=200,
        status_msg="OK",
        resp_fuids=choose(body > 0, fuids, None),
        resp_mime_types=choose(body > 0, mime, None),
    )


def _uris(
    rng: np.random.Generator, hosts: NDArray[np.object_]
) -> tuple[NDArray[np.object_], NDArray[np.object_], NDArray[np.bool_]]:
    """URI, MIME type and whether CryptoAPI (not the browser) asked, per request."""
    n = hosts.size
    uri = np.empty(n, dtype=object)
    mime = np.empty(n, dtype=object)
    agent = np.zeros(n, dtype=bool)
    kinds = ("/", "/news/{}.html", "/img/{}.jpg", "/css/site.css?v={}")
    mimes = ("text/html", "text/html", "image/jpeg", "text/css")
    pick = rng.integers(0, len(kinds), n)
    num = rng.integers(1000, 99999, n)
    for i, (host, k, x) in enumerate(zip(hosts.tolist(), pick.tolist(), num.tolist(), strict=True)):
        if host.startswith(("ocsp.", "r11.")):
            uri[i], mime[i], agent[i] = (
                f"/MFMwUTBPME0wSzAJBgUrDgMCGgUABBQ{x:05d}",
                "application/ocsp-response",
                True,
            )
        elif host.startswith("ctldl."):
            uri[i], mime[i], agent[i] = (
                f"/msdownload/update/v3/static/trustedr/en/authrootstl.cab?{x:x}",
                "application/vnd.ms-cab-compressed",
                True,
            )
        else:
            uri[i], mime[i] = kinds[k].format(x), mimes[k]
    return uri, mime, agent
