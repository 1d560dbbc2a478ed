"""The netfilter reader's SQL (``NetfilterReader.line_scan``) against its Python ``read()``:
kernel log lines of the usual shape are read by DuckDB, every other line by the Python, and a
file read both ways gives the same rows, skips and problems (``reader_helpers.load`` compares
them). BSD times take their year from the file's modification time in both."""

from __future__ import annotations

import gzip
import os
import random
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest
from reader_helpers import load, problems, python_lines

from beaconhunt.ingest.readers import netfilter as nf
from beaconhunt.synth import Scenario, generate
from beaconhunt.synth.render import netfilter as render_netfilter
from tests.conftest import FIXTURES

T0 = datetime(2026, 11, 3, 8, tzinfo=UTC)
WRITTEN = (T0 + timedelta(hours=4)).timestamp()
BSD = "Nov  3 08:00:00"
MAC = "MAC=52:54:00:0a:00:01:00:15:5d:01:02:05:08:00 "
IP = "LEN=52 TOS=0x00 PREC=0x00 TTL=127 ID=4000 DF PROTO="
TCP = "TCP SPT={sport} DPT={dport} WINDOW=64240 RES=0x00 {flags} URGP=0"


def _line(
    stamp: str = BSD,
    prefix: str = "gw-01 kernel: [259200.250000] [UFW ALLOW] ",
    inside: str = "IN=eth1 OUT=eth0 ",
    mac: str = MAC,
    src: str = "10.1.1.5",
    dst: str = "203.0.113.9",
    ip: str = IP,
    transport: str = "",
    sport: str = "50000",
    dport: str = "443",
    flags: str = "SYN",
) -> str:
    tail = transport or TCP.format(sport=sport, dport=dport, flags=flags)
    return f"{stamp} {prefix}{inside}{mac}SRC={src} DST={dst} {ip}{tail}"


def _write(
    tmp_path: Path, lines: list[str], mtime: float = WRITTEN, name: str = "kern.log"
) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8", newline="")
    os.utime(path, (mtime, mtime))
    return path


def _same(
    tmp_path: Path, lines: list[str], *, python: list[int], mtime: float = WRITTEN
) -> list[dict[str, object]]:
    path = _write(tmp_path, lines, mtime)
    _, rows = load(path)  # both ways, compared
    assert python_lines(path, nf.READER) == python
    return rows


def test_the_fixtures_read_the_same(tmp_path: Path) -> None:
    for name in ("kern.log", "messages-rfc3339.log", "journal-short-iso.txt"):
        path = tmp_path / name
        path.write_bytes((FIXTURES / "netfilter" / name).read_bytes())
        os.utime(path, (WRITTEN, WRITTEN))
        load(path)
        assert len(python_lines(path, nf.READER)) < 10  # and the SQL runs without an error


def test_usual_lines_are_read_in_sql(tmp_path: Path) -> None:
    rows = _same(tmp_path, [
        _line(),
        _line("Nov 03 08:00:01"),
        _line("Nov 13 08:00:02", mac=""),
        _line("2026-11-03T08:00:03.123456+00:00", prefix="gw-01 kernel: [UFW ALLOW] "),
        _line("2026-11-03T09:00:04+01:00", prefix="gw-01 kernel: FW-ACCEPT "),
        _line("2026-11-03T08:00:05+0000"),
        _line("2026-11-03T08:00:06.5Z"),
        _line("2026-11-03T08:00:07"),
        _line("1793692808.250000", prefix="gw-01 kernel: nft-accept "),
        _line("1793692809"),
        _line(sport="0", dport="1"),
        _line(sport="65535", dport="00443"),
        _line(src="0.0.0.0", dst="255.255.255.255"),
        _line(inside="IN= OUT=eth0 "),  # sent by the host itself
        _line(inside="IN= OUT= "),  # neither: kept, as Python does
        _line(transport="UDP SPT=53001 DPT=53 LEN=51"),
        _line(transport="UDP SPT=53001 DPT=53 LEN=51 MARK=0x1  "),
        _line(transport="ICMP TYPE=8 CODE=0 ID=1 SEQ=41"),
        _line(transport="ICMP TYPE=255 CODE=255"),
        _line(transport="ICMP TYPE=3 CODE=3 [SRC=203.0.113.9 DST=10.1.1.5 LEN=28 TOS=0x00 "
              "PREC=0x00 TTL=50 ID=2 PROTO=UDP SPT=53 DPT=50000 LEN=8 ]"),
        _line(transport="TCP SPT=50001 DPT=443 SEQ=1 ACK=0 WINDOW=64240 RES=0x00 CWR ECE SYN "
              "URGP=0 OPT (020405B40402080A) UID=0 GID=0 MARK=0x2"),
        _line(ip="LEN=60 TOS=0x10 PREC=0xC0 TTL=1 ID=0 CE DF MF OPT (07) PROTO="),
        _line(prefix="gw-01 kernel: [    5.123456] [UFW ALLOW]   "),  # padded uptime, spaces
        _line() + "   ",  # the kernel's trailing space
        _line(prefix="gw-01  kernel:  [UFW ALLOW] "),  # more spaces after the host
    ], python=[])  # fmt: skip
    assert len(rows) == 25
    assert {r["proto"] for r in rows} == {"tcp", "udp", "icmp"}
    seconds = {r["ts"] - T0.timestamp() for r in rows}
    assert {0, 1, 4, 5, 6.5, 7, 9} <= seconds  # Nov 13 is after the file was written: 2025


