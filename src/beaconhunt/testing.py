"""Test doubles shipped with the package: synthetic connection series for one pair.

Built on the timing models of :mod:`beaconhunt.synth.timing`, with byte counts
that look like the real thing, so tests, calibration and benchmarks can make a
beacon or a browsing session in one line::

    s = beacon_series("cobalt_strike", sleep=60, jitter=0.5, loss=0.2, seed=1)
    score = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)

Every function is deterministic given ``seed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.batch import SeriesBatch
from beaconhunt.synth import timing

__all__ = [
    "BEACON_KINDS",
    "DAY",
    "Series",
    "batch_of",
    "beacon_series",
    "browsing_series",
    "periodic_series",
    "poisson_series",
]

FloatArray = NDArray[np.float64]

DAY = 86400.0
"""Seconds in a day: the default observed span."""

BEACON_KINDS = ("cobalt_strike", "sliver", "havoc", "mythic", "meterpreter", "agent")
"""Timing models :func:`beacon_series` accepts."""


@dataclass(frozen=True, slots=True)
class Series:
    """One pair's connections: sorted ``ts``, ``bytes_out``, ``bytes_in``, and the
    dataset span ``[start, end)`` they were drawn in (use it as the scoring span)."""

    ts: FloatArray
    bytes_out: FloatArray
    bytes_in: FloatArray
    start: float
    end: float

    def __len__(self) -> int:
        return int(self.ts.size)


def _beacon_times(
    rng: np.random.Generator,
    kind: str,
    t0: float,
    t1: float,
    sleep: float,
    jitter: float,
    loss: float,
) -> FloatArray:
    """Check-in times from the named timing model."""
    if kind == "cobalt_strike":
        return timing.cobalt_strike(rng, t0, t1, sleep, jitter, loss)
    if kind == "sliver":
        return timing.sliver(rng, t0, t1, sleep, jitter * sleep, loss)
    if kind == "havoc":
        return timing.havoc(rng, t0, t1, sleep, jitter, loss)
    if kind == "mythic":
        return timing.mythic(rng, t0, t1, sleep, jitter, loss)
    if kind == "meterpreter":
        return timing.meterpreter(rng, t0, t1, sleep, loss)
    if kind == "agent":
        return timing.agent(rng, t0, t1, sleep, jitter, loss)
    raise ValueError(f"unknown beacon kind {kind!r}; expected one of {BEACON_KINDS}")


def _beacon_bytes(
    rng: np.random.Generator, n: int, tasking: float
) -> tuple[FloatArray, FloatArray]:
    """Check-in sizes: a fixed request ±2% (headers, padding), a small reply; with
    probability ``tasking`` a large tasking download and a large result upload."""
    out = np.rint(320.0 * (1.0 + rng.uniform(-0.02, 0.02, n)))
    inn = np.rint(180.0 * (1.0 + rng.uniform(-0.02, 0.02, n)))
    tasked = rng.random(n) < tasking
    inn[tasked] = np.rint(rng.uniform(1e4, 1e6, int(tasked.sum())))
    out[tasked] = np.rint(rng.uniform(1e3, 5e5, int(tasked.sum())))
    return out, inn


def beacon_series(
    kind: str = "cobalt_strike",
    sleep: float = 60.0,
    jitter: float = 0.0,
    loss: float = 0.0,
    duration: float = DAY,
    seed: int = 0,
    *,
    span: float | None = None,
    offset: float = 0.0,
    tasking: float = 0.03,
) -> Series:
    """An implant checking in for ``duration`` seconds, starting ``offset`` s into a
    dataset span ``[0, span)`` (default: ``offset + duration``).

    ``jitter`` is a fraction of ``sleep`` for every model; for ``sliver`` the
    added jitter is ``U[0, jitter * sleep)`` seconds, ``meterpreter`` ignores it.
    ``loss`` drops check-ins independently; ``tasking`` is the share of
    check-ins that carry a large tasking and result.
    """
    rng = np.random.default_rng(seed)
    t0 = offset
    ts = _beacon_times(rng, kind, t0, t0 + duration, sleep, jitter, loss)
    out, inn = _beacon_bytes(rng, ts.size, tasking)
    return Series(ts, out, inn, 0.0, float(span if span is not None else offset + duration))


def browsing_series(
    seed: int = 0,
    duration: float = DAY,
    sessions_per_hour: float = 1.5,
    requests_per_session: float = 6.0,
) -> Series:
    """A person browsing one site (``synth.timing.browsing``): bursts of requests
    in working hours, lognormal request and response sizes."""
    rng = np.random.default_rng(seed)
    ts = timing.browsing(rng, 0.0, duration, sessions_per_hour, requests_per_session)
    out = np.rint(rng.lognormal(np.log(700.0), 0.5, ts.size))
    inn = np.rint(rng.lognormal(np.log(20000.0), 1.2, ts.size))
    return Series(ts, out, inn, 0.0, duration)


def poisson_series(
    mean_interval: float = 60.0, duration: float = DAY, seed: int = 0, *, sizes: str = "beacon"
) -> Series:
    """Connections at random (exponential gaps, mean ``mean_interval``).

    ``sizes="beacon"`` gives them beacon-like constant sizes (the hardest case
    for the detector: only the timing tells them apart); ``"browsing"`` gives
    lognormal sizes.
    """
    rng = np.random.default_rng(seed)
    n = int(2 * duration / mean_interval) + 16
    ts = rng.uniform(0.0, mean_interval) + np.cumsum(rng.exponential(mean_interval, n))
    ts = ts[ts < duration]
    if sizes == "beacon":
        out, inn = _beacon_bytes(rng, ts.size, 0.0)
    elif sizes == "browsing":
        out = np.rint(rng.lognormal(np.log(700.0), 0.5, ts.size))
        inn = np.rint(rng.lognormal(np.log(20000.0), 1.2, ts.size))
    else:
        raise ValueError(f"sizes must be 'beacon' or 'browsing', got {sizes!r}")
    return Series(ts, out, inn, 0.0, duration)


def periodic_series(
    period: float = 60.0,
    n: int = 100,
    *,
    start: float = 0.0,
    bytes_out: float = 300.0,
    bytes_in: float = 200.0,
) -> Series:
    """A perfect beacon: ``n`` connections exactly ``period`` apart, constant sizes,
    spanning its whole dataset span."""
    ts = start + period * np.arange(n, dtype=np.float64)
    end = float(ts[-1]) if n else start
    return Series(ts, np.full(n, bytes_out), np.full(n, bytes_in), start, end)


def batch_of(series: Iterable[Series]) -> SeriesBatch:
    """A :class:`~beaconhunt.detect.batch.SeriesBatch` holding the given series."""
    items = list(series)
    return SeriesBatch.from_series(
        [s.ts for s in items], [s.bytes_out for s in items], [s.bytes_in for s in items]
    )
