"""The Squid reader's SQL (``SquidReader.line_scan``) against its Python ``read()``: lines of
the usual native shape are read by DuckDB, every other line by the Python, and a file read
both ways gives the same rows, skips and problems (``reader_helpers.load`` compares them)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from reader_helpers import load, python_lines

from beaconhunt.ingest.readers import squid
from beaconhunt.synth import Scenario, generate
from tests.conftest import FIXTURES

T = "1793692800.412"
USUAL = f"{T}    412 10.1.1.5 TCP_TUNNEL/200 4823 CONNECT c2.test:443 - HIER_DIRECT/192.0.2.9 -"


def _native(
    stamp: str = T,
    elapsed: str = "412",
    client: str = "10.1.1.5",
    result: str = "TCP_MISS/200",
    size: str = "512",
    method: str = "GET",
    url: str = "http://a.test/x",
    peer: str = "HIER_DIRECT/192.0.2.7",
    tail: str = "text/html",
) -> str:
    return f"{stamp} {elapsed:>6} {client} {result} {size} {method} {url} - {peer} {tail}"


def _same(tmp_path: Path, lines: list[str], *, python: list[int]) -> list[dict[str, object]]:
    path = tmp_path / "access.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    _, rows = load(path)  # both ways, compared
    assert python_lines(path, squid.READER) == python
    return rows


def test_the_fixtures_read_the_same() -> None:
    for name in ("access.log", "access-combined.log"):
        load(FIXTURES / "squid" / name)


def test_usual_lines_are_read_in_sql(tmp_path: Path) -> None:
    rows = _same(tmp_path, [
        USUAL,
        _native(),
        _native(url="https://B.Test:8443/p?q", method="POST"),
        _native(url="http://198.51.100.7/", peer="HIER_NONE/-"),
        _native(url="ftp://files.test", peer="FIRST_PARENT_MISS/10.0.0.1"),
        _native(url="gopher://g.test#frag", peer="TIMEOUT_HIER_DIRECT/192.0.2.8"),
        _native(url="foo://u.test/"),  # a scheme without a default port
        _native(url="http://a.test:65535/"),
        _native(url="http://a.test:1/"),
        _native(url="http://a.test./", tail="text/html [Host: a.test] [HTTP/1.1 200 OK]"),
    ], python=[])  # fmt: skip
    assert len(rows) == 10
    by_port = {r["dst_port"] for r in rows}
    assert {443, 80, 8443, 21, 70, None} <= by_port


@pytest.mark.parametrize("line", [
    _native(client="10.1.1.999"),                   # not an address: a problem
    _native(client="010.1.1.5"),                    # leading zero
    _native(client="::ffff:10.1.1.5"),              # IPv6-mapped IPv4
    _native(client="[2001:db8::5]"),
    _native(url="http://a.test:0/"),                # port out of range
    _native(url="http://a.test:65536/"),
    _native(url="http://a.test:/"),                 # empty port
    _native(url="http://user@a.test/"),
    _native(url="http://[2001:db8::1]:8080/"),
    _native(url="http://01.2.3.4/"),                # digits that are no canonical address
    _native(url="/just/a/path"),                    # no host: a skip
    _native(url="error:invalid-request"),
    _native(url="a.test:8080"),                     # an authority without CONNECT
    _native(method="CONNECT", url="c2.test"),       # CONNECT without a port
    _native(method="get"),
    _native(peer="HIER_DIRECT/2001:db8::9"),
    _native(peer="HIER_DIRECT/[192.0.2.9]"),
    _native(peer="HIER_DIRECT/"),
    _native(result="TCP_MISS/-"),
    _native(result="_X/200"),
    _native(size="9" * 19),                         # more digits than the SQL reads
    _native(size="9" * 20),                         # out of range
    _native(stamp="1793692800"),                    # no milliseconds
    _native(stamp="1793692800.4125"),
    _native(elapsed="-1"),
    _native(tail="text/html\t"),                    # trailing whitespace
    "  " + USUAL,
    USUAL.replace("CONNECT", "CONNECT\t"),
    USUAL.replace("c2.test", "c2.tést"),
    USUAL + ' ] "x',                                # reads as common/combined in Python
])  # fmt: skip
def test_unusual_lines_go_to_python(tmp_path: Path, line: str) -> None:
    _same(tmp_path, [USUAL, line, USUAL], python=[2])


def test_skips_in_sql_come_before_the_url(tmp_path: Path) -> None:
    # Python skips a denied or ICP line before it reads the URL: so does the SQL
    lines = [
        _native(result="TCP_DENIED/403", url="http://a.test:99999/"),
        _native(result="UDP_HIT/000", url="http://a.test:99999/"),
        _native(result="TCP_MISS/407"),
    ]
    _same(tmp_path, lines, python=[])


def test_problems_from_both_in_line_order(tmp_path: Path) -> None:
    bad_sql = _native(stamp="1.000", elapsed="5000")  # starts before 1970: the sink's rule
    bad_py = _native(client="10.1.1.999")
    lines = [bad_py, bad_sql] * 40  # more than the 50 shown
    path = tmp_path / "access.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    report, _ = load(path)
    shown = [p.line for p in report.problems if p.line is not None]
    assert shown == list(range(1, 51))
    assert report.problems[-1].skipped == 30


def test_gzip_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    text = "\ufeff" + USUAL + "\r\n" + _native() + "\r\n\r\n" + _native(size="7") + "\r\n"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write(text)
    _, rows = load(path)
    assert len(rows) == 3


def test_synthetic_capture_is_read_in_sql(tmp_path: Path) -> None:
    generate(tmp_path, Scenario.small(seed=3), network_format="squid")
    path = tmp_path / "access.log"
    load(path)
    assert python_lines(path, squid.READER) == []


def test_a_unit_separator_sends_the_file_to_python(tmp_path: Path) -> None:
    # 0x1f is the line scan's separator, at which DuckDB would cut the line unseen
    from beaconhunt.ingest.linescan import holds_unit_separator

    path = tmp_path / "access.log"
    path.write_text(USUAL + "\n" + _native(url="http://a.test/\x1fx") + "\n", encoding="utf-8")
    assert holds_unit_separator(path, compressed=False)
    report, rows = load(path)  # the same both ways: Python splits the fields at 0x1f
    assert len(rows) == 1
    assert [p.line for p in report.problems] == [2]
    clean = tmp_path / "clean.log"
    clean.write_text(USUAL + "\n", encoding="utf-8")
    assert not holds_unit_separator(clean, compressed=False)
