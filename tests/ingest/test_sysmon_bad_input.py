"""Broken Sysmon input gets file:line (or EventRecordID) problems and the rest is still read.

Values are attacker-influenced: absurd lengths, numbers and escapes must not
break loading. EVTX damage is made from the shared samples in tmp_path (the
tests skip when ../shared is absent).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.sysmon_fields import MAX_TEXT, NO_EVENT_ID, Normalized, normalize
from beaconhunt.store.duckdb import DuckDBStore
from tests.conftest import FIXTURES

SYSMON = FIXTURES / "sysmon"
PANACHE = "PanacheSysmon_vs_AtomicRedTeam01.evtx"


def _load(*paths: Path) -> tuple[DuckDBStore, LoadReport]:
    store = DuckDBStore()
    return store, load_paths(list(paths), store)


def _sysmon_rows(report: LoadReport) -> int:
    return sum(n for k, n in report.rows.items() if k.startswith("sysmon_"))


def _lines(name: str) -> list[str]:
    return (SYSMON / name).read_text().splitlines()


def _without_event_id(line: str) -> str:
    obj = json.loads(line)
    if "Event" in obj:
        del obj["Event"]["System"]["EventID"]
    elif "winlog" in obj:
        del obj["winlog"]["event_id"], obj["event"]["code"]
    else:
        del obj["EventID"]
    return json.dumps(obj)


@pytest.mark.parametrize("name", ["evtx_dump.jsonl", "winlogbeat.ndjson", "nxlog.json"])
def test_bad_lines_are_reported_and_the_rest_loaded(tmp_path: Path, name: str) -> None:
    good = _lines(name)
    # line 1 event 1 intact; 2: cut mid-record; 3: no EventID; 4: not an object;
    # then the non-Sysmon channel record and the rest of the file
    lines = [good[0], good[3][:120], _without_event_id(good[0]), "[1, 2]", *good[1:]]
    (tmp_path / "events.json").write_text("\n".join(lines) + "\n")
    _, report = _load(tmp_path / "events.json")
    got = [(p.line, p.message.split(" (")[0], p.skipped) for p in report.problems]
    assert got == [
        (2, "not valid JSON", 1),
        (3, NO_EVENT_ID, 1),
        (4, "not a JSON object", 1),
    ]
    assert all(p.file.endswith("events.json") for p in report.problems)
    # the six used events load: event 1 from line 1, the other five below the bad lines
    assert report.rows["sysmon_proc_create"] == 1
    assert _sysmon_rows(report) == 6
    assert report.skipped_records["sysmon other channel"] >= 1


def test_truncated_first_line_still_sniffed_as_sysmon(tmp_path: Path) -> None:
    good = _lines("winlogbeat.ndjson")
    (tmp_path / "cut.json").write_text("\n".join([good[0][:200], *good[1:]]) + "\n")
    _, report = _load(tmp_path / "cut.json")
    assert [p.line for p in report.problems] == [1]
    assert _sysmon_rows(report) == 5  # all but the cut event 1


def test_many_bad_lines_listed_then_counted(tmp_path: Path) -> None:
    good = _lines("evtx_dump.jsonl")
    (tmp_path / "bad.jsonl").write_text("\n".join([*good, *(["{oops"] * 12)]) + "\n")
    _, report = _load(tmp_path / "bad.jsonl")
    assert [p.line for p in report.problems][:5] == [9, 10, 11, 12, 13]
    assert report.problems[-1].message.startswith("12 malformed records in all")
    assert report.skipped_lines == 12
    assert _sysmon_rows(report) == 6


def test_file_of_other_channels_only_says_so(tmp_path: Path) -> None:
    security = [ln for ln in _lines("nxlog.json") if '"Channel":"Security"' in ln]
    (tmp_path / "security.json").write_text("\n".join(security) + "\n")
    _, report = _load(tmp_path / "security.json")
    [p] = report.problems
    assert p.line is None and "no Sysmon events" in p.message and "1 other channel" in p.message


def test_attacker_values_stay_strings_cut_and_bounded(tmp_path: Path) -> None:
    obj = json.loads(_lines("nxlog.json")[0])
    obj["CommandLine"] = "A" * (MAX_TEXT + 5000)
    obj["ParentProcessId"] = "99999999999999999999999"  # beyond BIGINT
    obj["ProcessId"] = 1 << 70
    obj["User"] = "CORP\\\ud800jdoe"  # a lone surrogate from a JSON escape
    obj["Image"] = {"$where": "sleep(1)"}
    obj["CurrentDirectory"] = "'; DROP TABLE proc_create; --"
    (tmp_path / "evil.json").write_text(json.dumps(obj) + "\n")
    store, report = _load(tmp_path / "evil.json")
    row = store.con.execute(
        "SELECT command_line, parent_pid, pid, user, image, current_directory FROM proc_create"
    ).fetchall()[0]
    assert len(row[0]) == MAX_TEXT + len("…[truncated]") and row[0].endswith("…[truncated]")
    assert row[1] is None and row[2] is None
    assert row[3] == "CORP\\\ufffdjdoe"
    assert row[4] == '{"$where": "sleep(1)"}'
    assert row[5] == "'; DROP TABLE proc_create; --"
    [note] = report.problems
    assert note.line == 1 and "CommandLine is 37,768 characters long" in note.message
    assert note.skipped == 0


def test_out_of_range_ports_and_odd_booleans_become_null(tmp_path: Path) -> None:
    obj = json.loads(_lines("evtx_dump.jsonl")[4])  # event 3
    data = obj["Event"]["EventData"]
    data.update({"SourcePort": 70000, "DestinationPort": "-1", "Initiated": "maybe"})
    (tmp_path / "e3.jsonl").write_text(json.dumps(obj) + "\n")
    store, _ = _load(tmp_path / "e3.jsonl")
    assert store.con.execute("SELECT src_port, dst_port, initiated FROM net_conn").fetchall() == [
        (None, None, None)
    ]


def test_record_without_any_time_is_reported(tmp_path: Path) -> None:
    obj = json.loads(_lines("evtx_dump.jsonl")[0])
    del obj["Event"]["EventData"]["UtcTime"], obj["Event"]["System"]["TimeCreated"]
    (tmp_path / "notime.jsonl").write_text(json.dumps(obj) + "\n")
    _, report = _load(tmp_path / "notime.jsonl")
    assert [(p.line, p.message) for p in report.problems] == [
        (1, "record has no valid UtcTime or event time")
    ]


def test_falls_back_to_system_time_when_utctime_is_missing() -> None:
    obj = json.loads(_lines("evtx_dump.jsonl")[0])
    del obj["Event"]["EventData"]["UtcTime"]
    result = normalize("evtx_json", obj)
    assert isinstance(result, Normalized)
    assert result.row[0] == pytest.approx(1709630102.125317)  # SystemTime ...02.125317Z


def test_nxlog_own_event_type_does_not_hide_sysmons() -> None:
    obj = json.loads(_lines("nxlog.json")[7])  # event 13
    assert obj["EventID"] == 13
    obj["EventType"] = "INFO"  # NXLog's severity type kept instead of Sysmon's field
    obj["Message"] = "Registry value set:\r\nRuleName: -\r\nEventType: SetValue\r\nUtcTime: x"
    result = normalize("nxlog", obj)
    assert isinstance(result, Normalized) and "SetValue" in result.row


def test_too_long_line_is_skipped_not_held(tmp_path: Path) -> None:
    good = _lines("winlogbeat.ndjson")
    huge = good[0][:-1] + ', "pad": "' + "x" * 70000 + '"}'
    # second: a first line longer than the 64 KiB sniffed cannot name the format
    (tmp_path / "long.ndjson").write_text("\n".join([good[1], huge, *good[2:]]) + "\n")
    store = DuckDBStore()
    report = load_paths([tmp_path / "long.ndjson"], store, max_line=1 << 16)
    assert [(p.line, p.message) for p in report.problems] == [
        (2, "line longer than 65,536 characters: skipped")
    ]
    assert _sysmon_rows(report) == 5


# -- damaged native EVTX (from the shared samples) ---------------------------------------------


def _copy(samples: Path, tmp_path: Path, data: bytes | None = None) -> Path:
    dst = tmp_path / "copy.evtx"
    if data is None:
        shutil.copyfile(samples / "evtx-sysmon-samples" / PANACHE, dst)
    else:
        dst.write_bytes(data)
    return dst


def _panache(samples: Path) -> bytes:
    return (samples / "evtx-sysmon-samples" / PANACHE).read_bytes()


def test_truncated_evtx_keeps_whole_chunks_and_says_where(samples: Path, tmp_path: Path) -> None:
    data = _panache(samples)
    path = _copy(samples, tmp_path, data[: len(data) // 2])  # ends inside chunk 9
    _, report = _load(path)
    [p] = report.problems
    assert "truncated" in p.message and "chunk 9" in p.message
    assert p.line is not None and p.line > 1
    assert 0 < report.rows["sysmon_proc_create"] < 511


def test_corrupt_chunk_is_reported_by_record_ids_and_skipped(samples: Path, tmp_path: Path) -> None:
    data = bytearray(_panache(samples))
    start = 4096 + 65536 + 2000  # inside the second chunk
    data[start : start + 600] = b"A" * 600
    _, report = _load(_copy(samples, tmp_path, bytes(data)))
    [p] = report.problems
    # the evtx parser names the chunk's records: EventRecordIDs 45..87
    assert (p.line, p.skipped) == (45, 43)
    assert "45..87 unreadable" in p.message
    assert report.rows["sysmon_proc_create"] > 400  # the other chunks are read


def test_evtx_with_a_broken_header_is_one_problem(samples: Path, tmp_path: Path) -> None:
    path = _copy(samples, tmp_path, _panache(samples)[:3000])
    other = tmp_path / "whole.evtx"
    shutil.copyfile(samples / "evtx-sysmon-samples" / PANACHE, other)
    _, report = _load(path, other)
    [p] = report.problems
    assert p.file.endswith("copy.evtx") and "not a readable EVTX file" in p.message
    assert report.rows["sysmon_proc_create"] == 511  # the good file is still read


def test_gzip_evtx_reads_like_the_plain_file(samples: Path, tmp_path: Path) -> None:
    with gzip.open(tmp_path / "panache.evtx.gz", "wb") as fh:
        fh.write(_panache(samples))
    _, report = _load(tmp_path / "panache.evtx.gz")
    assert (report.rows["sysmon_proc_create"], report.rows["sysmon_net_conn"]) == (511, 4)
    assert report.problems == []


def test_damaged_gzip_keeps_the_records_before_the_damage(tmp_path: Path) -> None:
    text = "\n".join(_lines("evtx_dump.jsonl") * 50) + "\n"
    data = gzip.compress(text.encode())
    (tmp_path / "events.jsonl.gz").write_bytes(data[: len(data) // 2])
    _, report = _load(tmp_path / "events.jsonl.gz")
    *_, last = report.problems
    assert "stopped reading" in last.message and last.line is not None and last.line > 8
    assert 0 < _sysmon_rows(report) < 6 * 50
