"""Helpers of the network reader tests: load files into a fresh store and look at the rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from beaconhunt.ingest import linescan
from beaconhunt.ingest.lines import DEFAULT_MAX_LINE
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers import network_readers
from beaconhunt.ingest.sniff import is_gzip
from beaconhunt.lab import Label, load_labels, match
from beaconhunt.model import Finding
from beaconhunt.store.duckdb import DuckDBStore


class PythonOnly(NetworkReader):
    """A built-in reader without its SQL: the Python path, the reference the SQL path
    (:mod:`beaconhunt.ingest.linescan`) is held to."""

    def __init__(self, inner: NetworkReader) -> None:
        self.inner = inner
        self.name = inner.name
        self.description = inner.description

    def detect(self, head: str, path: Path) -> bool:
        return self.inner.detect(head, path)

    def read(self, path: Path, sink: FlowSink) -> None:
        self.inner.read(path, sink)


def _load_with(
    paths: Sequence[Path], order: str, sources: Sequence[NetworkReader]
) -> tuple[LoadReport, list[dict[str, Any]]]:
    store = DuckDBStore()
    report = load_paths(list(paths), store, sources=sources)
    cur = store.con.execute(f"SELECT * FROM conn ORDER BY {order}")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    store.close()
    return report, rows


def load(
    *paths: Path, order: str = "ts, src_ip, src_port", python: bool = False
) -> tuple[LoadReport, list[dict[str, Any]]]:
    """Load ``paths`` as ``beaconhunt hunt`` would; the report and every conn row as a dict,
    sorted by ``order`` (a fixed ORDER BY list, never user input).

    Every load is made twice, by the readers' SQL and by their Python, and the two
    must agree row for row, skip for skip and problem for problem (``python=True``
    returns the Python path's result)."""
    sql = _load_with(paths, order, ())
    ref = _load_with(paths, order, [PythonOnly(r) for r in network_readers()])
    _rows_agree(sql[1], ref[1])
    assert [(p.file, p.line, p.message, p.skipped) for p in sql[0].problems] == [
        (p.file, p.line, p.message, p.skipped) for p in ref[0].problems
    ]
    assert sql[0].skipped_records == ref[0].skipped_records
    assert sql[0].rows == ref[0].rows
    return ref if python else sql


def _rows_agree(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """The same rows, whatever order each path stored them in."""

    def key(row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(repr(row[k]) for k in sorted(row))

    assert sorted(got, key=key) == sorted(want, key=key)


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


def python_lines(path: Path, reader: NetworkReader) -> list[int]:
    """Numbers of the lines of ``path`` that ``reader``'s SQL hands to its Python, the lines
    read as the loader reads them (:func:`beaconhunt.ingest.linescan.scan_lines`). The
    SQL must run: a cast error here would make the loader read the whole file in Python."""
    scan = reader.line_scan(path)
    assert scan is not None, f"{reader.name} has no SQL for {path}"
    con = duckdb.connect()
    raw = f"SELECT row_number() OVER () AS n, line FROM {linescan._lines_scan(is_gzip(path))}"
    rows = con.execute(
        f"WITH lines AS ({raw}) SELECT n FROM ({scan.select}) WHERE python_line IS NOT NULL"
        " ORDER BY n",
        [str(path), max(DEFAULT_MAX_LINE, linescan._DUCKDB_MIN_LINE), *scan.params],
    ).fetchall()
    con.close()
    return [int(r[0]) for r in rows]
