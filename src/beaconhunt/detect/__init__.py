"""detect stage: turn each pair's connection times and sizes into a beacon score.

* :mod:`~beaconhunt.detect.stats`: pure interval and size statistics (the spec);
* :mod:`~beaconhunt.detect.periodicity`: period estimate and folding of missed check-ins;
* :mod:`~beaconhunt.detect.score`: settings, sub-scores and the composite for one pair;
* :mod:`~beaconhunt.detect.batch`: the same numbers for a whole ragged batch, vectorized;
* :mod:`~beaconhunt.detect.filter`: the robust volume / variability prefilter;
* :mod:`~beaconhunt.detect.reasons`: evidence codes and sentences for reported pairs;
* :mod:`~beaconhunt.detect.base`: the detector seam (``Detector``, ``Candidate``, registry);
* :mod:`~beaconhunt.detect.beacon`: the beacon detector, the first registered;
* :mod:`~beaconhunt.detect.dns`: C2 and tunnels over DNS, generated domains;
* :mod:`~beaconhunt.detect.long_session`: sessions held open for hours;
* :mod:`~beaconhunt.detect.settings`: the settings of those two.

The formulas are in ``docs/scoring.md``.
"""

from __future__ import annotations

from beaconhunt.detect.base import (
    DETECTORS,
    Candidate,
    DetectInput,
    Detector,
    DetectReport,
    detectors,
    register_detector,
)
from beaconhunt.detect.batch import BatchScores, SeriesBatch, score_batch

# the built-in detectors register themselves on import
from beaconhunt.detect.beacon import BeaconDetector
from beaconhunt.detect.dns import DnsDetector
from beaconhunt.detect.filter import (
    FILTER_REASONS,
    FilterResult,
    FilterSettings,
    PairAggregates,
    prefilter,
    prefilter_aggregates,
)
from beaconhunt.detect.long_session import LongSessionDetector
from beaconhunt.detect.periodicity import Periodicity, estimate_period, fold, measure_periodicity
from beaconhunt.detect.reasons import REASON_CODES
from beaconhunt.detect.score import DEFAULT_SETTINGS, PairScore, ScoreSettings, score_series
from beaconhunt.detect.settings import DnsSettings, LongSessionSettings

__all__ = [
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
