"""No network reader claims a file of another format: every fixture in the repository
(Zeek, Sysmon, context files, the other readers' logs and their READMEs) is offered to
every reader, which must say no unless the file is in its own fixture folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from beaconhunt.ingest.network import NetworkReader
from beaconhunt.ingest.readers import network_readers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _head(path: Path) -> str:
    """The start of a file as the sniffer sees it (gunzipped, BOM removed)."""
    raw = path.read_bytes()[: 1 << 16]
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8", "replace")
    return text.removeprefix("\ufeff")


@pytest.mark.parametrize("reader", network_readers(), ids=lambda r: r.name)
def test_a_reader_claims_no_fixture_of_another_format(reader: NetworkReader) -> None:
    own = FIXTURES / reader.name
    assert own.is_dir(), f"{reader.name} has no fixture folder {own}"
    others = [p for p in FIXTURES.rglob("*") if p.is_file() and own not in p.parents]
    assert len(others) > 30
    claimed = [p for p in others if reader.detect(_head(p), p)]
    assert not claimed, f"{reader.name} claims {[str(p.relative_to(FIXTURES)) for p in claimed]}"


@pytest.mark.parametrize("reader", network_readers(), ids=lambda r: r.name)
def test_a_reader_claims_its_own_fixture(reader: NetworkReader) -> None:
    logs = [p for p in (FIXTURES / reader.name).rglob("*") if p.is_file()
            and p.suffix not in (".txt", ".md")]  # fmt: skip
    assert logs and any(reader.detect(_head(p), p) for p in logs), reader.name
