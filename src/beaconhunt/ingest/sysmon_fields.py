"""Sysmon records in every layout analysts hold, mapped onto the endpoint tables.

One parsed record (a JSON object) becomes one row of a table in
:data:`beaconhunt.store.schema.SYSMON_TABLES`, or a reason it was skipped.
:mod:`beaconhunt.ingest.sysmon` does the reading; this module only maps.

Layouts (:data:`LAYOUTS`), told apart per record by :func:`json_layout`:

``evtx_json``
    What the Rust ``evtx`` crate writes: ``evtx_dump -o jsonl`` lines, and the
    records beaconhunt reads from native ``.evtx`` files.
    ``{"Event": {"System": {...}, "EventData": {...}}}``. ``System`` gives
    ``EventID`` (``3``, ``"3"`` or ``{"#text": 3}``), ``Channel``, the provider
    (``Provider`` -> ``#attributes`` -> ``Name``, or ``Provider.Name``, or
    ``Provider_attributes.Name`` with ``--separate-json-attributes``),
    ``Computer`` and ``TimeCreated`` -> ``SystemTime``. ``EventData`` holds
    Sysmon's own field names (also accepted as a list of
    ``{"@Name": ..., "#text": ...}``, as XML-to-JSON converters write it).
``winlogbeat``
    Winlogbeat / Elastic Agent NDJSON (also Elasticsearch hits with a
    ``_source``). ``winlog.event_id`` (or ``event.code``), ``winlog.channel``,
    ``winlog.provider_name`` (or ``event.provider``), ``winlog.computer_name``
    (or ``host.name``), ``@timestamp``. Each Sysmon field is taken from
    ``winlog.event_data.<Name>`` when present, else from the ECS field the
    Winlogbeat sysmon module renamed it to (:data:`ECS_FIELDS`): for example
    ``ProcessGuid`` <- ``process.entity_id``, ``Initiated`` <-
    ``network.direction`` (egress/ingress), ``User`` <- ``user.domain`` ``\\``
    ``user.name``, ``Hashes`` <- ``process.hash.*``, ``QueryResults`` <-
    ``dns.answers[].data``. Keys may be nested objects or dotted flat keys.
``nxlog``
    NXLog ``im_msvistalog`` + ``to_json()``: ``EventID``, ``Hostname``,
    ``Channel``, ``SourceName`` and Sysmon's fields at the top level. NXLog's
    own ``EventType`` (``INFO``, ``AUDIT_SUCCESS``...) can shadow Sysmon's
    (``SetValue``); then it is read from the ``Message`` text.

Events used: 1 -> ``proc_create``, 3 -> ``net_conn``, 5 -> ``proc_end``,
11 -> ``file_create``, 13 -> ``reg_set``, 22 -> ``dns_query`` (columns in
:data:`FIELD_MAP`). Other event IDs and channels other than Sysmon's are
valid records that are not used: skipped and counted, not reported. A record
is Sysmon when its channel or provider says so (``Microsoft-Windows-Sysmon``,
also ``Linux-Sysmon``), or when it names neither.

``ts`` comes from ``UtcTime`` (``2019-07-19 14:50:20.871``, UTC), else the
event time (``SystemTime``, ``@timestamp``; NXLog's ``EventTime`` only when it
carries a UTC offset). ``host`` is the event's computer name as written.
Values are attacker-influenced: they stay strings and are never evaluated;
:mod:`beaconhunt.ingest.sysmon_values` says how each kind is read (integers
that fit their column, ``Initiated`` true/false, ``{UPPERCASE}`` GUIDs, text
cut at :data:`MAX_TEXT` characters with a note).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from beaconhunt.ingest.sysmon_values import (
    MAX_TEXT,
    as_bool,
    as_guid,
    as_int,
    as_text,
    as_time,
    clip,
)
from beaconhunt.store.schema import SYSMON_EVENT_TABLES

__all__ = [
    "BAD_EVENT_ID",
    "ECS_FIELDS",
    "FIELD_MAP",
    "LAYOUTS",
    "MAX_TEXT",
    "NO_EVENT_ID",
    "NO_TIME",
    "OTHER_CHANNEL",
    "SILENT_SKIPS",
    "UNUSED_EVENT",
    "Normalized",
    "columns",
    "json_layout",
    "normalize",
]

LAYOUTS = ("evtx_json", "winlogbeat", "nxlog")

# Why a record was skipped. The first two are valid records that are not used.
OTHER_CHANNEL = "other channel"
UNUSED_EVENT = "unused event"
NO_EVENT_ID = "record has no EventID"
BAD_EVENT_ID = "EventID is not a number"
NO_TIME = "record has no valid UtcTime or event time"
SILENT_SKIPS = frozenset({OTHER_CHANNEL, UNUSED_EVENT})

# value kinds of FIELD_MAP
_TEXT, _INT, _PORT, _GUID, _BOOL = "text", "int", "port", "guid", "bool"
_PROCESS = (("process_guid", "ProcessGuid", _GUID), ("pid", "ProcessId", _INT),
            ("image", "Image", _TEXT))  # fmt: skip

#: table -> (column, Sysmon field, kind) for every column but ``ts`` and ``host``.
FIELD_MAP: dict[str, tuple[tuple[str, str, str], ...]] = {
    "proc_create": (
        *_PROCESS,
        ("command_line", "CommandLine", _TEXT),
        ("user", "User", _TEXT),
        ("current_directory", "CurrentDirectory", _TEXT),
        ("integrity_level", "IntegrityLevel", _TEXT),
        ("hashes", "Hashes", _TEXT),
        ("parent_guid", "ParentProcessGuid", _GUID),
        ("parent_pid", "ParentProcessId", _INT),
        ("parent_image", "ParentImage", _TEXT),
        ("parent_command_line", "ParentCommandLine", _TEXT),
        ("original_file_name", "OriginalFileName", _TEXT),
        ("company", "Company", _TEXT),
        ("product", "Product", _TEXT),
        ("description", "Description", _TEXT),
        ("file_version", "FileVersion", _TEXT),
    ),
    "net_conn": (
        *_PROCESS,
        ("user", "User", _TEXT),
        ("proto", "Protocol", _TEXT),
        ("initiated", "Initiated", _BOOL),
        ("src_ip", "SourceIp", _TEXT),
        ("src_port", "SourcePort", _PORT),
        ("src_hostname", "SourceHostname", _TEXT),
        ("dst_ip", "DestinationIp", _TEXT),
        ("dst_port", "DestinationPort", _PORT),
        ("dst_hostname", "DestinationHostname", _TEXT),
    ),
    "proc_end": _PROCESS,
    "file_create": (*_PROCESS, ("target_filename", "TargetFilename", _TEXT)),
    "reg_set": (
        *_PROCESS,
        ("event_type", "EventType", _TEXT),
        ("target_object", "TargetObject", _TEXT),
        ("details", "Details", _TEXT),
    ),
    "dns_query": (
        *_PROCESS,
        ("query_name", "QueryName", _TEXT),
        ("query_status", "QueryStatus", _TEXT),
        ("query_results", "QueryResults", _TEXT),
    ),
}

#: Sysmon field -> the ECS field Winlogbeat's sysmon module moves it to.
ECS_FIELDS: dict[str, str] = {
    "ProcessGuid": "process.entity_id",
    "ProcessId": "process.pid",
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "CurrentDirectory": "process.working_directory",
    "ParentProcessGuid": "process.parent.entity_id",
    "ParentProcessId": "process.parent.pid",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "OriginalFileName": "process.pe.original_file_name",
    "Company": "process.pe.company",
    "Product": "process.pe.product",
    "Description": "process.pe.description",
    "FileVersion": "process.pe.file_version",
    "Protocol": "network.transport",
    "Initiated": "network.direction",
    "SourceIp": "source.ip",
    "SourcePort": "source.port",
    "SourceHostname": "source.domain",
    "DestinationIp": "destination.ip",
    "DestinationPort": "destination.port",
    "DestinationHostname": "destination.domain",
    "TargetFilename": "file.path",
    "TargetObject": "registry.path",
    "QueryName": "dns.question.name",
    "QueryStatus": "sysmon.dns.status",
}

_SYSMON_NAMES = frozenset({"microsoft-windows-sysmon", "microsoft-windows-sysmon/operational",
                           "linux-sysmon", "linux-sysmon/operational"})  # fmt: skip
_NXLOG_EVENT_TYPES = frozenset({"INFO", "AUDIT_SUCCESS", "AUDIT_FAILURE", "WARNING", "ERROR",
                                "CRITICAL", "VERBOSE"})  # fmt: skip
_MAX_BIGINT = 2**63 - 1
_PARTS: dict[str, tuple[str, ...]] = {}  # dotted path -> its names (a fixed set of paths)
_COLUMNS = {t: ("ts", "host", *(c for c, _, _ in spec)) for t, spec in FIELD_MAP.items()}


class Normalized(NamedTuple):
    """One used record: the table it fills, its values in :func:`columns` order,
    and notes (fields cut for length)."""

    table: str
    row: list[object]
    notes: list[str]


def columns(table: str) -> tuple[str, ...]:
    """The columns of a :class:`Normalized` row of ``table``: ``ts``, ``host``, then
    :data:`FIELD_MAP` order (the store's column order)."""
    return _COLUMNS[table]


class _View(NamedTuple):
    """What every layout gives: the record's identity and a Sysmon-field getter."""

    event_id: Any
    channel: Any
    provider: Any
    host: Any
    field: Callable[[str], Any]
    #: event times to fall back on, with whether a time without offset is UTC
    times: tuple[tuple[Any, bool], ...]


def json_layout(obj: Mapping[str, Any]) -> str | None:
    """The layout of one parsed record (see :data:`LAYOUTS`), or None if it is none of them."""
    event = obj.get("Event")
    if isinstance(event, dict) and isinstance(event.get("System"), dict):
        return "evtx_json"
    if isinstance(obj.get("winlog"), dict) or "winlog.event_id" in obj or "winlog.channel" in obj:
        return "winlogbeat"
    source = obj.get("_source")
    if isinstance(source, dict) and json_layout(source) == "winlogbeat":
        return "winlogbeat"
    if "EventID" in obj and ("SourceName" in obj or "Channel" in obj or "Hostname" in obj):
        return "nxlog"
    return None


def normalize(layout: str, obj: Mapping[str, Any]) -> Normalized | str:
    """Map one record of ``layout`` onto its table, or return why it is skipped
    (one of the reason constants; :data:`SILENT_SKIPS` are valid but unused)."""
    view = _VIEWS[layout](obj)
    if view.event_id is None:
        return NO_EVENT_ID
    event_id = as_int(view.event_id, _MAX_BIGINT)
    if event_id is None:
        return BAD_EVENT_ID
    if not _is_sysmon(view.channel, view.provider):
        return OTHER_CHANNEL
    table = SYSMON_EVENT_TABLES.get(event_id)
    if table is None:
        return UNUSED_EVENT
    ts = _event_time(view)
    if ts is None:
        return NO_TIME
    notes: list[str] = []
    return Normalized(table, _row(table, view, ts, notes), notes)


# -- the three layouts ----------------------------------------------------------------------


def _evtx_view(obj: Mapping[str, Any]) -> _View:
    event = obj.get("Event")
    event = event if isinstance(event, dict) else {}
    system = event.get("System")
    system = system if isinstance(system, dict) else {}
    data = _event_data(event.get("EventData"))
    provider = _attribute(system, "Provider", "Name")
    created = _attribute(system, "TimeCreated", "SystemTime")
    return _View(system.get("EventID"), system.get("Channel"), provider, system.get("Computer"),
                 data.get, ((created, True),))  # fmt: skip


def _attribute(system: Mapping[str, Any], element: str, name: str) -> Any:
    """An XML attribute as the evtx crate writes it, in all three spellings."""
    node = system.get(element)
    if isinstance(node, dict):
        attrs = node.get("#attributes")
        if isinstance(attrs, dict) and name in attrs:
            return attrs[name]
        if name in node:
            return node[name]
    separate = system.get(element + "_attributes")
    return separate.get(name) if isinstance(separate, dict) else None


def _event_data(data: Any) -> Mapping[str, Any]:
    """``EventData`` as a name -> value mapping (a list of named Data elements is converted)."""
    if not isinstance(data, dict):
        return {}
    items = data.get("Data")
    if not isinstance(items, list):
        return data
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        attrs = item.get("#attributes")
        name = item.get("@Name") or (attrs.get("Name") if isinstance(attrs, dict) else None)
        if isinstance(name, str):
            out[name] = item.get("#text")
    return out


def _winlogbeat_view(obj: Mapping[str, Any]) -> _View:
    source = obj.get("_source")
    if isinstance(source, dict) and "winlog" not in obj and "winlog.event_id" not in obj:
        obj = source

    flat = _dotted(obj)

    def get(path: str) -> Any:
        return _walk(obj, path, flat)

    nested = obj.get("winlog")
    winlog: Mapping[str, Any] = nested if isinstance(nested, dict) else {}

    def get_winlog(name: str) -> Any:
        value = winlog.get(name)
        return get("winlog." + name) if value is None else value

    found = get_winlog("event_data")
    event_data: Mapping[str, Any] = found if isinstance(found, dict) else {}

    def field(name: str) -> Any:
        value = event_data.get(name)
        if value is None and flat:
            value = get("winlog.event_data." + name)
        if value is None:
            ecs = ECS_FIELDS.get(name)
            built = _ECS_BUILT.get(name)
            value = get(ecs) if ecs else built(get) if built else None
        return value

    event_id = get_winlog("event_id")
    if event_id is None:
        event_id = get("event.code")
    provider = get_winlog("provider_name") or get("event.provider")
    if provider is None and get("event.module") == "sysmon":
        provider = "Microsoft-Windows-Sysmon"
    host = get_winlog("computer_name") or get("host.name") or get("host.hostname")
    return _View(event_id, get_winlog("channel"), provider, host, field,
                 ((obj.get("@timestamp"), True),))  # fmt: skip


def _walk(obj: Mapping[str, Any], path: str, flat: bool) -> Any:
    """``a.b.c`` through nested objects (the usual case, fast). Where a name is
    missing, dotted keys are searched (:func:`_dig`): from the top when the record
    has dotted keys there (``flat``), else in that object when it has some."""
    parts = _PARTS.get(path)
    if parts is None:
        parts = _PARTS[path] = tuple(path.split("."))
    node: Any = obj
    for i, part in enumerate(parts):
        inner = node.get(part)
        if inner is None:
            if flat:
                return _dig(obj, path)
            rest = parts[i:]
            return _dig(node, ".".join(rest)) if len(rest) > 1 and _dotted(node) else None
        if inner.__class__ is not dict and i + 1 < len(parts):
            return _dig(obj, path) if flat else None
        node = inner
    return node


def _dotted(obj: Mapping[str, Any]) -> bool:
    return any("." in key for key in obj)


def _dig(obj: Mapping[str, Any], path: str) -> Any:
    """``a.b.c`` from nested objects, dotted flat keys, or any mix of the two."""
    value = obj.get(path)
    if value is not None:
        return value
    dot = path.find(".")
    while dot != -1:
        inner = obj.get(path[:dot])
        if isinstance(inner, dict):
            value = _dig(inner, path[dot + 1 :])
            if value is not None:
                return value
        dot = path.find(".", dot + 1)
    return None


def _ecs_user(get: Callable[[str], Any]) -> Any:
    name, domain = get("user.name"), get("user.domain")
    if not isinstance(name, str):
        return None
    return f"{domain}\\{name}" if isinstance(domain, str) and domain else name


def _ecs_hashes(get: Callable[[str], Any]) -> Any:
    parts = []
    for algo in ("md5", "sha1", "sha256", "imphash"):
        value = get("process.pe.imphash" if algo == "imphash" else "process.hash." + algo)
        if isinstance(value, str):
            parts.append(f"{algo.upper()}={value}")
    return ",".join(parts) or None


def _ecs_answers(get: Callable[[str], Any]) -> Any:
    """Sysmon's ``a;b;`` answer list back from ``dns.answers`` (or ``dns.resolved_ip``)."""
    answers = get("dns.answers")
    if isinstance(answers, list):
        values = [a.get("data") for a in answers if isinstance(a, dict)]
    else:
        ips = get("dns.resolved_ip")
        values = ips if isinstance(ips, list) else []
    texts = [v for v in values if isinstance(v, str)]
    return "".join(t + ";" for t in texts) or None


_ECS_BUILT: dict[str, Callable[[Callable[[str], Any]], Any]] = {
    "User": _ecs_user,
    "Hashes": _ecs_hashes,
    "QueryResults": _ecs_answers,
}


def _nxlog_view(obj: Mapping[str, Any]) -> _View:
    def field(name: str) -> Any:
        value = obj.get(name)
        if name == "EventType" and isinstance(value, str) and value in _NXLOG_EVENT_TYPES:
            return _from_message(obj.get("Message"), name)
        return value

    provider = obj.get("SourceName") or obj.get("ProviderName")
    times = ((obj.get("@timestamp"), True), (obj.get("EventTime"), False))
    return _View(obj.get("EventID"), obj.get("Channel"), provider, obj.get("Hostname"), field,
                 times)  # fmt: skip


def _from_message(message: Any, name: str) -> str | None:
    """``Name: value`` from the rendered message text (NXLog keeps it in ``Message``)."""
    if not isinstance(message, str):
        return None
    m = re.search(r"^" + re.escape(name) + r": ?(.*?)\r?$", message[:MAX_TEXT], re.MULTILINE)
    return m.group(1) if m else None


_VIEWS: dict[str, Callable[[Mapping[str, Any]], _View]] = {
    "evtx_json": _evtx_view,
    "winlogbeat": _winlogbeat_view,
    "nxlog": _nxlog_view,
}


# -- rows -------------------------------------------------------------------------------------


def _is_sysmon(channel: Any, provider: Any) -> bool:
    names = [n for n in (channel, provider) if isinstance(n, str) and n]
    return not names or any(n.lower() in _SYSMON_NAMES for n in names)


def _event_time(view: _View) -> float | None:
    ts = as_time(view.field("UtcTime"), True)
    for value, naive_is_utc in view.times:
        if ts is not None:
            break
        ts = as_time(value, naive_is_utc)
    return ts


def _row(table: str, view: _View, ts: float, notes: list[str]) -> list[object]:
    row: list[object] = [ts, clip(as_text(view.host), "Computer", notes)]
    field = view.field
    for _, name, kind in FIELD_MAP[table]:
        value = field(name)
        if kind is _TEXT:
            # fast path: most values are short ASCII strings
            if value.__class__ is str and len(value) <= MAX_TEXT and value.isascii():
                row.append(value or None)
            else:
                row.append(clip(as_text(value), name, notes))
        elif kind is _INT:
            row.append(
                value
                if value.__class__ is int and 0 <= value <= _MAX_BIGINT
                else as_int(value, _MAX_BIGINT)
            )
        elif kind is _PORT:
            row.append(as_int(value, 65535))
        elif kind is _GUID:
            row.append(as_guid(value) or clip(as_text(value), name, notes))
        else:
            row.append(as_bool(value))
    return row
