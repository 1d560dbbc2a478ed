"""Robust volume / variability prefilter: which pairs are not worth scoring.

Bulk transfers (backups, streaming, software downloads) and wildly varying
traffic are not command-and-control check-ins, and dropping them early keeps
the batch small. Every test here is on **medians and the MAD**, never on a
mean or a total: an implant that occasionally uploads a large result or
downloads a large tasking still has a small median and a small MAD, so a few
big transfers can never get it excluded. The number of connections alone is
never a reason to drop a pair (a 1 s beacon makes 86,400 a day).

A pair is dropped, with the first matching reason code, when:

==========================  =====================================================
code                        rule (defaults in :class:`FilterSettings`)
==========================  =====================================================
``filter.too_few``          ``count < min_connections``
``filter.high_volume_out``  ``median(bytes_out) > max_median_bytes_out``
``filter.high_volume_in``   ``median(bytes_in) > max_median_bytes_in``
``filter.variable_size``    ``MAD(bytes_out) / median(bytes_out) > max_bytes_out_rel_mad``
                            (zero median with ``MAD > 0`` counts as infinite),
                            judged only with ``count >= min_connections_variability``
==========================  =====================================================

Unknown sizes (NaN medians, as from endpoint logs without byte counts) never
trigger a size rule.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from beaconhunt.detect import _segments as seg
from beaconhunt.detect.batch import SeriesBatch
from beaconhunt.detect.score import _setting
from beaconhunt.detect.stats import _rel_mad_v
from beaconhunt.errors import ConfigError

__all__ = [
    "FILTER_REASONS",
    "FilterResult",
    "FilterSettings",
    "PairAggregates",
    "prefilter",
    "prefilter_aggregates",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

FILTER_REASONS = (
    "",
    "filter.too_few",
    "filter.high_volume_out",
    "filter.high_volume_in",
    "filter.variable_size",
)
"""Reason codes by index; index 0 (empty code) means the pair is kept."""


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """Thresholds of the prefilter (section ``[filter]``, rules in the module docstring)."""

    min_connections: int = _setting(
        4, "Pairs with fewer connections are dropped: under 3 intervals say nothing.", 1
    )
    max_median_bytes_out: float = _setting(
        1_000_000.0, "Median bytes sent per connection above which a pair is a bulk upload.", 0
    )
    max_median_bytes_in: float = _setting(
        # 1 MB: video streaming fetches 1-2 MB segments every few seconds, regularly;
        # a C2 check-in answer is a few hundred bytes, and tasking is rare.
        1_000_000.0,
        "Median bytes received per connection above which it is a download.",
        0,
    )
    max_bytes_out_rel_mad: float = _setting(
        1.0, "Relative MAD of bytes_out above which sizes are too variable for check-ins.", 0
    )
    min_connections_variability: int = _setting(
        8, "Size variability is only judged with at least this many connections.", 1
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not value > 0:
                raise ConfigError(f"{f.name} must be > 0, got {value}")


@dataclass(frozen=True, slots=True)
class PairAggregates:
    """Per-pair aggregates the prefilter needs (arrays, one entry per pair).

    Medians and MAD are over known (non-NaN) values; ``nan`` when none is known.
    The store can compute them in SQL, or :meth:`from_batch` from a batch.
    """

    count: IntArray
    bytes_out_median: FloatArray
    bytes_in_median: FloatArray
    bytes_out_mad: FloatArray

    @classmethod
    def from_batch(cls, batch: SeriesBatch) -> PairAggregates:
        """Compute the aggregates of every pair of ``batch`` (vectorized)."""
        off = batch.offsets
        bo, bi = seg.segment_sort([batch.bytes_out, batch.bytes_in], off)
        n_bo = seg.count_true(~np.isnan(batch.bytes_out), off)
        n_bi = seg.count_true(~np.isnan(batch.bytes_in), off)
        bo_med = seg.quantile(bo, off[:-1], n_bo, 0.5)
        return cls(
            count=np.diff(off).astype(np.int64),
            bytes_out_median=bo_med,
            bytes_in_median=seg.quantile(bi, off[:-1], n_bi, 0.5),
            bytes_out_mad=seg.mad(bo, off[:-1], n_bo, bo_med),
        )


@dataclass(frozen=True, slots=True)
class FilterResult:
    """Which pairs to keep, and why the others were dropped.

    ``reason[i]`` indexes :data:`FILTER_REASONS` (0 = kept).
    """

    keep: NDArray[np.bool_]
    reason: NDArray[np.int8]

    def codes(self) -> list[str]:
        """The reason code of every pair (``""`` for kept pairs)."""
        return [FILTER_REASONS[int(r)] for r in self.reason]

    def counts(self) -> dict[str, int]:
        """How many pairs each reason dropped (only reasons that occurred)."""
        hist = np.bincount(self.reason, minlength=len(FILTER_REASONS))
        return {FILTER_REASONS[i]: int(c) for i, c in enumerate(hist) if i and c}


def prefilter(
    count: ArrayLike,
    bytes_out_median: ArrayLike,
    bytes_in_median: ArrayLike,
    bytes_out_mad: ArrayLike,
    settings: FilterSettings | None = None,
) -> FilterResult:
    """Decide, per pair, whether to score it (vectorized; rules in the module docstring)."""
    s = settings or FilterSettings()
    n = np.asarray(count, dtype=np.int64)
    bo_med = np.asarray(bytes_out_median, dtype=np.float64)
    rel = _rel_mad_v(np.asarray(bytes_out_mad, dtype=np.float64), bo_med)
    rules = (
        n < s.min_connections,
        bo_med > s.max_median_bytes_out,
        np.asarray(bytes_in_median, dtype=np.float64) > s.max_median_bytes_in,
        (rel > s.max_bytes_out_rel_mad) & (n >= s.min_connections_variability),
    )
    reason = np.zeros(n.shape, dtype=np.int8)
    for code, hit in reversed(list(enumerate(rules, start=1))):
        reason[hit] = code
    return FilterResult(keep=reason == 0, reason=reason)


def prefilter_aggregates(
    agg: PairAggregates, settings: FilterSettings | None = None
) -> FilterResult:
    """:func:`prefilter` on a :class:`PairAggregates`."""
    return prefilter(
        agg.count, agg.bytes_out_median, agg.bytes_in_median, agg.bytes_out_mad, settings
    )
