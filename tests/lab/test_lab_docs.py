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
