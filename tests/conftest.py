"""Shared test helpers: fixture paths, Zeek TSV rewriting, the shared samples folder."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ZEEK = FIXTURES / "zeek"
#: Real-world samples live beside the repository, never inside it (licences differ).
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.fixture
def samples() -> Path:
    """The shared real-world samples folder; skips the test when it is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"shared samples not present at {SAMPLES}")
    return SAMPLES


def reorder_zeek_tsv(src: Path, dst: Path, order: list[str], extra: dict[str, str]) -> None:
    """Rewrite a Zeek TSV log with its columns in ``order`` plus ``extra`` columns
    (name -> constant value), keeping Zeek's exact header layout."""
    lines = src.read_text().splitlines()
    fields = next(ln for ln in lines if ln.startswith("#fields")).split("\t")[1:]
    types = next(ln for ln in lines if ln.startswith("#types")).split("\t")[1:]
    idx = [fields.index(f) for f in order]
    out = []
    for ln in lines:
        if ln.startswith("#fields"):
            out.append("\t".join(["#fields", *order, *extra]))
        elif ln.startswith("#types"):
            out.append("\t".join(["#types", *(types[i] for i in idx), *(["string"] * len(extra))]))
        elif ln.startswith("#"):
            out.append(ln)
        else:
            cols = ln.split("\t")
            out.append("\t".join([*(cols[i] for i in idx), *extra.values()]))
    dst.write_text("\n".join(out) + "\n")


def gzip_file(src: Path, dst: Path) -> None:
    with src.open("rb") as fi, gzip.open(dst, "wb") as fo:
        shutil.copyfileobj(fi, fo)
