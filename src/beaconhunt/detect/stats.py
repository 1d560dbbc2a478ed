"""Pure interval and size statistics for one (source, destination, port) pair.

Every statistic here takes a 1-D array for ONE pair and returns a float; every
sub-score maps a statistic to ``[0, 1]``. These scalar functions are the
specification of the beacon score: the vectorized batch scorer
(:func:`beaconhunt.detect.batch.score_batch`) must give the same numbers for
each pair, and shares the array kernels (the ``_..._v`` helpers) that turn a
statistic into a sub-score.

Conventions, the same for every statistic:

* the input is not modified; it need not be sorted unless the name says so;
* an **empty** input has nothing to measure, so statistics return ``nan``;
  sub-score functions map ``nan`` (no evidence) to ``0.0``;
* quantiles use linear interpolation between order statistics (Hyndman & Fan
  type 7, numpy's default): ``pos = q (n-1)``, ``Q = x[lo] + (pos-lo)(x[lo+1]-x[lo])``.

See ``docs/scoring.md`` for how the sub-scores combine.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "bowley_skew",
    "count_score",
    "coverage_score",
    "cv",
    "dispersion_score",
    "intervals",
    "mad",
    "median",
    "null_scale",
    "quantile",
    "rel_mad",
    "size_score",
    "skew_score",
    "tail_fraction",
    "tail_score",
]

FloatArray = NDArray[np.float64]


def _as_1d(x: ArrayLike) -> FloatArray:
    """``x`` as a 1-D float64 array (a copy only when needed)."""
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _f(x: float) -> FloatArray:
    """A 0-d float64 array, so scalar wrappers can call the array kernels."""
    return np.asarray(x, dtype=np.float64)


def intervals(ts: ArrayLike, min_interval: float = 0.0) -> FloatArray:
    """Gaps between consecutive timestamps: ``d_i = t_(i+1) - t_(i)`` of the sorted ``ts``.

    Gaps ``<= min_interval`` are dropped: with the default ``0.0`` that removes
    only duplicate timestamps (several connections in the same instant are one
    check-in, not a zero-second sleep). Range: every kept gap is ``> min_interval``.
    Edge cases: fewer than two timestamps give an empty array.
    """
    t = np.sort(_as_1d(ts))
    d = np.diff(t)
    return d[d > min_interval]


def _quantile_sorted(xs: FloatArray, q: float) -> float:
    """Type-7 quantile of an already sorted, non-empty array (see module docstring)."""
    pos = q * (xs.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, xs.size - 1)
    return float(xs[lo] + (pos - lo) * (xs[hi] - xs[lo]))


def quantile(x: ArrayLike, q: float) -> float:
    """The ``q``-quantile (``0 <= q <= 1``) by linear interpolation (type 7).

    ``pos = q (n-1)``, ``lo = floor(pos)``: ``Q(q) = x(lo) + (pos-lo) (x(lo+1) - x(lo))``
    on the sorted values. Range: ``[min(x), max(x)]``. Edge cases: empty -> ``nan``;
    one element -> that element; all equal -> that value.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile q must be in [0, 1], got {q}")
    xs = np.sort(_as_1d(x))
    return _quantile_sorted(xs, q) if xs.size else math.nan


def median(x: ArrayLike) -> float:
    """The median, ``Q(0.5)``: the middle value, or the mean of the two middle ones.

    Edge cases: empty -> ``nan``; one element -> that element.
    """
    return quantile(x, 0.5)


def mad(x: ArrayLike) -> float:
    """Median absolute deviation: ``MAD = median(|x_i - median(x)|)`` (not rescaled).

    Range: ``>= 0``, in the units of ``x``; half the values lie within ``median ± MAD``.
    Robust: up to half the values can be arbitrary (lost check-ins, a large
    transfer) without moving it far. Edge cases: empty -> ``nan``; one element
    or all equal -> ``0.0``.
    """
    v = _as_1d(x)
    if v.size == 0:
        return math.nan
    return median(np.abs(v - median(v)))


def rel_mad(x: ArrayLike) -> float:
    """Relative MAD, scale-free dispersion: ``MAD(x) / median(x)``.

    A 60 s beacon wobbling ±6 s and a 1 h beacon wobbling ±6 min both score
    0.1, which is why the timing score uses it instead of the absolute MAD.
    Range: ``>= 0`` for non-negative data. Edge cases: empty -> ``nan``;
    ``MAD == 0`` -> ``0.0`` (even with a zero median); zero median with
    ``MAD > 0`` -> ``inf``.
    """
    return float(_rel_mad_v(_f(mad(x)), _f(median(x))))


