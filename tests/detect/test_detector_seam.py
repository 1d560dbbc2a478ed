"""The detector seam: a registry of detectors whose candidates share the later stages."""

from __future__ import annotations

import numpy as np
import pytest

from beaconhunt.detect import (
    DETECTORS,
    BeaconDetector,
    Candidate,
    DetectInput,
    Detector,
    DetectReport,
    detectors,
    register_detector,
)
from beaconhunt.model.record import finding_record
from beaconhunt.pipeline import hunt
from tests.conftest import FIXTURES


def test_the_beacon_detector_is_registered() -> None:
    assert DETECTORS["beacon"] is BeaconDetector
    assert [d.kind for d in detectors()][:1] == ["beacon"]


def test_a_kind_registers_once() -> None:
    class Other(Detector):
        kind = "beacon"

        def detect(self, data: DetectInput, report: DetectReport) -> list[Candidate]:
            return []

    with pytest.raises(ValueError, match="already registered"):
        register_detector(Other)


def test_findings_name_their_kind() -> None:
    found = hunt([FIXTURES / "zeek" / "basic"]).findings
    assert found and all(f.kind == "beacon" for f in found)
    assert finding_record(found[0])["kind"] == "beacon"


def test_another_detector_s_candidates_go_through_the_same_stages() -> None:
    # a toy detector re-reporting the beacon detector's best pair under its own kind:
    # the pipeline attributes, investigates and decides it like any other
    class Echo(Detector):
        kind = "echo-test"

        def detect(self, data: DetectInput, report: DetectReport) -> list[Candidate]:
            beacons = BeaconDetector().detect(data, DetectReport())
            best = max(beacons, key=lambda c: c.score)
            return [Candidate(self.kind, best.pair_id, best.details, np.asarray(best.times))]

    register_detector(Echo)
    try:
        found = hunt([FIXTURES / "zeek" / "basic"]).findings
    finally:
        del DETECTORS["echo-test"]
    echo = [f for f in found if f.kind == "echo-test"]
    assert len(echo) == 1
    twin = next(f for f in found if f.kind == "beacon" and f.dst_ip == echo[0].dst_ip
                and f.dst_port == echo[0].dst_port)  # fmt: skip
    assert echo[0].score == twin.score
    # the same evidence, except the beacon score bands (beacon.regular/strong/weak),
    # which only a beacon's score means; so the policy decides it by other rules
    evidence = [r for r in twin.reasons if not r.code.startswith(("beacon.", "decision."))]
    assert [r for r in echo[0].reasons if r.code != "decision.rule"] == evidence
    assert any(r.code.startswith("beacon.") for r in twin.reasons)
    assert echo[0].finding_id != twin.finding_id  # one pair, two kinds: two findings
