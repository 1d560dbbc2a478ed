"""docs/accuracy.md shows every plot the grid wrote, and says how to reproduce them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from beaconhunt.lab.plots import plot_name

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "accuracy.md"
PLOTS = ROOT / "docs" / "accuracy"


def _text() -> str:
    if not DOC.is_file():
        pytest.fail("docs/accuracy.md is missing")
    return DOC.read_text(encoding="utf-8")


def test_every_png_in_docs_accuracy_is_linked() -> None:
    text = _text()
    linked = set(re.findall(r"\]\((accuracy/[^)\s]+\.png)\)", text))
    pngs = {f"accuracy/{p.name}" for p in PLOTS.glob("*.png")}
    assert pngs, "docs/accuracy/ holds no plot"
    assert pngs <= linked, f"not linked from docs/accuracy.md: {sorted(pngs - linked)}"
    assert linked <= pngs, f"linked but missing: {sorted(linked - pngs)}"


def test_every_sweep_has_its_plot_and_the_command_is_given() -> None:
    text = _text()
    for knob in ("jitter", "sleep", "loss"):
        assert (PLOTS / plot_name(knob)).is_file(), knob
    assert "beaconhunt evaluate --grid --out docs/accuracy" in text
    assert (PLOTS / "accuracy-grid.md").is_file()


def _grid_rows(knob: str) -> list[tuple[str, str]]:
    """(value, all families escalated) of every row of one sweep in accuracy-grid.md."""
    text = (PLOTS / "accuracy-grid.md").read_text(encoding="utf-8")
    section = text.split(f"### {knob.capitalize()} sweep", 1)[1].split("\n### ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    header, body = rows[0], rows[1:]
    at = [c.strip() for c in header].index("all")
    return [(r[0].strip(), r[at].split("/")[0].strip()) for r in body if r[0].strip() != "---"]


@pytest.mark.parametrize("knob", ["jitter", "sleep", "loss"])
def test_the_summary_in_accuracy_md_matches_the_measured_grid(knob: str) -> None:
    """The hand-written summary table quotes accuracy-grid.md: where detection holds and
    the first value where it falls must be the measured ones (regenerate, then update)."""
    rows = [r for r in _grid_rows(knob) if not r[0].startswith("-")]
    holds = ""
    for value, escalated in rows:
        if escalated != "100%":
            break
        holds = value
    first_cell = {"jitter": "| jitter ", "sleep": "| sleep ", "loss": "| missed check-ins "}[knob]
    summary = next(line for line in _text().splitlines() if line.startswith(first_cell))
    cells = [c.strip() for c in summary.split("|")[1:-1]]
    assert cells[1].endswith(holds), (knob, holds, cells[1])
    falls = [f"{escalated} at {value}" for value, escalated in rows if escalated != "100%"]
    assert all(f in cells[2] for f in falls), (knob, falls, cells[2])
    assert falls or cells[2] == "-", (knob, cells[2])
