"""A long session split by a flow exporter's active timeout is stored as one
connection (nfdump 1.7 CSV, the layout ``nfdump -o csv`` writes), and Zeek's
conn_long.log repeats of a connection are kept once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from beaconhunt.ingest.loader import load_paths
from beaconhunt.store.duckdb import DuckDBStore

T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC).timestamp()


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _nfdump(path: Path, rows: list[tuple[float, float, int, int, int]]) -> Path:
    lines = ["firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows"]
    for ts, dur, sport, dport, nbytes in rows:
        lines.append(f"{_when(ts)},{dur:.3f},6,10.1.1.5,{sport},203.0.113.9,{dport},10,{nbytes},1")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_active_timeout_records_become_one_session(tmp_path: Path) -> None:
    # a 10-hour session exported every 1800 s (Cisco's default active timeout), the
    # next record starting at the next packet after the export
    rows = [(T0 + k * 1800.2, 1800.0, 50123, 443, 1000) for k in range(20)]
    # ordinary short connections of the same host: new source port each, never joined
    rows += [(T0 + 60.0 * k, 0.5, 50200 + k, 443, 900) for k in range(30)]
    # NTP from the fixed port 123 every 64 s: short records, never joined
    rows += [(T0 + 64.0 * k, 0.0, 123, 123, 48) for k in range(30)]
    store = DuckDBStore()
    load_paths([_nfdump(tmp_path / "flows.csv", rows)], store)
    got = store.con.execute(
        "SELECT src_port, count(*), min(ts), max(duration), sum(bytes_out + coalesce(bytes_in, 0))"
        " FROM conn GROUP BY src_port ORDER BY src_port"
    ).fetchall()
    by_port = {r[0]: r for r in got}
    assert by_port[50123][1] == 1
    assert abs(by_port[50123][3] - (19 * 1800.2 + 1800.0)) < 0.01
    assert by_port[50123][4] == 20 * 1000
    assert by_port[123][1] == 30
    assert sum(1 for p in by_port if 50200 <= p < 50230) == 30


def test_records_far_apart_stay_apart(tmp_path: Path) -> None:
    # the same 5-tuple twice, 10 minutes apart: two connections
    rows = [(T0, 1800.0, 50123, 443, 1000), (T0 + 2400.0, 1800.0, 50123, 443, 1000)]
    store = DuckDBStore()
    load_paths([_nfdump(tmp_path / "flows.csv", rows)], store)
    assert store.count("conn") == 2


_HEAD = [
    "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    "\torig_bytes\tresp_bytes\tconn_state",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring",
]  # fmt: skip


def _zeek(path: Path, log: str, rows: list[str]) -> Path:
    head = [*_HEAD[:4], f"#path\t{log}", *_HEAD[4:]]
    path.write_text("\n".join(head + rows) + "\n", encoding="utf-8")
    return path


def test_conn_long_repeats_are_kept_once(tmp_path: Path) -> None:
    base = f"{T0:.6f}\tCabc123\t10.1.1.5\t50123\t203.0.113.9\t443\ttcp\tssl"
    long_rows = [f"{base}\t{d:.3f}\t{b}\t{b}\tS1" for d, b in ((625.0, 10), (2425.0, 40),
                                                              (6025.0, 90))]  # fmt: skip
    other = f"{T0 + 5:.6f}\tCdef456\t10.1.1.5\t50124\t203.0.113.9\t443\ttcp\tssl\t1.0\t5\t5\tSF"
    store = DuckDBStore()
    load_paths([_zeek(tmp_path / "conn_long.log", "conn_long", long_rows),
                _zeek(tmp_path / "conn.log", "conn", [f"{base}\t9000.0\t120\t150\tSF", other])],
               store)  # fmt: skip
    got = store.con.execute("SELECT uid, duration, conn_state FROM conn ORDER BY uid").fetchall()
    assert got == [("Cabc123", 9000.0, "SF"), ("Cdef456", 1.0, "SF")]


def test_conn_long_alone_keeps_the_longest(tmp_path: Path) -> None:
    base = f"{T0:.6f}\tCabc123\t10.1.1.5\t50123\t203.0.113.9\t443\ttcp\tssl"
    rows = [f"{base}\t{d:.3f}\t1\t1\tS1" for d in (625.0, 6025.0, 2425.0)]
    store = DuckDBStore()
    load_paths([_zeek(tmp_path / "conn_long.log", "conn_long", rows)], store)
    assert store.con.execute("SELECT duration FROM conn").fetchall() == [(6025.0,)]
