"""Bad input gets a clear answer with file and line, and the rest is still read."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import ZEEK


def _load(*paths: Path) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    return store, load_paths(list(paths), store)


def _conn_count(store: DuckDBStore) -> int:
    return store.count("conn")


def test_truncated_last_line_reported_with_line_number(tmp_path: Path) -> None:
    text = (ZEEK / "basic" / "conn.log").read_text()
    body = text.rsplit("#close", 1)[0]
    lines = body.splitlines()
    cut = "\n".join(lines[:-1]) + "\n" + lines[-1][:25]  # last record cut mid-field
    (tmp_path / "conn.log").write_text(cut)
    store, report = _load(tmp_path / "conn.log")
    assert _conn_count(store) == 52  # 53 records, the cut one skipped
    [problem] = report.problems
    assert problem.file.endswith("conn.log")
    assert problem.line == len(lines)
    assert report.skipped_lines == 1


def test_bad_line_in_the_middle_of_tsv(tmp_path: Path) -> None:
    lines = (ZEEK / "basic" / "conn.log").read_text().splitlines()
    lines[10] = "not-a-time\t" + lines[10].split("\t", 1)[1]
    (tmp_path / "conn.log").write_text("\n".join(lines) + "\n")
    store, report = _load(tmp_path / "conn.log")
    assert _conn_count(store) == 52
    assert [(p.line, p.skipped) for p in report.problems] == [(11, 1)]


def test_corrupt_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    big = (ZEEK / "basic" / "conn.log").read_text()
    header, _, body = big.partition("\n1")
    rows = ("1" + body).rsplit("#close", 1)[0]
    data = gzip.compress((header + "\n" + rows * 40).encode())
    (tmp_path / "conn.log.gz").write_bytes(data[: len(data) // 2])
    store, report = _load(tmp_path / "conn.log.gz")
    assert 0 < _conn_count(store) < 53 * 40
    first = report.problems[0]
    assert "damaged" in first.message
    assert first.line is not None and first.line > 8


def test_not_a_zeek_file_named_conn_log(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text("Lorem ipsum dolor sit amet, consectetur.\n" * 5)
    store, report = _load(tmp_path / "conn.log")
    assert _conn_count(store) == 0
    [p] = report.problems
    assert "not a log format beaconhunt reads" in p.message and p.file.endswith("conn.log")


def test_header_only_log(tmp_path: Path) -> None:
    text = (ZEEK / "basic" / "conn.log").read_text()
    header = "\n".join(ln for ln in text.splitlines() if ln.startswith("#")) + "\n"
    (tmp_path / "conn.log").write_text(header)
    _, report = _load(tmp_path / "conn.log")
    [p] = report.problems
    assert "header only" in p.message


def test_broken_json_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = (ZEEK / "json" / "conn.log").read_text().splitlines()
    lines = [*good[:5], '{"ts": 17935', "[1, 2]", *good[5:], good[-1][:40]]
    (tmp_path / "conn.json").write_text("\n".join(lines))
    store, report = _load(tmp_path / "conn.json", ZEEK / "json" / "ssl.log")
    assert _conn_count(store) == 20
    # 5 good lines, 2 broken (lines 6, 7), 15 good (8-22), the cut copy on line 23
    assert [(p.line, p.skipped) for p in report.problems] == [(6, 1), (7, 1), (23, 1)]
    assert report.skipped_lines == 3


def test_json_record_without_time(tmp_path: Path) -> None:
    rec = json.loads((ZEEK / "json" / "conn.log").read_text().splitlines()[0])
    rec["ts"] = "yesterday"
    (tmp_path / "conn.json").write_text(json.dumps(rec) + "\n")
    _, report = _load(tmp_path / "conn.json")
    assert "no valid 'ts'" in report.problems[0].message


def test_one_bad_file_does_not_lose_the_others(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "conn.log").write_text("garbage\n")
    (tmp_path / "b.log.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    store, report = _load(tmp_path, ZEEK / "basic")
    assert _conn_count(store) == 53
    # the broken gzip is a warning; the prose file found in a folder is listed once
    [problem] = report.problems
    assert problem.file.endswith("b.log.gz")
    assert [p.name for p in report.not_logs] == ["conn.log"]


def test_a_raw_crlf_inside_one_field_costs_that_record_not_the_file(tmp_path: Path) -> None:
    # issue 13: with DuckDB's strict mode the whole http.log was unreadable
    lines = (ZEEK / "http_only" / "http.log").read_text().splitlines(keepends=True)
    data = [i for i, line in enumerate(lines) if not line.startswith("#")]
    parts = lines[data[1]].split("\t")
    parts[9] = parts[9][:5] + "\r\n" + parts[9][5:]  # the URI, cut by a raw CR/LF
    lines[data[1]] = "\t".join(parts)
    (tmp_path / "http.log").write_text("".join(lines))
    _, report = _load(tmp_path / "http.log")
    assert report.rows["http"] == len(data) - 1
    # the two halves are reported (DuckDB counts the CR and the LF as line ends)
    halves = [p.line for p in report.problems if p.line]
    assert len(halves) == 2 and all(data[1] < n <= data[1] + 3 for n in halves)
