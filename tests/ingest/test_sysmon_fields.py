"""The field mapping record by record: every spelling the layouts use for the same thing."""

from __future__ import annotations

from typing import Any

import pytest

from beaconhunt.ingest.sysmon_fields import (
    BAD_EVENT_ID,
    NO_EVENT_ID,
    OTHER_CHANNEL,
    UNUSED_EVENT,
    Normalized,
    columns,
    json_layout,
    normalize,
)

SYSMON = "Microsoft-Windows-Sysmon"
CHANNEL = "Microsoft-Windows-Sysmon/Operational"
DATA = {"UtcTime": "2019-07-19 14:50:20.871", "ProcessGuid": "747F3D96-D6F7-5D31-0000-00104ACE2500",
        "ProcessId": "3912", "Image": "C:\\x.exe"}  # fmt: skip
# 2019-07-19 00:00 UTC = 1563494400; + 14*3600 + 50*60 + 20.871 = 1563547820.871
TS = 1563547820.871


def _evtx(system: dict[str, Any], data: Any = None) -> dict[str, Any]:
    return {"Event": {"System": system, "EventData": DATA if data is None else data}}


def _row(result: Normalized | str) -> dict[str, object]:
    assert isinstance(result, Normalized), result
    return dict(zip(columns(result.table), result.row, strict=True))


@pytest.mark.parametrize(
    "system",
    [
        {"EventID": 5, "Channel": CHANNEL, "Computer": "PC1"},
        {"EventID": "5", "Provider": {"#attributes": {"Name": SYSMON}}, "Computer": "PC1"},
        {"EventID": {"#text": 5}, "Provider": {"Name": SYSMON}, "Computer": "PC1"},
        # evtx_dump --separate-json-attributes; a collector's ForwardedEvents channel
        {"EventID": 5, "Provider_attributes": {"Name": SYSMON}, "Channel": "ForwardedEvents",
         "Computer": "PC1"},
        {"EventID": {"#attributes": {"Qualifiers": 0}, "#text": "5"}, "Computer": "PC1"},
        {"EventID": 5, "Channel": "Linux-Sysmon/Operational", "Computer": "PC1"},
    ],
)  # fmt: skip
def test_event_id_and_provider_spellings(system: dict[str, Any]) -> None:
    row = _row(normalize("evtx_json", _evtx(system)))
    assert row == {"ts": pytest.approx(TS), "host": "PC1", "pid": 3912, "image": "C:\\x.exe",
                   "process_guid": "{747F3D96-D6F7-5D31-0000-00104ACE2500}"}  # fmt: skip


@pytest.mark.parametrize(
    ("system", "reason"),
    [
        ({"Channel": CHANNEL}, NO_EVENT_ID),
        ({"EventID": "five", "Channel": CHANNEL}, BAD_EVENT_ID),
        ({"EventID": 4624, "Channel": "Security"}, OTHER_CHANNEL),
        ({"EventID": 5, "Provider": {"#attributes": {"Name": "Evil-Sysmon"}}}, OTHER_CHANNEL),
        ({"EventID": 7, "Channel": CHANNEL}, UNUSED_EVENT),
    ],
)
def test_skip_reasons(system: dict[str, Any], reason: str) -> None:
    assert normalize("evtx_json", _evtx(system)) == reason


def test_event_data_as_a_list_of_named_values() -> None:
    # XML-to-JSON converters write <Data Name="x">v</Data> as a list
    data = {"Data": [{"@Name": k, "#text": v} for k, v in DATA.items()]}
    row = _row(normalize("evtx_json", _evtx({"EventID": 5, "Channel": CHANNEL}, data)))
    assert row["image"] == "C:\\x.exe" and row["pid"] == 3912


@pytest.mark.parametrize(
    ("utc", "system_time", "expected"),
    [
        ("2019-07-19 14:50:20.871", None, TS),
        (None, "2019-07-19T14:50:20.8710000Z", TS),  # 7 fraction digits, as Windows writes
        ("garbage", "2019-07-19T16:50:20.871+02:00", TS),
        (None, "2019-07-19T14:50:20.871Z UTC", TS),
    ],
)
def test_times(utc: str | None, system_time: str | None, expected: float) -> None:
    data = {**DATA, "UtcTime": utc}
    system = {"EventID": 5, "Channel": CHANNEL,
              "TimeCreated": {"#attributes": {"SystemTime": system_time}}}  # fmt: skip
    assert _row(normalize("evtx_json", _evtx(system, data)))["ts"] == pytest.approx(expected)


