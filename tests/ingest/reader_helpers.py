"""Helpers of the network reader tests: load files into a fresh store and look at the rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.lab import Label, load_labels, match
from beaconhunt.model import Finding
from beaconhunt.store.duckdb import DuckDBStore


def load(
    *paths: Path, order: str = "ts, src_ip, src_port"
) -> tuple[LoadReport, list[dict[str, Any]]]:
    """Load ``paths`` as ``beaconhunt hunt`` would; the report and every conn row as a dict,
    sorted by ``order`` (a fixed ORDER BY list, never user input)."""
    store = DuckDBStore()
    report = load_paths(list(paths), store)
    cur = store.con.execute(f"SELECT * FROM conn ORDER BY {order}")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    store.close()
    return report, rows


def problems(report: LoadReport) -> list[tuple[int | None, str]]:
    """(line, message) of every problem the load reported."""
    return [(p.line, p.message) for p in report.problems]


def implant_pairs(
    labels_csv: Path, zeek: Sequence[Finding], other: Sequence[Finding]
) -> list[tuple[Label, Finding, Finding]]:
    """Every implant of ``labels_csv`` with its finding in the Zeek hunt and in the other
    format's hunt (matched by name, or by address when that format has no names, as
    ``beaconhunt evaluate`` matches); asserts both hunts report it."""
    labels = load_labels(labels_csv)
    by_zeek = {o.label.key: o.finding for o in match(zeek, labels)}
    by_other = {o.label.key: o.finding for o in match(other, labels)}
    out = []
    for lab in labels:
        if not lab.implant:
            continue
        z, n = by_zeek[lab.key], by_other[lab.key]
        assert z is not None and n is not None, lab
        out.append((lab, z, n))
    return out
