"""The robust volume / variability prefilter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from beaconhunt.detect import (
    FILTER_REASONS,
    FilterSettings,
    PairAggregates,
    prefilter,
    prefilter_aggregates,
    stats,
)
from beaconhunt.errors import ConfigError
from beaconhunt.testing import batch_of, beacon_series, browsing_series

NAN = math.nan


@pytest.mark.parametrize(
    ("count", "bo_med", "bi_med", "bo_mad", "code"),
    [
        # a beacon: small, steady check-ins
        (1440, 320.0, 180.0, 4.0, ""),
        (3, 320.0, 180.0, 4.0, "filter.too_few"),
        # a backup job: 50 MB uploads every hour
        (24, 5e7, 200.0, 1e6, "filter.high_volume_out"),
        # a streaming client: 20 MB per connection
        (500, 900.0, 2e7, 50.0, "filter.high_volume_in"),
        # median 1000, MAD 1500 -> relative MAD 1.5 > 1
        (100, 1000.0, 5000.0, 1500.0, "filter.variable_size"),
        # the same variability on only 5 connections is not judged
        (5, 1000.0, 5000.0, 1500.0, ""),
        # zero median with MAD > 0 -> infinite relative MAD
        (100, 0.0, 100.0, 10.0, "filter.variable_size"),
        # zero median and zero MAD (empty check-ins) -> kept
        (100, 0.0, 0.0, 0.0, ""),
        # sizes unknown (endpoint logs) -> no size rule can fire
        (100, NAN, NAN, NAN, ""),
        # the first matching rule wins: too few beats high volume
        (2, 5e7, 2e7, 1e9, "filter.too_few"),
    ],
)
def test_prefilter_rules(
    count: int, bo_med: float, bi_med: float, bo_mad: float, code: str
) -> None:
    result = prefilter([count], [bo_med], [bi_med], [bo_mad])
    assert result.codes() == [code]
    assert result.keep.tolist() == [code == ""]


def test_large_tasking_transfers_cannot_exclude_a_beacon() -> None:
    # 40% of check-ins carry a large tasking: totals and means explode, medians do not
    s = beacon_series("cobalt_strike", 60.0, 0.3, tasking=0.4, seed=1)
    assert float(np.mean(s.bytes_in)) > 1e5
    agg = PairAggregates.from_batch(batch_of([s]))
    assert agg.bytes_in_median[0] < 1e4
    assert prefilter_aggregates(agg).keep.tolist() == [True]


def test_from_batch_matches_scalar_statistics() -> None:
    series = [beacon_series("sliver", 30.0, 0.5, seed=2), browsing_series(3)]
    batch = batch_of(series)
    agg = PairAggregates.from_batch(batch)
    for i, s in enumerate(series):
        assert agg.count[i] == len(s)
        assert agg.bytes_out_median[i] == stats.median(s.bytes_out)
        assert agg.bytes_in_median[i] == stats.median(s.bytes_in)
        assert agg.bytes_out_mad[i] == stats.mad(s.bytes_out)


def test_counts_and_codes() -> None:
    result = prefilter([1, 100, 100, 100], [1, 1, 2e6, 1], [1, 1, 1, 1], [0, 0, 0, 5])
    assert result.codes() == [
        "filter.too_few",
        "",
        "filter.high_volume_out",
        "filter.variable_size",
    ]
    assert result.counts() == {
        "filter.too_few": 1,
        "filter.high_volume_out": 1,
        "filter.variable_size": 1,
    }
    assert FILTER_REASONS[0] == ""


def test_custom_settings() -> None:
    strict = FilterSettings(max_median_bytes_out=100.0)
    assert prefilter([50], [320.0], [1.0], [1.0], strict).codes() == ["filter.high_volume_out"]


@pytest.mark.parametrize(
    "changes",
    [
        {"min_connections": 0},
        {"max_median_bytes_out": -1.0},
        {"max_median_bytes_in": 0.0},
        {"max_bytes_out_rel_mad": math.nan},
        {"min_connections_variability": -3},
    ],
)
def test_bad_filter_settings(changes: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        FilterSettings(**changes)  # type: ignore[arg-type]