def _rel_mad_v(m: FloatArray, med: FloatArray) -> FloatArray:
    """``MAD / |median|`` with the edge cases of :func:`rel_mad` (``nan`` stays ``nan``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = m / np.abs(med)
    r = np.where(med != 0.0, r, np.inf)
    return np.where(np.isnan(m), np.nan, np.where(m == 0.0, 0.0, r))


def bowley_skew(x: ArrayLike, min_rel_iqr: float = 0.0, min_iqr: float = 0.0) -> float:
    """Bowley (quartile) skewness: ``(Q3 + Q1 - 2 Q2) / (Q3 - Q1)``.

    Range: ``[-1, 1]``; 0 for a symmetric spread (uniform jitter), positive when
    the upper quartile is further from the median (a long tail of late
    check-ins). ``min_rel_iqr`` ignores immaterial spreads: when
    ``Q3 - Q1 <= min_rel_iqr * |Q2|`` the result is 0, so clock rounding on a
    perfect period cannot read as skew (the scorer uses 0.02: a spread under 2%
    of the period). ``min_iqr`` does the same for an absolute spread in the data's
    unit: logs with whole-second times turn a 20 s beacon's ±1 s jitter into
    intervals of 19, 20 and 21 s whose quartiles are lopsided only by rounding
    (the scorer uses 2 s). Edge cases: empty -> ``nan``; ``Q3 == Q1`` (one
    element, all equal, or more than half the values equal) -> ``0.0``.
    """
    xs = np.sort(_as_1d(x))
    if xs.size == 0:
        return math.nan
    q1, q2, q3 = (_f(_quantile_sorted(xs, q)) for q in (0.25, 0.5, 0.75))
    return float(_bowley_v(q1, q2, q3, min_rel_iqr, min_iqr))


def _bowley_v(
    q1: FloatArray, q2: FloatArray, q3: FloatArray, min_rel_iqr: float = 0.0, min_iqr: float = 0.0
) -> FloatArray:
    """Bowley skewness from quartile arrays; 0 where ``q3 - q1 <= min_rel_iqr * |q2|``
    or ``q3 - q1 <= min_iqr``."""
    iqr = q3 - q1
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (q3 + q1 - 2.0 * q2) / iqr
    material = (iqr > 0) & (iqr > min_rel_iqr * np.abs(q2)) & (iqr > min_iqr)
    return np.where(material, np.clip(s, -1.0, 1.0), 0.0)


def cv(x: ArrayLike) -> float:
    """Coefficient of variation: ``std(x) / mean(x)`` (population std, ``ddof=0``).

    Reported for people, not scored: one lost check-in or one long night gap
    moves it a lot (it is not robust). Range: ``>= 0`` for non-negative data.
    Edge cases: empty -> ``nan``; one element or all equal -> ``0.0`` (up to
    the rounding of the mean); zero mean with ``std > 0`` -> ``inf``.
    """
    v = _as_1d(x)
    if v.size == 0:
        return math.nan
    mean = np.mean(v)
    sd = np.sqrt(np.mean((v - mean) ** 2))
    return float(_cv_v(_f(float(mean)), _f(float(sd))))


def _cv_v(mean: FloatArray, sd: FloatArray) -> FloatArray:
    """``sd / |mean|`` with the edge cases of :func:`cv`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(mean != 0.0, sd / np.abs(mean), np.inf)
    return np.where(np.isnan(sd), np.nan, np.where(sd == 0.0, 0.0, r))


# --- sub-scores: statistic -> [0, 1] ----------------------------------------------------------
# Each public function is the scalar spec; the ``_v`` kernel is the same formula on arrays,
# shared with the batch scorer so both give identical numbers.


def _ratio_score_v(r: FloatArray, scale: FloatArray | float) -> FloatArray:
    """``max(0, 1 - (r / scale)^2)``, ``nan`` -> 0, ``inf`` -> 0."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        s = 1.0 - np.square(r / scale)
    return np.where(np.isfinite(s), np.clip(s, 0.0, 1.0), 0.0)


def _null_scale_v(n: FloatArray, level: float, null_sd: float, z: float) -> FloatArray:
    """``max(level - z * null_sd / sqrt(n), 1e-6)``; ``n <= 0`` -> ``1e-6``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = level - z * null_sd / np.sqrt(n)
    return np.where(n > 0, np.maximum(scale, 1e-6), 1e-6)