def test_skips_are_counted_in_sql(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        _line(prefix="gw-01 kernel: [UFW BLOCK] "),
        _line(prefix="gw-01 kernel: [UFW LIMIT BLOCK] "),
        _line(prefix="gw-01 kernel: reject-allow-list "),  # a block word wins
        _line(prefix="gw-01 kernel: [ufw dEnY] "),  # any case
        _line(prefix="gw-01 kernel: [UFW AUDIT] "),
        _line(prefix="allow-gw kernel: FWLOG "),  # the host is not the prefix
        _line(prefix="gw-01 "),  # a host and no prefix
        _line(inside="IN=eth0 OUT= "),
        _line(flags="ACK PSH"),
        _line(flags="ACK SYN"),
        _line(flags="RST"),
        _line(flags=""),
        "Nov  3 07:00:00 gw-01 systemd[1]: Starting Daily apt upgrade...",
        "-- Boot 0f7d8e --",
        "x",
    ])  # fmt: skip
    report, rows = load(path)
    assert rows == [] and problems(report) == [(None, "no connection records")]
    assert report.skipped_records == {
        "netfilter blocked (log prefix)": 4,
        "netfilter not an allow/accept log prefix": 3,
        "netfilter inbound to the logging host": 1,
        "netfilter not a connection start (TCP without SYN, or with ACK)": 4,
        "netfilter other log messages": 3,
    }
    assert python_lines(path, nf.READER) == [
        12
    ]  # "RES=0x00  URGP": two spaces, not the kernel's shape


def test_unusual_lines_go_to_python(tmp_path: Path) -> None:
    lines = [
        _line(sport="65536"),
        _line(dport="99999"),
        _line(sport="123456"),
        _line(src="10.1.1.300"),
        _line(src="010.1.1.5"),
        _line(src="2001:db8::8", dst="2001:db8::9"),
        _line(transport="ICMP TYPE=256 CODE=0"),
        _line(transport="ICMP TYPE=0003 CODE=0"),
        _line(transport="ICMP TYPE=abc CODE=x"),
        _line(transport="TCP SPT=50000 DPT=443"),  # no window, flags: not the kernel's shape
        _line(transport="TCP SPT=50000 WINDOW=1 RES=0x00 SYN URGP=0"),  # no DPT
        _line(transport="tcp SPT=50000 DPT=443 WINDOW=1 RES=0x00 SYN URGP=0"),
        _line(transport="47"),
        _line(transport="TCP SPT=5 DPT=6 WINDOW=1 RES=0x00 URGP=0 SYN"),  # a flag after URGP
        _line(ip="LEN=52 PROTO="),
        _line(ip="LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=1 FRAG:179 PROTO="),
        _line(prefix="gw-01 kernel: FW-ACCEPT:"),  # the prefix touches IN=
        _line(prefix="gw-01 kernel: [UFW=ALLOW] "),
        _line(prefix="gw-01 kernel: [X OUT=eth9] [UFW ALLOW] "),
        _line(prefix="gw-01 kernel: [UFW\tALLOW] "),
        _line(prefix="gw-01 kernel: [UFW ALLÖW] "),
        _line(prefix="gw-01 kernel: [UFW ALLOW\u0131] "),
        _line(prefix="gw-01 kernel: [UFW ſTOP ALLOW] "),  # long s upper-cases to S
        _line(inside="IN=eth1 OUT=eth0 OUT=eth2 "),
        _line(inside="IN=eth+1 OUT=eth0 "),
        _line(mac="MAC=zz "),
        " " + _line(),
        "\t" + _line(),
        _line() + "\t",
        _line() + "\u00a0",
        _line("Nov 3 08:00:00"),
        _line("Nov  3 08:00:00.5"),
        _line("<4>Nov  3 08:00:00"),
        _line("<4>1 2026-11-03T08:00:00.250000Z gw-01 kernel - - -"),
        _line("2026-11-03 08:00:00"),
        _line("2026-11-03T08:00:00.1234567Z"),
        _line("2026-11-03T08:00:00+01"),
        _line("0826-11-03T08:00:00Z"),
        _line("1793692800.1234567"),
        _line("17936928001"),
        "\u00a0\u2003",
        "\u00a0OUT= x",
    ]
    path = _write(tmp_path, lines)
    report, _ = load(path)
    # all but the last: no " OUT=" and a visible character, a message of another kind in SQL
    assert python_lines(path, nf.READER) == list(range(1, len(lines)))
    assert len(problems(report)) >= 10  # the Python worded them


