"""Table-driven tests of the scalar statistics and sub-scores (the spec of the detector)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.detect import stats

NAN = math.nan
INF = math.inf


def same(a: float, b: float, tol: float = 1e-12) -> bool:
    """Equal, both NaN, or both the same infinity."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=tol, abs_tol=tol)


@pytest.mark.parametrize(
    ("ts", "min_interval", "expected"),
    [
        ([], 0.0, []),
        ([5.0], 0.0, []),
        ([0.0, 10.0, 25.0], 0.0, [10.0, 15.0]),
        # duplicate timestamp: gaps 10, 0, 15 -> the 0 is one check-in, dropped
        ([0.0, 10.0, 10.0, 25.0], 0.0, [10.0, 15.0]),
        # unsorted input is sorted first: 0, 10, 25
        ([25.0, 0.0, 10.0], 0.0, [10.0, 15.0]),
        # min_interval 12 drops the 10 s gap
        ([0.0, 10.0, 25.0], 12.0, [15.0]),
    ],
)
def test_intervals(ts: list[float], min_interval: float, expected: list[float]) -> None:
    assert stats.intervals(ts, min_interval).tolist() == expected


@pytest.mark.parametrize(
    ("x", "q", "expected"),
    [
        ([], 0.5, NAN),
        ([7.0], 0.25, 7.0),
        # n = 4: pos = 0.25 * 3 = 0.75 -> 1 + 0.75 * (2 - 1) = 1.75
        ([4.0, 1.0, 3.0, 2.0], 0.25, 1.75),
        # pos = 0.5 * 3 = 1.5 -> 2 + 0.5 * (3 - 2) = 2.5
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 1.0, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 0.0, 1.0),
        ([5.0, 5.0, 5.0], 0.75, 5.0),
    ],
)
def test_quantile(x: list[float], q: float, expected: float) -> None:
    assert same(stats.quantile(x, q), expected)


def test_quantile_rejects_q_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="quantile q"):
        stats.quantile([1.0], 1.5)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([], NAN),
        ([5.0], 5.0),
        ([1.0, 3.0], 2.0),  # mean of the two middle values
        ([3.0, 1.0, 2.0], 2.0),
    ],
)
def test_median(x: list[float], expected: float) -> None:
    assert same(stats.median(x), expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([], NAN),
        ([42.0], 0.0),
        ([7.0, 7.0, 7.0], 0.0),
        # median 3; |x - 3| = 2, 1, 0, 1, 97 -> sorted 0, 1, 1, 2, 97 -> MAD 1 (outlier ignored)
        ([1.0, 2.0, 3.0, 4.0, 100.0], 1.0),
        # median 60; |x - 60| = 0, 0, 60 (a missed check-in) -> MAD 0
        ([60.0, 60.0, 120.0], 0.0),
        # median 2.5; |x - 2.5| = 1.5, 0.5, 0.5, 1.5 -> MAD (0.5 + 1.5) / 2 = 1
        ([1.0, 2.0, 3.0, 4.0], 1.0),
    ],
)
def test_mad(x: list[float], expected: float) -> None:
    assert same(stats.mad(x), expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([], NAN),
        ([5.0], 0.0),
        # median 100, MAD 2 -> 0.02
        ([98.0, 100.0, 102.0], 0.02),
        # the same wobble on a 10x longer sleep -> same relative MAD
        ([980.0, 1000.0, 1020.0], 0.02),
        # zero median and zero MAD -> 0
        ([0.0, 0.0, 0.0, 3.0, 4.0], 0.0),
        # zero median, MAD 2 -> inf
        ([-2.0, 0.0, 2.0], INF),
    ],
)
def test_rel_mad(x: list[float], expected: float) -> None:
    assert same(stats.rel_mad(x), expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([], NAN),
        ([7.0], 0.0),
        ([7.0, 7.0, 7.0], 0.0),
        # q1 = 99.5, q2 = 100, q3 = 100.5 -> (100.5 + 99.5 - 200) / 1 = 0
        ([99.0, 100.0, 101.0], 0.0),
        # q1 = 2, q2 = 3, q3 = 10 -> (10 + 2 - 6) / 8 = 0.75 (long upper tail)
        ([1.0, 2.0, 3.0, 10.0, 20.0], 0.75),
        # mirrored: q1 = -10, q2 = -3, q3 = -2 -> (-2 - 10 + 6) / 8 = -0.75
        ([-20.0, -10.0, -3.0, -2.0, -1.0], -0.75),
        # q1 = 1, q2 = 1, q3 = 1 + 0.25 * 4 = 2 -> (2 + 1 - 2) / 1 = 1
        ([1.0, 1.0, 1.0, 5.0], 1.0),
        # q1 = q3 = 60 (more than half equal) -> 0
        ([60.0, 60.0, 60.0, 60.0, 500.0], 0.0),
    ],
)
def test_bowley_skew(x: list[float], expected: float) -> None:
    assert same(stats.bowley_skew(x), expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        ([], NAN),
        ([3.0], 0.0),
        ([60.0, 60.0, 60.0], 0.0),
        # mean 2, population std 1 -> 0.5
        ([1.0, 3.0], 0.5),
        # mean 0, std 1 -> inf
        ([-1.0, 1.0], INF),
    ],
)
def test_cv(x: list[float], expected: float) -> None:
    assert same(stats.cv(x), expected)


