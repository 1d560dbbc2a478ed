"""The beacon score of one pair: settings, sub-scores and their composition.

``score = count × (w_d·dispersion + w_s·skew + w_p·periodicity + g·(w_z·size + w_c·coverage))``

* ``dispersion``: the better of two regularity measures, each judged against
  what random gaps of the same sample size would show: the relative MAD of the
  intervals (:func:`stats.dispersion_score`) and the share of intervals far
  from the median (:func:`stats.tail_score`), which stays 0 for a timer however
  large its jitter;
* ``skew``: Bowley skew of the core intervals (:func:`stats.skew_score`);
* ``periodicity``: residual to the nearest multiple of the period
  (:mod:`beaconhunt.detect.periodicity`), which forgives missed check-ins;
* ``size``: relative MAD of ``bytes_out`` (:func:`stats.size_score`), or of
  ``bytes_in`` when a log records no request size (Squid), neutral when neither;
* ``coverage``: active time on a log scale (:func:`stats.coverage_score`);
* ``count``: saturating confidence from the number of intervals (:func:`stats.count_score`);
* ``g = min(1, T / context_gate)`` with ``T`` the weighted mean of the three timing
  sub-scores: size and persistence only support *regular* timing, so a client
  sending equal-sized requests at random times all day cannot look like a beacon.

The weights ``w_*`` sum to 1, so the score is in ``[0, 1]``; see ``docs/scoring.md``.
:func:`score_series` is the reference for one pair; :func:`beaconhunt.detect.batch.score_batch`
computes the same numbers for a whole batch at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from beaconhunt.detect import stats
from beaconhunt.detect.periodicity import core_intervals, measure_periodicity
from beaconhunt.detect.reasons import explain
from beaconhunt.errors import ConfigError
from beaconhunt.model import Evidence, ScoreComponents

__all__ = ["DEFAULT_SETTINGS", "PairScore", "ScoreSettings", "score_series"]

FloatArray = NDArray[np.float64]


T = TypeVar("T", int, float)


def _setting(default: T, help: str, lo: float | None = None, hi: float | None = None) -> T:
    """A settings field with its help text and range in ``metadata``.

    Same convention as :func:`beaconhunt.config.setting` (the commented default
    config file and range checks are generated from it), without importing the
    config layer into the detector.
    """
    return field(default=default, metadata={"help": help, "min": lo, "max": hi})


@dataclass(frozen=True, slots=True)
class ScoreSettings:
    """Weights and thresholds of the beacon score (section ``[score]``, see docs/scoring.md)."""

    weight_dispersion: float = _setting(
        0.40, "Weight of the interval dispersion sub-score (relative MAD of the intervals).", 0, 1
    )
    weight_skew: float = _setting(
        0.05, "Weight of the symmetry sub-score (Bowley skew of the core intervals).", 0, 1
    )
    weight_periodicity: float = _setting(
        0.25, "Weight of the periodicity sub-score (residual to the nearest multiple).", 0, 1
    )
    weight_size: float = _setting(0.20, "Weight of the bytes_out size consistency.", 0, 1)
    weight_coverage: float = _setting(0.10, "Weight of the coverage (persistence).", 0, 1)
    dispersion_level: float = _setting(
        0.69, "Relative MAD of random (Poisson) gaps: dispersion is 0 near it.", 0
    )
    dispersion_null_sd: float = _setting(
        0.63, "Spread of that relative MAD over n random gaps, times sqrt(n).", 0
    )
    periodicity_level: float = _setting(
        0.39, "Mean residual (in periods) of random gaps: periodicity is 0 near it.", 0
    )
    periodicity_null_sd: float = _setting(
        0.27, "Spread of that mean residual over n random gaps, times sqrt(n).", 0
    )
    null_z: float = _setting(
        2.33, "Sub-scores reach 0 this many spreads below the random level (1 in 100).", 0
    )
    skew_min_rel_iqr: float = _setting(
        0.02, "Core IQR / median at or below which skew counts as 0 (timing noise).", 0
    )
    skew_min_iqr_s: float = _setting(
        2.0,
        "Core IQR (s) at or below which skew counts as 0 (whole-second log timestamps).",
        0,
    )
    near_tolerance: float = _setting(
        0.2, "Residual (in periods) counted as near a multiple, for reasons only.", 0, 0.5
    )
    size_scale: float = _setting(0.5, "Relative MAD of bytes_out where size reaches 0.", 0)
    size_unknown: float = _setting(
        0.5, "Size sub-score when no byte count (bytes_out or bytes_in) is known (neutral).", 0, 1
    )
    coverage_tau_s: float = _setting(
        300.0, "Time constant (s) of the log-time coverage sub-score.", 0
    )
    count_min: float = _setting(2.0, "Intervals at or below which the count confidence is 0.", 0)
    count_full: float = _setting(20.0, "Intervals from which the count confidence is 1.", 0)
    context_gate: float = _setting(
        0.6, "Timing regularity from which size and coverage count in full.", 0, 1
    )
    min_interval_s: float = _setting(
        0.0, "Gaps at or below this (s) are dropped; 0 drops only duplicate timestamps.", 0
    )
    beacon_threshold: float = _setting(
        0.7, "Score from which a pair reads as beacon-like (calibrated in tests).", 0, 1
    )
    burst_gap_s: float = _setting(
        5.0,
        "Connections at most this many seconds after the previous one of the pair are also"
        " scored folded into one check-in session (tasking bursts); the better view counts."
        " 0 turns the session view off.",
        0,
        3600,
    )

    def __post_init__(self) -> None:
        _check_weights(self)
        _check_ranges(self)

    @property
    def timing_weight(self) -> float:
        """``w_d + w_s + w_p``: the share of the score carried by timing alone."""
        return self.weight_dispersion + self.weight_skew + self.weight_periodicity


def _check_weights(s: ScoreSettings) -> None:
    """Weights each in [0, 1], summing to 1, with some weight on timing."""
    names = [f.name for f in fields(s) if f.name.startswith("weight_")]
    values = [getattr(s, n) for n in names]
    for name, value in zip(names, values, strict=True):
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} must be in [0, 1], got {value}")
    if abs(sum(values) - 1.0) > 1e-9:
        raise ConfigError(f"score weights must sum to 1, got {sum(values):.6g}")
    if s.timing_weight <= 0.0:
        raise ConfigError("the timing weights (dispersion, skew, periodicity) must not all be 0")


_POSITIVE = (
    "dispersion_level",
    "dispersion_null_sd",
    "periodicity_level",
    "periodicity_null_sd",
    "size_scale",
    "coverage_tau_s",
)
_UNIT = ("size_unknown", "beacon_threshold")


def _check_ranges(s: ScoreSettings) -> None:
    """Per-field ranges and the one ordering constraint (count_min < count_full)."""
    for name in _POSITIVE:
        if not getattr(s, name) > 0.0:
            raise ConfigError(f"{name} must be > 0, got {getattr(s, name)}")
    for name in _UNIT:
        if not 0.0 <= getattr(s, name) <= 1.0:
            raise ConfigError(f"{name} must be in [0, 1], got {getattr(s, name)}")
    for name in ("null_z", "skew_min_rel_iqr", "skew_min_iqr_s"):
        if not getattr(s, name) >= 0.0:
            raise ConfigError(f"{name} must be >= 0, got {getattr(s, name)}")
    if not 0.0 < s.near_tolerance <= 0.5:
        raise ConfigError(f"near_tolerance must be in (0, 0.5], got {s.near_tolerance}")
    if not 0.0 < s.context_gate <= 1.0:
        raise ConfigError(f"context_gate must be in (0, 1], got {s.context_gate}")
    if not s.min_interval_s >= 0.0:
        raise ConfigError(f"min_interval_s must be >= 0, got {s.min_interval_s}")
    if not 0.0 < s.count_min < s.count_full:
        raise ConfigError(f"need 0 < count_min < count_full, got {s.count_min} and {s.count_full}")


DEFAULT_SETTINGS = ScoreSettings()


@dataclass(frozen=True, slots=True)
class PairScore:
    """What the detector says about one pair: sub-scores, the statistics behind them, reasons.

    Interval statistics are over the kept intervals (``nan`` without any);
    ``skew`` is the Bowley skew of the core intervals; byte medians are over
    known (non-NaN) values, ``nan`` when none is known.
    """

    components: ScoreComponents
    n_connections: int
    n_intervals: int
    first_seen: float
    last_seen: float
    median_interval: float
    mad_interval: float
    rel_mad: float
    skew: float
    cv: float
    period: float
    mean_residual: float
    near_fraction: float
    multiple_fraction: float
    bytes_out_median: float
    bytes_out_rel_mad: float
    bytes_in_median: float
    reasons: tuple[Evidence, ...] = field(default_factory=tuple)
    tail_fraction: float = math.nan
    #: relative MAD of bytes_in, computed only when no bytes_out is known: the size
    #: sub-score then measures the replies (logs without request sizes, e.g. Squid)
    bytes_in_rel_mad: float = math.nan

    @property
    def score(self) -> float:
        """The composite beacon score in [0, 1]."""
        return self.components.score


def _compose_v(parts: Sequence[FloatArray], s: ScoreSettings) -> FloatArray:
    """The composite (module docstring) on arrays; shared by the scalar and batch scorers.

    ``parts`` are the sub-scores in :class:`ScoreComponents` order: dispersion,
    skew, periodicity, size, coverage, count.
    """
    dispersion, skew, periodicity_, size, coverage, count = parts
    timing = s.weight_dispersion * dispersion + s.weight_skew * skew
    timing = timing + s.weight_periodicity * periodicity_
    gate = np.minimum(1.0, timing / s.timing_weight / s.context_gate)
    context = s.weight_size * size + s.weight_coverage * coverage
    return np.clip(count * (timing + gate * context), 0.0, 1.0)


def _sorted_ts(ts: ArrayLike) -> FloatArray:
    """Timestamps as a sorted float64 array; ``ValueError`` on NaN or infinity."""
    t = np.sort(np.asarray(ts, dtype=np.float64).reshape(-1))
    if not np.all(np.isfinite(t)):
        raise ValueError("timestamps must be finite")
    return t


def _known(values: ArrayLike | None) -> FloatArray:
    """The non-NaN values of an optional byte-count array."""
    if values is None:
        return np.empty(0)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return v[~np.isnan(v)]


def _check_span(span_start: float, span_end: float) -> float:
    """The dataset span ``end - start``; ``ValueError`` unless finite and ordered."""
    if not (math.isfinite(span_start) and math.isfinite(span_end)) or span_end < span_start:
        raise ValueError(f"bad dataset span [{span_start}, {span_end}]")
    return span_end - span_start


def score_series(
    ts: ArrayLike,
    bytes_out: ArrayLike | None,
    bytes_in: ArrayLike | None,
    span_start: float,
    span_end: float,
    settings: ScoreSettings = DEFAULT_SETTINGS,
    *,
    tails: bool = True,
) -> PairScore:
    """Score one pair's connections (the reference implementation, with reasons).

    ``tails=False`` leaves the tail measure out of ``dispersion``: for check-in
    sessions (:mod:`beaconhunt.detect.sessions`), whose intervals are all longer
    than the burst gap by construction, so even random gaps have no short tail.

    ``ts`` are epoch seconds in any order (they are sorted; bytes are only used
    through order-free medians); ``bytes_out``/``bytes_in`` may hold NaN for
    unknown values or be ``None``. ``span_start``/``span_end`` bound the whole
    dataset (``ValueError`` unless finite and ordered). A pair with at most
    ``count_min`` intervals scores 0.
    """
    span = _check_span(span_start, span_end)
    t = _sorted_ts(ts)
    d = stats.intervals(t, settings.min_interval_s)
    bo = _known(bytes_out)
    active = float(t[-1] - t[0]) if t.size else 0.0
    result = _pair_score(t, d, bo, _known(bytes_in), active, span, settings, tails)
    return replace(result, reasons=explain(result, d, span, settings))


def _pair_score(
    t: FloatArray,
    d: FloatArray,
    bo: FloatArray,
    bi: FloatArray,
    active: float,
    span: float,
    s: ScoreSettings,
    tails: bool = True,
) -> PairScore:
    """Statistics and sub-scores of one pair (no reasons yet)."""
    per = measure_periodicity(
        d, s.near_tolerance, s.periodicity_level, s.periodicity_null_sd, s.null_z
    )
    skew = stats.bowley_skew(core_intervals(d), s.skew_min_rel_iqr, s.skew_min_iqr_s)
    rel, bo_rel = stats.rel_mad(d), stats.rel_mad(bo)
    # replies stand in for requests when a log records no request size (Squid)
    bi_rel = stats.rel_mad(bi) if bo.size == 0 and bi.size else math.nan
    if bo.size:
        size = stats.size_score(bo_rel, s.size_scale)
    elif bi.size:
        size = stats.size_score(bi_rel, s.size_scale)
    else:
        size = s.size_unknown
    tail = stats.tail_fraction(d)
    dispersion = stats.dispersion_score(
        rel, d.size, s.dispersion_level, s.dispersion_null_sd, s.null_z
    )
    if tails:
        dispersion = max(dispersion, stats.tail_score(tail, d.size, s.null_z))
    parts = (
        dispersion,
        stats.skew_score(skew),
        per.score,
        size,
        stats.coverage_score(active, span, s.coverage_tau_s),
        stats.count_score(d.size, s.count_min, s.count_full),
    )
    total = float(_compose_v([np.asarray(p, dtype=np.float64) for p in parts], s))
    return PairScore(
        components=ScoreComponents(*parts, score=total),
        n_connections=int(t.size),
        n_intervals=int(d.size),
        first_seen=float(t[0]) if t.size else math.nan,
        last_seen=float(t[-1]) if t.size else math.nan,
        median_interval=stats.median(d),
        mad_interval=stats.mad(d),
        rel_mad=rel,
        skew=skew,
        cv=stats.cv(d),
        period=per.period,
        mean_residual=per.mean_residual,
        near_fraction=per.near_fraction,
        multiple_fraction=per.multiple_fraction,
        tail_fraction=tail,
        bytes_out_median=stats.median(bo),
        bytes_out_rel_mad=bo_rel,
        bytes_in_median=stats.median(bi),
        bytes_in_rel_mad=bi_rel,
    )
