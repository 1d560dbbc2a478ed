"""Real-world Zeek files from ../shared/samples (skipped when the folder is absent)."""

from __future__ import annotations

from pathlib import Path

from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.store.duckdb import DuckDBStore


def _load(path: Path) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    return store, load_paths([path], store)


def test_rita_proxy_beacon_named_by_connect_target(samples: Path) -> None:
    store, report = _load(samples / "rita-proxy-beacon")
    rows = store.con.execute(
        "SELECT dst_domain, count(*) FROM conn WHERE src_ip = '10.136.0.18' AND proxied"
        " GROUP BY ALL ORDER BY 2 DESC"
    ).fetchall()
    # MANIFEST: 397 CONNECT www.honestimnotevil.com and 10 www.google.com via the proxy
    assert rows == [("www.honestimnotevil.com", 397), ("www.google.com", 10)]
    assert report.rows["conn"] == 463
    assert all("LICENSE" in p.file or "MANIFEST" in p.file for p in report.problems)


def test_otrf_json_streaming_both_days(samples: Path) -> None:
    store, report = _load(samples / "otrf-apt29-zeek-json")
    # MANIFEST: day1 613 + day2 1172 conn rows
    assert report.rows["conn"] == 613 + 1172
    n = store.con.execute(
        "SELECT count(*) FROM conn WHERE src_ip = '10.0.1.5' AND dst_ip = '192.168.0.4'"
        " AND dst_port = 443"
    ).fetchall()[0][0]
    assert n == 676


def test_edge_cases_rita(samples: Path) -> None:
    store, report = _load(samples / "zeek-format-edgecases" / "rita")
    by_file: dict[str, list[tuple[int | None, str]]] = {}
    for p in report.problems:
        by_file.setdefault(Path(p.file).name, []).append((p.line, p.message))
    # prose named conn.log inside a folder: listed among the files that are not logs
    assert "text_file_conn.log" in {p.name for p in report.not_logs}
    assert [ln for ln, _ in by_file["truncated_conn.log"]] == [67]
    # line 3 has id.orig_p 93145, a port no sensor writes; line 4 is cut
    assert [ln for ln, _ in by_file["truncated_conn_json.log"]] == [3, 4]
    top = by_file["truncated_conn_top.log"]
    assert "no Zeek header" in top[0][1] and top[1][0] == 59  # cut last line too
    assert [ln for ln, _ in by_file["has_unknown_field_http.log"]] == [9]
    assert store.count("conn") > 200


def test_edge_cases_zat(samples: Path) -> None:
    store, report = _load(samples / "zeek-format-edgecases" / "zat")
    by_file = {Path(p.file).name: p for p in report.problems}
    corrupt = by_file["http.log.corrupt.gz"]
    assert "damaged" in corrupt.message and corrupt.line == 159
    assert "header only" in by_file["http_empty.log"].message
    # both the good http.log.gz and the salvaged 150 records of the corrupt copy
    assert report.rows["http"] == 178 + 150
    assert store.count("conn") > 400


def test_strat_benign_labeled_logs(samples: Path) -> None:
    store, report = _load(samples / "strat-008-benign-periodic")
    n = store.con.execute(
        "SELECT count(*) FROM conn WHERE src_ip = '147.32.81.167' AND dst_ip = '91.228.167.171'"
        " AND dst_port = 8883"
    ).fetchall()[0][0]
    assert n == 248  # MANIFEST: ESET 248 conns
    assert not [p for p in report.problems if p.file.endswith(".labeled")]
