"""``hunt --timings`` and the stage clock behind it."""

from __future__ import annotations

import re
import time
from pathlib import Path

from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.util.timing import StageClock, format_stages

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "zeek" / "basic"


def test_a_stage_adds_up_and_a_parent_prints_first() -> None:
    clock = StageClock()
    with clock.stage("detect"):
        for _ in range(2):
            with clock.stage("detect.beacon"):
                time.sleep(0.01)
    clock["total"] = clock["detect"]
    assert list(clock) == ["detect", "detect.beacon", "total"]
    assert clock["detect"] >= clock["detect.beacon"] >= 0.02
    lines = format_stages(clock)
    assert lines[0].startswith("detect ") and lines[1].startswith("  detect.beacon")
    assert lines[2].rstrip().endswith("100.0%")


def test_hunt_prints_its_stages_even_when_quiet() -> None:
    res = CliRunner().invoke(main, ["hunt", str(FIXTURE), "-q", "--timings", "--format",
                                    "ndjson"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert res.stderr.startswith("seconds per stage:")
    stages = re.findall(r"^\s+([a-z_.]+)\s+[0-9.]+ s\s+[0-9.]+%$", res.stderr, re.M)
    for name in ("load", "group", "detect", "detect.beacon", "detect.beacon.series",
                 "details", "investigate", "total"):  # fmt: skip
        assert name in stages
    assert res.stdout.count("\n") >= 1  # the findings still go to stdout
    quiet = CliRunner().invoke(main, ["hunt", str(FIXTURE), "-q", "--format", "ndjson"])
    assert quiet.stderr == ""
