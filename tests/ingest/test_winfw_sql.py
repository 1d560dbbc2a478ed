"""The Windows Firewall reader's SQL (``WinFwReader.line_scan``) against its Python ``read()``:
lines of the usual shape are read by DuckDB in the layout the file's head gives, every other line
by the Python, a file whose layout could change is read in Python, and a file read both ways
gives the same rows, skips and problems (``reader_helpers.load`` compares them)."""

from __future__ import annotations

import calendar
import gzip
import random
from pathlib import Path

import pytest
from reader_helpers import load, problems, python_lines

from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.readers import winfw as wf
from beaconhunt.synth import Scenario, generate
from beaconhunt.synth.render import winfw as render_winfw
from tests.conftest import FIXTURES

LOG = FIXTURES / "winfw" / "pfirewall.log"
TOP = "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
FIELDS = "#Fields: " + " ".join(wf.DEFAULT_FIELDS) + " pid"
HEADER = TOP + FIELDS + "\n\n"
NAMES = (*wf.DEFAULT_FIELDS, "pid")


def _line(**cells: str) -> str:
    """A record of the default layout with pid, some cells (by field name, ``_`` for
    ``-``) changed."""
    row = dict(
        zip(
            NAMES,
            [
                "2026-11-03",
                "08:00:01",
                "ALLOW",
                "TCP",
                "10.1.1.5",
                "203.0.113.9",
                "50000",
                "443",
                "0",
                "-",
                "0",
                "0",
                "0",
                "-",
                "-",
                "-",
                "SEND",
                "4242",
            ],
            strict=True,
        )
    )
    for name, value in cells.items():
        row[name.replace("_", "-")] = value
    return " ".join(row.values())


USUAL = _line()


def _scan(path: Path) -> LineScan | None:
    return wf.READER.line_scan(path)


def _file(tmp_path: Path, text: str, name: str = "pfirewall.log") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _same(tmp_path: Path, lines: list[str], *, python: list[int], head: str = HEADER) -> Path:
    path = _file(tmp_path, head + "".join(line + "\n" for line in lines))
    load(path)  # both ways, compared
    assert python_lines(path, wf.READER) == python
    return path


def _distinct(lines: list[str]) -> list[str]:
    """Each line its own source port where it has the usual one (the store joins the
    records of one session an exporter split)."""
    return [ln.replace(" 50000 ", f" {40000 + i} ", 1) for i, ln in enumerate(lines)]


def test_the_fixture_reads_the_same() -> None:
    load(LOG)


def test_usual_lines_are_read_in_sql(tmp_path: Path) -> None:
    path = _same(
        tmp_path,
        _distinct(
            [
                USUAL,
                _line(protocol="UDP", dst_port="53"),
                _line(protocol="tcp"),
                _line(protocol="6"),
                _line(protocol="17"),
                _line(src_port="0", dst_port="65535"),
                _line(src_port="1", dst_port="00443"),  # leading zeros in a port
                _line(src_ip="0.0.0.0", dst_ip="255.255.255.255"),
                _line(protocol="ICMP", src_port="-", dst_port="-", icmptype="8", icmpcode="0"),
                _line(
                    protocol="icmpv6", src_port="-", dst_port="-", icmptype="255", icmpcode="255"
                ),
                _line(protocol="1", icmptype="-", icmpcode="-"),  # no type or code
                _line(protocol="58", icmptype="x", icmpcode="007"),  # not digits: no port
                _line(action="OPEN", path="-"),  # XP: OPEN is a connection
                _line(date="2024-02-29", time="23:59:59"),
                _line(date="1970-01-01", time="00:00:00"),
                _line(date="2099-12-31", time="23:59:59"),
                # fields not read, but not printable ASCII: the SQL leaves it to Python
                _line(pid="é", size="x", info="\x01"),
            ]
        ),
        python=[22],
    )
    report, rows = load(path)
    assert len(rows) == 17 and not report.problems
    assert {r["proto"] for r in rows} == {"tcp", "udp", "icmp"}


def test_skips_are_read_in_sql_before_any_value(tmp_path: Path) -> None:
    bad = {"date": "never", "src_ip": "nowhere", "src_port": "x", "icmptype": "999"}
    path = _same(
        tmp_path,
        [
            _line(path="RECEIVE", **bad),
            _line(path="FORWARD", **bad),
            _line(path="send", **bad),
            _line(action="DROP", **bad),
            _line(action="INFO-EVENTS-LOST", protocol="-", **bad),
            _line(action="OPEN-INBOUND", **bad),
            _line(action="CLOSE", **bad),
            _line(protocol="2", **bad),
            _line(protocol="ICMP6", **bad),
        ],
        python=[],
    )
    report, rows = load(path)
    assert not rows and problems(report) == [(None, "no connection records")]
    assert sum(report.skipped_records.values()) == 9


