"""Sysmon in every layout lands in the right endpoint tables with the right values.

The fixtures in tests/fixtures/sysmon/ hold the same story in each tool's exact
layout: on WKSTN-07, updater.exe (event 1) loads a DLL (event 7, unused),
resolves c2.example.net (22), connects to 203.0.113.50:443 (3), drops a
Startup shortcut (11), sets a Run key (13) and exits (5); a Security 4624
logon (and in NXLog's file a System 7036) come from other channels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.sniff import sniff
from beaconhunt.ingest.sysmon import SysmonBatches, read_sysmon_json
from beaconhunt.ingest.sysmon_fields import FIELD_MAP, columns
from beaconhunt.pipeline import hunt
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.store.schema import SYSMON_EVENT_TABLES, SYSMON_TABLES
from tests.conftest import FIXTURES, gzip_file

SYSMON = FIXTURES / "sysmon"
HOST = "WKSTN-07.corp.example.com"
GUID = "{8C1A2B3D-4E5F-6071-8293-A4B5C6D7E8F9}"  # every layout's spelling, canonical
PARENT = "{8C1A2B3D-1B2C-6071-0000-0010A1B2C300}"
IMG = "C:\\Users\\jdoe\\AppData\\Roaming\\updater.exe"
RUNKEY = (
    "HKU\\S-1-5-21-3623811015-3361044348-30300820-1013\\Software\\Microsoft\\Windows"
    "\\CurrentVersion\\Run\\Updater"
)
STARTUP = (
    "C:\\Users\\jdoe\\AppData\\Roaming\\Microsoft\\Windows\\Start Menu\\Programs\\Startup"
    "\\updater.lnk"
)
RAW_HASHES = (
    "SHA1=2AAE6C35C94FCFB415DBE95F408B9CE91EE846ED,MD5=3F1E6B7DC5E8E4F21A1F0A7E4D2C9B10,"
    "SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,"
    "IMPHASH=F34D5F2D4577ED6D9CEEC516C1F5A744"
)
# UtcTime -> epoch seconds: 2024-03-05 00:00 UTC is 1709596800; 09:15:02.123 adds
# 9*3600 + 15*60 + 2.123 = 33302.123 -> 1709630102.123
T1, T22, T3, T11, T13, T5 = (1709630102.123, 1709630103.901, 1709630104.5, 1709630105.01,
                             1709630105.25, 1709630400.0)  # fmt: skip

PROC_CREATE = {
    "ts": T1, "host": HOST, "process_guid": GUID, "pid": 4312, "image": IMG,
    "command_line": '"C:\\Users\\jdoe\\AppData\\Roaming\\updater.exe" -k netsvc',
    "user": "CORP\\jdoe", "current_directory": "C:\\Users\\jdoe\\", "integrity_level": "Medium",
    "hashes": RAW_HASHES, "parent_guid": PARENT, "parent_pid": 2188,
    "parent_image": "C:\\Windows\\explorer.exe", "parent_command_line": "C:\\Windows\\Explorer.EXE",
    # PE version information as Sysmon writes it ("-" where the file has none)
    "original_file_name": "updater.exe", "company": "-", "product": "Updater",
    "description": "Updater", "file_version": "1.0.0.1",
}  # fmt: skip
NET_CONN = {
    "ts": T3, "host": HOST, "process_guid": GUID, "pid": 4312, "image": IMG, "user": "CORP\\jdoe",
    "proto": "tcp", "initiated": True, "src_ip": "10.1.2.37", "src_port": 50412,
    "src_hostname": HOST, "dst_ip": "203.0.113.50", "dst_port": 443,
    "dst_hostname": "cdn.example.net",
}  # fmt: skip
PROC_END = {"ts": T5, "host": HOST, "process_guid": GUID, "pid": 4312, "image": IMG}
FILE_CREATE = {"ts": T11, "host": HOST, "process_guid": GUID, "pid": 4312, "image": IMG,
               "target_filename": STARTUP}  # fmt: skip
REG_SET = {"ts": T13, "host": HOST, "process_guid": GUID, "pid": 4312, "image": IMG,
           "event_type": "SetValue", "target_object": RUNKEY, "details": IMG}  # fmt: skip
DNS_QUERY = {
    "ts": T22, "host": HOST, "process_guid": GUID, "pid": 4312, "image": IMG,
    "query_name": "c2.example.net", "query_status": "0",
    "query_results": "type:  5 cdn.example.net;::ffff:203.0.113.50;",
}  # fmt: skip
EXPECTED = {"proc_create": PROC_CREATE, "net_conn": NET_CONN, "proc_end": PROC_END,
            "file_create": FILE_CREATE, "reg_set": REG_SET, "dns_query": DNS_QUERY}  # fmt: skip
# Winlogbeat's sysmon module rewrites a few values on the way to ECS: hashes are
# split and lower-cased, QueryResults becomes dns.answers, QueryStatus a name.
WINLOGBEAT = {
    **EXPECTED,
    "proc_create": {**PROC_CREATE, "hashes": (
        "MD5=3f1e6b7dc5e8e4f21a1f0a7e4d2c9b10,SHA1=2aae6c35c94fcfb415dbe95f408b9ce91ee846ed,"
        "SHA256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,"
        "IMPHASH=f34d5f2d4577ed6d9ceec516c1f5a744")},
    "dns_query": {**DNS_QUERY, "query_status": "SUCCESS",
                  "query_results": "cdn.example.net;203.0.113.50;"},
}  # fmt: skip


def _load(*paths: Path) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    return store, load_paths(list(paths), store)


def _rows(store: DuckDBStore, table: str) -> list[dict[str, Any]]:
    cur = store.con.execute(f"SELECT * FROM {table} ORDER BY ts")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _assert_story(store: DuckDBStore, report: LoadReport, expected: dict[str, Any]) -> None:
    for table, want in expected.items():
        [got] = _rows(store, table)
        assert got == pytest.approx(want), table
        assert report.rows[f"sysmon_{table}"] == 1
    assert report.problems == []


def test_field_map_matches_the_store_schema() -> None:
    for event_id, table in SYSMON_EVENT_TABLES.items():
        assert columns(table) == tuple(SYSMON_TABLES[table]), event_id
        assert len(FIELD_MAP[table]) == len(SYSMON_TABLES[table]) - 2


@pytest.mark.parametrize(
    ("name", "kind", "layout"),
    [
        ("evtx_dump.jsonl", "sysmon_json", "evtx_json"),
        ("winlogbeat.ndjson", "sysmon_json", "winlogbeat"),
        ("winlogbeat_raw_and_flat.ndjson", "sysmon_json", "winlogbeat"),
        ("nxlog.json", "sysmon_json", "nxlog"),
    ],
)
def test_sniffed_by_content_not_name(tmp_path: Path, name: str, kind: str, layout: str) -> None:
    # a misleading name: the content decides, compressed or not
    plain = tmp_path / "conn.log"
    plain.write_bytes((SYSMON / name).read_bytes())
    packed = tmp_path / "events.bin"
    gzip_file(SYSMON / name, packed)
    for path, compressed in ((plain, False), (packed, True)):
        s = sniff(path)
        assert (s.kind, s.log, s.compressed) == (kind, layout, compressed)


def test_evtx_dump_json_lines() -> None:
    store, report = _load(SYSMON / "evtx_dump.jsonl")
    _assert_story(store, report, EXPECTED)
    # event 7 is valid but unused; the Security logon is another channel
    assert report.skipped_records == {"sysmon unused event": 1, "sysmon other channel": 1}


def test_winlogbeat_sysmon_module_ecs_fields() -> None:
    store, report = _load(SYSMON / "winlogbeat.ndjson")
    _assert_story(store, report, WINLOGBEAT)
    assert report.skipped_records == {"sysmon unused event": 1, "sysmon other channel": 1}


def test_winlogbeat_raw_event_data_and_dotted_keys() -> None:
    # line 1: plain Winlogbeat, every value a string under winlog.event_data;
    # line 2: the same kind of event exported with dotted flat keys (ECS only)
    store, report = _load(SYSMON / "winlogbeat_raw_and_flat.ndjson")
    raw, flat = _rows(store, "net_conn")
    assert raw == pytest.approx({**NET_CONN, "ts": T3 + 600 - 0.25, "src_port": 50433})
    assert flat == pytest.approx({**NET_CONN, "ts": T3 + 1200 + 0.25, "src_port": 50460,
                                  "src_hostname": None})  # fmt: skip
    assert report.problems == []


def test_winlogbeat_prefers_raw_event_data_over_ecs(tmp_path: Path) -> None:
    line = (SYSMON / "winlogbeat_raw_and_flat.ndjson").read_text().splitlines()[0]
    both = line.replace('"event":{', '"destination":{"port":8443,"ip":"198.51.100.9"},"event":{')
    (tmp_path / "both.ndjson").write_text(both + "\n")
    store, _ = _load(tmp_path / "both.ndjson")
    [row] = _rows(store, "net_conn")
    assert (row["dst_ip"], row["dst_port"]) == ("203.0.113.50", 443)


def test_nxlog_mixed_channels() -> None:
    store, report = _load(SYSMON / "nxlog.json")
    _assert_story(store, report, EXPECTED)
    # Security 4624 and System 7036 share the file; EventTime (local, no offset) is not used
    assert report.skipped_records == {"sysmon unused event": 1, "sysmon other channel": 2}


@pytest.mark.parametrize("name", ["evtx_dump.jsonl", "winlogbeat.ndjson", "nxlog.json"])
def test_gzip_variant(tmp_path: Path, name: str) -> None:
    gzip_file(SYSMON / name, tmp_path / (name + ".gz"))
    store, report = _load(tmp_path / (name + ".gz"))
    assert sum(v for k, v in report.rows.items() if k.startswith("sysmon_")) == 6
    [row] = _rows(store, "net_conn")
    assert row["process_guid"] == GUID and row["dst_port"] == 443


def test_all_layouts_join_on_one_process_guid() -> None:
    store, report = _load(SYSMON)
    assert report.rows["sysmon_net_conn"] == 1 + 1 + 1 + 2  # evtx_dump, NXLog, Winlogbeat x2
    joined = store.con.execute(
        "SELECT count(*) FROM net_conn n JOIN proc_create p USING (host, process_guid)"
    ).fetchall()[0][0]
    assert joined == 5 * 3  # each event 3 meets the event 1 of each of the three layouts
    assert report.problems == []


def test_read_sysmon_json_streams_in_batches() -> None:
    out = SysmonBatches(batch_rows=1)
    full = list(read_sysmon_json(SYSMON / "nxlog.json", "nxlog", out))
    # every used record fills a batch of one; nothing is taken, so all rows remain
    assert full == ["proc_create", "dns_query", "net_conn", "file_create", "reg_set", "proc_end"]
    batch = out.take("net_conn")
    assert batch["dst_ip"] == ["203.0.113.50"] and batch["initiated"] == [True]
    assert out.records == 9 and out.bad == 0


def test_sysmon_only_input_hunts_without_crashing() -> None:
    result = hunt([SYSMON / "evtx_dump.jsonl"])
    # the initiated event 3 of a host no network log saw becomes a connection row
    assert result.load.rows["conn_from_sysmon"] == 1
    assert result.connections == 1


def test_a_file_loaded_into_a_db_store_is_not_loaded_twice(tmp_path: Path) -> None:
    db = tmp_path / "hunt.duckdb"
    for rows, again in ((1, 0), (0, 1)):
        store = DuckDBStore(db)
        report = load_paths([SYSMON / "nxlog.json"], store)
        assert (report.rows["sysmon_net_conn"], report.already_loaded) == (rows, again)
        assert store.count("net_conn") == 1
        store.close()