@pytest.mark.parametrize(
    ("n", "level", "sd", "z", "expected"),
    [
        # 0.69 - 2.33 * 0.63 / sqrt(24) = 0.69 - 0.29964 = 0.39036
        (24, 0.69, 0.63, 2.33, 0.69 - 2.33 * 0.63 / math.sqrt(24)),
        # 0.39 - 2.33 * 0.27 / sqrt(1440) = 0.39 - 0.016578 = 0.37342
        (1440, 0.39, 0.27, 2.33, 0.39 - 2.33 * 0.27 / math.sqrt(1440)),
        # z = 0 -> the random level itself
        (5, 0.69, 0.63, 0.0, 0.69),
        # 3 intervals: 0.69 - 0.847 < 0 -> floor 1e-6
        (3, 0.69, 0.63, 2.33, 1e-6),
        (0, 0.69, 0.63, 2.33, 1e-6),
    ],
)
def test_null_scale(n: int, level: float, sd: float, z: float, expected: float) -> None:
    assert same(stats.null_scale(n, level, sd, z), expected)


@pytest.mark.parametrize(
    ("rel", "n", "expected"),
    [
        (0.0, 24, 1.0),
        # c = 0.39036 -> 1 - (0.17 / 0.39036)^2 = 1 - 0.18966 = 0.81034
        (0.17, 24, 1.0 - (0.17 / (0.69 - 2.33 * 0.63 / math.sqrt(24))) ** 2),
        # a Poisson-like relative MAD at the 1% tail for 24 intervals -> 0
        (0.40, 24, 0.0),
        (INF, 100, 0.0),
        (NAN, 100, 0.0),
        # no intervals: r = 0 is still "no dispersion", but count() will zero the score
        (0.0, 0, 1.0),
    ],
)
def test_dispersion_score(rel: float, n: int, expected: float) -> None:
    assert same(stats.dispersion_score(rel, n), expected)


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        (0.0, 1.0),
        # 1 - (0.25 / 0.5)^2 = 0.75
        (0.25, 0.75),
        (0.5, 0.0),
        (2.0, 0.0),
        (INF, 0.0),
        (NAN, 0.0),
    ],
)
def test_size_score(rel: float, expected: float) -> None:
    assert same(stats.size_score(rel, 0.5), expected)


@pytest.mark.parametrize(
    ("skew", "expected"),
    [(0.0, 1.0), (0.25, 0.75), (-0.25, 0.75), (1.0, 0.0), (-1.0, 0.0), (NAN, 0.0)],
)
def test_skew_score(skew: float, expected: float) -> None:
    assert same(stats.skew_score(skew), expected)


