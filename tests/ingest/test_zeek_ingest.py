"""Every Zeek layout the core reads, from fixtures in Zeek's exact layouts."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from beaconhunt.ingest.loader import load_paths
from beaconhunt.ingest.sniff import sniff
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import ZEEK, gzip_file, reorder_zeek_tsv


def _pairs(store: DuckDBStore) -> dict[tuple[str, str, int], int]:
    rows = store.con.execute(
        "SELECT src_ip, coalesce(dst_domain, dst_ip), dst_port, count(*) FROM conn GROUP BY ALL"
    ).fetchall()
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def _load(*paths: Path) -> tuple[DuckDBStore, object]:
    store = DuckDBStore()
    report = load_paths(list(paths), store)
    return store, report


def test_tsv_conn_named_by_sni_and_dns() -> None:
    store, report = _load(ZEEK / "basic")
    pairs = _pairs(store)
    # SNI from ssl.log, lower-cased ("C2.BadSite.example" in the log)
    assert pairs[("10.1.1.5", "c2.badsite.example", 443)] == 30
    # no SNI/Host: named by the DNS answer 10.1.1.6 resolved before connecting
    assert pairs[("10.1.1.6", "update.evil.example", 80)] == 12
    assert report.rows["conn"] == 53  # type: ignore[attr-defined]
    assert report.problems == []  # type: ignore[attr-defined]


def test_unset_and_empty_fields_become_null() -> None:
    store, _ = _load(ZEEK / "basic")
    row = store.con.execute(
        "SELECT service, duration, bytes_out, bytes_in FROM conn WHERE uid = 'CUnset0001abc'"
    ).fetchall()
    assert row == [(None, None, None, None)]


def test_any_column_order_and_unknown_columns(tmp_path: Path) -> None:
    src = ZEEK / "basic" / "conn.log"
    order = ["id.resp_p", "proto", "ts", "orig_bytes", "id.resp_h", "uid", "id.orig_h",
             "resp_bytes", "id.orig_p", "conn_state", "service", "duration"]  # fmt: skip
    reorder_zeek_tsv(src, tmp_path / "conn.log", order, {"vendor_tag": "x", "community_id": "1:ab"})
    store, report = _load(tmp_path)
    base, _ = _load(src)
    assert _pairs(store) == _pairs(base)
    got = store.con.execute("SELECT sum(bytes_out), sum(bytes_in), min(ts) FROM conn").fetchall()
    want = base.con.execute("SELECT sum(bytes_out), sum(bytes_in), min(ts) FROM conn").fetchall()
    assert got == want
    assert report.problems == []  # type: ignore[attr-defined]


def test_gzip_rotated_names_in_directory_tree(tmp_path: Path) -> None:
    day = tmp_path / "logs" / "2026-11-01"
    day.mkdir(parents=True)
    for name in ("conn", "ssl", "dns"):
        gzip_file(ZEEK / "basic" / f"{name}.log", day / f"{name}.08:00:00-09:00:00.log.gz")
    # a gzip file without a .gz name is still found by its magic bytes
    gzip_file(ZEEK / "proxy" / "conn.log", day / "conn.09:00:00-10:00:00.log")
    shutil.copy(ZEEK / "proxy" / "http.log", day / "http.09:00:00-10:00:00.log")
    store, report = _load(tmp_path / "logs")
    pairs = _pairs(store)
    assert pairs[("10.1.1.5", "c2.badsite.example", 443)] == 30
    assert pairs[("10.2.2.2", "c2.proxied.example", 443)] == 20
    assert report.problems == []  # type: ignore[attr-defined]


def test_json_dotted_keys_and_path() -> None:
    store, _ = _load(ZEEK / "json" / "conn.log", ZEEK / "json" / "ssl.log")
    assert _pairs(store) == {("10.4.4.4", "json-c2.example", 443): 20}


def test_json_streaming_multiplexed_underscore_keys() -> None:
    s = sniff(ZEEK / "json" / "stream.log")
    assert (s.kind, s.log) == ("zeek_json", None)
    store, report = _load(ZEEK / "json" / "stream.log")
    # conn rows named by the dns answers in the same multiplexed file; x509 ignored
    assert _pairs(store) == {("10.5.5.5", "stream-c2.example", 443): 18}
    assert report.rows["dns"] == 18  # type: ignore[attr-defined]


def test_relative_timestamps_are_kept() -> None:
    store, _ = _load(ZEEK / "relative")
    lo, hi = store.time_span() or (0.0, 0.0)
    assert lo == pytest.approx(3.5)
    assert hi == pytest.approx(3.5 + 24 * 30)


def test_http_only_rows_become_connections() -> None:
    store, report = _load(ZEEK / "http_only")
    assert _pairs(store) == {("10.3.3.3", "beacon.http-only.example", 80): 15}
    assert report.rows["conn_from_http_ssl"] == 15  # type: ignore[attr-defined]
    sizes = store.con.execute("SELECT DISTINCT bytes_out, bytes_in FROM conn").fetchall()
    assert sizes == [(120, 64)]  # request/response body lengths


def test_connect_proxy_grouped_by_requested_host() -> None:
    store, _ = _load(ZEEK / "proxy")
    rows = store.con.execute(
        "SELECT DISTINCT dst_ip, dst_domain, dst_port, proxied, domain_source FROM conn"
    ).fetchall()
    assert rows == [("10.2.2.100", "c2.proxied.example", 443, True, "connect")]


def test_sniff_ignores_misleading_names(tmp_path: Path) -> None:
    fake = tmp_path / "conn.log"
    fake.write_text("Lorem ipsum dolor sit amet\nconsectetur adipiscing elit\n")
    assert sniff(fake).kind == "unknown"
    real = tmp_path / "capture.txt"
    shutil.copy(ZEEK / "basic" / "conn.log", real)
    assert (sniff(real).kind, sniff(real).log) == ("zeek_tsv", "conn")


def test_gzip_stream_with_json(tmp_path: Path) -> None:
    with (
        (ZEEK / "json" / "stream.log").open("rb") as fi,
        gzip.open(tmp_path / "zeek.json.gz", "wb") as fo,
    ):
        shutil.copyfileobj(fi, fo)
    store, _ = _load(tmp_path)
    assert _pairs(store) == {("10.5.5.5", "stream-c2.example", 443): 18}
