"""The vectorized batch scorer gives the numbers of the scalar spec, pair by pair."""

from __future__ import annotations

import math
from dataclasses import astuple
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.detect import (
    BatchScores,
    PairScore,
    ScoreSettings,
    SeriesBatch,
    score_batch,
    score_series,
    stats,
)
from beaconhunt.detect import _segments as seg
from beaconhunt.testing import (
    DAY,
    batch_of,
    beacon_series,
    browsing_series,
    periodic_series,
    poisson_series,
)

#: (BatchScores field, getter on the scalar PairScore) for every shared number
FIELDS: list[tuple[str, Any]] = [
    ("score", lambda p: p.components.score),
    ("dispersion", lambda p: p.components.dispersion),
    ("skew_score", lambda p: p.components.skew),
    ("periodicity", lambda p: p.components.periodicity),
    ("size", lambda p: p.components.size),
    ("coverage", lambda p: p.components.coverage),
    ("count", lambda p: p.components.count),
    ("n", lambda p: p.n_connections),
    ("n_intervals", lambda p: p.n_intervals),
    ("first_seen", lambda p: p.first_seen),
    ("last_seen", lambda p: p.last_seen),
    ("median_interval", lambda p: p.median_interval),
    ("mad_interval", lambda p: p.mad_interval),
    ("rel_mad", lambda p: p.rel_mad),
    ("skew", lambda p: p.skew),
    ("cv", lambda p: p.cv),
    ("period", lambda p: p.period),
    ("mean_residual", lambda p: p.mean_residual),
    ("near_fraction", lambda p: p.near_fraction),
    ("multiple_fraction", lambda p: p.multiple_fraction),
    ("tail_fraction", lambda p: p.tail_fraction),
    ("bytes_out_median", lambda p: p.bytes_out_median),
    ("bytes_out_rel_mad", lambda p: p.bytes_out_rel_mad),
    ("bytes_in_median", lambda p: p.bytes_in_median),
    ("bytes_in_rel_mad", lambda p: p.bytes_in_rel_mad),
]


def assert_matches(batch: SeriesBatch, scores: BatchScores, start: float, end: float) -> None:
    """Every pair of the batch scores as ``score_series`` scores it alone (to ~1e-9)."""
    assert len(scores) == batch.n_pairs
    for i in range(batch.n_pairs):
        p: PairScore = score_series(*batch.pair(i), start, end)
        for name, get in FIELDS:
            want, got = float(get(p)), float(getattr(scores, name)[i])
            if math.isnan(want) or math.isinf(want):
                assert math.isnan(got) if math.isnan(want) else got == want, (i, name)
            else:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (i, name, got, want)
        got_c, want_c = astuple(scores.components_at(i)), astuple(p.components)
        assert got_c == pytest.approx(want_c, rel=1e-9, abs=1e-9)


@st.composite
def ragged_batches(draw: Any) -> SeriesBatch:
    """Random pairs: 0..40 rows, coarse or fine times (ties included), sizes with NaN."""
    n_pairs = draw(st.integers(1, 8))
    ts, bo, bi = [], [], []
    for _ in range(n_pairs):
        n = draw(st.integers(0, 40))
        grid = draw(st.sampled_from([1.0, 0.5, 1e-3]))
        t = np.array(draw(st.lists(st.integers(0, 2000), min_size=n, max_size=n)), float) * grid
        size = st.one_of(st.just(math.nan), st.sampled_from([0.0, 300.0, 301.0, 5e4]))
        ts.append(np.sort(t))
        bo.append(draw(st.lists(size, min_size=n, max_size=n)))
        bi.append(draw(st.lists(size, min_size=n, max_size=n)))
    return SeriesBatch.from_series(ts, bo, bi)


@settings(max_examples=120, deadline=None)
@given(ragged_batches())
def test_batch_equals_scalar_on_random_ragged_batches(batch: SeriesBatch) -> None:
    assert_matches(batch, score_batch(batch, 0.0, 2000.0), 0.0, 2000.0)


def test_batch_equals_scalar_on_synthetic_traffic() -> None:
    series = [
        beacon_series("cobalt_strike", 60.0, 0.5, loss=0.2, seed=1),
        beacon_series("sliver", 30.0, 1.0, seed=2),
        beacon_series("havoc", 600.0, 0.3, seed=3),
        beacon_series("meterpreter", 5.0, seed=4),
        browsing_series(5),
        poisson_series(300.0, seed=6, sizes="browsing"),
        periodic_series(60.0, 100),
        periodic_series(60.0, 0),
        periodic_series(60.0, 1),
    ]
    batch = batch_of(series)
    assert_matches(batch, score_batch(batch, 0.0, DAY), 0.0, DAY)


def test_batch_uses_the_settings() -> None:
    batch = batch_of([beacon_series("cobalt_strike", 60.0, 0.3, seed=s) for s in range(3)])
    custom = ScoreSettings(min_interval_s=1.0, count_full=50.0, weight_size=0.1, weight_skew=0.15)
    scores = score_batch(batch, 0.0, DAY, custom)
    for i in range(3):
        want = score_series(*batch.pair(i), 0.0, DAY, custom)
        assert scores.score[i] == pytest.approx(want.score, rel=1e-9)