def test_nxlog_local_event_time_is_not_taken_for_utc() -> None:
    rec = {
        "EventID": 5,
        "SourceName": SYSMON,
        "Hostname": "PC1",
        "EventTime": "2019-07-19 16:50:20",
        "ProcessGuid": "{747f3d96-d6f7-5d31-0000-00104ace2500}",
    }
    assert normalize("nxlog", rec) == "record has no valid UtcTime or event time"
    rec["EventTime"] = "2019-07-19T16:50:20.871000+02:00"  # NXLog 6 writes the offset
    assert _row(normalize("nxlog", rec))["ts"] == pytest.approx(TS)


@pytest.mark.parametrize(
    ("initiated", "expected"),
    [(True, True), ("true", True), ("False", False), ("egress", True), ("ingress", False),
     ("", None), (1, None)],
)  # fmt: skip
def test_initiated(initiated: object, expected: bool | None) -> None:
    data = {**DATA, "Initiated": initiated}
    row = _row(normalize("evtx_json", _evtx({"EventID": 3, "Channel": CHANNEL}, data)))
    assert row["initiated"] is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3912, 3912), ("3912", 3912), (" 3912 ", 3912), ("0xf48", 3912), (3912.0, 3912),
     ("-1", None), (True, None), ("1e3", None), ("", None), ("٣", None)],
)  # fmt: skip
def test_process_ids(value: object, expected: int | None) -> None:
    row = _row(normalize("evtx_json", _evtx({"EventID": 5}, {**DATA, "ProcessId": value})))
    assert row["pid"] == expected


def test_a_guid_that_is_not_one_is_kept_as_written() -> None:
    data = {**DATA, "ProcessGuid": "not-a-guid"}
    assert _row(normalize("evtx_json", _evtx({"EventID": 5}, data)))["process_guid"] == "not-a-guid"


def test_winlogbeat_dotted_keys_at_any_level() -> None:
    rec = {
        "@timestamp": "2019-07-19T14:50:20.871Z",
        "winlog.channel": CHANNEL,
        "winlog.event_id": "1",
        "winlog.computer_name": "PC1",
        "winlog.event_data.IntegrityLevel": "High",
        "process": {"entity_id": "{747f3d96-d6f7-5d31-0000-00104ace2500}", "hash.sha1": "ab12"},
        "process.pid": 3912,
    }
    row = _row(normalize("winlogbeat", rec))
    assert (row["integrity_level"], row["hashes"], row["pid"]) == ("High", "SHA1=ab12", 3912)
    assert row["process_guid"] == "{747F3D96-D6F7-5D31-0000-00104ACE2500}"


def test_elasticsearch_hit_is_unwrapped() -> None:
    source = {
        "@timestamp": "2019-07-19T14:50:20.871Z",
        "winlog": {"channel": CHANNEL, "event_id": 5, "computer_name": "PC1"},
        "process": {"pid": 3912, "executable": "C:\\x.exe"},
    }
    hit = {"_index": ".ds-logs-windows.sysmon_operational-default", "_id": "x1", "_source": source}
    assert json_layout(hit) == "winlogbeat"
    row = _row(normalize("winlogbeat", hit))
    assert (row["host"], row["pid"], row["image"]) == ("PC1", 3912, "C:\\x.exe")


@pytest.mark.parametrize(
    ("record", "layout"),
    [
        ({"Event": {"System": {}}}, "evtx_json"),
        ({"winlog": {}}, "winlogbeat"),
        ({"winlog.event_id": 3}, "winlogbeat"),
        ({"EventID": 3, "SourceName": SYSMON}, "nxlog"),
        ({"ts": 1.0, "uid": "C1", "id.orig_h": "10.0.0.1"}, None),  # Zeek
        ({"Event": "text"}, None),
    ],
)
def test_json_layout(record: dict[str, Any], layout: str | None) -> None:
    assert json_layout(record) == layout
