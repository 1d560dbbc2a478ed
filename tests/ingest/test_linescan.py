"""The SQL path for network logs (beaconhunt.ingest.linescan): line numbers past lines
DuckDB rejects, bytes that are not UTF-8, too-long lines, skips, impossible records."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from beaconhunt.ingest.lines import LineGuard
from beaconhunt.ingest.linescan import LineScan, scan_lines
from beaconhunt.store.duckdb import DuckDBStore

#: a toy format: "ts src dst port bytes" separated by spaces; "#" lines are comments,
#: "deny" in the fifth field is a skipped record
TOY = LineScan(
    """
    SELECT n, TRY_CAST(f[1] AS DOUBLE) AS ts, f[2] AS src_ip, f[3] AS dst_ip,
           TRY_CAST(f[4] AS BIGINT) AS dst_port, 'tcp' AS proto,
           TRY_CAST(f[5] AS BIGINT) AS bytes_out, f[6] AS dst_domain, 'sni' AS domain_source,
           CASE WHEN f[5] = 'deny' THEN 'denied' END AS skip,
           CASE WHEN len(f) < 5 THEN 'too few fields'
                WHEN TRY_CAST(f[1] AS DOUBLE) IS NULL THEN 'unreadable time ' || f[1]
           END AS problem
    FROM (SELECT n, string_split(line, ' ') AS f FROM lines
          WHERE line IS NOT NULL AND NOT starts_with(line, '#'))
    """
)


def _scan(path: Path, limit: int = 1 << 20, compressed: bool = False):  # type: ignore[no-untyped-def]
    store = DuckDBStore()
    guard = LineGuard(limit)
    result = scan_lines(store.con, path, TOY, "toy", compressed=compressed, line_guard=guard)
    rows = store.con.execute(
        "SELECT ts, src_ip, dst_ip, dst_port, bytes_out, dst_domain, domain_source, proxied, log"
        " FROM _flows ORDER BY ts"
    ).fetchall()
    store.close()
    return result, rows, guard


def test_connections_skips_and_problems_with_their_lines(tmp_path: Path) -> None:
    f = tmp_path / "toy.log"
    f.write_bytes(
        b"# a comment\n"
        b"100 10.0.0.1 192.0.2.1 443 50 C2.Example.\n"
        b"\n"
        b"101 10.0.0.1 192.0.2.1 443 deny\n"
        b"zz 10.0.0.1 192.0.2.1 443 7\n"
        b"short line\n"
        b"102 10.0.0.1 192.0.2.1 70000 9\n"
        b"-5 10.0.0.1 192.0.2.1 80 9\n"
        b"103 10.0.0.2 192.0.2.1 80 -1 \n"
    )
    result, rows, _ = _scan(f)
    assert rows == [(100.0, "10.0.0.1", "192.0.2.1", 443, 50, "c2.example", "sni", False, "toy")]
    assert result.skipped == {"denied": 1}
    lines = [(p.line, p.message) for p in result.problems]
    assert lines == [
        (5, "unreadable time zz"),
        (6, "too few fields"),
        (7, "destination port 70000 is outside 0-65535"),
        (8, "timestamp -5 is not a time (NaN, infinite or outside 1970-2100)"),
        (9, "byte or packet count -1 is negative"),
    ]
    assert result.connections == 1


def test_line_numbers_hold_past_lines_duckdb_rejects(tmp_path: Path) -> None:
    """A line DuckDB will not read (too long for its buffer, bytes that are not UTF-8)
    costs no line number of the lines after it; the bad bytes are read with a
    replacement character, as the Python readers read them."""
    f = tmp_path / "toy.log"
    f.write_bytes(
        b"100 10.0.0.1 192.0.2.1 443 5\n"
        + b"x" * 70_000 + b"\n"
        + b"101 10.0.0.1 192.0.2.1 443 6 caf\xe9.example\n"
        + b"zz 10.0.0.1\n"
        + b"bad line\n"
        + b"102 10.0.0.1 192.0.2.1 443 7\n"
    )  # fmt: skip
    result, rows, guard = _scan(f, limit=65_536)
    assert [r[0] for r in rows] == [100.0, 101.0, 102.0]
    assert rows[1][5] == "caf\ufffd.example"
    assert [(p.line, p.message) for p in result.problems] == [
        (4, "too few fields"),
        (5, "too few fields"),
    ]
    assert guard.too_long == {str(f): [2]}


def test_a_limit_below_duckdbs_floor_is_kept_in_characters(tmp_path: Path) -> None:
    f = tmp_path / "toy.log"
    f.write_text("100 10.0.0.1 192.0.2.1 443 5\n" + "1 " * 100 + "\n101 10.0.0.1 192.0.2.1 443 6\n")
    result, rows, guard = _scan(f, limit=50)
    assert [r[0] for r in rows] == [100.0, 101.0]
    assert guard.too_long == {str(f): [2]}
    assert result.problems == []


def test_gzip_reads_the_same(tmp_path: Path) -> None:
    text = b"100 10.0.0.1 192.0.2.1 443 5\nshort\n101 10.0.0.1 192.0.2.1 443 \xff\n"
    plain, packed = tmp_path / "a.log", tmp_path / "a.log.gz"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))
    a, rows_a, _ = _scan(plain)
    b, rows_b, _ = _scan(packed, compressed=True)
    assert rows_a == rows_b and len(rows_a) == 2  # the bad byte: an unreadable count, NULL
    assert [(p.line, p.message) for p in a.problems] == [(p.line, p.message) for p in b.problems]
    assert [p.line for p in a.problems] == [2]


def test_problems_past_the_shown_ones_are_counted(tmp_path: Path) -> None:
    f = tmp_path / "toy.log"
    f.write_text("short\n" * 60)
    result, rows, _ = _scan(f)
    assert rows == []
    assert [p.line for p in result.problems[:3]] == [1, 2, 3]
    assert result.problems[-1].line is None and result.problems[-1].skipped == 10
    assert len(result.problems) == 51


@pytest.mark.parametrize("n", [1, 3])
def test_rejects_at_the_start(tmp_path: Path, n: int) -> None:
    f = tmp_path / "toy.log"
    f.write_bytes(b"\xff\xfe bad\n" * n + b"100 10.0.0.1 192.0.2.1 443 5\nshort\n")
    result, rows, _ = _scan(f)
    assert [p.line for p in result.problems] == [*range(1, n + 1), n + 2]
    assert len(rows) == 1


@pytest.mark.parametrize("first", [b"\n", b"\r\n"])
def test_mixed_line_ends_keep_their_numbers(tmp_path: Path, first: bytes) -> None:
    # a file of \n lines with \r\n lines appended (or the other way round): Python ends
    # a line at either, and so must DuckDB, or every line after the first change of
    # kind would be numbered wrong
    other = b"\r\n" if first == b"\n" else b"\n"
    f = tmp_path / "toy.log"
    f.write_bytes(
        b"100 10.0.0.1 192.0.2.1 443 50" + first
        + b"zz bad" + other
        + b"101 10.0.0.1 192.0.2.1 443 51" + other
        + b"yy bad" + first
        + b"102 10.0.0.1 192.0.2.1 443 52" + first
    )  # fmt: skip
    result, rows, _ = _scan(f)
    assert [r[4] for r in rows] == [50, 51, 52]
    assert [p.line for p in result.problems] == [2, 4]


def test_lines_left_to_python_are_read_by_it_in_line_order(tmp_path: Path) -> None:
    # the SQL keeps lines starting with a digit and leaves the rest to the Python, whose
    # records and problems come back with their own line numbers
    from beaconhunt.ingest.network import FlowSink

    seen: list[tuple[int, str]] = []

    def python(lines, sink: FlowSink) -> None:  # type: ignore[no-untyped-def]
        for n, text in lines:
            seen.append((n, text))
            if text.startswith("py "):
                sink.connection(200.0 + n, "10.0.0.9", None, "192.0.2.9", 80, "tcp")
            else:
                sink.problem(n, f"python says no to {text!r}")

    scan = LineScan(
        "SELECT n, CASE WHEN NOT regexp_matches(line, '^[0-9]') THEN line END AS python_line,"
        " TRY_CAST(split_part(line, ' ', 1) AS DOUBLE) AS ts, '10.0.0.1' AS src_ip,"
        " CASE WHEN split_part(line, ' ', 2) = 'bad' THEN 'sql says no' END AS problem"
        " FROM lines WHERE line IS NOT NULL",
        python=python,
    )
    f = tmp_path / "mixed.log"
    f.write_text("100 ok\npy one\n101 bad\nnope\n\n102 ok\npy two\n")
    store = DuckDBStore()
    sink = FlowSink(str(f), "toy", lambda cols: store.append_flows("toy", cols), lambda c: 0)
    result = scan_lines(store.con, f, scan, "toy", compressed=False, sink=sink)
    ts = [r[0] for r in store.con.execute("SELECT ts FROM _flows ORDER BY ts").fetchall()]
    store.close()
    assert seen == [(2, "py one"), (4, "nope"), (7, "py two")]
    assert ts == [100.0, 102.0, 202.0, 207.0]
    assert result.connections == 4
    assert [(p.line, p.message) for p in result.problems] == [
        (3, "sql says no"),
        (4, "python says no to 'nope'"),
    ]
    assert result.bad_lines == 2


def test_lines_left_to_python_may_be_flushed_while_they_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sink appends to the store (the same DuckDB connection) every few records while
    # the lines are still being fetched: more lines than a slice and than a batch
    from beaconhunt.ingest import linescan
    from beaconhunt.ingest.network import FlowSink

    monkeypatch.setattr(linescan, "_PYTHON_SLICE", 7)

    def python(lines, sink: FlowSink) -> None:  # type: ignore[no-untyped-def]
        for n, _text in lines:
            sink.connection(1000.0 + n, "10.0.0.9", None, "192.0.2.9", 80, "tcp")

    scan = LineScan(
        "SELECT n, CASE WHEN starts_with(line, 'py') THEN line END AS python_line,"
        " TRY_CAST(line AS DOUBLE) AS ts, '10.0.0.1' AS src_ip FROM lines",
        python=python,
    )
    f = tmp_path / "many.log"
    f.write_text("".join(f"py {i}\n" if i % 4 else f"{i}\n" for i in range(1, 101)))
    store = DuckDBStore()
    sink = FlowSink(
        str(f), "toy", lambda cols: store.append_flows("toy", cols), lambda c: 0, batch=3
    )
    result = scan_lines(store.con, f, scan, "toy", compressed=False, sink=sink)
    ts = [r[0] for r in store.con.execute("SELECT ts FROM _flows ORDER BY ts").fetchall()]
    store.close()
    assert result.problems == []
    assert result.connections == 100
    sql_ts = [float(i) for i in range(4, 101, 4)]
    python_ts = [1000.0 + i for i in range(1, 101) if i % 4]
    assert ts == sql_ts + python_ts
