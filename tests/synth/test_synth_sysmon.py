"""Sysmon telemetry of the synthetic day: layout, and agreement with the Zeek logs."""

from __future__ import annotations

import base64
import bisect
import json
import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from synth_helpers import ZeekTsv, read_csv, read_log

from beaconhunt.errors import ConfigError
from beaconhunt.ingest.sysmon_fields import Normalized, json_layout, normalize
from beaconhunt.synth import (
    FAMILIES,
    MAX_SKEW,
    PRE_SYSMON,
    SYSMON_FILE,
    GenerationSummary,
    Scenario,
    generate,
)

SCENARIO = Scenario.small(seed=5, hours=4.0)
GUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
SYSTEM_KEYS = [
    "Provider", "EventID", "Version", "Level", "Task", "Opcode", "Keywords", "TimeCreated",
    "EventRecordID", "Correlation", "Execution", "Channel", "Computer", "Security",
]  # fmt: skip
DATA_KEYS = {
    1: ["RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion", "Description",
        "Product", "Company", "OriginalFileName", "CommandLine", "CurrentDirectory", "User",
        "LogonGuid", "LogonId", "TerminalSessionId", "IntegrityLevel", "Hashes",
        "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentCommandLine", "ParentUser"],
    3: ["RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User", "Protocol",
        "Initiated", "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort", "SourcePortName",
        "DestinationIsIpv6", "DestinationIp", "DestinationHostname", "DestinationPort",
        "DestinationPortName"],
    11: ["RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetFilename",
         "CreationUtcTime", "User"],
    13: ["RuleName", "EventType", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetObject",
         "Details", "User"],
    22: ["RuleName", "UtcTime", "ProcessGuid", "ProcessId", "QueryName", "QueryStatus",
         "QueryResults", "Image", "User"],
}  # fmt: skip


def _utc(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("sysmon"), SCENARIO, sysmon=True)


@pytest.fixture(scope="module")
def records(run: GenerationSummary) -> list[dict[str, Any]]:
    assert run.sysmon_path is not None
    return _records(run.sysmon_path)


@pytest.fixture(scope="module")
def events(records: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, Any]]]:
    """(computer, event id, EventData) per record."""
    return [
        (r["Event"]["System"]["Computer"], r["Event"]["System"]["EventID"], r["Event"]["EventData"])
        for r in records
    ]


@pytest.fixture(scope="module")
def logs(run: GenerationSummary) -> dict[str, ZeekTsv]:
    return {name: read_log(run.out_dir / f"{name}.log") for name in ("conn", "dns")}


def _of(events: list[tuple[str, int, dict[str, Any]]], eid: int) -> list[dict[str, Any]]:
    return [d for _, e, d in events if e == eid]


def test_summary_lists_the_file_and_counts(
    run: GenerationSummary, records: list[dict[str, Any]]
) -> None:
    assert run.sysmon_path == run.out_dir / SYSMON_FILE
    assert run.sysmon_path in run.paths
    assert sum(run.sysmon_counts.values()) == len(records)
    assert set(run.sysmon_counts) == {1, 3, 11, 13, 22}
    assert Counter(r["Event"]["System"]["EventID"] for r in records) == run.sysmon_counts
    infected = {f"{h}.corp.acme.internal" for b in run.beacons for h in b.hosts}
    assert infected < set(run.sysmon_hosts)
    assert {r["Event"]["System"]["Computer"] for r in records} == set(run.sysmon_hosts)
    assert "sysmon" not in run.counts  # counts stay the Zeek logs and labels


