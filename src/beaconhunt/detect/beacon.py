"""The beacon detector: regular check-ins in a train of connections to one destination.

Every candidate pair's outbound connection times and sizes are scored at once
(:func:`~beaconhunt.detect.batch.score_batch`), bulk and highly variable pairs
are dropped by the prefilter (:mod:`~beaconhunt.detect.filter`), pairs with
tasking bursts are also scored with the bursts folded into check-in sessions
(:mod:`~beaconhunt.detect.sessions`; the better view counts), and every pair
scoring at least ``min_score`` becomes a ``beacon`` candidate with its full
:class:`~beaconhunt.detect.score.PairScore`. Formulas: ``docs/scoring.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.base import Candidate, DetectInput, Detector, DetectReport, register_detector
from beaconhunt.detect.batch import BatchScores, SeriesBatch, score_batch
from beaconhunt.detect.filter import FilterResult, FilterSettings, prefilter
from beaconhunt.detect.score import PairScore, score_series
from beaconhunt.detect.sessions import sessions
from beaconhunt.model import Evidence

__all__ = ["BeaconDetector"]


@register_detector
class BeaconDetector(Detector):
    """Periodic check-ins: the beacon score of every candidate pair (module docstring)."""

    kind = "beacon"

    def detect(self, data: DetectInput, report: DetectReport) -> list[Candidate]:
        with report.seconds.stage("detect.beacon.series"):
            series = data.store.pair_series(data.start, data.end)
        if series.pair_id.size == 0:
            return []
        batch = SeriesBatch(series.ts, series.bytes_out, series.bytes_in, series.offsets)
        with report.seconds.stage("detect.beacon.score"):
            scores = score_batch(batch, data.start, data.end, data.score)
        kept = _prefilter(scores, data.filters)
        # pairs whose outbound rows are too few (a domain that also resolved inside)
        enough = scores.n >= data.min_connections
        report.scored += int(np.count_nonzero(enough))
        best = np.where(kept.keep & enough, scores.score, -1.0)
        folded = _session_view(batch, data, best)
        report.dropped.update(_reasons_after_sessions(kept, folded))
        if folded is not None:
            best[folded.pairs] = np.maximum(best[folded.pairs], folded.best)
        reported = np.flatnonzero(best >= data.min_score)
        by_sessions = folded.winners() if folded is not None else {}
        out = []
        for k in reported.tolist():
            ts, bo, bi = batch.pair(k)
            if folded is not None and k in by_sessions:
                ts, detail = _score_sessions(folded, by_sessions[k], ts, data)
            else:
                detail = score_series(ts, bo, bi, data.start, data.end, data.score)
            out.append(Candidate(self.kind, int(series.pair_id[k]), detail, ts))
        return out


def _prefilter(scores: BatchScores, filters: FilterSettings) -> FilterResult:
    """The volume / variability prefilter on a batch's scores."""
    return prefilter(
        scores.n,
        scores.bytes_out_median,
        scores.bytes_in_median,
        # MAD back from the relative MAD; an infinite one (zero median) stays infinite
        np.where(
            np.isinf(scores.bytes_out_rel_mad),
            np.inf,
            scores.bytes_out_rel_mad * scores.bytes_out_median,
        ),
        filters,
    )


@dataclass(frozen=True)
class _Folded:
    """The session view (:mod:`beaconhunt.detect.sessions`) of the pairs that have
    bursts: their indices in the batch, their sessions, the view's usable score
    (-1 when too few sessions or prefiltered) and prefilter result."""

    pairs: NDArray[np.int64]
    sessions: SeriesBatch
    best: NDArray[np.float64]
    kept: FilterResult
    plain: NDArray[np.float64]

    def winners(self) -> dict[int, int]:
        """Batch index -> index in this view, for pairs the view scores strictly higher."""
        better = np.flatnonzero(self.best > self.plain)
        return {int(self.pairs[j]): int(j) for j in better}


def _session_view(
    batch: SeriesBatch, data: DetectInput, plain: NDArray[np.float64]
) -> _Folded | None:
    """Score the pairs that have connections within ``burst_gap_s`` of each other
    again with those bursts folded into sessions; None when no pair has a burst."""
    gap = data.score.burst_gap_s
    if gap <= 0:
        return None
    s = sessions(batch.ts, batch.bytes_out, batch.bytes_in, batch.offsets, gap)
    n = np.diff(batch.offsets)
    pairs = np.flatnonzero((s.counts < n) & (s.counts >= data.min_connections))
    if pairs.size == 0:
        return None
    sub = s.select(pairs)
    scores = score_batch(sub, data.start, data.end, data.score, tails=False)
    kept = _prefilter(scores, data.filters)
    best = np.where(kept.keep, scores.score, -1.0)
    return _Folded(pairs.astype(np.int64), sub, best, kept, plain[pairs])


def _reasons_after_sessions(kept: FilterResult, folded: _Folded | None) -> dict[str, int]:
    """Prefilter drop counts: a pair the session view keeps is not dropped."""
    if folded is None:
        return kept.counts()
    reason = kept.reason.copy()
    rescued = folded.pairs[folded.kept.keep]
    reason[rescued] = 0
    return FilterResult(keep=reason == 0, reason=reason).counts()


def _score_sessions(
    folded: _Folded, j: int, connections: NDArray[np.float64], data: DetectInput
) -> tuple[NDArray[np.float64], PairScore]:
    """A pair scored on its check-in sessions (``j`` in the view), with the real
    connection count and last time and the ``timing.bursts`` reason; also the
    session start times (what the interval statistics describe)."""
    ts, bo, bi = folded.sessions.pair(j)
    score = data.score
    detail = score_series(ts, bo, bi, data.start, data.end, score, tails=False)
    bursts = Evidence(
        "timing.bursts",
        f"{connections.size:,} connections in {ts.size:,} check-in sessions: connections"
        f" at most {score.burst_gap_s:g} s after the previous one (tasking bursts) are"
        " scored as one session",
    )
    return ts, replace(
        detail,
        n_connections=int(connections.size),
        last_seen=float(connections[-1]),
        reasons=(*detail.reasons, bursts),
    )
