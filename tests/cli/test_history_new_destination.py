"""First sightings across runs: a C2 domain that appears after days of clean history is new."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.synth import ImplantMix, Scenario, generate

DAY = 86400.0


def _hunt(*args: str) -> list[dict[str, object]]:
    res = CliRunner().invoke(main, ["hunt", *args, "--format", "ndjson", "-q"])
    assert res.exit_code == 0, res.output
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def test_a_destination_first_seen_after_clean_days_is_new(tmp_path: Path) -> None:
    base = Scenario.small(seed=3, hours=6.0)
    clean = replace(base, implants=ImplantMix.none())
    infected = replace(base, start=base.start + 3 * DAY,
                       implants=ImplantMix(1, 0, 0, 0, 0))  # fmt: skip
    day1, day4 = tmp_path / "day1", tmp_path / "day4"
    generate(day1, clean)
    summary = generate(day4, infected)
    db = str(tmp_path / "hunt.duckdb")
    _hunt(str(day1), "--db", db)
    # a daily hunt into a growing store analyses the last day, with all history behind it
    rows = _hunt(str(day4), "--db", db, "--window", "6h")
    c2 = summary.beacons[0]
    beacon = next(r for r in rows if r["dst_domain"] == c2.dst)
    codes = {r["code"]: r["text"] for r in beacon["reasons"]}  # type: ignore[union-attr]
    assert "dest.new" in codes, codes
    assert "after 3.0 days of history without it" in codes["dest.new"]
    # destinations of the first day were there when the history began: not new
    for r in rows:
        if r["dst_domain"] != c2.dst and r["first_seen"] < "2026-11-04":
            assert "dest.new" not in {x["code"] for x in r["reasons"]}  # type: ignore[union-attr]
    # without the history, nothing can be called new
    alone = _hunt(str(day4))
    assert not [r for r in alone if "dest.new" in {x["code"] for x in r["reasons"]}]  # type: ignore[union-attr]