@pytest.mark.parametrize(
    "line",
    [
        _line(src_port="65536"),  # out of range
        _line(dst_port="99999"),
        _line(dst_port="123456"),
        _line(src_port="-"),
        _line(src_port="+1"),
        _line(src_port="٣"),  # a non-ASCII digit
        _line(protocol="ICMP", icmptype="256"),
        _line(protocol="ICMP", icmpcode="0008"),  # more digits than the SQL reads
        _line(protocol="ICMP", icmpcode="9" * 30),
        _line(protocol="ICMP", src_ip="10.1.1.999"),
        _line(protocol="ICMP", date="2026-02-30"),
        _line(src_ip="2001:db8::5"),  # IPv6
        _line(dst_ip="::ffff:10.1.1.5"),
        _line(src_ip="010.1.1.5"),  # leading zero
        _line(dst_ip="10.1.1.999"),
        _line(action="PERMIT"),  # unknown action
        _line(action="allow"),
        _line(protocol="TCPé"),
        _line(date="2026-02-29"),  # no such day
        _line(date="2026-04-31"),
        _line(date="2026-13-01"),
        _line(date="1969-12-31"),
        _line(date="2100-01-01"),
        _line(date="0000-01-01"),
        _line(date="2026/11/03"),
        _line(date="2026-+1-03"),  # int() reads "+1"
        _line(time="24:00:00"),
        _line(time="23:59:60"),  # a leap second: Python reads it
        _line(time="8:00:01"),
        _line(time="08:00:01.5"),
        USUAL + " extra",  # a wrong field count
        USUAL.rsplit(" ", 1)[0],
        USUAL.replace(" ", "  ", 1),  # two spaces
        USUAL.replace(" ", "\t", 1),  # a tab
        USUAL.replace(" ", "\xa0", 1),
        USUAL.replace(" ", "\u3000", 1),
        USUAL.replace(" ", "\x1c", 1),
        " " + USUAL,
        USUAL + " ",
        USUAL + "\t",
        USUAL + "\x85",
        "\ufeff" + USUAL,  # a BOM after line 1
        "  #Fields: " + " ".join(NAMES),  # the same header, indented
        "   ",
        "\x0b",
        "- - -",
    ],
)
def test_unusual_lines_go_to_python(tmp_path: Path, line: str) -> None:
    head = len(HEADER.splitlines())
    _same(tmp_path, _distinct([USUAL, line, USUAL]), python=[head + 2])


def test_comments_and_the_same_header_again_are_read_in_sql(tmp_path: Path) -> None:
    # the firewall started a new file, appended to the old one: the same layout
    lines = [
        USUAL,
        "#Version: 1.5",
        "#Software: Microsoft Windows Firewall",
        FIELDS,
        "",
        "# a comment",
        "#Fieldsx",
        USUAL,
    ]
    _same(tmp_path, _distinct(lines), python=[])


@pytest.mark.parametrize(
    "text",
    [
        # another layout further down: read in Python from the start
        HEADER
        + USUAL
        + "\n#Fields: path action date time dst-ip src-ip protocol dst-port src-port\n"
        "SEND ALLOW 2026-11-03 08:00:00 203.0.113.9 10.1.1.5 TCP 443 50000\n",
        HEADER + USUAL + "\n#Fields: " + " ".join(wf.DEFAULT_FIELDS) + "\n" + USUAL + "\n",
        HEADER + USUAL + "\n  #Fields:   " + " ".join(wf.DEFAULT_FIELDS) + "\r" + USUAL + "\n",
        HEADER + USUAL + "\n#Fields: date time\n" + USUAL + "\n",  # unusable further down
        HEADER + USUAL + "\n" + FIELDS + " x\n" + USUAL + "\n",
        # a header after the records of a headerless file
        USUAL + "\n" + FIELDS + "\n" + USUAL + "\n",
        # an unusable header, then a usable one
        TOP + "#Fields: date time\n" + FIELDS + "\n" + USUAL + "\n",
        "#Fields: date time\n" + USUAL + "\n",
        # no header and a first record that is no default-order one
        "2026-11-03 08:00:01 ALLOW TCP\n" + USUAL + "\n",
        # no record
        HEADER,
        "",
    ],
)
def test_files_whose_layout_could_change_are_read_in_python(tmp_path: Path, text: str) -> None:
    path = _file(tmp_path, text)
    assert _scan(path) is None
    load(path)


