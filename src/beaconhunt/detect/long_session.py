"""The long-session detector: C2 held open for hours instead of checking in.

Interactive C2, reverse shells, tunnels and websocket or mTLS sessions make a
handful of connections that each last hours. A beacon detector sees too few
check-ins and closes them as irregular; this detector measures the time held
open instead. Per candidate pair, over the connections lasting at least
``min_piece_s`` (shorter ones are ordinary requests, not session time):

* **connected time** ``T``: the length of the union of the connections'
  intervals ``[ts, ts + duration]`` clipped to the window (overlapping
  connections count once, :func:`union_length`);
* **longest** connection ``L`` and the number of **sessions** (merged
  intervals) — several sessions with short gaps are reconnects;
* **coverage** ``T / window``;
* **open at end**: a connection whose end is within ``open_slack_s`` of the
  end of the window and whose state is not a closed one (Zeek writes
  connections still open at shutdown with ``S1``/``S2``/``S3``/``OTH``;
  Suricata's ``established``; see :data:`CLOSED_STATES`);
* bytes out and in per connected hour.

The score (:func:`long_session_score`) grows with ``log T`` from 0.5 at
``min_duration_s`` to 1.0 at ``full_s``, so every reported pair scores at
least 0.5 (the reporting threshold) and a session held for the whole working
day ranks above one held for an hour::

    score = 0.5 + 0.5 * clip(ln(T / min_duration_s) / ln(full_s / min_duration_s), 0, 1)

A pair is a candidate when ``T >= min_duration_s``. Long sessions are common
in benign traffic (chat and meeting websockets, push-notification channels,
IMAP IDLE, VPN tunnels, SSH of administrators): the score says only that the
traffic *is* a long session; whether it is C2 is the investigation's and the
policy's job (rarity, newness, the process and the host). Connections split
by a flow exporter's active timeout are joined back into one at load
(:mod:`beaconhunt.store.sessions`), so they count once here and never as
check-ins for the beacon detector. Limits: ``docs/detectors.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.base import Candidate, DetectInput, Detector, DetectReport, register_detector
from beaconhunt.detect.reasons import duration as format_duration
from beaconhunt.detect.settings import LongSessionSettings
from beaconhunt.model import Evidence, ScoreComponents
from beaconhunt.store.schema import CLOSED_STATES

__all__ = [
    "CLOSED_STATES",
    "LongSessionDetector",
    "LongSessionSettings",
    "SessionStats",
    "long_session_score",
    "merge_intervals",
    "session_stats",
    "union_length",
]

FloatArray = NDArray[np.float64]

#: Every evidence code this detector emits -> its meaning (docs/policy.md).
SESSION_CODES: dict[str, str] = {
    "session.long": "connections held open for at least [long_session] min_duration_s in all"
    " (connected time, coverage of the window, longest connection)",
    "session.open_at_end": "a connection was still open when the log ends",
    "session.reconnects": "new sessions began soon after the previous one ended"
    " (within [long_session] reconnect_gap_s)",
}

# -- the maths: pure functions ------------------------------------------------------------------


def merge_intervals(starts: FloatArray, ends: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The union of intervals ``[starts[i], ends[i]]`` as sorted disjoint intervals
    (touching intervals merge)."""
    if starts.size == 0:
        return starts.copy(), ends.copy()
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    # running maximum of the ends: an interval starts a new block when it begins
    # after every earlier interval has ended
    reach = np.maximum.accumulate(e)
    new = np.empty(s.size, dtype=bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    idx = np.flatnonzero(new)
    block_end = np.maximum.reduceat(e, idx)
    return s[idx], block_end


def union_length(starts: FloatArray, ends: FloatArray) -> float:
    """Total length of the union of the intervals (overlaps count once)."""
    s, e = merge_intervals(starts, ends)
    return float(np.sum(e - s)) if s.size else 0.0


def long_session_score(connected: float, s: LongSessionSettings) -> float:
    """0.5 at ``min_duration_s`` of connected time, 1.0 from ``full_s``, log-linear
    between; 0 below ``min_duration_s`` (module docstring)."""
    if not connected >= s.min_duration_s:
        return 0.0
    frac = math.log(connected / s.min_duration_s) / math.log(s.full_s / s.min_duration_s)
    return 0.5 + 0.5 * min(1.0, max(0.0, frac))


@dataclass(frozen=True, slots=True)
class SessionStats:
    """What the detector measured on one pair (module docstring); satisfies
    :class:`~beaconhunt.detect.base.Details`."""

    score: float
    n_connections: int
    first_seen: float
    last_seen: float
    longest_s: float
    connected_s: float
    coverage: float
    sessions: tuple[tuple[float, float], ...]
    open_at_end: bool
    reconnects: int
    bytes_out_per_hour: float
    bytes_in_per_hour: float
    bytes_out_median: float
    bytes_in_median: float
    reasons: tuple[Evidence, ...] = field(default_factory=tuple)

    @property
    def components(self) -> ScoreComponents | None:
        return None

    @property
    def median_interval(self) -> float:
        return math.nan

    def info(self) -> dict[str, Any]:
        """The kind-specific keys of the finding record (README, "Output")."""
        return {
            "longest_s": round(self.longest_s, 3),
            "connected_s": round(self.connected_s, 3),
            "coverage": round(self.coverage, 4),
            "sessions": [[round(a, 3), round(b, 3)] for a, b in self.sessions],
            "open_at_end": self.open_at_end,
            "reconnects": self.reconnects,
            "bytes_out_per_hour": _finite(self.bytes_out_per_hour),
            "bytes_in_per_hour": _finite(self.bytes_in_per_hour),
        }


def _finite(x: float) -> float | None:
    return None if not math.isfinite(x) else round(x, 1)


def session_stats(
    ts: FloatArray,
    duration: FloatArray,
    bytes_out: FloatArray,
    bytes_in: FloatArray,
    open_state: NDArray[np.bool_],
    start: float,
    end: float,
    s: LongSessionSettings,
    n_connections: int | None = None,
) -> SessionStats:
    """The long-session statistics of one pair's connections lasting at least
    ``min_piece_s`` (the caller selects them). ``open_state``: the connection's
    state is not a closed one. ``n_connections``: all the pair's connections in
    the window, when the caller knows it (else those given)."""
    ends = np.minimum(ts + duration, end)
    starts = np.maximum(ts, start)
    keep = ends > starts
    ms, me = merge_intervals(starts[keep], ends[keep])
    connected = float(np.sum(me - ms)) if ms.size else 0.0
    window = max(end - start, 1e-9)
    hours = connected / 3600.0
    gaps = ms[1:] - me[:-1] if ms.size > 1 else np.empty(0)
    is_open = bool(np.any(open_state & (ts + duration >= end - s.open_slack_s)))
    score = long_session_score(connected, s)
    st = SessionStats(
        score=score,
        n_connections=int(ts.size if n_connections is None else n_connections),
        first_seen=float(ts.min()) if ts.size else start,
        last_seen=float(ts.max()) if ts.size else start,
        longest_s=float(duration.max()) if duration.size else 0.0,
        connected_s=connected,
        coverage=min(1.0, connected / window),
        sessions=tuple((float(a), float(b)) for a, b in zip(ms, me, strict=True)),
        open_at_end=is_open,
        reconnects=int(np.count_nonzero(gaps <= s.reconnect_gap_s)),
        bytes_out_per_hour=_per_hour(bytes_out, hours),
        bytes_in_per_hour=_per_hour(bytes_in, hours),
        bytes_out_median=_median(bytes_out),
        bytes_in_median=_median(bytes_in),
    )
    return _with_reasons(st, window)


def _per_hour(b: FloatArray, hours: float) -> float:
    known = b[np.isfinite(b)]
    return float(known.sum() / hours) if known.size and hours > 0 else math.nan


def _median(b: FloatArray) -> float:
    known = b[np.isfinite(b)]
    return float(np.median(known)) if known.size else math.nan


def _with_reasons(st: SessionStats, window: float) -> SessionStats:
    """The timing-pivot evidence of a long session."""
    n = len(st.sessions)
    out = [
        Evidence(
            "session.long",
            f"connected for {format_duration(st.connected_s)} of the"
            f" {format_duration(window)} window ({st.coverage:.0%}) in {n} session"
            f"{'s' if n != 1 else ''}; longest connection {format_duration(st.longest_s)}",
        )
    ]
    if st.open_at_end:
        out.append(Evidence(
            "session.open_at_end",
            "a connection was still open when the log ends (not closed by either side)",
        ))  # fmt: skip
    if st.reconnects:
        out.append(Evidence(
            "session.reconnects",
            f"{st.reconnects} reconnect{'s' if st.reconnects != 1 else ''}: a new session"
            " began soon after the previous one ended",
        ))  # fmt: skip
    return SessionStats(**{**_fields(st), "reasons": tuple(out)})


def _fields(st: SessionStats) -> dict[str, Any]:
    return {f: getattr(st, f) for f in SessionStats.__dataclass_fields__}


@register_detector
class LongSessionDetector(Detector):
    """Pairs holding connections open for hours (module docstring)."""

    kind = "long_session"

    def detect(self, data: DetectInput, report: DetectReport) -> list[Candidate]:
        s = data.long_session
        rows = data.store.long_connections(data.start, data.end, s.min_piece_s)
        if rows.pair_id.size == 0:
            return []
        out = []
        bounds = np.flatnonzero(np.diff(rows.pair_id, prepend=-1))
        bounds = np.append(bounds, rows.pair_id.size)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            sl = slice(a, b)
            ts, dur = rows.ts[sl], rows.duration[sl]
            # cheap bound first: the union is at most the sum of durations
            if float(np.sum(np.minimum(dur, data.end - data.start))) < s.min_duration_s:
                continue
            st = session_stats(ts, dur, rows.bytes_out[sl], rows.bytes_in[sl],
                               rows.open_state[sl], data.start, data.end, s,
                               int(rows.n[a]))  # fmt: skip
            if st.score >= data.min_score and st.score > 0:
                times = np.asarray([a0 for a0, _ in st.sessions], dtype=np.float64)
                out.append(Candidate(self.kind, int(rows.pair_id[a]), st, times,
                                     info=st.info()))  # fmt: skip
        return out
