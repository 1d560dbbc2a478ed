"""Field-mapped exports ([[sources]] in the config file) and the two shipped mappings."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from beaconhunt.cli import main
from beaconhunt.config import load_config
from beaconhunt.errors import ConfigError
from beaconhunt.ingest.loader import load_paths
from beaconhunt.ingest.mapped import load_sources
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
SPLUNK = ROOT / "docs" / "mappings" / "splunk_cim_network_traffic.toml"
ECS = ROOT / "docs" / "mappings" / "elastic_ecs_network.toml"
MAPPED = FIXTURES / "mapped"


def _readers(path: Path) -> tuple:  # type: ignore[type-arg]
    return load_sources(load_config(path)["sources"], str(path))


def _rows(store: DuckDBStore) -> list[dict[str, object]]:
    cur = store.con.execute("SELECT * FROM conn ORDER BY ts, src_ip")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_splunk_cim_export_maps_every_field_and_skips_blocked() -> None:
    store = DuckDBStore()
    report = load_paths([MAPPED / "splunk_network_traffic.csv"], store, sources=_readers(SPLUNK))
    rows = _rows(store)
    assert report.rows["splunk-cim-traffic"] == 14 == len(rows)
    first = rows[0]
    assert first["ts"] == 1793692800.0  # 2026-11-03T08:00:00+00:00
    assert (first["src_ip"], first["src_port"], first["dst_ip"], first["dst_port"]) == (
        "10.1.1.5", 50000, "203.0.113.9", 443,
    )  # fmt: skip
    assert (first["proto"], first["bytes_out"], first["bytes_in"], first["duration"]) == (
        "tcp", 310, 1200, 0.42,
    )  # fmt: skip
    assert (first["dst_domain"], first["domain_source"], first["log"]) == (
        "c2.badsite.example", "mapped", "splunk-cim-traffic",
    )  # fmt: skip
    udp = next(r for r in rows if r["dst_port"] == 53)
    assert udp["proto"] == "udp" and udp["dst_domain"] is None  # IANA number 17
    assert report.skipped_records["splunk-cim-traffic action not kept"] == 1
    problems = [str(p) for p in report.problems]
    assert len(problems) == 2
    assert any("splunk_network_traffic.csv:17:" in p and "not-a-time" in p for p in problems)
    assert any("splunk_network_traffic.csv:18:" in p and "port '99999' out of range" in p
               for p in problems)  # fmt: skip


def test_elastic_ecs_export_nested_and_flattened_documents() -> None:
    store = DuckDBStore()
    report = load_paths([MAPPED / "ecs_network.ndjson"], store, sources=_readers(ECS))
    rows = _rows(store)
    assert len(rows) == 13
    beacon = [r for r in rows if r["dst_ip"] == "203.0.113.50"]
    assert len(beacon) == 12
    b = beacon[0]
    assert (b["src_ip"], b["dst_port"], b["bytes_out"], b["bytes_in"], b["duration"]) == (
        "10.1.1.6", 8443, 420, 2300, 1.5,
    )  # fmt: skip
    assert (b["dst_domain"], b["src_host"]) == ("update.evil.example", "WS-006")
    flat = next(r for r in rows if r["src_ip"] == "10.1.1.9")
    assert (flat["dst_ip"], flat["bytes_in"], flat["src_host"]) == ("192.0.2.10", 5000, "WS-009")
    assert report.skipped_records["elastic-ecs-network event.outcome not kept"] == 1
    where = sorted(str(p).split(": ", 1)[0].rsplit(":", 1)[1] for p in report.problems)
    assert where == ["15", "16"]


def test_hunting_a_mapped_export_finds_the_beacon(tmp_path: Path) -> None:
    gz = tmp_path / "export.csv.gz"
    gz.write_bytes(gzip.compress((MAPPED / "splunk_network_traffic.csv").read_bytes()))
    res = CliRunner().invoke(
        main, ["hunt", str(gz), "--config", str(SPLUNK), "--format", "ndjson", "-q"]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    top = rows[0]
    assert (top["src_ip"], top["dst_domain"], top["connections"]) == (
        "10.1.1.5", "c2.badsite.example", 12,
    )  # fmt: skip
    assert "timing.regular" in {r["code"] for r in top["reasons"]}


def test_without_the_mapping_the_export_is_not_a_log(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["hunt", str(MAPPED / "splunk_network_traffic.csv"), "--format", "ndjson"]
    )
    assert res.exit_code == 1
    assert "not a log format beaconhunt reads" in res.stderr


def test_a_mapping_does_not_claim_other_files() -> None:
    readers = _readers(SPLUNK) + _readers(ECS)
    for path in (FIXTURES / "context" / "assets.csv", FIXTURES / "context" / "whois.csv"):
        head = path.read_text(encoding="utf-8-sig")
        assert not any(r.detect(head, path) for r in readers)


def test_hostile_values_are_stored_as_data(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    evil = "x'); DROP TABLE conn; --\x1b[31m.example"
    f.write_text(
        "_time,action,src_ip,src_port,dest_ip,dest_port,transport,bytes_out,bytes_in,duration,"
        f"dest_host\n2026-11-03T08:00:00Z,allowed,10.0.0.1,1,203.0.113.1,443,tcp,1,1,1,{evil}\n"
    )
    store = DuckDBStore()
    load_paths([f], store, sources=_readers(SPLUNK))
    assert _rows(store)[0]["dst_domain"] == evil.lower()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"format": "csv", "fields": {}}, "'name' must be"),
        ({"name": "x", "format": "xml", "fields": {}}, "format must be"),
        ({"name": "x", "fields": {"ts": "t"}}, "must map 'ts' and 'src_ip'"),
        ({"name": "x", "fields": {"ts": "t", "src_ip": "s"}}, "'dst_ip' or 'dst_domain'"),
        ({"name": "x", "fields": {"ts": "t", "src_ip": "s", "dst_ip": "d", "colour": "c"}},
         "unknown normalized column(s) colour"),
        ({"name": "x", "time_format": "whenever",
          "fields": {"ts": "t", "src_ip": "s", "dst_ip": "d"}}, "not iso8601"),
        ({"name": "x", "timezone": "Mars/Base",
          "fields": {"ts": "t", "src_ip": "s", "dst_ip": "d"}}, "unknown timezone"),
        ({"name": "x", "keep_column": "a", "fields": {"ts": "t", "src_ip": "s", "dst_ip": "d"}},
         "keep_values"),
        ({"name": "x", "delimiter": ";;", "fields": {"ts": "t", "src_ip": "s", "dst_ip": "d"}},
         "one character"),
        ({"name": "x", "extra": 1, "fields": {}}, "unknown key(s) extra"),
    ],
)  # fmt: skip
def test_mapping_errors_name_the_entry(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_sources([entry], "cfg.toml")
    assert "cfg.toml [[sources]] #1" in str(exc.value) and message in str(exc.value)


def test_strptime_epoch_and_local_time_zone(tmp_path: Path) -> None:
    f = tmp_path / "fw.csv"
    f.write_text("when;from;to;port\n03/11/2026 09:00:00;10.0.0.1;203.0.113.1;443\n")
    (reader,) = load_sources(
        [{"name": "fw", "delimiter": ";", "time_format": "%d/%m/%Y %H:%M:%S",
          "timezone": "Europe/Berlin",
          "fields": {"ts": "when", "src_ip": "from", "dst_ip": "to", "dst_port": "port"}}],
        "cfg",
    )  # fmt: skip
    store = DuckDBStore()
    load_paths([f], store, sources=(reader,))
    assert _rows(store)[0]["ts"] == 1793692800.0  # 09:00 CET = 08:00 UTC
    g = tmp_path / "ms.jsonl"
    g.write_text('{"t": 1793692800123, "s": "10.0.0.1", "d": "203.0.113.1"}\n')
    (ms,) = load_sources(
        [{"name": "ms", "format": "jsonl", "time_format": "epoch_ms",
          "fields": {"ts": "t", "src_ip": "s", "dst_ip": "d"}}], "cfg",
    )  # fmt: skip
    store = DuckDBStore()
    load_paths([g], store, sources=(ms,))
    assert _rows(store)[0]["ts"] == pytest.approx(1793692800.123)
