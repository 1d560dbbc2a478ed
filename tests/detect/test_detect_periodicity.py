"""Period estimate and folding of missed check-ins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.detect import periodicity as per


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        ([], math.nan),
        ([42.0], 42.0),
        ([60.0] * 10, 60.0),
        # median of 60, 60, 60, 60, 120, 180 = 60; core [30, 90) = four 60s -> P = 60
        ([60.0, 60.0, 120.0, 60.0, 180.0, 60.0], 60.0),
        # 40% loss pulls the median up to 62.5 (60, 60, 60, 65, 120, 120: median (60 + 65) / 2);
        # core [31.25, 93.75) = 60, 60, 60, 65 -> P = 60
        ([60.0, 120.0, 60.0, 65.0, 120.0, 60.0], 60.0),
        # P0 = 50.5, core [25.25, 75.75) is empty -> fall back to all: P = 50.5
        ([1.0, 100.0], 50.5),
    ],
)
def test_estimate_period(d: list[float], expected: float) -> None:
    got = per.estimate_period(d)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("d", "period", "k", "r"),
    [
        # 55 / 60 = 0.9167 -> k 1, r 0.0833; 65 / 60 = 1.0833 -> k 1, r 0.0833
        ([55.0, 65.0], 60.0, [1, 1], [1 / 12, 1 / 12]),
        # 130 / 60 = 2.1667 -> k 2, r 0.1667 (a missed check-in, 10 s late)
        ([130.0], 60.0, [2], [1 / 6]),
        # 150 / 60 = 2.5 -> round half to even: k 2, r 0.5 (as far from a multiple as can be)
        ([150.0], 60.0, [2], [0.5]),
        # 20 / 60 = 0.333 -> k = max(1, 0) = 1, r = |0.333 - 1| = 0.667 (an extra, early connection)
        ([20.0], 60.0, [1], [2 / 3]),
        ([], 60.0, [], []),
    ],
)
def test_fold(d: list[float], period: float, k: list[int], r: list[float]) -> None:
    got_k, got_r = per.fold(d, period)
    assert got_k.tolist() == k
    assert got_r == pytest.approx(r)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_fold_rejects_bad_period(bad: float) -> None:
    with pytest.raises(ValueError, match="period"):
        per.fold([1.0], bad)


def test_perfect_period_with_missed_checkins_scores_one() -> None:
    # 60, 60, 120 (one missed), 60, 180 (two missed), 60: every residual is 0
    p = per.measure_periodicity([60.0, 60.0, 120.0, 60.0, 180.0, 60.0] * 5)
    assert p.period == 60.0
    assert p.mean_residual == 0.0
    assert p.near_fraction == 1.0
    assert p.multiple_fraction == pytest.approx(2 / 6)
    assert p.score == 1.0


def test_empty_periodicity() -> None:
    p = per.measure_periodicity([])
    assert math.isnan(p.period) and math.isnan(p.mean_residual)
    assert p.score == 0.0


def test_random_gaps_score_zero() -> None:
    rng = np.random.default_rng(3)
    p = per.measure_periodicity(rng.exponential(60.0, 2000))
    # mean residual of exponential gaps is about 0.39, above c = 0.39 - 2.33 * 0.27 / sqrt(2000)
    assert p.mean_residual == pytest.approx(0.39, abs=0.02)
    assert p.score == 0.0


@pytest.mark.parametrize(
    ("mean_residual", "n", "expected"),
    [
        (0.0, 100, 1.0),
        # c = 0.39 - 2.33 * 0.27 / 10 = 0.32709 -> 1 - (0.17 / 0.32709)^2 = 0.72987
        (0.17, 100, 1.0 - (0.17 / (0.39 - 2.33 * 0.27 / 10.0)) ** 2),
        (0.35, 100, 0.0),
        (math.nan, 0, 0.0),
    ],
)
def test_periodicity_score(mean_residual: float, n: int, expected: float) -> None:
    assert per.periodicity_score(mean_residual, n) == pytest.approx(expected)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.5, 1e4, allow_nan=False), min_size=1, max_size=60),
    st.integers(-7, 10).map(lambda k: 2.0**k),
)
def test_periodicity_is_scale_free(d: list[float], factor: float) -> None:
    """Scaling by a power of two is exact in floating point, so every statistic scales
    exactly. (Any other factor may round an interval lying exactly on the core's edge,
    P0/2 or 3 P0/2, to the other side and change the period: d = [1.5, 0.5] times
    512.0005 moved the period from P to 3P.)"""
    a = per.measure_periodicity(d)
    b = per.measure_periodicity(np.array(d) * factor)
    assert b.period == pytest.approx(a.period * factor, rel=1e-12)
    assert b.near_fraction == a.near_fraction
    assert b.mean_residual == pytest.approx(a.mean_residual, abs=1e-12)
    assert 0.0 <= a.score <= 1.0