@pytest.mark.parametrize(
    "text",
    [
        USUAL + "\n" + _line(src_port="7") + "\n",  # headerless, 18 fields
        USUAL.rsplit(" ", 1)[0] + "\n",  # headerless, 17 fields
        "\n\n#Version: 1.5\n\n" + USUAL + "\n",  # comments, no header
        "#Fields: path action date time dst-ip src-ip protocol dst-port src-port\n"
        "SEND ALLOW 2026-11-03 08:00:00 203.0.113.9 10.1.1.5 TCP 443 50000\n"
        "SEND ALLOW 2026-11-03 08:00:00 203.0.113.9 10.1.1.5 ICMP 443 50001\n"
        "SEND DROP 2026-11-03 08:00:00 203.0.113.9 10.1.1.5 ICMP 443 50002\n",
        "#FIELDS: date time\n" + USUAL + "\n",  # not a header: a comment
        HEADER + USUAL + "\n" + USUAL.replace("ALLOW", "#Fields:") + "\n",  # a record with it
    ],
)
def test_other_steady_layouts_are_read_in_sql(tmp_path: Path, text: str) -> None:
    path = _file(tmp_path, text)
    assert _scan(path) is not None
    load(path)
    assert len(python_lines(path, wf.READER)) <= 1


def test_many_times_agree(tmp_path: Path) -> None:
    rnd = random.Random(15)
    lines, impossible = [], []
    head = len(HEADER.splitlines())
    for i in range(3000):
        y, m, d = rnd.randint(1970, 2099), rnd.randint(1, 12), rnd.randint(1, 31)
        clock = f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
        lines.append(_line(date=f"{y:04d}-{m:02d}-{d:02d}", time=clock, src_port=str(i)))
        if d > calendar.monthrange(y, m)[1]:
            impossible.append(head + 1 + i)
    path = _file(tmp_path, HEADER + "".join(line + "\n" for line in lines))
    report, rows = load(path)
    assert len(rows) == 3000 - len(impossible) and 20 < len(impossible) < 200
    assert [line for line, _ in problems(report)][:20] == impossible[:20]
    assert python_lines(path, wf.READER) == impossible


def test_problems_from_both_in_line_order(tmp_path: Path) -> None:
    bad_py = _line(dst_ip="10.1.1.999")
    lines = _distinct([bad_py, USUAL] * 60)
    path = _file(tmp_path, "".join(line + "\n" for line in lines))  # headerless
    report, rows = load(path)
    assert [p.line for p in report.problems if p.line is not None] == list(range(1, 101, 2))
    assert report.problems[-1].skipped == 10 and len(rows) == 60
    assert python_lines(path, wf.READER) == list(range(1, 121, 2))


def test_a_bom_crlf_and_gzip(tmp_path: Path) -> None:
    lines = _distinct([USUAL, USUAL, USUAL])
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + "\r\n".join(lines) + "\r\n"
    plain = _file(tmp_path, text)
    assert len(load(plain)[1]) == 3
    assert python_lines(plain, wf.READER) == []
    packed = tmp_path / "pfirewall.log.gz"
    packed.write_bytes(gzip.compress(text.encode(), mtime=0))
    assert _scan(packed) is not None
    assert len(load(packed)[1]) == 3
    changed = tmp_path / "changed.log.gz"
    changed.write_bytes(gzip.compress((text + "#Fields: date time\n").encode(), mtime=0))
    assert _scan(changed) is None
    load(changed)


def test_a_headerless_file_starting_with_a_bom(tmp_path: Path) -> None:
    path = _file(tmp_path, "\ufeff" + USUAL + "\n" + _line(src_port="7") + "\n")
    assert len(load(path)[1]) == 2
    assert python_lines(path, wf.READER) == []


@pytest.mark.parametrize(
    "odd",
    [
        "\x00",
        "\x0c",
        "\u2028",
        "\udcff",
        "\x1f",  # the line scan's separator: the loader reads the file in Python
    ],
)
def test_odd_characters_inside_a_line_read_the_same(tmp_path: Path, odd: str) -> None:
    lines = _distinct([USUAL, _line(info=f"a{odd}b"), USUAL])
    text = HEADER + "".join(line + "\n" for line in lines)
    path = tmp_path / "pfirewall.log"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    load(path)


@pytest.mark.parametrize("other", [True, False])
def test_a_header_on_the_edge_of_a_read_block(tmp_path: Path, other: bool) -> None:
    # the look for other #Fields: lines reads the file in 1 MiB blocks
    header = "#Fields: date time action" if other else FIELDS
    top = HEADER + USUAL + "\n" + ("#" + "x" * 98 + "\n") * ((1 << 20) // 100 - 4)
    for edge in range(-10, 3):  # where #Fields: starts, from the edge of the first block
        pad = (1 << 20) + edge - len(top) - 1
        path = _file(tmp_path, top + "#" * pad + "\n" + header + "\n" + USUAL + "\n")
        assert path.read_bytes().find(b"#Fields:", len(HEADER)) == (1 << 20) + edge
        assert (_scan(path) is None) == other, edge


def test_synthetic_capture_is_read_in_sql(tmp_path: Path) -> None:
    generate(tmp_path, Scenario.small(seed=3), network_format="winfw")
    paths = sorted((tmp_path / render_winfw.FOLDER).rglob("pfirewall.log"))
    assert paths
    for path in paths:
        load(path)
        assert python_lines(path, wf.READER) == []
