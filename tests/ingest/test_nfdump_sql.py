"""The nfdump reader's SQL (``NfdumpReader.line_scan``) against its Python ``read()``: every
file read both ways gives the same rows, skips and problems, and the SQL itself ran (a file
it hands to Python says so by a DuckDB error, which the loader answers with ``read()``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest
from reader_helpers import load

from beaconhunt.ingest.linescan import scan_lines
from beaconhunt.ingest.readers import nfdump as nf
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

NF = FIXTURES / "nfdump"
V17 = "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows\n"
FLOW = "start,end,src_ip,dst_ip,src_port,dst_port,proto,bytes_out,bytes_in\n"


def _sql_runs(path: Path) -> bool:
    """Whether the SQL read ``path`` itself (False: it asked for the Python reader)."""
    scan = nf.READER.line_scan(path)
    assert scan is not None
    store = DuckDBStore()
    try:
        scan_lines(store.con, path, scan, "nfdump", compressed=path.suffix == ".gz")
    except duckdb.Error as exc:
        assert nf._PYTHON in str(exc), exc
        return False
    finally:
        store.close()
    return True


def _same(path: Path, sql: bool = True) -> None:
    load(path)  # both paths, compared
    assert _sql_runs(path) is sql


def _v16(*rows: str) -> str:
    return nf.V16_HEADER + "\n" + "".join(r + "\n" for r in rows)


def _row16(ts: str, td: str, sa: str, da: str, sp: str, dp: str, pr: str = "TCP",
           fwd: str = "0", ibyt: str = "100", obyt: str = "0") -> str:  # fmt: skip
    cells = [ts, ts, td, sa, da, sp, dp, pr, "...AP.SF", fwd, "0", "1", ibyt, "0", obyt]
    return ",".join(cells + ["0"] * 33)


@pytest.mark.parametrize("name", ["nfdump-1.6.csv", "nfdump-1.7.csv", "vpc-flow-logs.log",
                                  "flows-generic.csv"])  # fmt: skip
def test_the_fixtures_read_the_same_in_sql(name: str) -> None:
    _same(NF / name, sql=True)


def test_gzip_crlf_and_bom(tmp_path: Path) -> None:
    text = (NF / "nfdump-1.6.csv").read_bytes()
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"))
    _same(crlf)
    packed = tmp_path / "x.csv.gz"
    packed.write_bytes(gzip.compress(crlf.read_bytes(), mtime=0))
    _same(packed)


def test_bad_values_are_worded_as_python_words_them(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    t = "2026-11-03 08:00:00"
    f.write_text(_v16(
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40000", "443"),
        _row16(t, "-1", "10.0.0.1", "192.0.2.1", "40001", "443"),
        _row16(t, "nan", "10.0.0.1", "192.0.2.1", "40002", "443"),
        _row16(t, "1_0.5", "10.0.0.1", "192.0.2.1", "40003", "443"),
        _row16(t, " 0.5 ", "10.0.0.1", "192.0.2.1", "40004", "443"),
        _row16(t, "0.5", "010.0.0.1", "192.0.2.1", "40005", "443"),
        _row16(t, "0.5", " 10.0.0.2\t", "192.0.2.1", "40006", "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "+40007", "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "4_0008", "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "-0", "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "99999999999999999999999", "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "x'y", "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", '"q"', "443"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40009", "443", pr="GRE"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40010", "443", pr=" tcp "),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40011", "443", pr="t;c p"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40012", "443", pr="-"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40013", "443", fwd="160"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40014", "443", fwd="abc"),
        _row16(t, "0.5", "10.0.0.1", "192.0.2.1", "40015", "443", ibyt="9" * 20),
        _row16("2026-11-03T08:00:01.25", "0.5", "10.0.0.1", "192.0.2.1", "40016", "443"),
        _row16("2026-11- 3 08:00:02", "0.5", "10.0.0.1", "192.0.2.1", "40017", "443"),
        _row16("2026-11-03 24:00:00", "0.5", "10.0.0.1", "192.0.2.1", "40018", "443"),
        _row16("2028-02-29 08:00:00", "0.5", "10.0.0.1", "192.0.2.1", "40019", "443"),
        _row16("2026-02-29 08:00:00", "0.5", "10.0.0.1", "192.0.2.1", "40020", "443"),
        _row16("0000-01-01 00:00:00", "0.5", "10.0.0.1", "192.0.2.1", "40021", "443"),
        _row16("2026-11-03 08:00:00.", "0.5", "10.0.0.1", "192.0.2.1", "40022", "443"),
        _row16("2026-11-03 08:00:00" + "x" * 50, "0.5", "10.0.0.1", "192.0.2.1", "40023", "443"),
        "2026-11-03 08:00:00,\x1b[31m,\\,\x00",
        '2026-11-03 08:00:00,"unterminated,' + ",".join(["0"] * 50),
    ), encoding="utf-8")  # fmt: skip
    _same(f)


def test_pairs_across_the_window_and_out_of_order(tmp_path: Path) -> None:
    rows = []
    for i in range(40):  # one 5-tuple reused, answered late, early, never, in both orders
        t = f"2026-11-03 08:{i:02d}:00"
        rows.append(_row16(t, "0.4", "10.0.0.1", "192.0.2.1", "40000", "8080"))
        if i % 3:
            rows.append(_row16(t, "0.4", "192.0.2.1", "10.0.0.1", "8080", "40000"))
    rows.append(_row16("2026-11-03 07:00:00", "1", "10.0.0.9", "192.0.2.9", "443", "50000"))
    rows.append(_row16("2026-11-03 09:30:00", "1", "10.0.0.9", "192.0.2.9", "50000", "443"))
    rows.append(_row16("2026-11-03 09:30:00", "2", "192.0.2.9", "10.0.0.9", "443", "50000"))
    rows.append(_row16("2026-11-03 09:30:00", "1", "10.0.0.5", "10.0.0.5", "123", "123"))
    rows.append(_row16("2026-11-03 09:30:00", "1", "10.0.0.5", "10.0.0.5", "123", "123"))
    rows.append(_row16("2026-11-03 09:30:00", "1", "10.0.0.6", "192.0.2.6", "40000", "443",
                       obyt="500"))  # fmt: skip
    f = tmp_path / "pairs.csv"
    f.write_text(_v16(*rows), encoding="utf-8")
    _same(f)


def test_v17_and_generic_times(tmp_path: Path) -> None:
    f = tmp_path / "v17.csv"
    f.write_text(V17 + "".join(
        f"{t},0.163,6,10.1.1.5,{5000 + i},203.0.113.9,443,4,1001,1\n"
        for i, t in enumerate(["2026-11-03 08:00:00.358", "1793692800.358", "1793692800358",
                               " 1793692800 ", "1e9", "0000-00-00 00:00:00", "-5", "inf",
                               "2026-11-03T08:00:00"])
    ), encoding="utf-8")  # fmt: skip
    _same(f)
    g = tmp_path / "flows.csv"
    g.write_text(FLOW + "".join(
        f"{a},{b},10.2.0.8,192.0.2.77,{55000 + i},8443,tcp,640,3100\n"
        for i, (a, b) in enumerate([
            ("2026-11-03T09:00:00Z", "2026-11-03T09:00:02Z"),
            ("2026-11-03T09:00:00+01:00", "2026-11-03T09:00:02.5+0100"),
            ("2026-11-03 09:00:00.123456789", "2026-11-03T09:00:00,5"),
            ("2026-11-03T09:00:00-23:59", "2026-11-03T09:00:00+24:00"),
            ("1793692800", "1793692790"),
            ("2026-11-03T09:00:00Z", "yesterday"),
        ])
    ), encoding="utf-8")  # fmt: skip
    _same(g)


def test_what_only_python_reads_is_read_by_python(tmp_path: Path) -> None:
    f = tmp_path / "v6.csv"
    f.write_text(_v16(_row16("2026-11-03 08:00:00", "0.5", "2001:DB8::1", "192.0.2.1", "40000",
                             "443")), encoding="utf-8")  # fmt: skip
    _same(f, sql=False)
    g = tmp_path / "late.csv"  # a time no sensor writes, never answered: Python words it
    g.write_text(_v16(_row16("2200-01-01 00:00:00", "0.5", "10.0.0.1", "192.0.2.1", "40000",
                             "443")), encoding="utf-8")  # fmt: skip
    _same(g, sql=False)
    h = tmp_path / "bytes.csv"
    h.write_bytes(_v16(_row16("2026-11-03 08:00:00", "0.5", "10.0.0.1", "192.0.2.1", "40000",
                              "443").replace("...AP.SF", "\xff")).encode("latin-1"))  # fmt: skip
    _same(h, sql=False)


def test_headerless_and_appended_outputs(tmp_path: Path) -> None:
    lines = (NF / "nfdump-1.6.csv").read_text(encoding="utf-8").splitlines()
    quiet = tmp_path / "quiet.csv"
    quiet.write_text("\n\n" + "\n".join(lines[1:33]) + "\n", encoding="utf-8")
    _same(quiet)
    twice = tmp_path / "twice.csv"
    text = (NF / "nfdump-1.6.csv").read_text(encoding="utf-8")
    twice.write_text("  \n" + text + text.replace("2026-11-03", "2026-11-04") + "Summary\n",
                     encoding="utf-8")  # fmt: skip
    _same(twice)
