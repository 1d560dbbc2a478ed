"""No line costs more than the line limit: too-long lines are skipped and reported
with file and line in every format, never held in memory, never dropped silently
(issue 13, "Cost out of proportion to input" and "Smaller losses")."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from beaconhunt.ingest.lines import BoundedText, LineGuard, lines_longer_than
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import ZEEK

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load(*paths: Path, max_line: int = 1 << 20) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    return store, load_paths(list(paths), store, max_line=max_line)


def _conn_with(tmp_path: Path, extra: str) -> tuple[Path, int]:
    """The basic conn.log with ``extra`` after its records; returns the path and
    the line number ``extra`` starts on."""
    text = (ZEEK / "basic" / "conn.log").read_text()
    body = text.rsplit("#close", 1)[0]
    path = tmp_path / "conn.log"
    path.write_text(body + extra)
    return path, body.count("\n") + 1


@pytest.mark.parametrize(
    "text",
    [
        "a\nb\n\nc",
        "one\r\ntwo\rthree\n",
        "json \u2028 inside\x0cform feed\x1c\n",
        "",
        "x" * 70_000 + "\nshort\n",
    ],
)
def test_bounded_text_reads_what_a_file_reads(text: str) -> None:
    expected = list(io.StringIO(text, newline=None))
    got = list(BoundedText(io.StringIO(text, newline=None), "t", LineGuard(1 << 20)))
    assert got == expected


def test_bounded_text_skips_long_lines_and_keeps_numbering() -> None:
    limit = 1000
    text = "a\n" + "x" * 5000 + "\nb\n" + "y" * 300_000 + "\nc\n" + "z" * 2000
    guard = LineGuard(limit)
    got = list(BoundedText(io.StringIO(text), "f", guard))
    assert got == ["a\n", "\n", "b\n", "\n", "c\n", "\n"]
    assert guard.too_long == {"f": [2, 4, 6]}


def test_bounded_text_readline_and_iteration_share_the_file() -> None:
    fh = BoundedText(io.StringIO("#h\n1\n2\n"), "f", LineGuard())
    assert fh.readline() == "#h\n"
    assert list(fh) == ["1\n", "2\n"]
    assert fh.readline() == ""


def test_a_zeek_tsv_line_past_duckdbs_buffer_is_reported_not_dropped(tmp_path: Path) -> None:
    # a Zeek header, its records, then a 40 MB unterminated line (DuckDB 2.0 drops
    # lines past its 32 MiB buffer without a reject)
    path, line = _conn_with(tmp_path, "x" * 40_000_000)
    store, report = _load(path)
    assert store.count("conn") == 53
    [problem] = report.problems
    assert (problem.line, problem.skipped) == (line, 1)
    assert "longer than" in problem.message


def test_a_zeek_tsv_line_past_the_limit_is_reported(tmp_path: Path) -> None:
    path, line = _conn_with(tmp_path, "1\t" + "y" * 200_000 + "\n")
    store, report = _load(path, max_line=1 << 16)
    assert store.count("conn") == 53
    assert [(p.line, p.skipped) for p in report.problems] == [(line, 1)]


def test_a_tab_flood_costs_one_line(tmp_path: Path) -> None:
    # 100,000 tabs took 22 s and 3.2 GB before (DuckDB's strict mode records one
    # error per surplus field); benchmarks/bench_hostile.py measures the cost
    path, line = _conn_with(tmp_path, "\t" * 100_000 + "\n")
    store, report = _load(path)
    assert store.count("conn") == 53
    assert [(p.line, p.skipped) for p in report.problems] == [(line, 1)]


def test_long_and_deeply_nested_json_lines_cost_their_line(tmp_path: Path) -> None:
    good = {"ts": 1762156800.5, "uid": "C1", "id.orig_h": "10.0.0.1", "id.orig_p": 5000,
            "id.resp_h": "203.0.113.7", "id.resp_p": 443, "proto": "tcp"}  # fmt: skip
    lines = [json.dumps(good), json.dumps({**good, "x": "a" * 3_000_000}), "[" * 200_000,
             json.dumps({**good, "uid": "C2", "ts": 1762156801.5})]  # fmt: skip
    path = tmp_path / "conn.json"
    path.write_text("\n".join(lines) + "\n")
    store, report = _load(path)
    assert store.count("conn") == 2
    assert sorted((p.line, p.skipped) for p in report.problems) == [(2, 1), (3, 1)]
    assert any("longer than" in p.message for p in report.problems)
    assert any("nested too deeply" in p.message for p in report.problems)


def test_a_long_line_in_a_network_log_costs_that_line(tmp_path: Path) -> None:
    lines = (FIXTURES / "squid" / "access.log").read_text().splitlines()
    bad = lines[0].replace(" - ", " " + "u" * 100_000 + " ", 1)
    (tmp_path / "access.log").write_text("\n".join([lines[0], bad, *lines[1:]]) + "\n")
    _, clean = _load(FIXTURES / "squid" / "access.log")
    _, report = _load(tmp_path / "access.log", max_line=1 << 16)
    assert report.rows["squid"] == clean.rows["squid"]
    assert [(p.line, p.skipped) for p in report.problems if "longer" in p.message] == [(2, 1)]


def test_the_probe_finds_long_lines_without_reading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"a\tb\n" * 1000 + b"x" * 40_000_000 + b"\n" + b"c\n" * 10 + b"y" * 34_000_000)
    assert lines_longer_than(path) == [1001, 1012]
    assert lines_longer_than(ZEEK / "basic" / "conn.log") == []
