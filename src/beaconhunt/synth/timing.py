"""Timing models: when an implant or a benign program connects out.

Each function is pure given its ``rng`` and returns a sorted ``float64`` array
of epoch seconds within ``[start, end)``. They model how the real things sleep:

=================  ==========================================================
model              interval between check-ins
=================  ==========================================================
``cobalt_strike``  uniform in ``[S(1-j), S]`` (Beacon's jitter shortens sleeps)
``sliver``         ``S + U[0, J)`` seconds (jitter is added on top)
``havoc``          ``S ± U*S*j`` and no check-ins outside working hours
``mythic``         ``S ± k`` with ``k`` a whole number of seconds up to ``S*j``
``meterpreter``    steady polling that drops to ~1 s while tasked
``agent``          benign poller: ``P`` with small jitter (security agents, updaters)
``browsing``       Poisson sessions in working hours, bursts of requests
=================  ==========================================================

``loss`` drops each check-in independently with that probability (a lost
packet, a sleeping laptop, a sensor gap), which is how missed check-ins look in
network logs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "agent",
    "apply_loss",
    "browsing",
    "cobalt_strike",
    "havoc",
    "meterpreter",
    "mythic",
    "sliver",
    "walk",
]

FloatArray = NDArray[np.float64]


def walk(rng: np.random.Generator, start: float, end: float, draw: object) -> FloatArray:
    """Accumulate intervals drawn in blocks by ``draw(n)`` until ``end`` is passed
    (the first time is a random phase into the first interval)."""
    assert callable(draw)
    first = start + float(rng.uniform(0.0, 1.0)) * float(np.asarray(draw(1))[0])
    out: list[FloatArray] = []
    t = first
    while t < end:
        steps = np.asarray(draw(1024), dtype=np.float64)
        times = t + np.concatenate(([0.0], np.cumsum(steps[:-1])))
        out.append(times)
        t = float(times[-1] + steps[-1])
    ts = np.concatenate(out) if out else np.empty(0)
    return ts[ts < end]


def apply_loss(rng: np.random.Generator, ts: FloatArray, loss: float) -> FloatArray:
    """Drop each event independently with probability ``loss`` (0 keeps all)."""
    if loss <= 0 or ts.size == 0:
        return ts
    return ts[rng.random(ts.size) >= loss]


def cobalt_strike(
    rng: np.random.Generator,
    start: float,
    end: float,
    sleep: float,
    jitter: float,
    loss: float = 0.0,
) -> FloatArray:
    """Cobalt Strike Beacon: each sleep is uniform in ``[sleep*(1-jitter), sleep]``."""
    ts = walk(rng, start, end, lambda n: sleep * (1.0 - jitter * rng.random(n)))
    return apply_loss(rng, ts, loss)


def sliver(
    rng: np.random.Generator,
    start: float,
    end: float,
    sleep: float,
    jitter_s: float,
    loss: float = 0.0,
) -> FloatArray:
    """Sliver: each sleep is ``sleep + U[0, jitter_s)`` seconds."""
    ts = walk(rng, start, end, lambda n: sleep + jitter_s * rng.random(n))
    return apply_loss(rng, ts, loss)


def mythic(
    rng: np.random.Generator,
    start: float,
    end: float,
    sleep: float,
    jitter: float,
    loss: float = 0.0,
) -> FloatArray:
    """Mythic agents: ``sleep ± k`` with ``k`` whole seconds, ``|k| <= sleep*jitter``."""
    span = int(sleep * jitter)

    def draw(n: int) -> FloatArray:
        k = rng.integers(-span, span + 1, n) if span > 0 else np.zeros(n)
        return np.maximum(0.5, sleep + k).astype(np.float64)

    return apply_loss(rng, walk(rng, start, end, draw), loss)


def havoc(
    rng: np.random.Generator,
    start: float,
    end: float,
    sleep: float,
    jitter: float,
    loss: float = 0.0,
    work_start_h: float = 8.0,
    work_end_h: float = 18.0,
    utc_offset_h: float = 0.0,
) -> FloatArray:
    """Havoc Demon: ``sleep ± U*sleep*jitter``, silent outside working hours.

    Working hours are local time ``[work_start_h, work_end_h)``; ``utc_offset_h``
    converts epoch seconds (UTC) to the implant's local clock.
    """
    ts = walk(rng, start, end, lambda n: sleep * (1.0 + jitter * (2.0 * rng.random(n) - 1.0)))
    hour = ((ts + utc_offset_h * 3600.0) % 86400.0) / 3600.0
    ts = ts[(hour >= work_start_h) & (hour < work_end_h)]
    return apply_loss(rng, ts, loss)


def meterpreter(
    rng: np.random.Generator,
    start: float,
    end: float,
    sleep: float,
    loss: float = 0.0,
    tasked_fraction: float = 0.05,
    tasked_interval: float = 1.0,
) -> FloatArray:
    """Meterpreter reverse_http(s): steady polling every ``sleep`` seconds (±5%)
    that speeds up to about ``tasked_interval`` during tasking sessions, which
    take roughly ``tasked_fraction`` of the time in a few bursts."""
    base = walk(rng, start, end, lambda n: sleep * (0.95 + 0.1 * rng.random(n)))
    bursts: list[FloatArray] = [base]
    n_bursts = max(1, int((end - start) * tasked_fraction / 600.0))
    for b0 in rng.uniform(start, end, n_bursts):
        b1 = min(end, b0 + float(rng.uniform(120.0, 900.0)))
        fast = walk(rng, b0, b1, lambda n: tasked_interval * (0.5 + rng.random(n)))
        bursts.append(fast)
        base = base[(base < b0) | (base >= b1)]
        bursts[0] = base
    return apply_loss(rng, np.sort(np.concatenate(bursts)), loss)


def agent(
    rng: np.random.Generator,
    start: float,
    end: float,
    period: float,
    jitter: float = 0.02,
    loss: float = 0.0,
) -> FloatArray:
    """A benign poller (EDR/AV check-in, update check, NTP, mail sync): period
    ``period`` with relative jitter ``±jitter``."""
    ts = walk(rng, start, end, lambda n: period * (1.0 + jitter * (2.0 * rng.random(n) - 1.0)))
    return apply_loss(rng, ts, loss)


def browsing(
    rng: np.random.Generator,
    start: float,
    end: float,
    sessions_per_hour: float = 1.5,
    requests_per_session: float = 6.0,
    work_start_h: float = 8.0,
    work_end_h: float = 18.0,
    utc_offset_h: float = 0.0,
) -> FloatArray:
    """Human browsing to one site: Poisson session starts in working hours, each
    a burst of a geometric number of requests with exponential think times."""
    hours = (end - start) / 3600.0
    n_sessions = rng.poisson(sessions_per_hour * hours)
    starts = rng.uniform(start, end, n_sessions)
    local_h = ((starts + utc_offset_h * 3600.0) % 86400.0) / 3600.0
    keep = (local_h >= work_start_h) & (local_h < work_end_h)
    # a little out-of-hours browsing too
    keep |= rng.random(n_sessions) < 0.05
    parts: list[FloatArray] = []
    for s0 in starts[keep]:
        k = int(rng.geometric(1.0 / max(requests_per_session, 1.0)))
        gaps = rng.exponential(20.0, k)
        gaps[0] = 0.0
        parts.append(s0 + np.cumsum(gaps))
    if not parts:
        return np.empty(0)
    ts = np.sort(np.concatenate(parts))
    return ts[ts < end]