#: times the SQL reads (the rest go to Python, which refuses most of them)
IN_SQL = [
    "Nov  3 23:59:60", "2026-11-03T08:00:00+23:59", "2026-11-03T08:00:00-23:59",
    "2026-11-03T08:00:00-00:00", "2024-02-29T08:00:00Z", "1999-12-31T23:59:59.999999-00:01",
    "2099-12-31T23:59:59Z", "2100-01-01T00:00:00.000001Z", "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z", "4102444800", "4102444800.000001", "0", "0000000000.5",
]  # fmt: skip
IN_PYTHON = [
    "Nov 31 08:00:00", "Feb 30 08:00:00", "Nov 00 08:00:00", "Nov 32 08:00:00",
    "Nov 99 08:00:00", "Feb 29 08:00:00", "Nov  3 24:00:00", "Nov  3 23:60:00",
    "Nov  3 23:59:61", "Nov  3 99:99:99", "Now  3 08:00:00", "2026-02-29T08:00:00Z",
    "2026-13-01T08:00:00Z", "2026-11-00T08:00:00Z", "2026-11-03T24:00:00Z",
    "2026-11-03T23:60:00Z", "2026-11-03T23:59:60Z", "2026-11-03T08:00:00+24:00",
    "2026-11-03T08:00:00+00:60", "2026-11-03T08:00:00+9999",
]  # fmt: skip


@pytest.mark.parametrize("stamp", IN_SQL + IN_PYTHON)
def test_times_at_their_limits(stamp: str, tmp_path: Path) -> None:
    _same(tmp_path, [_line(stamp)], python=[] if stamp in IN_SQL else [1])


@pytest.mark.parametrize(
    "written",
    [
        datetime(2024, 2, 29, 12, tzinfo=UTC),  # a leap year
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2025, 2, 28, 23, 59, tzinfo=UTC),  # Feb 29 of last year does not exist
        datetime(2027, 1, 1, 0, 30, tzinfo=UTC),  # a file spanning New Year
        datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1971, 1, 1, tzinfo=UTC),
    ],
)
def test_every_bsd_day_is_dated_as_the_clock_dates_it(written: datetime, tmp_path: Path) -> None:
    lines = [
        _line(f"{m} {d:>2} 12:34:56", sport=str(i + 1))
        for i, (m, d) in enumerate((m, d) for m in nf._MONTH_NAMES for d in range(1, 32))
    ]
    lines += [_line(f"{m} {d:02d} 00:00:00") for m in ("Feb", "Dec", "Jan") for d in (1, 28, 29)]
    clock = nf._Clock(written.timestamp())
    refused = []
    for n, line in enumerate(lines, start=1):
        month, day = line.split()[:2]
        try:
            clock._day(month, day)
        except ValueError:
            refused.append(n)
    assert len(refused) >= 6  # Feb 30 and 31, Apr 31, Jun 31, Sep 31, Nov 31 at least
    _same(tmp_path, lines, python=refused, mtime=written.timestamp())


def test_random_iso_times_are_the_same_in_sql(tmp_path: Path) -> None:
    rng = random.Random(15)
    lines = []
    for _ in range(3000):
        when = datetime(1970, 1, 2, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(0, 130 * 365 * 86400), microseconds=rng.randrange(10**6)
        )
        off = timedelta(minutes=rng.randrange(-23 * 60 - 59, 23 * 60 + 60))
        local = when.astimezone(timezone(off))
        digits = rng.choice([0, 1, 3, 6, 2, 5])
        frac = f".{local.microsecond:06d}"[: digits + 1] if digits else ""
        zone = rng.choice(["Z", "+hh:mm", "+hhmm", ""])
        if zone == "Z":
            local, text = when, "Z"
        elif zone == "":
            local, text = when.replace(tzinfo=None), ""
        else:
            sign, mins = ("-" if off < timedelta(0) else "+"), abs(off) // timedelta(minutes=1)
            sep = ":" if zone == "+hh:mm" else ""
            text = f"{sign}{mins // 60:02d}{sep}{mins % 60:02d}"
        lines.append(_line(local.strftime("%Y-%m-%dT%H:%M:%S") + frac + text))
    lines += [_line(f"{rng.randrange(10**10)}.{rng.randrange(10**6):0{rng.randrange(1, 7)}d}")
              for _ in range(1000)]  # fmt: skip
    _same(tmp_path, lines, python=[])