def test_evtx_dump_layout(records: list[dict[str, Any]]) -> None:
    for r in records:
        assert list(r) == ["Event"]
        ev = r["Event"]
        assert list(ev) == ["#attributes", "System", "EventData"]
        assert ev["#attributes"] == {
            "xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"
        }
        system = ev["System"]
        assert list(system) == SYSTEM_KEYS
        eid = system["EventID"]
        assert system["Provider"] == {
            "#attributes": {
                "Name": "Microsoft-Windows-Sysmon",
                "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
            }
        }
        assert system["Task"] == eid and system["Level"] == 4 and system["Opcode"] == 0
        assert system["Keywords"] == "0x8000000000000000"
        assert system["Channel"] == "Microsoft-Windows-Sysmon/Operational"
        assert system["Correlation"] is None
        assert system["Security"] == {"#attributes": {"UserID": "S-1-5-18"}}
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
            system["TimeCreated"]["#attributes"]["SystemTime"],
        )
        data = ev["EventData"]
        assert list(data) == DATA_KEYS[eid]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", data["UtcTime"])
        assert GUID.match(data["ProcessGuid"])
        assert isinstance(data["ProcessId"], int)
        if eid == 3:
            assert data["Initiated"] is True and data["SourceIsIpv6"] is False
            assert isinstance(data["SourcePort"], int) and isinstance(data["DestinationPort"], int)
        if eid == 1:
            assert GUID.match(data["ParentProcessGuid"]) and GUID.match(data["LogonGuid"])
            assert data["LogonId"].startswith("0x")
            assert isinstance(data["TerminalSessionId"], int)


def test_record_ids_increase_per_host_in_time_order(records: list[dict[str, Any]]) -> None:
    per_host: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for r in records:
        s = r["Event"]["System"]
        per_host[s["Computer"]].append((s["EventRecordID"], r["Event"]["EventData"]["UtcTime"]))
    for rows in per_host.values():
        ids = [i for i, _ in rows]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        assert [t for _, t in rows] == sorted(t for _, t in rows)


