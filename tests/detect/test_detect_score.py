"""The composite score of one pair: settings, edge cases, reasons and properties."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.detect import REASON_CODES, PairScore, ScoreSettings, score_series
from beaconhunt.errors import ConfigError
from beaconhunt.testing import DAY, beacon_series, periodic_series, poisson_series


def codes(p: PairScore) -> list[str]:
    return [e.code for e in p.reasons]


# --- settings -----------------------------------------------------------------------------------


def test_default_weights_sum_to_one() -> None:
    s = ScoreSettings()
    total = sum(getattr(s, f.name) for f in dataclasses.fields(s) if f.name.startswith("weight_"))
    assert total == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weight_dispersion": 0.5}, "sum to 1"),
        ({"weight_dispersion": -0.1, "weight_size": 0.7}, "weight_dispersion"),
        (
            {
                "weight_dispersion": 0.0,
                "weight_skew": 0.0,
                "weight_periodicity": 0.0,
                "weight_size": 0.5,
                "weight_coverage": 0.5,
            },
            "timing weights",
        ),
        ({"dispersion_level": 0.0}, "dispersion_level"),
        ({"periodicity_null_sd": -1.0}, "periodicity_null_sd"),
        ({"size_scale": 0.0}, "size_scale"),
        ({"coverage_tau_s": -5.0}, "coverage_tau_s"),
        ({"null_z": -1.0}, "null_z"),
        ({"size_unknown": 1.5}, "size_unknown"),
        ({"beacon_threshold": -0.1}, "beacon_threshold"),
        ({"near_tolerance": 0.0}, "near_tolerance"),
        ({"near_tolerance": 0.6}, "near_tolerance"),
        ({"context_gate": 0.0}, "context_gate"),
        ({"min_interval_s": -1.0}, "min_interval_s"),
        ({"count_min": 30.0}, "count_min < count_full"),
        ({"count_min": 0.0}, "count_min < count_full"),
        ({"dispersion_level": math.nan}, "dispersion_level"),
    ],
)
def test_bad_settings_raise_config_error(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ScoreSettings(**changes)


def test_settings_are_frozen() -> None:
    s: Any = ScoreSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.weight_size = 0.3


# --- edge cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ts", [[], [5.0], [5.0, 5.0, 5.0]])
def test_no_interval_scores_zero(ts: list[float]) -> None:
    p = score_series(ts, None, None, 0.0, DAY)
    assert p.score == 0.0
    assert p.n_intervals == 0
    assert math.isnan(p.median_interval) and math.isnan(p.period)
    assert codes(p) == ["timing.none"]


def test_two_connections_score_zero_with_few_count() -> None:
    p = score_series([0.0, 60.0], [300.0, 300.0], [200.0, 200.0], 0.0, DAY)
    # one interval <= count_min (2) -> count confidence 0 -> score 0
    assert p.components.count == 0.0
    assert p.score == 0.0
    assert "count.few" in codes(p)


def test_unknown_bytes_score_neutral() -> None:
    s = periodic_series(60.0, 100)
    p = score_series(s.ts, None, [math.nan] * 100, s.start, s.end)
    assert p.components.size == ScoreSettings().size_unknown
    assert math.isnan(p.bytes_out_median) and math.isnan(p.bytes_in_median)
    assert "size.unknown" in codes(p)


@pytest.mark.parametrize(("start", "end"), [(10.0, 5.0), (math.nan, 5.0), (0.0, math.inf)])
def test_bad_span_raises(start: float, end: float) -> None:
    with pytest.raises(ValueError, match="span"):
        score_series([1.0, 2.0], None, None, start, end)


def test_non_finite_timestamps_raise() -> None:
    with pytest.raises(ValueError, match="finite"):
        score_series([1.0, math.nan, 3.0], None, None, 0.0, 10.0)


# --- a perfect beacon, and reasons ---------------------------------------------------------------


def test_perfect_period_scores_one_with_regular_reasons() -> None:
    s = periodic_series(60.0, 1441)
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert p.score == pytest.approx(1.0, abs=1e-12)
    assert (p.median_interval, p.period, p.rel_mad, p.skew, p.cv) == (60.0, 60.0, 0.0, 0.0, 0.0)
    assert p.n_connections == 1441 and p.n_intervals == 1440
    assert codes(p) == ["timing.regular", "size.consistent", "timing.long_lived"]
    assert p.reasons[0].text == (
        "median interval 60.0 s, relative MAD 0.00: 100% of intervals within ±20% of the "
        "60.0 s period"
    )
    assert p.reasons[2].text == "active 24.0 h of the 24.0 h observed"


def test_missed_checkins_are_explained() -> None:
    s = beacon_series("cobalt_strike", 60.0, 0.1, loss=0.3, seed=4)
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert p.score >= 0.9
    assert "timing.missed_checkins" in codes(p)
    text = next(e.text for e in p.reasons if e.code == "timing.missed_checkins")
    assert "missed check-ins" in text and "× the" in text


def test_jittered_beacon_is_jitter_tolerant() -> None:
    s = beacon_series("cobalt_strike", 60.0, 0.5, seed=2)
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert codes(p)[0] == "timing.jitter_tolerant"
    assert "(jitter tolerated); 0% of intervals under 0.05x or over 2.5x the median" in (
        p.reasons[0].text
    )  # Cobalt Strike's [S/2, S] never leaves the bulk
    assert "size.consistent" in codes(p)


def test_random_timing_is_irregular() -> None:
    s = poisson_series(60.0, seed=1, sizes="browsing")
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert codes(p)[0] == "timing.irregular"
    assert p.score < 0.2


def test_variable_sizes_reason() -> None:
    s = periodic_series(60.0, 200)
    sizes = np.random.default_rng(0).uniform(10.0, 10000.0, 200)
    p = score_series(s.ts, sizes, None, s.start, s.end)
    # uniform sizes: relative MAD about 0.5 -> size sub-score about 0
    assert p.components.size < 0.3
    assert "size.variable" in codes(p)


def test_short_lived_beacon_reasons() -> None:
    s = beacon_series("cobalt_strike", 30.0, 0.2, duration=900.0, span=DAY, offset=40000.0)
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert "timing.short_lived" in codes(p)
    assert "active only 14." in next(e.text for e in p.reasons if e.code == "timing.short_lived")


def test_few_intervals_reason() -> None:
    s = periodic_series(3600.0, 8)
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert "count.few" in codes(p)
    assert "only 7 intervals (8 connections); 20 give full confidence" in p.reasons[-1].text


def test_every_emitted_code_is_declared() -> None:
    series = [
        periodic_series(60.0, 100),
        beacon_series("cobalt_strike", 60.0, 0.5, loss=0.3, seed=1),
        poisson_series(60.0, seed=2, sizes="browsing"),
        beacon_series("havoc", 600.0, 0.3, seed=3),
    ]
    for s in series:
        p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
        assert set(codes(p)) <= set(REASON_CODES)
        assert all(e.code == e.code.lower() and "." in e.code for e in p.reasons)


# --- properties ---------------------------------------------------------------------------------

times = st.lists(st.floats(0.0, 1e5, allow_nan=False), min_size=0, max_size=60)


@settings(max_examples=80, deadline=None)
@given(times, st.randoms(use_true_random=False))
def test_score_in_unit_interval_and_independent_of_row_order(ts: list[float], rnd: Any) -> None:
    sizes = [float(rnd.choice([100, 300, 301, 5000])) for _ in ts]
    a = score_series(ts, sizes, sizes, 0.0, 1e5)
    order = list(range(len(ts)))
    rnd.shuffle(order)
    b = score_series([ts[i] for i in order], [sizes[i] for i in order], None, 0.0, 1e5)
    c = a.components
    for value in (c.dispersion, c.skew, c.periodicity, c.size, c.coverage, c.count, c.score):
        assert 0.0 <= value <= 1.0
    assert b.score == pytest.approx(a.score, abs=1e-12)
    assert b.components.size == a.components.size
    assert b.period == a.period or (math.isnan(a.period) and math.isnan(b.period))


@settings(max_examples=40, deadline=None)
@given(st.floats(1.0, 1e4), st.integers(21, 400), st.floats(-1e6, 1e9))
def test_perfect_period_scores_at_the_top(period: float, n: int, start: float) -> None:
    s = periodic_series(period, n, start=start)
    p = score_series(s.ts, s.bytes_out, s.bytes_in, s.start, s.end)
    assert p.score == pytest.approx(1.0, abs=1e-9)
    # and nothing noisier can beat it
    rng = np.random.default_rng(n)
    noisy = s.ts + rng.uniform(0.0, 0.3 * period, n)
    q = score_series(noisy, s.bytes_out, s.bytes_in, s.start, s.end)
    assert q.score <= p.score + 1e-12


def test_lopsided_core_intervals_are_reported_as_skewed() -> None:
    rng = np.random.default_rng(1)
    # half the gaps at the period, the rest stretched upwards: a one-sided tail in the core
    d = np.concatenate([np.full(50, 60.0), np.full(50, 61.0), rng.uniform(62, 90, 50)])
    rng.shuffle(d)
    ts = np.concatenate([[0.0], np.cumsum(d)])
    p = score_series(ts, np.full(ts.size, 300.0), np.full(ts.size, 1000.0), 0.0, float(ts[-1]))
    assert p.skew > 0.5 and p.components.skew < 0.5
    assert "timing.skewed" in codes(p)
    text = next(e.text for e in p.reasons if e.code == "timing.skewed")
    assert text.startswith("core intervals are lopsided (Bowley skew +0.80)")


def test_reply_sizes_stand_in_when_no_request_size_is_logged() -> None:
    """Squid logs no request size: steady replies score like steady requests, varied replies
    like varied requests, and only a pair with no byte count at all is neutral."""
    ts = 60.0 * np.arange(100, dtype=np.float64)
    unknown = np.full(100, np.nan)
    steady = score_series(ts, unknown, np.full(100, 512.0), 0.0, ts[-1])
    assert steady.components.size == 1.0
    assert "size.consistent" in codes(steady)
    assert "request sizes not logged; bytes in median 512 B" in " ".join(
        r.text for r in steady.reasons
    )
    varied = np.random.default_rng(1).uniform(100.0, 50_000.0, 100)
    mixed = score_series(ts, unknown, varied, 0.0, ts[-1])
    assert mixed.components.size < 0.3 and "size.variable" in codes(mixed)
    neither = score_series(ts, unknown, unknown, 0.0, ts[-1])
    assert neither.components.size == ScoreSettings().size_unknown
    assert "size.unknown" in codes(neither)
    # a known request size always wins over the replies
    both = score_series(ts, np.full(100, 300.0), varied, 0.0, ts[-1])
    assert both.components.size == 1.0 and math.isnan(both.bytes_in_rel_mad)
