"""Helpers of the network reader tests: load files into a fresh store and look at the rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from beaconhunt.ingest.loader import LoadReport, load_paths
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