def test_every_connection_has_one_event_3(
    events: list[tuple[str, int, dict[str, Any]]], logs: dict[str, ZeekTsv]
) -> None:
    conn: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for r in logs["conn"].records():
        key = (r["proto"], r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])
        conn[key].append(float(r["ts"]))
    for times in conn.values():
        times.sort()
    offsets: dict[str, list[float]] = defaultdict(list)
    for d in _of(events, 3):
        key = (d["Protocol"], d["SourceIp"], str(d["SourcePort"]), d["DestinationIp"],
               str(d["DestinationPort"]))  # fmt: skip
        assert key in conn, f"event 3 without a conn.log row: {key}"
        t = _utc(d["UtcTime"])
        times = conn[key]
        i = bisect.bisect_left(times, t)
        near = min(times[max(i - 1, 0) : i + 1], key=lambda x: abs(x - t))
        assert abs(t - near) <= MAX_SKEW + 0.01
        offsets[d["SourceIp"]].append(t - near)
    # every connection of a covered host is there once, and each host has one fixed skew
    covered = set(offsets)
    n_conn = Counter(r["id.orig_h"] for r in logs["conn"].records() if r["id.orig_h"] in covered)
    assert n_conn == Counter({ip: len(v) for ip, v in offsets.items()})
    skews = [sorted(v)[len(v) // 2] for v in offsets.values()]
    for v, skew in zip(offsets.values(), skews, strict=True):
        assert max(abs(x - skew) for x in v) < 0.01
    assert max(abs(s) for s in skews) > 0.2  # the clocks really are off


def test_connection_images_match_labels(
    run: GenerationSummary, events: list[tuple[str, int, dict[str, Any]]]
) -> None:
    labels = read_csv(run.out_dir / "labels.csv")
    processes: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in labels:
        processes[(r["src_ip"], r["dst_ip"], r["dst_port"])].add(r["process"])
    for d in _of(events, 3):
        pair = (d["SourceIp"], d["DestinationIp"], str(d["DestinationPort"]))
        assert d["Image"] in processes[pair], (pair, d["Image"])


def test_implant_connections_carry_the_implant_image(
    run: GenerationSummary, events: list[tuple[str, int, dict[str, Any]]]
) -> None:
    labels = read_csv(run.out_dir / "labels.csv")
    assert {b.family for b in run.beacons} == set(FAMILIES)
    for b in run.beacons:
        rows = [r for r in labels if r["kind"] == b.family]
        assert b.process == rows[0]["process"]
        seen = Counter(
            d["SourceIp"]
            for d in _of(events, 3)
            if d["DestinationIp"] == b.dst_ip
            and d["DestinationPort"] == b.dst_port
            and d["Image"] in {r["process"] for r in rows}
        )
        assert seen == Counter({r["src_ip"]: int(r["connections"]) for r in rows})
        assert sum(seen.values()) == b.connections


def test_process_create_for_every_process_used(
    events: list[tuple[str, int, dict[str, Any]]],
) -> None:
    created: dict[tuple[str, str], dict[str, Any]] = {}
    for host, eid, d in events:
        if eid == 1:
            assert (host, d["ProcessGuid"]) not in created
            created[(host, d["ProcessGuid"])] = d
    first_use: dict[tuple[str, str], str] = {}
    for host, eid, d in events:
        if eid == 1:
            continue
        key = (host, d["ProcessGuid"])
        if d["Image"] in PRE_SYSMON:
            assert key not in created
            continue
        assert key in created, f"no event 1 for {d['Image']} on {host}"
        assert created[key]["Image"] == d["Image"]
        assert created[key]["ProcessId"] == d["ProcessId"]
        first_use[key] = min(first_use.get(key, d["UtcTime"]), d["UtcTime"])
    for key, t in first_use.items():
        assert created[key]["UtcTime"] <= t
    # parents are created first, or are boot processes that predate Sysmon
    for (host, _), d in created.items():
        parent = created.get((host, d["ParentProcessGuid"]))
        if parent is None:
            assert d["ParentImage"] in PRE_SYSMON
        else:
            assert parent["UtcTime"] <= d["UtcTime"]
            assert parent["Image"] == d["ParentImage"]


def test_one_guid_and_pid_per_process(events: list[tuple[str, int, dict[str, Any]]]) -> None:
    pids: dict[tuple[str, str], set[int]] = defaultdict(set)
    for host, _, d in events:
        pids[(host, d["ProcessGuid"])].add(d["ProcessId"])
    assert all(len(v) == 1 for v in pids.values())
    for host in {h for h, _ in pids}:
        used = [next(iter(v)) for (h, _), v in pids.items() if h == host]
        assert len(used) == len(set(used))


def test_dns_queries_match_dns_log(
    events: list[tuple[str, int, dict[str, Any]]], logs: dict[str, ZeekTsv]
) -> None:
    queries = _of(events, 22)
    covered = {d["SourceIp"] for d in _of(events, 3)}
    ip_of = {d["SourceHostname"]: d["SourceIp"] for d in _of(events, 3)}
    connecting = {d["Image"] for d in _of(events, 3)}
    logged = Counter(
        (r["id.orig_h"], r["query"], r["answers"])
        for r in logs["dns"].records()
        if r["id.orig_h"] in covered
    )
    seen: Counter[tuple[str, str, str]] = Counter()
    for host, eid, d in events:
        if eid != 22:
            continue
        assert d["QueryStatus"] == "0"
        parts = [p for p in d["QueryResults"].split(";") if p]
        answers = [p.removeprefix("type:  5 ").removeprefix("::ffff:") for p in parts]
        assert all(p.startswith(("type:  5 ", "::ffff:")) for p in parts)
        seen[(ip_of[host], d["QueryName"], ",".join(answers))] += 1
    assert seen == logged
    assert len(queries) == sum(logged.values())
    # the process that asked is one that connects (not the DNS client service)
    assert {d["Image"] for d in queries} <= connecting
    assert any("chrome" in d["Image"] or "msedge" in d["Image"] or "firefox" in d["Image"]
               for d in queries)  # fmt: skip


def test_tradecraft(run: GenerationSummary, events: list[tuple[str, int, dict[str, Any]]]) -> None:
    creates = {d["Image"].rsplit("\\", 1)[-1].lower(): d for d in _of(events, 1)}
    by_family = {b.family: b for b in run.beacons}
    ps = next(d for d in _of(events, 1) if d["Image"] == by_family["cobalt_strike"].process)
    assert ps["ParentImage"].endswith("WINWORD.EXE")
    encoded = ps["CommandLine"].split("-encodedcommand ", 1)[1]
    script = base64.b64decode(encoded).decode("utf-16-le")
    assert "DownloadString" in script and by_family["cobalt_strike"].dst in script
    assert "\\AppData\\Local\\Temp\\" in by_family["sliver"].process
    assert by_family["havoc"].process == "C:\\ProgramData\\svchost.exe"
    run_key = _of(events, 13)[0]
    assert "\\CurrentVersion\\Run\\" in run_key["TargetObject"]
    assert run_key["Details"].startswith(by_family["havoc"].process)
    assert creates["rundll32.exe"]["ParentImage"].endswith("cmd.exe")
    assert ",Start" in creates["rundll32.exe"]["CommandLine"]
    startup = _of(events, 11)
    assert len(startup) == len(by_family["mythic"].hosts)
    assert all("\\Start Menu\\Programs\\Startup\\" in d["TargetFilename"] for d in startup)
    assert by_family["meterpreter"].process.endswith("mshta.exe")
    assert by_family["meterpreter"].dst_ip in creates["mshta.exe"]["CommandLine"]


def test_beaconhunt_reads_every_record(records: list[dict[str, Any]]) -> None:
    for r in records:
        layout = json_layout(r)
        assert layout == "evtx_json"
        result = normalize(layout, r)
        assert isinstance(result, Normalized) and not result.notes


def test_deterministic(run: GenerationSummary, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", SCENARIO, sysmon=True)
    assert run.sysmon_path is not None and again.sysmon_path is not None
    assert again.sysmon_path.read_bytes() == run.sysmon_path.read_bytes()
    other = generate(tmp_path / "other", replace(SCENARIO, seed=6), sysmon=True)
    assert other.sysmon_path is not None
    assert other.sysmon_path.read_bytes() != run.sysmon_path.read_bytes()


def test_winlogbeat_variant(run: GenerationSummary, tmp_path: Path) -> None:
    wlb = generate(tmp_path, SCENARIO, sysmon=True, sysmon_format="winlogbeat")
    assert wlb.sysmon_path is not None and run.sysmon_path is not None
    assert wlb.sysmon_counts == run.sysmon_counts
    docs = _records(wlb.sysmon_path)
    evtx = _records(run.sysmon_path)
    assert len(docs) == len(evtx)
    for doc, rec in zip(docs, evtx, strict=True):
        assert json_layout(doc) == "winlogbeat"
        assert isinstance(normalize("winlogbeat", doc), Normalized)
        data = rec["Event"]["EventData"]
        eid = rec["Event"]["System"]["EventID"]
        assert doc["event"]["code"] == str(eid) and doc["event"]["module"] == "sysmon"
        assert doc["event"]["provider"] == "Microsoft-Windows-Sysmon"
        winlog = doc["winlog"]
        assert winlog["channel"] == "Microsoft-Windows-Sysmon/Operational"
        assert winlog["event_id"] == str(eid)
        assert winlog["computer_name"] == rec["Event"]["System"]["Computer"]
        assert winlog["provider_name"] == "Microsoft-Windows-Sysmon"
        raw = winlog["event_data"]
        assert list(raw) == list(data) and all(isinstance(v, str) for v in raw.values())
        assert raw["ProcessGuid"] == "{" + data["ProcessGuid"].lower() + "}"
        assert doc["host"]["name"] == winlog["computer_name"].split(".")[0]
        assert doc["@timestamp"] == data["UtcTime"].replace(" ", "T") + "Z"
        proc = doc["process"]
        assert proc["entity_id"] == raw["ProcessGuid"] and proc["pid"] == data["ProcessId"]
        assert proc["executable"] == data["Image"]
        if eid == 3:
            assert doc["source"]["ip"] == data["SourceIp"]
            assert doc["source"]["port"] == data["SourcePort"]
            assert doc["destination"]["ip"] == data["DestinationIp"]
            assert doc["destination"]["port"] == data["DestinationPort"]
            assert raw["Initiated"] == "true"


def test_sysmon_hosts_setting(tmp_path: Path) -> None:
    base = Scenario.small(seed=5, hours=1.0)
    only_infected = generate(tmp_path / "a", replace(base, sysmon_hosts=0), sysmon=True)
    infected = {f"{h}.corp.acme.internal" for b in only_infected.beacons for h in b.hosts}
    assert set(only_infected.sysmon_hosts) == infected
    with pytest.raises(ConfigError, match="sysmon_hosts"):
        replace(base, sysmon_hosts=-1)
    with pytest.raises(ConfigError, match="sysmon_format"):
        generate(tmp_path / "b", base, sysmon=True, sysmon_format="xml")  # type: ignore[arg-type]
    off = generate(tmp_path / "c", base)
    assert off.sysmon_path is None and not off.sysmon_counts
    assert not (tmp_path / "c" / SYSMON_FILE).exists()