def null_scale(n: float, level: float, null_sd: float, z: float = 2.33) -> float:
    """Where random gaps would land at this sample size: ``level - z * null_sd / sqrt(n)``.

    For exponential (Poisson) gaps a statistic has mean ``level`` and standard
    deviation about ``null_sd / sqrt(n)`` over ``n`` intervals (measured:
    relative MAD 0.69 and 0.63, mean residual 0.39 and 0.27). With ``z = 2.33``
    the result is the 1% lower tail: only 1 random pair in 100 looks that
    regular by chance. Range: ``[1e-6, level)``, growing with ``n`` towards
    ``level``. Edge cases: ``n <= 0`` or a non-positive result -> ``1e-6``.
    """
    return float(_null_scale_v(_f(n), level, null_sd, z))


def dispersion_score(
    rel_mad_: float, n: float, level: float = 0.69, null_sd: float = 0.63, z: float = 2.33
) -> float:
    """Timing regularity from the relative MAD ``r`` of ``n`` intervals.

    ``s = max(0, 1 - (r / c)^2)`` with ``c = null_scale(n, level, null_sd, z)``:
    0 where a Poisson process of the same size would land at its 1% tail
    (``c`` = 0.39 for 24 intervals, 0.66 for 1,440). Quadratic, so small jitter
    costs little: Cobalt Strike at 50% jitter (``r`` ≈ 0.17) keeps 0.93 over a
    day of 60 s check-ins and 0.81 over a day of hourly ones. Range ``[0, 1]``,
    1 for a perfect period. Edge cases: ``nan``/``inf`` -> 0; ``r = 0`` -> 1.
    """
    c = _null_scale_v(_f(n), level, null_sd, z)
    return float(_ratio_score_v(_f(rel_mad_), c))


TAIL_LOW, TAIL_HIGH = 0.05, 2.5
"""Intervals below ``TAIL_LOW`` or at or above ``TAIL_HIGH`` times the median are tails."""
TAIL_LEVEL = 1.0 - 2.0**-TAIL_LOW + 2.0**-TAIL_HIGH
"""The tail fraction of exponential (Poisson) gaps: ``1 - 2^-0.05 + 2^-2.5`` = 0.211."""
TAIL_NULL_SD = 0.45
"""Its spread over ``n`` random gaps, times ``sqrt(n)`` (measured: 0.41-0.46 for n = 20-3000)."""
TAIL_MIN_INTERVALS = 40
"""Fewest intervals the tail measure speaks for: ``n`` random gaps all land in the bulk
with probability ``0.79^n`` (1 in 300 for 24 gaps, 1 in 12,000 for 40)."""


def tail_fraction(x: ArrayLike) -> float:
    """Share of intervals far from the median: ``d < 0.05 m`` or ``d >= 2.5 m``.

    A timer's intervals are bounded: uniform jitter of 90% around the sleep
    (Havoc) stays in ``[0.1 S, 1.9 S]`` and Cobalt Strike's ``[S(1-j), S]`` never
    exceeds the sleep, so the fraction is 0 however large the jitter, and only
    lost check-ins (two or three sleeps in one gap) add to it. Memoryless gaps
    put 21% there (:data:`TAIL_LEVEL`). Where the relative MAD of a 90% jittered
    beacon (0.45) is close to random gaps' 0.69, this is 0 against 0.21.
    Range ``[0, 1]``. Edge cases: empty -> ``nan``.
    """
    v = _as_1d(x)
    if v.size == 0:
        return math.nan
    m = float(np.median(v))
    return float(np.count_nonzero((v < TAIL_LOW * m) | (v >= TAIL_HIGH * m)) / v.size)


def tail_score(fraction: float, n: float, z: float = 2.33) -> float:
    """Timing regularity from the tail fraction of ``n`` intervals, like
    :func:`dispersion_score`: ``max(0, 1 - (f / c)^2)`` with
    ``c = null_scale(n, TAIL_LEVEL, TAIL_NULL_SD, z)`` (``c`` = 0.045 for 40
    intervals, 0.105 for 100, 0.177 for 1,000), and 0 under
    :data:`TAIL_MIN_INTERVALS` intervals, where random gaps too often have no
    tail at all. Range ``[0, 1]``; ``nan`` -> 0.
    """
    return float(_tail_score_v(_f(fraction), _f(n), z))


