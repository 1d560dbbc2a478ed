"""The PAN-OS reader's SQL (``PanosReader.line_scan``) against its Python ``read()``: records of
the usual shape are read by DuckDB, every other line by the Python, and a file read both ways
gives the same rows, skips and problems (``reader_helpers.load`` compares them)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from reader_helpers import load, problems, python_lines

from beaconhunt.ingest.readers import panos
from beaconhunt.synth import Scenario, generate
from beaconhunt.synth.render import panos as render_panos
from tests.conftest import FIXTURES

SYSLOG = FIXTURES / "panos" / "traffic-syslog.log"
V102 = FIXTURES / "panos" / "traffic-10.2-rfc5424.log"
HEADER = "Nov  3 08:00:01 PA-3220 "
HIRES = "2026-11-03T08:00:01.389+00:00"


def _record(
    changes: dict[int, str] | None = None, *, header: str = HEADER, cells: int = 115
) -> str:
    """A TRAFFIC end record (positions as the reader counts them), some cells changed,
    with ``cells`` cells (the High Resolution Timestamp is cell 102)."""
    first = SYSLOG.read_text(encoding="utf-8").splitlines()[0]
    c = first.split(" PA-3220 ", 1)[1].split(",")
    c += [""] * (115 - len(c))
    c[102] = HIRES
    c = c[:cells]
    for pos, value in (changes or {}).items():
        c[pos] = value
    return header + ",".join(c)


USUAL = _record()


def _same(tmp_path: Path, lines: list[str], *, python: list[int]) -> list[dict[str, object]]:
    path = tmp_path / "pan.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="")
    _, rows = load(path)  # both ways, compared
    assert python_lines(path, panos.READER) == python
    return rows


@pytest.mark.parametrize("path", [SYSLOG, V102], ids=lambda p: p.name)
def test_the_fixtures_read_the_same(path: Path) -> None:
    load(path)


def _distinct(lines: list[str]) -> list[str]:
    """Each line its own source port where it has the usual one (the store joins the
    records of one session an exporter split)."""
    return [ln.replace(",50000,", f",{40000 + i},", 1) for i, ln in enumerate(lines)]


def test_usual_records_are_read_in_sql(tmp_path: Path) -> None:
    rows = _same(tmp_path, _distinct([
        USUAL,
        _record(header=""),                                   # no syslog header
        _record(header="<14>1 2026-11-03T10:00:02+01:00 PA-440 - - - - "),
        _record({24: "0", 25: "65535"}),                      # ports at their limits
        _record({24: "1", 25: "00443"}),                      # leading zeros in a port
        _record({32: "9" * 18, 33: "0"}),                     # the largest count the SQL reads
        _record({36: "9" * 15}),
        _record({14: ""}),                                    # no application
        _record({14: "ms-ds-smb"}),
        _record({29: "TCP"}), _record({29: "Udp"}), _record({29: "ipv6-icmp", 24: "0", 25: "0"}),
        _record({29: "icmp6"}),
        _record({7: "255.255.255.255", 8: "0.0.0.0"}),
        _record({102: ""}),
        _record(cells=102),                                   # no High Resolution Timestamp
        _record(cells=37),                                    # the fewest cells read
        _record({102: "2026-11-03T09:00:05.123+01:00"}),
        _record({102: "2026-11-03T09:00:05-0530"}),
        _record({102: "2026-11-03T09:00:05.123456789+23:59"}),
        _record({102: "2026-11-03T09:00:05-00:00"}),
        _record({102: "2026-11-03T09:00:05.1"}),              # no zone
        _record({102: "2026-11-03T09:00:05"}),
        _record({102: "anything Z"}),                         # ends with Z: UTC
        _record({35: "2024/02/29 23:59:59"}),
        _record({35: "1970/01/01 00:00:00"}),
        _record({35: "1970/01/01 00:00:00", 102: "2026-11-03T09:00:05+01:00"}),  # before 1970
        _record({35: "2099/12/31 23:59:59", 102: "2026-11-03T09:00:05-05:00"}),  # after 2100
        _record({12: "acme\\o brien", 11: "rule\twith tab", 13: "é"}),  # cells not read
        _record({1: "2026/99/99 99:99:99", 6: "0000/00/00 00:00:00"}),  # shape only
    ]), python=[])  # fmt: skip
    assert len(rows) == 28  # two of the 30 are impossible (before 1970, after 2100)
    assert {r["proto"] for r in rows} == {"tcp", "udp", "icmp"}


def test_skips_are_read_in_sql_before_any_other_cell(tmp_path: Path) -> None:
    bad = {24: "x", 7: "nowhere", 35: "never"}
    report, rows = load(_file(tmp_path, [
        _record({4: "start", **bad}),
        _record({4: "drop", **bad}),
        _record({4: "deny", **bad}),
        _record({4: "wildfire", **bad}),
        _record({30: "reset-both", **bad}),
        _record({29: "sctp", **bad}),
        _record({29: "tcp ", **bad}),                         # trailing space: not tcp
        _record({3: "THREAT", 4: "url", **bad}, cells=40),
        _record({3: "SYSTEM"}, cells=7),                      # other types: 7 cells are enough
    ]))  # fmt: skip
    assert not rows and problems(report) == [(None, "no connection records")]
    assert sum(report.skipped_records.values()) == 9
    assert python_lines(tmp_path / "pan.log", panos.READER) == []


@pytest.mark.parametrize("line", [
    _record({24: "65536"}),                                  # out of range
    _record({25: "99999"}),
    _record({24: "123456"}),
    _record({32: "9" * 19}),                                 # more digits than the SQL reads
    _record({33: "9" * 20}),                                 # out of range
    _record({32: "-5"}),
    _record({32: "+5"}),
    _record({32: "٣"}),                                      # a non-ASCII digit
    _record({36: "9" * 16}),
    _record({36: "1.5"}),
    _record({24: ""}),
    _record({7: "2001:db8::5"}),                             # IPv6
    _record({8: "::ffff:10.1.1.5"}),
    _record({7: "010.1.1.5"}),                               # leading zero
    _record({8: "10.1.1.999"}),
    _record({8: ""}),
    _record({14: "web browsing"}),                           # a space in the application
    _record({14: "sslé"}),                                   # non-ASCII application
    _record({29: "İCMP"}),                                   # lower() differs by engine
    _record({35: "2026/02/29 08:00:00"}),                    # no such day
    _record({35: "2026/04/31 08:00:00"}),
    _record({35: "2026/13/01 08:00:00"}),
    _record({35: "2026/11/03 24:00:00"}),
    _record({35: "2026/11/03 23:59:60"}),                    # a leap second: Python reads it
    _record({35: "1969/12/31 23:59:59"}),
    _record({35: "2100/01/01 00:00:00"}),
    _record({35: "0000/01/01 00:00:00"}),
    _record({35: "2026/11/03 8:00:00"}),
    _record({35: "2026/11/03T08:00:00"}),
    _record({102: "2026-11-03T09:00:05+24:00"}),             # zone out of range
    _record({102: "2026-11-03T09:00:05+01:60"}),
    _record({102: "2026-11-03T09:00:05+1:00"}),
    _record({102: "garbage"}),                               # Python: 0, by length
    _record({102: "2026-11-03 09:00:05.123+01:00"}),         # Python: 0, no T
    _record(cells=36),                                       # cut short
    _record(cells=6),
    _record({1: "2026/11/03"}),                              # not a record
    _record({6: "2026-11-03 08:00:01"}),
    _record({3: "traffic"}),
    _record({3: "BOGUS"}),
    _record({11: '"allow, then log"'}),                      # quoted cells
    _record({12: '"acme\\o""brien"'}),
    _record(header='<14>Nov  3 08:00:01 "PA" '),             # a quote in the header
    _record(header="<14>Nov  3 08:00:01 a,b PA-3220 "),    # a comma in the header
    _record(header=","),                                     # starts with a comma
    _record(header=" "),                                     # surrounding whitespace
    _record(header="\t"),
    USUAL + " ",
    USUAL + "\t",
    USUAL + "\xa0",
    USUAL + "\x85",
    USUAL + "\u3000",
    "\xa0" + USUAL,
    _record(cells=114) + ",é",
    "-- MARK --",
    "Nov  3 08:10:00 PA-3220 -- MARK --",
    "   ",
    "\x1c",
])  # fmt: skip
def test_unusual_lines_go_to_python(tmp_path: Path, line: str) -> None:
    _same(tmp_path, [USUAL, line, USUAL], python=[2])


def _file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "pan.log"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="")
    return path


def test_many_times_and_zones_agree(tmp_path: Path) -> None:
    rnd = random.Random(15)
    lines = []
    for _ in range(3000):
        year, month, day = rnd.randint(1970, 2099), rnd.randint(1, 12), rnd.randint(1, 28)
        clock = f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
        zone = rnd.choice(["", "Z", f"{rnd.choice('+-')}{rnd.randint(0, 23):02d}"
                           f"{rnd.choice(['', ':'])}{rnd.randint(0, 59):02d}"])  # fmt: skip
        frac = rnd.choice(["", ".5", ".123456789"])
        hires = "" if zone == "" and rnd.random() < 0.5 else f"2026-11-03T09:00:05{frac}{zone}"
        lines.append(_record({35: f"{year:04d}/{month:02d}/{day:02d} {clock}", 102: hires,
                              24: str(len(lines) + 1), 36: str(rnd.randint(0, 10**15 - 1)),
                              32: str(rnd.randint(0, 10**15))}))  # fmt: skip
    path = _file(tmp_path, lines)
    report, got = load(path)
    assert python_lines(path, panos.READER) == []
    assert len(got) + len(problems(report)) == 3000
    assert len(got) > 2900


def test_problems_from_both_in_line_order(tmp_path: Path) -> None:
    bad_sql = _record({35: "1970/01/01 00:00:00", 102: "2026-11-03T09:00:05+01:00"})
    bad_py = _record({8: "10.1.1.999"})
    path = _file(tmp_path, [bad_py, bad_sql] * 40)  # more than the 50 shown
    report, _ = load(path)
    shown = [p.line for p in report.problems if p.line is not None]
    assert shown == list(range(1, 51))
    assert report.problems[-1].skipped == 30
    assert python_lines(path, panos.READER) == list(range(1, 81, 2))


def test_a_bom_on_the_first_line(tmp_path: Path) -> None:
    # DuckDB drops the BOM that starts the file, as the Python does; one on another line
    # is data, and that line goes to the Python
    path = tmp_path / "pan.log"
    lines = _distinct([USUAL, USUAL, USUAL])
    path.write_text(f"\ufeff{lines[0]}\n\ufeff{lines[1]}\n{lines[2]}\n", encoding="utf-8")
    _, rows = load(path)
    assert len(rows) == 3
    assert python_lines(path, panos.READER) == [2]


def test_gzip_crlf_blank_lines_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "pan.log.gz"
    text = "\ufeff" + USUAL + "\r\n" + _record({24: "7"}) + "\r\n\r\n\n" + _record({24: "8"})
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write(text + "\r\n")
    _, rows = load(path)
    assert sorted(r["src_port"] for r in rows) == [7, 8, 50000]


@pytest.mark.parametrize("odd", [
    "\x00", "\r", "\x0b", "\x0c", "\u2028", "\udcff",
    "\x1f",  # the line scan's separator: such a file is read in Python
])  # fmt: skip
def test_odd_characters_inside_a_line_read_the_same(tmp_path: Path, odd: str) -> None:
    path = tmp_path / "pan.log"
    lines = _distinct([USUAL, _record({12: f"a{odd}b"}), USUAL])
    text = "".join(line + "\n" for line in lines)
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    load(path)


def test_undecodable_bytes_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "pan.log"
    a, b, c = (ln.encode() for ln in _distinct([USUAL, _record({12: "x"}), _record({14: "x"})]))
    path.write_bytes(a + b"\n" + b.replace(b",x,", b",\xff,") + b"\n"
                     + c.replace(b",x,", b",\xff,") + b"\n")  # fmt: skip
    _, rows = load(path)
    assert [r["service"] for r in rows].count("\ufffd") == 1


def test_synthetic_capture_is_read_in_sql(tmp_path: Path) -> None:
    generate(tmp_path, Scenario.small(seed=3), network_format="panos")
    path = tmp_path / render_panos.FILE_NAME
    load(path)
    assert python_lines(path, panos.READER) == []