def test_crlf_bom_and_gzip(tmp_path: Path) -> None:
    text = "".join(line + "\r\n" for line in [_line(), _line(sport="2"), _line(sport="3")])
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes(text.encode())
    os.utime(crlf, (WRITTEN, WRITTEN))
    assert len(load(crlf)[1]) == 3
    assert python_lines(crlf, nf.READER) == []
    bom = tmp_path / "bom.log"
    bom.write_bytes(b"\xef\xbb\xbf" + text.replace("\r\n", "\n").encode())
    os.utime(bom, (WRITTEN, WRITTEN))
    assert len(load(bom)[1]) == 3
    assert python_lines(bom, nf.READER) == []  # DuckDB drops the BOM, the Python too
    spaced = tmp_path / "bom-spaced.log"
    spaced.write_bytes(b"\xef\xbb\xbf  " + text.replace("\r\n", "\n").encode())
    os.utime(spaced, (WRITTEN, WRITTEN))
    assert len(load(spaced)[1]) == 3
    assert python_lines(spaced, nf.READER) == [1]
    packed = tmp_path / "kern.log.1.gz"
    packed.write_bytes(gzip.compress(text.encode(), mtime=0))
    os.utime(packed, (WRITTEN, WRITTEN))
    assert len(load(packed)[1]) == 3
    assert python_lines(packed, nf.READER) == []


def test_bad_bytes_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "kern.log"
    good = _line().encode()
    path.write_bytes(b"\n".join([good, b"", b"   ", good.replace(b"ALLOW", b"ALL\xffOW"), good]))
    os.utime(path, (WRITTEN, WRITTEN))
    report, rows = load(path)
    assert len(rows) == 2
    assert report.skipped_records == {"netfilter not an allow/accept log prefix": 1}


def test_mutated_lines_read_the_same(tmp_path: Path) -> None:
    """Lines of every layout with characters changed, added or removed at random: the SQL
    never fails, and what it reads is what the Python reads."""
    rng = random.Random(7)
    bases = [
        _line(), _line("2026-11-03T08:00:03.123456+01:00", mac=""), _line("1793692808.25"),
        _line(transport="UDP SPT=53001 DPT=53 LEN=51"),
        _line(transport="ICMP TYPE=8 CODE=0 ID=1 SEQ=41"),
        _line(prefix="gw-01 kernel: [UFW BLOCK] ", inside="IN=eth0 OUT= "),
        _line(transport="TCP SPT=1 DPT=2 SEQ=1 ACK=2 WINDOW=3 RES=0x00 ACK SYN URGP=0"),
    ]  # fmt: skip
    alphabet = "0123456789 =:.-+TZ[]()xXaAsS\tINOUTSRCDSTACKSYN\u00a0\u0131\ufeff"
    lines = []
    for _ in range(3000):
        chars = list(rng.choice(bases))
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(chars))
            op = rng.randrange(3)
            if op == 0:
                chars[at] = rng.choice(alphabet)
            elif op == 1:
                chars.insert(at, rng.choice(alphabet))
            else:
                del chars[at]
        lines.append("".join(chars))
    path = _write(tmp_path, lines)
    report, rows = load(path)
    routed = python_lines(path, nf.READER)
    assert 300 < len(routed) < 2700  # both paths are exercised
    assert rows and report.skipped_records


def test_a_unit_separator_inside_a_line(tmp_path: Path) -> None:
    _same(tmp_path, [_line(sport="5\x1f0000")], python=[1])


@pytest.mark.parametrize("layout", ["syslog", "iso"])
def test_the_benchmark_lines_take_the_sql_path(layout: str, tmp_path: Path) -> None:
    scenario = Scenario(hosts=30, days=0.05, seed=7)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render_netfilter, "render", partial(render_netfilter.render, layout=layout))
        generate(tmp_path, scenario, network_format="netfilter")
    path = tmp_path / render_netfilter.FILE_NAME
    n = sum(1 for _ in path.open())
    assert n > 100
    assert python_lines(path, nf.READER) == []
    report, rows = load(path)
    assert len(rows) == n and not report.problems
