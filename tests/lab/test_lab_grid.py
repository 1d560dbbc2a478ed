"""Bins of the breakdowns, the grid's design and rendering, and the plots (no generation)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from beaconhunt.lab import (
    BASE,
    FULL_GRID,
    GRID_MIX,
    QUICK_GRID,
    Bins,
    GridPoint,
    GridResult,
    Group,
    PointResult,
    capture_days,
    grid_points,
    point_scenario,
)
from beaconhunt.lab.breakdown import JITTER_BINS, LOSS_BINS, SLEEP_BINS
from beaconhunt.lab.render import grid_json, grid_markdown, grid_text, knob_value, pct, table
from beaconhunt.synth import DEFAULT_START


@pytest.mark.parametrize(
    ("bins", "x", "name"),
    [
        (JITTER_BINS, 0.0, "<10%"),
        (JITTER_BINS, 0.1, "10-30%"),  # bins are closed on the left
        (JITTER_BINS, 0.29, "10-30%"),
        (JITTER_BINS, 0.9, "90%+"),
        (SLEEP_BINS, 1.0, "<10 s"),
        (SLEEP_BINS, 60.0, "1-5 min"),
        (SLEEP_BINS, 3600.0, "1-4 h"),
        (SLEEP_BINS, 14400.0, "4 h+"),
        (LOSS_BINS, 0.02, "<5%"),
        (LOSS_BINS, 0.4, "35%+"),
        (LOSS_BINS, None, "unknown"),
        (LOSS_BINS, math.nan, "unknown"),
    ],
)
def test_bins(bins: Bins, x: float | None, name: str) -> None:
    assert bins.of(x) == name


def test_bins_are_checked() -> None:
    with pytest.raises(ValueError):
        Bins((1.0, 0.5), ("a", "b", "c"))
    with pytest.raises(ValueError):
        Bins((1.0,), ("a",))


@pytest.mark.parametrize(
    ("sleep", "days"),
    [(1.0, 0.25), (60.0, 0.25), (1800.0, 1800 * 40 / 86400), (3600.0, 40 / 24), (14400.0, 3.0)],
)
def test_capture_days_gives_40_checkins_within_6_hours_and_3_days(
    sleep: float, days: float
) -> None:
    assert capture_days(sleep) == pytest.approx(days)


def test_grid_points_move_one_knob_at_a_time() -> None:
    points = grid_points(FULL_GRID)
    assert len(points) == 6 + 7 + 5
    for p in points:
        settings = {"sleep": p.sleep, "jitter": p.jitter, "loss": p.loss}
        assert settings == BASE | {p.knob: p.value}
    jitter = [p.value for p in points if p.knob == "jitter"]
    assert jitter == [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]
    assert len(grid_points(QUICK_GRID)) == 9


def test_point_scenario_forces_the_implants_and_starts_in_office_hours() -> None:
    p = GridPoint("sleep", 3600.0, 3600.0, 0.2, 0.0)
    s = point_scenario(p, seed=9, hosts=40, mix=GRID_MIX)
    assert (s.sleep, s.jitter, s.loss, s.seed) == (3600.0, 0.2, 0.0, 9)
    assert s.days == pytest.approx(40 / 24)
    assert s.start == DEFAULT_START + 8 * 3600
    assert s.implants.counts() == dict.fromkeys(s.implants.counts(), 2)


def _fake_grid() -> GridResult:
    def point(knob: str, value: float, esc: int, found: int) -> PointResult:
        p = GridPoint(knob, value, **(BASE | {knob: value}))
        fam = (Group("cobalt_strike", 4, esc, found, 4, 4), Group("mythic", 8, 8, 8, 8, 8))
        overall = Group("all", 12, esc + 8, found + 8, 12, 12)
        return PointResult(p, fam, overall, esc + 9, 1, 40.0, 0.9, 1.5)

    points = (point("jitter", 0.0, 4, 4), point("jitter", 0.9, 1, 3),
              point("sleep", 10.0, 4, 4), point("sleep", 3600.0, 2, 4))  # fmt: skip
    return GridResult(points, (7, 8), 40, GRID_MIX, True, 12.0)


def test_render_helpers() -> None:
    assert [knob_value("sleep", v) for v in (1, 10, 60, 300, 5400, 3600, 14400)] == [
        "1 s", "10 s", "1 min", "5 min", "90 min", "1 h", "4 h"]  # fmt: skip
    assert knob_value("jitter", 0.3) == "30%"
    assert pct(math.nan) == "n/a" and pct(0.875) == "88%"
    md = table(("a", "b"), [("1", "2")], markdown=True)
    assert md == "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert table(("a", "b"), [("10", "2")], markdown=False).splitlines()[2] == "10  2"


def test_grid_tables_and_json() -> None:
    grid = _fake_grid()
    assert grid.knobs == ["jitter", "sleep"]
    text = grid_text(grid)
    assert "jitter sweep (sleep 1 min, loss 0%):" in text
    # cobalt strike at 90% jitter: 1 of 4 escalated, 3 of 4 found; 1 false / 40 host-days = 25
    row = next(line for line in text.splitlines() if line.startswith("90%"))
    assert "25% / 75% (4)" in row and "25.0" in row
    md = grid_markdown(grid, command="beaconhunt evaluate --grid", measured="on 2026-01-01",
                       images={"jitter": "detection-vs-jitter.png"})  # fmt: skip
    assert "`beaconhunt evaluate --grid` on 2026-01-01" in md
    assert "![detection rate vs jitter](detection-vs-jitter.png)" in md
    assert "| 1 h | 50% / 100% (4) |" in md.replace("  ", " ")
    data = json.loads(grid_json(grid))
    assert data["seeds"] == [7, 8] and len(data["points"]) == 4
    assert data["points"][1]["families"][0]["recall_escalated"] == 0.25


def test_plots_are_png_files(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from beaconhunt.lab.plots import write_plots

    paths = write_plots(_fake_grid(), tmp_path / "plots")
    assert [p.name for p in paths] == ["detection-vs-jitter.png", "detection-vs-sleep.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_without_matplotlib_say_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from beaconhunt.errors import ConfigError
    from beaconhunt.lab.plots import write_plots

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ConfigError, match=r"pip install 'beaconhunt\[lab\]'"):
        write_plots(_fake_grid(), tmp_path)