def test_top_and_components() -> None:
    batch = batch_of([poisson_series(60.0, seed=1), periodic_series(60.0, 500)])
    scores = score_batch(batch, 0.0, 60.0 * 499)
    assert scores.top(5).tolist() == [1, 0]
    assert scores.top(0).tolist() == []
    assert scores.components_at(1).score == pytest.approx(1.0)


# --- SeriesBatch --------------------------------------------------------------------------------


def test_from_series_sorts_each_pair_and_fills_missing_bytes() -> None:
    batch = SeriesBatch.from_series([[3.0, 1.0, 2.0], []], [[30.0, 10.0, 20.0], None])
    assert batch.offsets.tolist() == [0, 3, 3]
    assert batch.ts.tolist() == [1.0, 2.0, 3.0]
    assert batch.bytes_out.tolist() == [10.0, 20.0, 30.0]
    assert np.isnan(batch.bytes_in).all()
    assert batch.n_pairs == 2
    assert batch.pair(1)[0].size == 0


def test_from_series_of_nothing() -> None:
    batch = SeriesBatch.from_series([])
    assert batch.n_pairs == 0
    assert len(score_batch(batch, 0.0, 1.0)) == 0


@pytest.mark.parametrize(
    ("offsets", "sizes", "message"),
    [
        ([0, 2], (3, 3, 3), "end at len"),
        ([1, 3], (3, 3, 3), "start at 0"),
        ([0, 2, 1, 3], (3, 3, 3), "decrease"),
        ([0, 3], (3, 2, 3), "one length"),
    ],
)
def test_bad_batches_are_rejected(
    offsets: list[int], sizes: tuple[int, int, int], message: str
) -> None:
    arrays = [np.zeros(n) for n in sizes]
    with pytest.raises(ValueError, match=message):
        SeriesBatch(arrays[0], arrays[1], arrays[2], np.array(offsets, dtype=np.int64))


def test_from_series_rejects_mismatched_bytes() -> None:
    with pytest.raises(ValueError, match="one value per timestamp"):
        SeriesBatch.from_series([[1.0, 2.0]], [[1.0]])


def test_unsorted_pair_is_rejected() -> None:
    ts = np.array([1.0, 5.0, 3.0])
    nan = np.full(3, np.nan)
    batch = SeriesBatch(ts, nan, nan, np.array([0, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="sorted ascending"):
        score_batch(batch, 0.0, 10.0)


def test_a_decrease_across_pairs_is_fine() -> None:
    batch = SeriesBatch.from_series([[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]])
    assert_matches(batch, score_batch(batch, 0.0, 30.0), 0.0, 30.0)


# --- segment kernels ----------------------------------------------------------------------------

segments = st.lists(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False) | st.integers(0, 5).map(float), max_size=70),
    min_size=1,
    max_size=10,
)


@settings(max_examples=80, deadline=None)
@given(segments)
def test_segment_sort_median_and_mad_match_numpy(parts: list[list[float]]) -> None:
    values = np.array([v for p in parts for v in p], dtype=np.float64)
    offsets = np.concatenate(([0], np.cumsum([len(p) for p in parts]))).astype(np.int64)
    (ordered,) = seg.segment_sort([values], offsets)
    n = np.diff(offsets)
    med = seg.quantile(ordered, offsets[:-1], n, 0.5)
    mad = seg.mad(ordered, offsets[:-1], n, med)
    for i, p in enumerate(parts):
        assert ordered[offsets[i] : offsets[i + 1]].tolist() == sorted(p)
        assert med[i] == stats.median(p) or (math.isnan(med[i]) and not p)
        assert mad[i] == stats.mad(p) or (math.isnan(mad[i]) and not p)


def test_segment_sort_puts_nan_last_and_handles_long_segments() -> None:
    rng = np.random.default_rng(0)
    parts = [rng.random(5000), np.array([np.nan, 2.0, 1.0]), rng.random(3), np.array([])]
    values = np.concatenate(parts)
    offsets = np.array([0, 5000, 5003, 5006, 5006], dtype=np.int64)
    (ordered,) = seg.segment_sort([values], offsets)
    assert np.array_equal(ordered[:5000], np.sort(parts[0]))
    assert ordered[5000:5002].tolist() == [1.0, 2.0] and np.isnan(ordered[5002])
    assert seg.search_sorted(ordered, offsets[:-1], np.array([5000, 2, 3, 0]), np.full(4, 0.5))[
        1:
    ].tolist() == [0, int((parts[2] < 0.5).sum()), 0]


def test_batch_equals_scalar_without_the_tail_measure() -> None:
    """The session view scores with tails=False in both scorers; they must still agree."""
    batch = batch_of([beacon_series("havoc", 60.0, 0.9, seed=1), poisson_series(30.0, seed=2),
                      periodic_series(60.0, 300)])  # fmt: skip
    without = score_batch(batch, 0.0, DAY, tails=False)
    with_tails = score_batch(batch, 0.0, DAY)
    for i in range(batch.n_pairs):
        want = score_series(*batch.pair(i), 0.0, DAY, tails=False)
        assert without.dispersion[i] == pytest.approx(want.components.dispersion, abs=1e-9)
        assert without.score[i] == pytest.approx(want.score, abs=1e-9)
        assert without.dispersion[i] <= with_tails.dispersion[i]