def _tail_score_v(fraction: FloatArray, n: FloatArray, z: float) -> FloatArray:
    """:func:`tail_score` on arrays: 0 below :data:`TAIL_MIN_INTERVALS` intervals."""
    c = _null_scale_v(n, TAIL_LEVEL, TAIL_NULL_SD, z)
    return np.where(n >= TAIL_MIN_INTERVALS, _ratio_score_v(fraction, c), 0.0)


def size_score(rel_mad_: float, scale: float = 0.5) -> float:
    """Size consistency from the relative MAD ``r`` of ``bytes_out``.

    ``s = max(0, 1 - (r / scale)^2)``: identical check-in sizes give 1; the
    median-based ``r`` ignores occasional large tasking transfers as long as
    they are fewer than half the connections. Range ``[0, 1]``. Edge cases:
    ``nan`` (no size known) -> 0 here; the scorer substitutes its neutral
    ``size_unknown`` setting instead of calling this.
    """
    return float(_ratio_score_v(_f(rel_mad_), scale))


def _skew_score_v(skew: FloatArray) -> FloatArray:
    """``1 - |skew|`` clipped to ``[0, 1]``, ``nan`` -> 0."""
    s = 1.0 - np.abs(skew)
    return np.where(np.isfinite(s), np.clip(s, 0.0, 1.0), 0.0)


def skew_score(skew: float) -> float:
    """Symmetry of the intervals: ``1 - |bowley_skew|``.

    Range ``[0, 1]``; 1 when the quartiles are symmetric about the median.
    Edge cases: ``nan`` -> 0.
    """
    return float(_skew_score_v(_f(skew)))


def _coverage_score_v(active_s: FloatArray, span_s: FloatArray, tau_s: float) -> FloatArray:
    """``ln(1 + a/tau) / ln(1 + max(span, a)/tau)``, 0 when ``a <= 0``."""
    a = np.maximum(np.asarray(active_s, dtype=np.float64), 0.0)
    w = np.maximum(np.asarray(span_s, dtype=np.float64), a)
    den = np.log1p(w / tau_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.log1p(a / tau_s) / den
    return np.where((a > 0) & np.isfinite(s), np.clip(s, 0.0, 1.0), 0.0)


def coverage_score(active_s: float, span_s: float, tau_s: float = 300.0) -> float:
    """How much of the observed span the pair is active, on a log-time scale.

    ``s = ln(1 + a/tau) / ln(1 + W/tau)`` with ``a`` = last - first timestamp of
    the pair, ``W = max(span, a)`` the dataset's observed span and ``tau`` a time
    constant (default 5 min). Each doubling of the active time adds about the
    same, so a 15-minute beacon in a 24 h dataset keeps 0.24 (not 0.01), one
    seen for an hour 0.45, and a beacon silent at night (10 h of 24) 0.85. Range ``[0, 1]``, 1 when
    active across the whole span. Edge cases: ``a <= 0`` -> 0.
    """
    return float(_coverage_score_v(_f(active_s), _f(span_s), tau_s))


def _count_score_v(n: FloatArray, n_min: float, n_full: float) -> FloatArray:
    """``clip(ln(n / n_min) / ln(n_full / n_min), 0, 1)``, 0 when ``n <= n_min``."""
    nn = np.maximum(np.asarray(n, dtype=np.float64), n_min)
    s = np.log(nn / n_min) / math.log(n_full / n_min)
    return np.clip(s, 0.0, 1.0)


def count_score(n_intervals: float, n_min: float = 2.0, n_full: float = 20.0) -> float:
    """Confidence from the number of intervals ``n``, saturating.

    ``s = clip(ln(n / n_min) / ln(n_full / n_min), 0, 1)``: 0 up to ``n_min``
    intervals (too few to say anything), 1 from ``n_full`` on (an hourly beacon
    over a day even with a few lost check-ins, or 10 minutes of a 30 s one);
    10 intervals give 0.70. Range ``[0, 1]``. Edge cases: ``n <= n_min`` -> 0.
    """
    return float(_count_score_v(_f(n_intervals), n_min, n_full))
