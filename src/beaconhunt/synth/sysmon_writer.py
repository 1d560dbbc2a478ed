"""Write the synthetic Sysmon events as ``evtx_dump -o jsonl`` or Winlogbeat NDJSON.

``evtx_json`` copies what the Rust ``evtx`` crate (``evtx_dump -o jsonl``)
prints for a record of the Microsoft-Windows-Sysmon/Operational channel: one
compact JSON object per line, ``{"Event": {"#attributes": {"xmlns": ...},
"System": {...}, "EventData": {...}}}``, with ``System`` in the order of the
event XML (Provider, EventID, Version, Level, Task, Opcode, Keywords,
TimeCreated, EventRecordID, Correlation, Execution, Channel, Computer,
Security) and ``EventData`` typed as the crate renders Sysmon's manifest types:
``UInt32``/``UInt16`` as numbers, ``Boolean`` as ``true``/``false``,
``HexInt64`` (``LogonId``) as ``"0x..."`` text, and ``GUID`` as upper-case
hex without braces (the crate's GUID formatting; Event Viewer shows the same
value as ``{...}``). Non-ASCII text stays UTF-8, as serde_json writes it.

``winlogbeat`` follows Winlogbeat 8 with its Sysmon module: ``@timestamp``,
``event`` (code, provider, module, kind, category, type), ``winlog`` (channel,
event_id, computer_name, provider_name, record_id, and ``event_data`` with
every Sysmon field as the string Windows renders: GUIDs as lower-case
``{...}``), ``host.name``, and the ECS fields the module fills: ``process``
(with ``parent`` for event 1), ``user``, ``network``, ``source``,
``destination``, ``dns``, ``file`` and ``registry``.

Both are written host by host (as concatenated per-host exports), each host's
records in time order with increasing ``EventRecordID``, streaming: only one
host's lines are held at a time.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from beaconhunt.synth.sysmon import Event, HostLog

__all__ = ["SYSMON_FORMATS", "SysmonFormat", "write_sysmon"]

SysmonFormat = Literal["evtx_json", "winlogbeat"]
SYSMON_FORMATS: tuple[str, ...] = ("evtx_json", "winlogbeat")

_PROVIDER = "Microsoft-Windows-Sysmon"
_PROVIDER_GUID = "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
_VERSIONS = {1: 5, 3: 5, 11: 2, 13: 2, 22: 5}
_GUID_FIELDS = frozenset({"ProcessGuid", "ParentProcessGuid", "LogonGuid"})
_CATEGORY: dict[int, tuple[list[str], list[str], str]] = {
    1: (["process"], ["start"], "Process Create (rule: ProcessCreate)"),
    3: (
        ["network"],
        ["connection", "start", "protocol"],
        "Network connection detected (rule: NetworkConnect)",
    ),
    11: (["file"], ["creation"], "File created (rule: FileCreate)"),
    13: (["configuration", "registry"], ["change"], "Registry value set (rule: RegistryEvent)"),
    22: (["network"], ["connection", "protocol", "info"], "Dns query (rule: DnsQuery)"),
}
_XMLNS = (
    '{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},'
)
_PROVIDER_JSON = (
    f'"System":{{"Provider":{{"#attributes":{{"Name":"{_PROVIDER}","Guid":"{_PROVIDER_GUID}"}}}},'
)
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def write_sysmon(
    path: Path, logs: Iterable[HostLog], fmt: SysmonFormat
) -> tuple[Counter[int], list[str]]:
    """Write every host's events to ``path``; return the records per event ID and
    the hosts (computer names) written."""
    counts: Counter[int] = Counter()
    hosts: list[str] = []
    line = _evtx_line if fmt == "evtx_json" else _winlogbeat_line
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for log in logs:
            hosts.append(log.computer)
            events = log.events
            created = np.array([e.t for e in events], dtype=np.float64) + log.delays
            stamps = _system_times(created)
            threads = log.threads[np.arange(len(events)) % log.threads.size].tolist()
            counts.update(e.event_id for e in events)
            fh.writelines(
                line(log, ev, log.first_record + i, stamp, tid)
                for i, (ev, stamp, tid) in enumerate(zip(events, stamps, threads, strict=True))
            )
    return counts, hosts


def _system_times(t: NDArray[np.float64]) -> list[str]:
    """``SystemTime`` as the evtx crate prints it: ``2026-11-03T08:00:01.523671Z``."""
    us = np.round(t * 1e6).astype(np.int64).astype("datetime64[us]")
    return [x + "Z" for x in np.datetime_as_string(us, unit="us").tolist()]


def _dumps(obj: object) -> str:
    return _ENCODER.encode(obj)


def _evtx_line(log: HostLog, ev: Event, record: int, created: str, tid: int) -> str:
    eid = ev.event_id
    return (
        f'{_XMLNS}{_PROVIDER_JSON}"EventID":{eid},"Version":{_VERSIONS[eid]},"Level":4,'
        f'"Task":{eid},"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":'
        f'{{"#attributes":{{"SystemTime":"{created}"}}}},"EventRecordID":{record},'
        f'"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":{log.sysmon_pid},'
        f'"ThreadID":{tid}}}}},"Channel":"{_CHANNEL}","Computer":{_dumps(log.computer)},'
        f'"Security":{{"#attributes":{{"UserID":"S-1-5-18"}}}}}},"EventData":'
        f"{_dumps(ev.data)}}}}}\n"
    )


# -- Winlogbeat -------------------------------------------------------------------------------


def _text(name: str, value: object) -> str:
    """A Sysmon value as the string Windows renders (Winlogbeat's ``event_data``)."""
    if value is True or value is False:
        return "true" if value else "false"
    if name in _GUID_FIELDS:
        return "{" + str(value).lower() + "}"
    return str(value)


@functools.lru_cache(maxsize=256)
def _host_parts(computer: str, sysmon_pid: int) -> tuple[str, str]:
    """The JSON text every record of one host shares: the members before ``event``,
    and the start of ``winlog`` (both without their closing brace)."""
    short = computer.split(".", 1)[0]
    head = _dumps(
        {
            "agent": {"name": short, "type": "winlogbeat", "version": "8.15.3"},
            "ecs": {"version": "8.0.0"},
            "host": {"name": short, "hostname": short, "os": {"family": "windows"}},
            "log": {"level": "information"},
        }
    )[1:-1]
    winlog = _dumps(
        {
            "api": "wineventlog",
            "channel": _CHANNEL,
            "computer_name": computer,
            "provider_guid": "{" + _PROVIDER_GUID.lower() + "}",
            "provider_name": _PROVIDER,
            "user": {
                "domain": "NT AUTHORITY",
                "identifier": "S-1-5-18",
                "name": "SYSTEM",
                "type": "User",
            },
        }
    )[:-1]
    return head, winlog


@functools.lru_cache(maxsize=16)
def _event_part(event_id: int) -> str:
    """The constant members of ``event`` for one event ID (without the closing brace)."""
    category, kinds, action = _CATEGORY[event_id]
    return _dumps(
        {
            "action": action,
            "category": category,
            "code": str(event_id),
            "kind": "event",
            "module": "sysmon",
            "provider": _PROVIDER,
            "type": kinds,
        }
    )[:-1]


def _winlogbeat_line(log: HostLog, ev: Event, record: int, created: str, tid: int) -> str:
    eid = ev.event_id
    raw = {k: v if v.__class__ is str and k not in _GUID_FIELDS else _text(k, v)
           for k, v in ev.data.items()}  # fmt: skip
    head, winlog = _host_parts(log.computer, log.sysmon_pid)
    utc = raw["UtcTime"]
    rest: dict[str, object] = {"process": _process(raw)}
    user = raw.get("User", "")
    if "\\" in user:
        domain, name = user.split("\\", 1)
        rest["user"] = {"domain": domain, "name": name}
    rest.update(_ecs(eid, raw))
    return (
        f'{{"@timestamp":"{utc[:10]}T{utc[11:]}Z",{head},"event":{_event_part(eid)},'
        f'"created":"{created[:23]}Z"}},"winlog":{winlog},"event_id":"{eid}",'
        f'"process":{{"pid":{log.sysmon_pid},"thread":{{"id":{tid}}}}},'
        f'"record_id":"{record}","version":{_VERSIONS[eid]},"event_data":{_dumps(raw)}}},'
        f"{_dumps(rest)[1:]}\n"
    )


def _name(path: str) -> str:
    return path.rsplit("\\", 1)[-1]


def _process(raw: dict[str, str]) -> dict[str, object]:
    """ECS ``process`` (with ``parent``, ``hash`` and ``pe`` for event 1)."""
    out: dict[str, object] = {
        "entity_id": raw["ProcessGuid"],
        "pid": int(raw["ProcessId"]),
        "executable": raw["Image"],
        "name": _name(raw["Image"]),
    }
    if "CommandLine" in raw:
        out["command_line"] = raw["CommandLine"]
        out["working_directory"] = raw["CurrentDirectory"]
        out["parent"] = {
            "entity_id": raw["ParentProcessGuid"],
            "pid": int(raw["ParentProcessId"]),
            "executable": raw["ParentImage"],
            "name": _name(raw["ParentImage"]),
            "command_line": raw["ParentCommandLine"],
        }
        hashes = dict(item.split("=", 1) for item in raw["Hashes"].split(","))
        out["hash"] = {"md5": hashes["MD5"].lower(), "sha256": hashes["SHA256"].lower()}
        out["pe"] = {
            "company": raw["Company"],
            "description": raw["Description"],
            "file_version": raw["FileVersion"],
            "imphash": hashes["IMPHASH"].lower(),
            "original_file_name": raw["OriginalFileName"],
            "product": raw["Product"],
        }
    return out


def _ecs(event_id: int, raw: dict[str, str]) -> dict[str, object]:
    """The event-specific ECS fields of Winlogbeat's Sysmon module."""
    if event_id == 3:
        port_name = raw["DestinationPortName"]
        network: dict[str, object] = {
            "direction": "egress" if raw["Initiated"] == "true" else "ingress",
            "transport": raw["Protocol"],
            "type": "ipv4",
        }
        if port_name != "-":
            network["protocol"] = port_name
        dest: dict[str, object] = {"ip": raw["DestinationIp"], "port": int(raw["DestinationPort"])}
        if raw["DestinationHostname"] != "-":
            dest["domain"] = raw["DestinationHostname"]
        source = {
            "ip": raw["SourceIp"],
            "port": int(raw["SourcePort"]),
            "domain": raw["SourceHostname"],
        }
        return {"network": network, "source": source, "destination": dest}
    if event_id == 22:
        answers: list[dict[str, str]] = []
        for item in raw["QueryResults"].split(";"):
            if item.startswith("type:  5 "):
                answers.append({"type": "CNAME", "data": item[len("type:  5 ") :]})
            elif item:
                answers.append({"type": "A", "data": item.removeprefix("::ffff:")})
        dns = {
            "question": {"name": raw["QueryName"]},
            "answers": answers,
            "resolved_ip": [a["data"] for a in answers if a["type"] == "A"],
        }
        return {"dns": dns, "network": {"protocol": "dns"}}
    if event_id == 11:
        path = raw["TargetFilename"]
        folder, _, name = path.rpartition("\\")
        ext = name.rpartition(".")[2] if "." in name else ""
        return {"file": {"path": path, "directory": folder, "name": name, "extension": ext}}
    if event_id == 13:
        target = raw["TargetObject"]
        hive, _, rest = target.partition("\\")
        key, _, value = rest.rpartition("\\")
        data = {"strings": [raw["Details"]], "type": "SZ_SZ"}
        registry = {"path": target, "hive": hive, "key": key, "value": value, "data": data}
        return {"registry": registry}
    return {}
