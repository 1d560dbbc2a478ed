"""The public surface of beaconhunt.detect and the test doubles of beaconhunt.testing."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import beaconhunt.detect as detect
from beaconhunt import testing

PUBLIC = [
    "DEFAULT_SETTINGS",
    "DETECTORS",
    "FILTER_REASONS",
    "REASON_CODES",
    "BatchScores",
    "BeaconDetector",
    "Candidate",
    "DetectInput",
    "DetectReport",
    "Detector",
    "DnsDetector",
    "DnsSettings",
    "FilterResult",
    "FilterSettings",
    "LongSessionDetector",
    "LongSessionSettings",
    "PairAggregates",
    "PairScore",
    "Periodicity",
    "ScoreSettings",
    "SeriesBatch",
    "detectors",
    "estimate_period",
    "fold",
    "measure_periodicity",
    "prefilter",
    "prefilter_aggregates",
    "register_detector",
    "score_batch",
    "score_series",
]

MODULES = [
    "stats",
    "periodicity",
    "score",
    "batch",
    "filter",
    "reasons",
    "base",
    "beacon",
    "dns",
    "long_session",
    "settings",
]


def test_detect_all_is_guarded() -> None:
    # adding or removing a public name is a deliberate change: update this list
    assert detect.__all__ == PUBLIC
    for name in detect.__all__:
        assert hasattr(detect, name), name


@pytest.mark.parametrize("module", MODULES)
def test_module_all_names_exist_and_are_public(module: str) -> None:
    mod = importlib.import_module(f"beaconhunt.detect.{module}")
    for name in mod.__all__:
        assert not name.startswith("_")
        assert hasattr(mod, name), f"{module}.{name}"


def test_testing_all_names_exist() -> None:
    for name in testing.__all__:
        assert hasattr(testing, name)


@pytest.mark.parametrize("kind", testing.BEACON_KINDS)
def test_beacon_series_is_sorted_sized_and_deterministic(kind: str) -> None:
    # 09:00-10:00, inside Havoc's working hours
    a = testing.beacon_series(kind, 60.0, 0.3, 0.1, duration=3600.0, seed=7, offset=32400.0)
    b = testing.beacon_series(kind, 60.0, 0.3, 0.1, duration=3600.0, seed=7, offset=32400.0)
    assert np.array_equal(a.ts, b.ts) and np.array_equal(a.bytes_in, b.bytes_in)
    assert len(a) > 10 and np.all(np.diff(a.ts) >= 0)
    assert a.bytes_out.shape == a.ts.shape == a.bytes_in.shape
    assert (a.start, a.end) == (0.0, 36000.0)
    assert a.ts.min() >= 32400.0 and a.ts.max() < 36000.0


def test_beacon_series_window_within_a_longer_span() -> None:
    s = testing.beacon_series("sliver", 30.0, 0.5, duration=900.0, span=86400.0, offset=4e4)
    assert (s.start, s.end) == (0.0, 86400.0)
    assert s.ts.min() >= 4e4 and s.ts.max() < 4e4 + 900.0


def test_unknown_kind_and_sizes_raise() -> None:
    with pytest.raises(ValueError, match="unknown beacon kind"):
        testing.beacon_series("teamserver")
    with pytest.raises(ValueError, match="sizes"):
        testing.poisson_series(sizes="huge")


def test_other_doubles() -> None:
    p = testing.periodic_series(10.0, 5, start=100.0)
    assert p.ts.tolist() == [100.0, 110.0, 120.0, 130.0, 140.0]
    assert (p.start, p.end) == (100.0, 140.0)
    assert len(testing.periodic_series(10.0, 0)) == 0
    b = testing.browsing_series(1)
    assert len(b) > 10 and np.all(np.diff(b.ts) >= 0)
    q = testing.poisson_series(60.0, 3600.0, seed=2, sizes="browsing")
    assert 30 < len(q) < 100
    batch = testing.batch_of([p, q])
    assert batch.n_pairs == 2 and batch.offsets.tolist() == [0, 5, 5 + len(q)]
