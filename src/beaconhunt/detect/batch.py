"""Vectorized scoring of many pairs at once.

The store hands the detector a ragged batch: flat arrays ``ts``, ``bytes_out``,
``bytes_in`` and ``offsets`` (pair ``i`` is rows ``offsets[i]:offsets[i+1]``,
``ts`` ascending within each pair). :func:`score_batch` computes, for every
pair, exactly the statistics and scores of
:func:`beaconhunt.detect.score.score_series` (to rounding, ~1e-12), with numpy
segment operations over the whole batch and no Python loop per pair: one
exact segmented sort per quantity (intervals, bytes_out, bytes_in), quantiles
by index arithmetic, the MAD by merging the two sorted halves around the
median, sums by ``np.add.reduceat``. Reasons are not computed here; call
``score_series`` for the few pairs you report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from beaconhunt.detect import _segments as seg
from beaconhunt.detect import stats
from beaconhunt.detect.periodicity import CORE_HIGH, CORE_LOW, _fold_v
from beaconhunt.detect.score import DEFAULT_SETTINGS, ScoreSettings, _check_span, _compose_v
from beaconhunt.model import ScoreComponents

__all__ = ["BatchScores", "SeriesBatch", "score_batch"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class SeriesBatch:
    """Connections of many pairs as flat arrays; pair ``i`` is rows ``offsets[i]:offsets[i+1]``.

    ``ts`` are epoch seconds, ascending within each pair; ``bytes_out`` and
    ``bytes_in`` are NaN where unknown. ``offsets`` starts at 0, never
    decreases and ends at ``len(ts)``.
    """

    ts: FloatArray
    bytes_out: FloatArray
    bytes_in: FloatArray
    offsets: IntArray

    def __post_init__(self) -> None:
        n, off = self.ts.size, self.offsets
        if self.bytes_out.shape != (n,) or self.bytes_in.shape != (n,) or self.ts.ndim != 1:
            raise ValueError("ts, bytes_out and bytes_in must be 1-D arrays of one length")
        if off.ndim != 1 or off.size < 1 or off[0] != 0 or off[-1] != n:
            raise ValueError("offsets must be 1-D, start at 0 and end at len(ts)")
        if np.any(np.diff(off) < 0):
            raise ValueError("offsets must not decrease")

    @classmethod
    def from_series(
        cls,
        ts: Sequence[ArrayLike],
        bytes_out: Sequence[ArrayLike | None] | None = None,
        bytes_in: Sequence[ArrayLike | None] | None = None,
    ) -> SeriesBatch:
        """Build a batch from per-pair arrays (each pair's ``ts`` is sorted, bytes follow it).

        Missing byte arrays (``None``, or the whole list ``None``) become NaN.
        """
        parts = [_pair_arrays(t, _nth(bytes_out, i), _nth(bytes_in, i)) for i, t in enumerate(ts)]
        sizes = np.array([p[0].size for p in parts], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        cat = [np.concatenate([p[j] for p in parts]) if parts else np.empty(0) for j in range(3)]
        return cls(cat[0], cat[1], cat[2], offsets)

    @property
    def n_pairs(self) -> int:
        """Number of pairs in the batch."""
        return int(self.offsets.size - 1)

    def pair(self, i: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(ts, bytes_out, bytes_in)`` of pair ``i`` (views, not copies)."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.ts[a:b], self.bytes_out[a:b], self.bytes_in[a:b]

    @property
    def counts(self) -> IntArray:
        """Rows per pair."""
        return np.diff(self.offsets).astype(np.int64)

    def select(self, pairs: IntArray) -> SeriesBatch:
        """The pairs at the given indices (ascending), as a new batch."""
        counts = self.counts
        rows = np.repeat(np.isin(np.arange(counts.size), pairs), counts)
        offsets = np.concatenate(([0], np.cumsum(counts[pairs]))).astype(np.int64)
        return SeriesBatch(self.ts[rows], self.bytes_out[rows], self.bytes_in[rows], offsets)


def _nth(values: Sequence[ArrayLike | None] | None, i: int) -> ArrayLike | None:
    """``values[i]``, or ``None`` when the whole list is missing."""
    return None if values is None else values[i]


def _pair_arrays(
    ts: ArrayLike, bo: ArrayLike | None, bi: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One pair's arrays as float64, sorted by time, NaN bytes where missing."""
    t = np.asarray(ts, dtype=np.float64).reshape(-1)
    order = np.argsort(t, kind="stable")

    def col(v: ArrayLike | None) -> FloatArray:
        if v is None:
            return np.full(t.size, np.nan)
        arr = np.asarray(v, dtype=np.float64).reshape(-1)
        if arr.size != t.size:
            raise ValueError("bytes arrays must have one value per timestamp")
        return arr[order]

    return t[order], col(bo), col(bi)


@dataclass(frozen=True, slots=True)
class BatchScores:
    """Per-pair results of :func:`score_batch`, one array entry per pair.

    Components (each in [0, 1]): ``score``, ``dispersion``, ``skew_score``,
    ``periodicity``, ``size``, ``coverage``, ``count``. Statistics as in
    :class:`beaconhunt.detect.score.PairScore` (``skew`` is the Bowley skew
    itself); ``n`` counts connections, ``n_intervals`` the kept intervals.
    """

    score: FloatArray
    dispersion: FloatArray
    skew_score: FloatArray
    periodicity: FloatArray
    size: FloatArray
    coverage: FloatArray
    count: FloatArray
    n: IntArray
    n_intervals: IntArray
    first_seen: FloatArray
    last_seen: FloatArray
    median_interval: FloatArray
    mad_interval: FloatArray
    rel_mad: FloatArray
    skew: FloatArray
    cv: FloatArray
    period: FloatArray
    mean_residual: FloatArray
    near_fraction: FloatArray
    multiple_fraction: FloatArray
    tail_fraction: FloatArray
    bytes_out_median: FloatArray
    bytes_out_rel_mad: FloatArray
    bytes_in_median: FloatArray
    bytes_in_rel_mad: FloatArray

    def __len__(self) -> int:
        return int(self.score.size)

    def components_at(self, i: int) -> ScoreComponents:
        """The sub-scores of pair ``i`` as the model's :class:`ScoreComponents`."""
        return ScoreComponents(
            dispersion=float(self.dispersion[i]),
            skew=float(self.skew_score[i]),
            periodicity=float(self.periodicity[i]),
            size=float(self.size[i]),
            coverage=float(self.coverage[i]),
            count=float(self.count[i]),
            score=float(self.score[i]),
        )

    def top(self, k: int) -> IntArray:
        """Indices of the ``k`` highest scores, best first (ties: lower index first)."""
        order = np.argsort(-self.score, kind="stable")
        return order[: max(0, k)].astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Sorted:
    """One quantity of every pair, sorted within the pair, NaN (unknown) last.

    The array has the batch's row layout: pair ``i`` owns rows
    ``starts[i]:starts[i] + len_i`` and its ``n[i]`` known values come first.
    """

    values: FloatArray
    starts: IntArray
    n: IntArray

    def quantile(self, q: float) -> FloatArray:
        return seg.quantile(self.values, self.starts, self.n, q)

    def median_mad(self) -> tuple[FloatArray, FloatArray]:
        med = self.quantile(0.5)
        return med, seg.mad(self.values, self.starts, self.n, med)


def _row_intervals(ts: FloatArray, offsets: IntArray, min_interval: float) -> FloatArray:
    """Per row, the gap to the previous row of the same pair; NaN for first rows and
    for gaps ``<= min_interval`` (dropped, as in :func:`stats.intervals`)."""
    if not np.all(np.isfinite(ts)):
        raise ValueError("timestamps must be finite")
    d = np.empty_like(ts)
    if ts.size:
        d[0] = np.nan
        np.subtract(ts[1:], ts[:-1], out=d[1:])
        d[offsets[:-1][np.diff(offsets) > 0]] = np.nan
    if np.any(d < 0):
        raise ValueError("ts must be sorted ascending within each pair")
    d[d <= min_interval] = np.nan
    return d


def _sorted(sorter: seg.SegmentSorter, column: FloatArray, offsets: IntArray) -> _Sorted:
    """``column`` sorted within each pair, with each pair's count of known values."""
    return _Sorted(sorter.sort(column), offsets[:-1], seg.count_true(~np.isnan(column), offsets))


@dataclass(frozen=True, slots=True)
class _Timing:
    """Interval statistics of every pair (arrays)."""

    median: FloatArray
    mad: FloatArray
    rel_mad: FloatArray
    cv: FloatArray
    period: FloatArray
    skew: FloatArray
    mean_residual: FloatArray
    near_fraction: FloatArray
    multiple_fraction: FloatArray
    tail_fraction: FloatArray


def _timing(iv: _Sorted, offsets: IntArray, s: ScoreSettings) -> _Timing:
    """Median, MAD, CV, core period and skew, and folding residuals per pair."""
    med, mad = iv.median_mad()
    period, skew = _core(iv, med, s.skew_min_rel_iqr, s.skew_min_iqr_s)
    resid = _residuals(iv, offsets, period, s.near_tolerance)
    return _Timing(
        median=med,
        mad=mad,
        rel_mad=stats._rel_mad_v(mad, med),
        cv=_cv(iv, offsets),
        period=period,
        skew=skew,
        mean_residual=resid[0],
        near_fraction=resid[1],
        multiple_fraction=resid[2],
        tail_fraction=_tails(iv, med),
    )


def _tails(iv: _Sorted, med: FloatArray) -> FloatArray:
    """Per pair, :func:`stats.tail_fraction`: intervals ``< TAIL_LOW·m`` or ``>= TAIL_HIGH·m``."""
    m = np.where(np.isnan(med), 0.0, med)
    low = seg.search_sorted(iv.values, iv.starts, iv.n, stats.TAIL_LOW * m)
    below_high = seg.search_sorted(iv.values, iv.starts, iv.n, stats.TAIL_HIGH * m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(iv.n > 0, (low + iv.n - below_high) / iv.n, np.nan)


def _core(
    iv: _Sorted, med: FloatArray, min_rel_iqr: float, min_iqr: float
) -> tuple[FloatArray, FloatArray]:
    """Period (median) and Bowley skew of the core ``[P0/2, 3 P0/2)`` of each pair."""
    p0 = np.where(np.isnan(med), 0.0, med)
    below = seg.search_sorted(iv.values, iv.starts, iv.n, CORE_LOW * p0)
    upto = seg.search_sorted(iv.values, iv.starts, iv.n, CORE_HIGH * p0)
    empty = upto == below
    core = _Sorted(
        iv.values,
        np.where(empty, iv.starts, iv.starts + below),
        np.where(empty, iv.n, upto - below),
    )
    q1, q2, q3 = (core.quantile(q) for q in (0.25, 0.5, 0.75))
    return q2, np.where(core.n > 0, stats._bowley_v(q1, q2, q3, min_rel_iqr, min_iqr), np.nan)


def _residuals(
    iv: _Sorted, offsets: IntArray, period: FloatArray, tol: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean residual, near fraction and near-multiple fraction per pair (``nan`` if empty)."""
    per_row = seg.expand(period, offsets)
    k, r = _fold_v(iv.values, per_row, out=per_row)
    near = r <= tol
    mult = np.greater_equal(k, 2.0, out=np.empty(k.size, dtype=np.bool_))
    mult &= near
    np.copyto(r, 0.0, where=np.isnan(r))
    n = iv.n.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_r = seg.segment_sum(r, offsets) / n
        near_f = seg.count_true(near, offsets) / n
        mult_f = seg.count_true(mult, offsets) / n
    return mean_r, near_f, mult_f


def _cv(iv: _Sorted, offsets: IntArray) -> FloatArray:
    """Coefficient of variation of each pair's intervals (population std / mean)."""
    n = iv.n.astype(np.float64)
    unknown = np.isnan(iv.values)
    x = np.where(unknown, 0.0, iv.values)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = seg.segment_sum(x, offsets) / n
        np.subtract(x, seg.expand(mean, offsets), out=x)
        np.square(x, out=x)
        x[unknown] = 0.0
        sd = np.sqrt(seg.segment_sum(x, offsets) / n)
    return stats._cv_v(mean, sd)


def score_batch(
    batch: SeriesBatch,
    span_start: float,
    span_end: float,
    settings: ScoreSettings = DEFAULT_SETTINGS,
    *,
    tails: bool = True,
) -> BatchScores:
    """Score every pair of ``batch``: the numbers of ``score_series`` for each, vectorized
    (``tails`` as there)."""
    span = _check_span(span_start, span_end)
    off = batch.offsets
    sorter = seg.SegmentSorter(off)
    # one column at a time, so only one sorted copy of the batch is alive at once
    iv = _sorted(sorter, _row_intervals(batch.ts, off, settings.min_interval_s), off)
    tm, n_intervals = _timing(iv, off, settings), iv.n
    del iv
    sizes = _sizes(sorter, batch)
    first, last = _first_last(batch.ts, off)
    comps = _components(tm, n_intervals, sizes, last - first, span, settings, tails)
    return BatchScores(
        **comps,
        n=np.diff(off).astype(np.int64),
        n_intervals=n_intervals.astype(np.int64),
        first_seen=first,
        last_seen=last,
        median_interval=tm.median,
        mad_interval=tm.mad,
        rel_mad=tm.rel_mad,
        skew=tm.skew,
        cv=tm.cv,
        period=tm.period,
        mean_residual=tm.mean_residual,
        near_fraction=tm.near_fraction,
        multiple_fraction=tm.multiple_fraction,
        tail_fraction=tm.tail_fraction,
        bytes_out_median=sizes.out_median,
        bytes_out_rel_mad=sizes.out_rel_mad,
        bytes_in_median=sizes.in_median,
        bytes_in_rel_mad=sizes.in_rel_mad,
    )


@dataclass(frozen=True, slots=True)
class _Sizes:
    """Per pair: bytes_out median, relative MAD and known count; bytes_in median."""

    out_median: FloatArray
    out_rel_mad: FloatArray
    out_known: IntArray
    in_median: FloatArray
    in_rel_mad: FloatArray
    in_known: IntArray


def _sizes(sorter: seg.SegmentSorter, batch: SeriesBatch) -> _Sizes:
    """Median and relative MAD of bytes_out, median of bytes_in, per pair (known values);
    the relative MAD of bytes_in only for pairs without any bytes_out."""
    bo = _sorted(sorter, batch.bytes_out, batch.offsets)
    med, mad = bo.median_mad()
    known = bo.n
    del bo
    bi = _sorted(sorter, batch.bytes_in, batch.offsets)
    in_med = bi.quantile(0.5)
    need = np.where(known == 0, bi.n, 0)
    in_mad = seg.mad(bi.values, bi.starts, need, in_med)
    in_rel = np.where(need > 0, stats._rel_mad_v(in_mad, in_med), np.nan)
    return _Sizes(med, stats._rel_mad_v(mad, med), known, in_med, in_rel, bi.n)


def _first_last(ts: FloatArray, offsets: IntArray) -> tuple[FloatArray, FloatArray]:
    """First and last timestamp of each pair (``nan`` for an empty pair)."""
    n = np.diff(offsets)
    first, last = np.full(n.size, np.nan), np.full(n.size, np.nan)
    ok = n > 0
    first[ok] = ts[offsets[:-1][ok]]
    last[ok] = ts[offsets[1:][ok] - 1]
    return first, last


def _components(
    tm: _Timing,
    n_intervals: IntArray,
    sizes: _Sizes,
    active: FloatArray,
    span: float,
    s: ScoreSettings,
    tails: bool = True,
) -> dict[str, FloatArray]:
    """Every sub-score array and the composite, with the kernels of the scalar spec."""
    active = np.where(np.isnan(active), 0.0, active)
    n = n_intervals.astype(np.float64)
    size = stats._ratio_score_v(sizes.out_rel_mad, s.size_scale)
    c_disp = stats._null_scale_v(n, s.dispersion_level, s.dispersion_null_sd, s.null_z)
    c_per = stats._null_scale_v(n, s.periodicity_level, s.periodicity_null_sd, s.null_z)
    parts = {
        "dispersion": np.maximum(
            stats._ratio_score_v(tm.rel_mad, c_disp),
            stats._tail_score_v(tm.tail_fraction, n, s.null_z) if tails else 0.0,
        ),
        "skew_score": stats._skew_score_v(tm.skew),
        "periodicity": stats._ratio_score_v(tm.mean_residual, c_per),
        "size": np.where(
            sizes.out_known > 0,
            size,
            np.where(
                sizes.in_known > 0,
                stats._ratio_score_v(sizes.in_rel_mad, s.size_scale),
                s.size_unknown,
            ),
        ),
        "coverage": stats._coverage_score_v(active, np.full(active.size, span), s.coverage_tau_s),
        "count": stats._count_score_v(n, s.count_min, s.count_full),
    }
    parts["score"] = _compose_v(list(parts.values()), s)  # insertion order = ScoreComponents
    return parts
