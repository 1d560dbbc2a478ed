"""docs/scoring.md documents every setting, default and code of the detector."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from beaconhunt.detect import FILTER_REASONS, REASON_CODES, FilterSettings, ScoreSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


SETTINGS = [(ScoreSettings(), f.name) for f in dataclasses.fields(ScoreSettings)] + [
    (FilterSettings(), f.name) for f in dataclasses.fields(FilterSettings)
]


@pytest.mark.parametrize(("defaults", "field"), SETTINGS, ids=[f for _, f in SETTINGS])
def test_every_setting_is_documented_with_its_default(
    doc: str, defaults: object, field: str
) -> None:
    default = getattr(defaults, field)
    row = next((line for line in doc.splitlines() if line.startswith(f"| `{field}` |")), None)
    assert row is not None, f"{field} missing from a settings table"
    cell = row.split("|")[2].strip()
    assert float(cell) == pytest.approx(default), f"{field}: doc says {cell}, code {default}"


@pytest.mark.parametrize("code", [*REASON_CODES, *FILTER_REASONS[1:]])
def test_every_code_is_documented(doc: str, code: str) -> None:
    assert f"`{code}`" in doc


@pytest.mark.parametrize(("defaults", "field"), SETTINGS, ids=[f for _, f in SETTINGS])
def test_every_setting_has_help_and_a_range_that_holds_its_default(
    defaults: object, field: str
) -> None:
    # beaconhunt.config builds the commented default config from this metadata
    meta = next(f.metadata for f in dataclasses.fields(type(defaults)) if f.name == field)  # type: ignore[arg-type]
    assert meta["help"].endswith(".") and len(meta["help"]) > 20
    default = getattr(defaults, field)
    assert meta["min"] is None or default >= meta["min"]
    assert meta["max"] is None or default <= meta["max"]
