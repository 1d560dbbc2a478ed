"""Check-in sessions: a pair's connections with tasking bursts folded into one.

An implant that is being worked by an operator stops sleeping: Meterpreter's
HTTP transport polls about once a second while commands run, Cobalt Strike
goes ``sleep 0`` for a SOCKS proxy or a file transfer. Those bursts can hold
more connections than the steady check-ins around them, so the median interval
becomes the burst's second, the relative MAD explodes, and the larger transfers
of the tasked polls make the request sizes look variable: the pair reads as
noise, or the size prefilter drops it, although outside the bursts it is a
textbook beacon.

The session view folds every connection that starts at most ``gap`` seconds
after the previous connection of the same pair into the session that
previous one belongs to. A session starts at its first connection and sends
and receives the sum of its connections' bytes (unknown if any of them is
unknown). Between bursts every check-in is its own session, so the steady
rhythm is measured again, with one odd interval per burst (which the robust
statistics tolerate), and the bytes of the few burst sessions are outliers
that the median ignores.

The hunt scores both views and keeps the better one per pair
(:mod:`beaconhunt.pipeline` and the ``[score] burst_gap_s`` setting): a
beacon whose sleep is at or below ``gap`` collapses into a single session and
keeps its plain score, and a pair without bursts is the same in both views.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.batch import SeriesBatch

__all__ = ["sessions"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def sessions(
    ts: FloatArray,
    bytes_out: FloatArray,
    bytes_in: FloatArray,
    offsets: IntArray,
    gap: float,
) -> SeriesBatch:
    """Fold connections less than or exactly ``gap`` seconds after the previous
    connection of the same pair into one session (see the module docstring).

    ``ts`` is sorted within each pair ``offsets[i]:offsets[i+1]``. A session's
    time is its first connection's, its bytes the sum over its connections (NaN
    when any is NaN). ``gap <= 0`` folds only connections at the same instant.
    Every pair keeps at least one session; empty pairs stay empty. The result is a
    :class:`~beaconhunt.detect.batch.SeriesBatch` of sessions, scored like connections.
    """
    ts = np.asarray(ts, dtype=np.float64)
    n = ts.size
    starts_mask = np.ones(n, dtype=bool)
    if n > 1:
        starts_mask[1:] = np.diff(ts) > max(gap, 0.0)
    lengths = np.diff(offsets)
    starts_mask[offsets[:-1][lengths > 0]] = True
    starts = np.flatnonzero(starts_mask)
    pair_of_row = np.repeat(np.arange(lengths.size), lengths)
    counts = np.bincount(pair_of_row[starts], minlength=lengths.size).astype(np.int64)
    out_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    if n == 0:
        empty = np.empty(0, dtype=np.float64)
        return SeriesBatch(empty, empty, empty, out_offsets)
    bo = np.add.reduceat(np.asarray(bytes_out, dtype=np.float64), starts)
    bi = np.add.reduceat(np.asarray(bytes_in, dtype=np.float64), starts)
    return SeriesBatch(ts[starts], bo, bi, out_offsets)
