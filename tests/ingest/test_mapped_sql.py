"""The field-mapped reader's SQL (``MappedReader.line_scan``) against its Python ``read()``:
CSV rows of the usual shape are read by DuckDB, every other line by the Python, and a file
read both ways gives the same rows, skips and problems (``_both`` compares them, as
``reader_helpers.load`` does for the built-in readers)."""

from __future__ import annotations

import csv
import gzip
import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reader_helpers import PythonOnly, python_lines

from beaconhunt.config import load_config
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.mapped import MappedReader, load_sources
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
SPLUNK = ROOT / "docs" / "mappings" / "splunk_cim_network_traffic.toml"
HEADER = (
    "_time,action,src_ip,src_port,dest_ip,dest_port,transport,bytes_out,bytes_in,duration,dest_host"
)
T = "2026-11-03T08:00:00.000+00:00"
FIELDS = {"ts": "t", "src_ip": "s", "dst_ip": "d", "dst_port": "p", "src_port": "sp",
          "proto": "pr", "bytes_out": "bo", "bytes_in": "bi", "duration": "du",
          "dst_domain": "dom", "src_host": "h", "service": "svc"}  # fmt: skip
#: a row of the generic layout of ``_reader``: t,s,sp,d,p,pr,bo,bi,du,dom,h,svc
COLS = ("t", "s", "sp", "d", "p", "pr", "bo", "bi", "du", "dom", "h", "svc")
GOOD = {"t": "1793692800", "s": "10.0.0.1", "sp": "50000", "d": "203.0.113.1", "p": "443",
        "pr": "tcp", "bo": "10", "bi": "20", "du": "1.5", "dom": "c2.example", "h": "WS-1",
        "svc": "ssl"}  # fmt: skip


def _splunk() -> MappedReader:
    (r,) = load_sources(load_config(SPLUNK)["sources"], str(SPLUNK))
    return r


def _reader(**entry: Any) -> MappedReader:
    (r,) = load_sources([{"name": "m", "fields": FIELDS, **entry}], "cfg")
    return r


def _load(path: Path, reader: Any, max_line: int | None = None) -> tuple[LoadReport, list[Any]]:
    store = DuckDBStore()
    extra = {} if max_line is None else {"max_line": max_line}
    report = load_paths([path], store, sources=[reader], **extra)
    cur = store.con.execute("SELECT * FROM conn")
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    store.close()
    return report, sorted(rows, key=lambda r: tuple(repr(r[k]) for k in sorted(r)))


def _both(
    path: Path, reader: MappedReader, max_line: int | None = None
) -> tuple[LoadReport, list[dict[str, Any]]]:
    """Load ``path`` with ``reader`` (its SQL) and with its Python only; assert they agree."""
    sql, rows = _load(path, reader, max_line)
    ref, ref_rows = _load(path, PythonOnly(reader), max_line)
    assert rows == ref_rows
    assert [(p.file, p.line, p.message, p.skipped) for p in sql.problems] == [
        (p.file, p.line, p.message, p.skipped) for p in ref.problems
    ]
    assert sql.skipped_records == ref.skipped_records
    assert sql.rows == ref.rows
    return sql, rows


_PORTS = itertools.cycle(range(1024, 60000))


def _row(delim: str = ",", **values: str) -> str:
    """A row of the generic layout: ``GOOD`` with ``values``; a source port of its own
    unless given (the store joins long records of one 5-tuple: rows must stay apart)."""
    values.setdefault("sp", str(next(_PORTS)))
    return delim.join({**GOOD, **values}[c] for c in COLS)


def _write(tmp_path: Path, lines: list[str], name: str = "x.csv", delim: str = ",") -> Path:
    path = tmp_path / name
    text = "".join(line + "\n" for line in [delim.join(COLS), *lines])
    path.write_bytes(text.encode("utf-8"))
    return path


def _same(
    tmp_path: Path, rows: list[str], reader: MappedReader | None = None, *, python: list[int]
) -> tuple[int, list[dict[str, Any]]]:
    """``rows`` after the generic header, both ways; ``python``: the lines left to Python
    (besides the header, line 1). The connections read (the store keeps one of several
    alike) and the rows stored."""
    r = reader or _reader(time_format="epoch")
    path = _write(tmp_path, rows, delim=r.delimiter)
    report, got = _both(path, r)
    assert python_lines(path, r) == [1, *python]
    return report.rows[r.name], got


# -- the usual shape is read in SQL ----------------------------------------------------------