@pytest.mark.parametrize(
    ("active", "span", "tau", "expected"),
    [
        (86400.0, 86400.0, 300.0, 1.0),
        # active beyond the stated span: W = max(span, a) -> 1
        (90000.0, 86400.0, 300.0, 1.0),
        (0.0, 86400.0, 300.0, 0.0),
        (-5.0, 86400.0, 300.0, 0.0),
        # 15 min of 24 h: ln(1 + 3) / ln(1 + 288) = 1.38629 / 5.66643 = 0.24465
        (900.0, 86400.0, 300.0, math.log(4.0) / math.log(289.0)),
        # 10 h of 24 h (silent at night): ln(121) / ln(289) = 0.84635
        (36000.0, 86400.0, 300.0, math.log(121.0) / math.log(289.0)),
        # no span information beyond the pair itself -> 1
        (600.0, 0.0, 300.0, 1.0),
    ],
)
def test_coverage_score(active: float, span: float, tau: float, expected: float) -> None:
    assert same(stats.coverage_score(active, span, tau), expected)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, 0.0),
        (2, 0.0),
        # ln(10 / 2) / ln(20 / 2) = ln 5 / ln 10 = 0.69897
        (10, math.log(5.0) / math.log(10.0)),
        (20, 1.0),
        (86400, 1.0),
    ],
)
def test_count_score(n: int, expected: float) -> None:
    assert same(stats.count_score(n, 2.0, 20.0), expected)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40), st.floats(0.0, 1.0))
def test_quantile_median_mad_agree_with_numpy(xs: list[float], q: float) -> None:
    v = np.array(xs)
    assert stats.quantile(v, q) == pytest.approx(float(np.quantile(v, q)), rel=1e-12, abs=1e-9)
    assert stats.median(v) == pytest.approx(float(np.median(v)), rel=1e-12, abs=1e-9)
    expected_mad = float(np.median(np.abs(v - np.median(v))))
    assert stats.mad(v) == pytest.approx(expected_mad, rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=40))
def test_statistics_do_not_depend_on_order(xs: list[float]) -> None:
    v = np.array(xs)
    w = v[::-1].copy()
    for f in (stats.median, stats.mad, stats.rel_mad, stats.bowley_skew):
        assert same(f(v), f(w))
    assert -1.0 <= stats.bowley_skew(v) <= 1.0


def test_tail_fraction_counts_intervals_far_from_the_median() -> None:
    # median 10: 0.4 < 0.05 x 10 and 25 >= 2.5 x 10 are tails; 0.5 and 24.9 are not
    assert stats.tail_fraction([0.4, 10, 10, 10, 25]) == pytest.approx(2 / 5)
    assert stats.tail_fraction([0.5, 10, 10, 10, 24.9]) == 0.0
    assert stats.tail_fraction([60.0] * 10) == 0.0
    assert math.isnan(stats.tail_fraction([]))


def test_tail_level_is_the_exponential_tail_mass() -> None:
    # P(X < 0.05 m) + P(X >= 2.5 m) for exponential X with median m: 1 - 2^-0.05 + 2^-2.5
    assert pytest.approx(0.0341 + 0.1768, abs=1e-4) == stats.TAIL_LEVEL
    rng = np.random.default_rng(3)
    measured = np.mean([stats.tail_fraction(rng.exponential(1.0, 1000)) for _ in range(200)])
    assert measured == pytest.approx(stats.TAIL_LEVEL, abs=0.005)


@pytest.mark.parametrize(
    ("fraction", "n", "expected"),
    [
        (0.0, 39, 0.0),  # too few intervals: random gaps often have no tail at all
        (0.0, 40, 1.0),
        (0.0, 1000, 1.0),
        # c(100) = 0.2109 - 2.33 x 0.45 / 10 = 0.1061; 1 - (0.05 / 0.1061)^2 = 0.778
        (0.05, 100, 0.778),
        (0.21, 1000, 0.0),  # as random as Poisson
        (math.nan, 100, 0.0),
    ],
)
def test_tail_score(fraction: float, n: int, expected: float) -> None:
    assert stats.tail_score(fraction, n) == pytest.approx(expected, abs=1e-3)


def test_tail_score_tells_heavy_jitter_from_random_gaps() -> None:
    """90% uniform jitter around 60 s (Havoc) and exponential gaps of the same mean, 300 each:
    the relative MAD barely separates them (0.45 against 0.69), the tail fraction does."""
    rng = np.random.default_rng(11)
    jittered = 60.0 + 54.0 * (2.0 * rng.random(300) - 1.0)
    random_gaps = rng.exponential(60.0, 300)
    assert stats.tail_score(stats.tail_fraction(jittered), 300) == 1.0
    assert stats.tail_score(stats.tail_fraction(random_gaps), 300) < 0.1
    assert stats.dispersion_score(stats.rel_mad(jittered), 300) < 0.6
