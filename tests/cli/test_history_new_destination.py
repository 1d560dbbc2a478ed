"""First sightings across runs: a C2 domain that appears after days of clean history is new."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.synth import ImplantMix, Scenario, generate
from beaconhunt.synth.scenario import DEFAULT_START

DAY = 86400.0


def _hunt(*args: str) -> list[dict[str, object]]:
    res = CliRunner().invoke(main, ["hunt", *args, "--format", "ndjson", "-q"])
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def test_a_destination_first_seen_after_clean_days_is_new(tmp_path: Path) -> None:
    base = Scenario.small(seed=3, hours=6.0)
    clean = replace(base, start=DEFAULT_START, days=2.0, implants=ImplantMix.none())
    infected = replace(base, start=DEFAULT_START + 2 * DAY + 6 * 3600,
                       implants=ImplantMix(1, 0, 0, 0, 0))  # fmt: skip
    before, today = tmp_path / "before", tmp_path / "today"
    generate(before, clean)
    summary = generate(today, infected)
    db = str(tmp_path / "hunt.duckdb")
    _hunt(str(before), "--db", db)
    # a daily hunt into a growing store analyses the last hours, with all history behind it
    rows = _hunt(str(today), "--db", db, "--window", "6h")
    c2 = summary.beacons[0]
    beacon = next(r for r in rows if r["dst_domain"] == c2.dst)
    codes = {r["code"]: r["text"] for r in beacon["reasons"]}  # type: ignore[union-attr]
    assert "dest.new" in codes, codes
    # two clean days end at midnight, the implant starts at 06:00: 42 of 48 hours observed
    text = codes["dest.new"]
    assert re.search(r"after 2\.\d days of history without it \(88% of the 2 days", text), text
    # the pollers of the first days were there when the history began: not new
    pollers = [r for r in rows if r["dst_domain"] in ("ts01-b.cloudsink.net",
                                                      "outlook.office365.com")]  # fmt: skip
    assert pollers and all(
        "dest.new" not in {x["code"] for x in r["reasons"]}  # type: ignore[union-attr]
        for r in pollers
    )
    # without the history, nothing can be called new
    alone = _hunt(str(today))
    assert not [r for r in alone if "dest.new" in {x["code"] for x in r["reasons"]}]  # type: ignore[union-attr]


def test_a_gap_in_the_history_is_not_evidence_of_absence(tmp_path: Path) -> None:
    base = Scenario.small(seed=3, hours=6.0)
    clean = replace(base, implants=ImplantMix.none())
    infected = replace(base, start=base.start + 3 * DAY, implants=ImplantMix(1, 0, 0, 0, 0))
    first, later = tmp_path / "first", tmp_path / "later"
    generate(first, clean)
    summary = generate(later, infected)
    db = str(tmp_path / "hunt.duckdb")
    _hunt(str(first), "--db", db)
    rows = _hunt(str(later), "--db", db, "--window", "6h")
    beacon = next(r for r in rows if r["dst_domain"] == summary.beacons[0].dst)
    # six hours of history three days earlier say nothing about the two days before
    assert "dest.new" not in {x["code"] for x in beacon["reasons"]}  # type: ignore[union-attr]