def test_shipped_splunk_fixture_reads_the_same_and_mostly_in_sql() -> None:
    path = FIXTURES / "mapped" / "splunk_network_traffic.csv"
    report, rows = _both(path, _splunk())
    assert len(rows) == 14 and len(report.problems) == 2
    # the header, a time that is no time and port 99999 (worded by Python)
    assert python_lines(path, _splunk()) == [1, 17, 18]


def _synthetic(path: Path, rows: int, seed: int = 7) -> None:
    """Rows of the shape bench_mapped.py writes (a Splunk CIM export)."""
    rnd = random.Random(seed)
    start = datetime(2026, 11, 3, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(HEADER + "\n")
        for i in range(rows):
            when = (start + timedelta(milliseconds=i * 170 + rnd.randrange(170))).isoformat(
                timespec="milliseconds"
            )
            fh.write(
                f"{when},{rnd.choice(('allowed',) * 9 + ('blocked',))},"
                f"10.1.0.{rnd.randrange(1, 250)},"
                f"{rnd.randrange(1024, 65536)},203.0.{rnd.randrange(114)}.{rnd.randrange(1, 255)},"
                f"{rnd.choice((443, 80, 53))},{rnd.choice(('tcp', 'udp', '17'))},"
                f"{rnd.randrange(40, 5000)},{rnd.randrange(40, 500_000)},"
                f"{round(rnd.random() * 30, 3)},{rnd.choice(('svc1.example.com', ''))}\n"
            )


def test_benchmark_rows_take_the_sql_path(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    _synthetic(path, 5000)
    assert python_lines(path, _splunk()) == [1]  # the header only
    report, rows = _both(path, _splunk())
    assert len(rows) + sum(report.skipped_records.values()) == 5000


def test_gzip_crlf_and_no_final_line_end(tmp_path: Path) -> None:
    lines = [HEADER, *[f"{T},allowed,10.0.0.{i},1,203.0.113.1,443,tcp,1,1,1,x" for i in range(5)]]
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(gzip.compress(("\r\n".join(lines)).encode()))
    _, rows = _both(gz, _splunk())
    assert len(rows) == 5
    assert python_lines(gz, _splunk()) == [1]


# -- values at the edge of the fast path -----------------------------------------------------


def test_ports_at_their_limits(tmp_path: Path) -> None:
    ports = ["0", "1", "65535", "00443", "", "-", "65536", "99999", "100000", " 443", "443 ",
             "+443", "4e2", "443.0", "0x1bb", "６５"]  # fmt: skip
    rows = [_row(p=p) for p in ports] + [_row(sp=p) for p in ports]
    _, got = _same(tmp_path, rows, python=[8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                                        24, 25, 26, 27, 28, 29, 30, 31, 32, 33])  # fmt: skip
    assert {r["dst_port"] for r in got} >= {0, 1, 65535, 443, None}


def test_counts_at_their_limits(tmp_path: Path) -> None:
    counts = ["0", "999999999999999999", "9007199254740993", "9223372036854775807",
              "1e308", "-1", "12.5", "", "-", "00012"]  # fmt: skip
    _, got = _same(tmp_path, [_row(bo=c) for c in counts] + [_row(bi=c) for c in counts],
                python=[5, 6, 7, 8, 15, 16, 17, 18])  # fmt: skip
    assert {r["bytes_out"] for r in got} >= {0, 10**18, 9007199254740992, 12, None}


def test_durations_and_their_unit(tmp_path: Path) -> None:
    durations = ["0", "0.42", "1.000000000000000000001", "123456789012345678901", "1e3", "-1",
                 "inf", "nan", "", "-", ".5", "5.", " 1"]  # fmt: skip
    for unit in ("s", "ms", "us", "ns"):
        d = tmp_path / unit
        d.mkdir()
        read, got = _same(d, [_row(du=x) for x in durations], _reader(time_format="epoch",
                          duration_unit=unit), python=[4, 5, 6, 7, 8, 9, 12, 13, 14])  # fmt: skip
        assert read == len(got) == len(durations) - 3  # -1, inf and nan are problems


def test_epoch_formats_on_many_values(tmp_path: Path) -> None:
    rnd = random.Random(3)
    for fmt, digits in (("epoch", 10), ("epoch_ms", 13), ("epoch_us", 16), ("epoch_ns", 19)):
        values = [str(rnd.randrange(10 ** (digits - 1), 4 * 10 ** (digits - 1)))
                  for _ in range(300)]  # fmt: skip
        values += [f"{rnd.randrange(10**digits)}.{rnd.randrange(10**9):0{rnd.randrange(1, 10)}}"
                   for _ in range(300)]  # fmt: skip
        values += [
            "0",
            "1",
            "0.5",
            "4102444800",
            "4102444801",
            "99999999999999999999",
            "12345678901234567890.12345678901234567890",
            "-1",
            "1e9",
            "1_000",
            "nan",
        ]
        d = tmp_path / fmt
        d.mkdir()
        path = _write(d, [_row(t=v) for v in values])
        _both(path, _reader(time_format=fmt))
        assert len(python_lines(path, _reader(time_format=fmt))) == 1 + 4


def _iso_values(rnd: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        s = (f"{rnd.randrange(1890, 2210)}-{rnd.randrange(1, 13):02}-{rnd.randrange(1, 32):02}"
             f"{rnd.choice('T ')}{rnd.randrange(24):02}:{rnd.randrange(60):02}"
             f":{rnd.randrange(60):02}")  # fmt: skip
        if k := rnd.randrange(11):
            s += "." + "".join(rnd.choice("0123456789") for _ in range(k))
        zone = rnd.randrange(3)
        if zone == 1:
            s += "Z"
        elif zone == 2:
            s += f"{rnd.choice('+-')}{rnd.randrange(24):02}:{rnd.randrange(60):02}"
        out.append(s)
    return out


def test_iso8601_times_on_many_values(tmp_path: Path) -> None:
    values = _iso_values(random.Random(5), 3000)
    values += [
        "2026-11-03T08:00:31Z",
        "2026-11-03T08:00:31+01:00",
        "2026-11-03 08:00:31",
        "2024-02-29T12:00:00Z",
        "2026-02-29T12:00:00Z",
        "2026-04-31T00:00:00Z",
        "2100-01-01T00:00:00Z",
        "2100-01-01T00:00:01Z",
        "1969-12-31T23:59:59Z",
        "1900-01-01T00:00:00+23:59",
        "2199-12-31T23:59:59.999999-23:59",
        "2026-11-03T24:00:00Z",
        "2026-11-03t08:00:31z",
        "2026-11-03T08:00:31+0100",
        "2026-11-03T08:00:31,5Z",
        "2026-11-03T08:00:31.Z",
        "2026-11-03T08:00",
        "20261103T080031Z",
        "2026-11-03T08:00:31+01",
        "2026-11-03T08:00:31+24:00",
        "2026-11-03T08:00:31.1234567890Z",
        "2026-11-03T08:00:60Z",
        "not a time",
    ]
    path = _write(tmp_path, [_row(t=v) for v in values])
    r = _reader()
    _, rows = _both(path, r)
    assert len(rows) > 1000  # years 1970-2100 of real days (others are problems)
    shown = python_lines(path, r)
    assert 1 < len(shown) < 1000  # years outside 1900-2199, 10 fraction digits, odd shapes


def test_local_times_in_a_zone_with_summer_time_go_to_python(tmp_path: Path) -> None:
    # Europe/Berlin: 2026-03-29 02:30 does not exist, 2026-10-25 02:30 happens twice
    values = [
        "2026-03-29T02:30:00",
        "2026-10-25T02:30:00",
        "2026-10-25T01:59:59.5",
        "2026-07-01 12:00:00",
        "2026-07-01T12:00:00+02:00",
        "2026-07-01T10:00:00Z",
    ]
    r = _reader(timezone="Europe/Berlin")
    _, got = _same(tmp_path, [_row(t=v) for v in values], r, python=[2, 3, 4, 5])
    assert [x["ts"] for x in got].count(1782900000.0) == 3  # 12:00 in summer is 10:00 UTC


def test_local_times_in_utc_are_read_in_sql(tmp_path: Path) -> None:
    for zone in ("UTC", "Etc/UTC", "GMT"):
        d = tmp_path / zone.replace("/", "_")
        d.mkdir()
        _, got = _same(d, [_row(t="2026-07-01T10:00:00.25")], _reader(timezone=zone), python=[])
        assert got[0]["ts"] == 1782900000.25


def test_strptime_patterns_and_json_lines_are_read_in_python(tmp_path: Path) -> None:
    path = _write(tmp_path, [_row(t="03/11/2026 09:00:00")])
    r = _reader(time_format="%d/%m/%Y %H:%M:%S", timezone="Europe/Berlin")
    assert r.line_scan(path) is None
    _, rows = _both(path, r)
    assert rows[0]["ts"] == 1793692800.0
    j = tmp_path / "x.jsonl"
    j.write_text('{"t": 1793692800, "s": "10.0.0.1", "d": "203.0.113.1"}\n')
    assert _reader(format="jsonl", time_format="epoch").line_scan(j) is None


# -- text: spaces, quotes, cases, odd characters ---------------------------------------------


def test_text_values_spaces_quotes_and_non_ascii(tmp_path: Path) -> None:
    rows = [
        _row(dom="C2.Example.COM."),  # lower-cased, trailing dot dropped
        _row(dom="...", d=""),  # a name of dots only: stored empty, as Python stores it
        _row(dom="-"),
        _row(dom="", d="-"),  # no destination: a problem
        _row(s=""),  # no source
        _row(h="WS 006", svc="s s"),  # spaces inside a value
        _row(h=" WS-1"),  # spaces around a value: Python strips them
        _row(pr="TCP"),
        _row(pr="6"),
        _row(pr="58"),
        _row(pr="06"),
        _row(dom="bücher.example"),  # non-ASCII
        _row(dom="ǅ.example"),  # title case, which lower() treats its own way
        _row(h="a\tb"),  # a tab
        _row(dom='"c2.example"'),  # quoted
        '"1793692800","10.0.0.1","1","203.0.113.1","443","tcp","1","1","1","a,b","h","s"',
        _row(dom="x'); DROP TABLE conn; --"),
        _row(h="\x1b[31m"),  # a control character
        _row(h="a\u00a0"),  # a non-breaking space Python strips
    ]
    _, got = _same(tmp_path, rows, python=[5, 6, 8, 13, 14, 15, 16, 17, 19, 20])
    domains = {r["dst_domain"] for r in got}
    assert {"c2.example.com", "", "bücher.example", "a,b"} <= domains
    assert {r["proto"] for r in got} >= {"tcp", "icmp", "06"}


def test_field_counts_blank_rows_and_long_lines(tmp_path: Path) -> None:
    rows = [
        _row() + ",extra",  # more fields than the header: Python ignores them
        _row().rsplit(",", 1)[0],  # one fewer: the last column is missing
        ",,,,,,,,,,,",  # a row of empty fields: not a record
        "   ",
        "",
        _row(),
        _row(h="x" * 140_000),  # a field past csv's limit: a problem
        _row(h='"' + "x" * 140_000 + '"'),
        _row(h='"open'),  # a quote left open
    ]
    _same(tmp_path, rows, python=[2, 3, 4, 5, 8, 9, 10])
    limit = tmp_path / "limit"
    limit.mkdir()
    path = _write(limit, [_row(), _row(h="y" * 300), _row()])
    _, got = _both(path, _reader(time_format="epoch"), max_line=200)  # too long: skipped
    assert len(got) == 2


def test_undecodable_bytes_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(
        (",".join(COLS) + "\n" + _row() + "\n").encode() + _row(h="caf\xe9").encode("latin-1")
        + b"\n" + _row().encode() + b"\n"
    )  # fmt: skip
    _, rows = _both(path, _reader(time_format="epoch"))
    assert len(rows) == 3
    # line 3 is DuckDB's reject, read again decoded (linescan) and left to Python
    assert python_lines(path, _reader(time_format="epoch")) == [1]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (",".join(COLS) + "\n" + _row() + "\n").encode())
    assert _reader(time_format="epoch").line_scan(bom) is None  # DuckDB drops it, Python not
    _both(bom, _reader(time_format="epoch"))


def test_keep_values_any_case_and_non_ascii(tmp_path: Path) -> None:
    r = _reader(time_format="epoch", keep_column="svc", keep_values=["Allowed", "straße", "k"])
    rows = [_row(svc=v) for v in ("allowed", "ALLOWED", "AlLoWeD", "blocked", "", "-", " allowed",
                                  "STRASSE", "straße", "K", "\u212a", "allowed ")]  # fmt: skip
    rows.append(_row(svc="blocked", t="bad", p="99999"))  # skipped before anything is read
    read, _ = _same(tmp_path, rows, r, python=[6, 7, 8, 10, 12, 13, 14])
    assert read == 8  # allowed x5 (spaces are stripped), straße, K, Kelvin sign (lower: k)


# -- the header row ---------------------------------------------------------------------------


def test_header_after_blank_lines_duplicates_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    header = "t , s,sp,d,p,pr,bo,bi,du,dom,h,svc,d"  # "d" twice: the last one is the value
    body = [_row() + ",198.51.100.7", _row(d="192.0.2.1") + ",", "   ", _row(d="-") + ",-"]
    path.write_text("\n".join(["", "  ", header, *body]) + "\n")
    r = _reader(time_format="epoch")
    _, rows = _both(path, r)
    assert sorted(str(x["dst_ip"]) for x in rows) == ["198.51.100.7", "None", "None"]
    assert python_lines(path, r) == [2, 3, 6]


def test_header_in_another_order_with_unmapped_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    cols = ["note", *reversed(COLS), "x"]
    values = {**GOOD, "note": 'said "hi"', "x": ""}
    path.write_text(
        ",".join(cols)
        + "\n"
        + ",".join(values[c] for c in cols)
        + "\n"
        + ",".join(values[c] if c != "note" else "a b" for c in cols)
        + "\n"
    )
    r = _reader(time_format="epoch")
    _, rows = _both(path, r)
    assert len(rows) == 2 and rows[0]["dst_domain"] == "c2.example"
    assert python_lines(path, r) == [1, 2]  # the quote in an unmapped column, too


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text(",".join(COLS) + "\n")
    _both(a, _reader(time_format="epoch"))
    b = tmp_path / "b.csv"
    b.write_text(",".join(COLS) + "\n\n\n")
    _both(b, _reader(time_format="epoch"))


@pytest.mark.parametrize("delim", [";", "|", "\t", " ", "'", "\\", "x"])
def test_other_delimiters(tmp_path: Path, delim: str) -> None:
    r = _reader(time_format="epoch", delimiter=delim)
    rows = [_row(delim), _row(delim, dom="a;b|c'd\\e"), _row(delim, h="a b")]
    path = _write(tmp_path, rows, delim=delim)
    _, got = _both(path, r)
    assert len(got) == 3
    assert r.line_scan(path) is not None


@pytest.mark.parametrize("delim", ["§", "5", "-", ":"])
def test_delimiters_the_sql_does_not_read(tmp_path: Path, delim: str) -> None:
    r = _reader(time_format="epoch", delimiter=delim)
    path = _write(tmp_path, [_row(delim)], delim=delim)
    assert r.line_scan(path) is None
    _both(path, r)


def test_many_problems_are_counted_alike(tmp_path: Path) -> None:
    rows = [_row(p="70000") if i % 3 == 0 else _row(sp=str(i)) for i in range(200)]
    read, _ = _same(tmp_path, rows, python=[i + 2 for i in range(0, 200, 3)])
    assert read == 133


def test_csv_field_limit_is_the_one_in_force(tmp_path: Path) -> None:
    old = csv.field_size_limit(1000)
    try:
        _same(tmp_path, [_row(h="z" * 990), _row(h="z" * 1001)], python=[2, 3])
    finally:
        csv.field_size_limit(old)


def _mutants(lines: list[str], n: int, seed: int) -> list[str]:
    """``n`` copies of ``lines`` with one to three characters inserted, deleted or
    replaced by ones at the edges of the fast path; ``{sp}`` in a line is a source port
    of each copy's own (the store joins long records of one 5-tuple in the order it
    stored them, which differs between the two paths)."""
    rnd = random.Random(seed)
    chars = ' ",;-.\t0159:+TZzé\u00a0\u2028x'
    out = []
    for k in range(n):
        s = list(rnd.choice(lines).replace("{sp}", str(1024 + k)))
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(len(s) + 1)
            what = rnd.randrange(3)
            if what == 0:
                s.insert(i, rnd.choice(chars))
            elif i < len(s):
                s[i : i + 1] = [] if what == 1 else [rnd.choice(chars)]
        out.append("".join(s).replace("\u2028", ""))
    return out


def test_mutated_rows_read_alike(tmp_path: Path) -> None:
    good = [f"2026-11-03T08:{i:02}:00.{i}+01:00,{a},10.1.1.{i},{{sp}},203.0.113.9,443,"
            f"{p},310,1200,0.4{i},c2.example" for i, (a, p) in
            enumerate([("allowed", "tcp"), ("blocked", "6"), ("teardown", "17")])]  # fmt: skip
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "\n" + "\n".join(_mutants(good, 1500, 11)) + "\n")
    report, rows = _both(path, _splunk())
    assert report.rows["splunk-cim-traffic"] > 200 and len(rows) > 100
    assert len(report.problems) == 51  # 50 shown, the rest counted
    shown = python_lines(path, _splunk())
    assert 100 < len(shown) < 1300  # a fair share of the mutants are still read in SQL
    epoch = tmp_path / "epoch"
    epoch.mkdir()
    rows_e = [_row(sp="{sp}"), _row(sp="{sp}", t="1793692800.25", du="-", dom="")]
    p2 = _write(epoch, _mutants(rows_e, 1500, 12))
    _both(p2, _reader(time_format="epoch_ms", keep_column="pr", keep_values=["tcp"]))
