"""Any other source: a CSV or JSON-lines export plus a field mapping in the config file.

A SIEM search export, a cloud flow log or an in-house firewall's CSV becomes a
network log beaconhunt reads, without code, by describing it in the config
file (``--config``)::

    [[sources]]
    name = "siem-firewall"          # shown in summaries; stored as the rows' log name
    format = "csv"                   # "csv" or "jsonl"
    delimiter = ","                  # csv only (default ",")
    time_format = "iso8601"          # iso8601 | epoch | epoch_ms | epoch_us | epoch_ns |
                                     # a strptime pattern such as "%d/%m/%Y %H:%M:%S"
    timezone = "UTC"                 # zone of times written without an offset
    duration_unit = "s"              # s | ms | us | ns
    keep_column = "action"           # optional: only rows whose column ...
    keep_values = ["allowed", "accept"]   # ... has one of these values (any case)

    [sources.fields]                 # normalized column = the export's column (or JSON path)
    ts = "_time"
    src_ip = "src_ip"
    dst_ip = "dest_ip"
    dst_port = "dest_port"
    proto = "transport"
    bytes_out = "bytes_out"
    bytes_in = "bytes_in"

``ts`` and ``src_ip`` are required, and ``dst_ip`` or ``dst_domain``; the
other normalized columns are optional: ``src_port``, ``dst_port``, ``proto``,
``duration``, ``bytes_out``, ``bytes_in``, ``dst_domain``, ``src_host``,
``service``. For JSON lines a source column is a dotted path into the object
(``source.ip``; a key that itself contains dots, as in flattened exports, is
tried first).

A file is read with a mapping when its content fits: a CSV whose header row
holds every mapped column, or JSON lines whose first object has every mapped
path. Rows that fail (a missing value, a time that does not parse, a port that
is not a number) are reported with file and line and skipped; the rest load.
A CSV record is one line: a quoted value may hold the delimiter but not a line
break, so a quote left open by a cut or damaged line costs that line only.
Two examples ship in ``docs/mappings/``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from beaconhunt.errors import ConfigError
from beaconhunt.ingest.network import FlowSink, NetworkReader

__all__ = ["MAPPABLE", "MappedReader", "load_sources"]

#: Normalized columns a mapping may fill.
MAPPABLE: tuple[str, ...] = (
    "ts",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "service",
    "duration",
    "bytes_out",
    "bytes_in",
    "dst_domain",
    "src_host",
)
_KEYS = {
    "name",
    "format",
    "delimiter",
    "time_format",
    "timezone",
    "duration_unit",
    "keep_column",
    "keep_values",
    "fields",
}
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_EPOCH = {"epoch": 1.0, "epoch_ms": 1e-3, "epoch_us": 1e-6, "epoch_ns": 1e-9}
_LARGEST_COUNT = (1 << 63) - 1
_PROTO_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmp"}


def _timestamp_parser(fmt: str, zone: tzinfo) -> Callable[[str], float]:
    """A function from the export's time text to epoch seconds UTC."""
    if fmt in _EPOCH:
        scale = _EPOCH[fmt]
        return lambda v: float(v) * scale

    def aware(dt: datetime) -> float:
        return (dt if dt.tzinfo else dt.replace(tzinfo=zone)).timestamp()

    if fmt == "iso8601":
        return lambda v: aware(datetime.fromisoformat(v.strip().replace("Z", "+00:00")))
    return lambda v: aware(datetime.strptime(v.strip(), fmt))


class MappedReader(NetworkReader):
    """One ``[[sources]]`` entry: reads the files that fit its mapping."""

    def __init__(
        self,
        name: str,
        fmt: str,
        fields: dict[str, str],
        *,
        delimiter: str = ",",
        time_format: str = "iso8601",
        zone: tzinfo = UTC,
        duration_scale: float = 1.0,
        keep_column: str | None = None,
        keep_values: frozenset[str] = frozenset(),
        where: str = "",
    ) -> None:
        self.name = name
        self.fmt = fmt
        self.fields = fields
        self.delimiter = delimiter
        self.time_format = time_format
        self.duration_scale = duration_scale
        self.keep_column = keep_column
        self.keep_values = keep_values
        self.where = where or name
        self._parse_ts = _timestamp_parser(time_format, zone)
        self.description = f"{fmt} export mapped in the config file ({self.where})"

    def _columns(self) -> set[str]:
        cols = set(self.fields.values())
        if self.keep_column:
            cols.add(self.keep_column)
        return cols

    def detect(self, head: str, path: Path) -> bool:
        lines = [ln for ln in head.splitlines() if ln.strip()]
        if not lines:
            return False
        if self.fmt == "csv":
            header = next(csv.reader([lines[0]], delimiter=self.delimiter))
            return self._columns() <= {h.strip() for h in header}
        try:
            obj = json.loads(lines[0])
        except (json.JSONDecodeError, RecursionError):
            return False
        # JSON documents omit what they do not know: the required paths decide
        need = [
            self.fields[k] for k in ("ts", "src_ip", "dst_ip", "dst_domain") if k in self.fields
        ]
        if "dst_ip" in self.fields and "dst_domain" in self.fields:
            need.remove(self.fields["dst_domain"])
        return isinstance(obj, dict) and all(_get(obj, c) is not _MISSING for c in need)

    def read(self, path: Path, sink: FlowSink) -> None:
        from beaconhunt.ingest.sniff import open_text

        with open_text(path) as fh:
            rows = self._csv_rows(fh, sink) if self.fmt == "csv" else self._json_rows(fh, sink)
            for line, row in rows:
                self._one(line, row, sink)

    def _csv_rows(
        self, fh: io.TextIOBase | Any, sink: FlowSink
    ) -> Iterable[tuple[int, Mapping[str, Any]]]:
        # One record per line: a quote left open (a cut line, a stray '"') must not
        # swallow the lines after it, as a quoted value spanning lines would
        header: list[str] | None = None
        for n, line in enumerate(fh, start=1):
            try:
                row = next(csv.reader([line.rstrip("\r\n")], delimiter=self.delimiter), [])
            except csv.Error as exc:  # a quoted value longer than csv's field limit
                sink.problem(n, f"{self.where}: unreadable CSV line: {exc}")
                continue
            if not row or not any(c.strip() for c in row):
                continue
            if header is None:
                header = [h.strip() for h in row]
                continue
            yield n, dict(zip(header, row, strict=False))

    def _json_rows(self, fh: Any, sink: FlowSink) -> Iterable[tuple[int, Mapping[str, Any]]]:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):  # ValueError: a number of 4,300+ digits
                sink.problem(n, "not valid JSON")
                continue
            if not isinstance(obj, dict):
                sink.problem(n, "not a JSON object")
                continue
            yield n, obj

    def _value(self, row: Mapping[str, Any], column: str) -> Any:
        v = row.get(column) if self.fmt == "csv" else _get(row, column)
        if v is _MISSING or v is None:
            return None
        if isinstance(v, str):
            v = v.strip()
            return v if v and v != "-" else None
        return v

    def _one(self, line: int, row: Mapping[str, Any], sink: FlowSink) -> None:
        if self.keep_column:
            kept = self._value(row, self.keep_column)
            if kept is None or str(kept).lower() not in self.keep_values:
                sink.skip(f"{self.keep_column} not kept")
                return
        get = {k: self._value(row, c) for k, c in self.fields.items()}
        try:
            if get.get("ts") is None or get.get("src_ip") is None:
                raise ValueError("no time or source address")
            if get.get("dst_ip") is None and get.get("dst_domain") is None:
                raise ValueError("no destination address or name")
            ts = self._parse_ts(str(get["ts"]))
            duration = _number(get.get("duration"))
            sink.connection(
                ts,
                str(get["src_ip"]),
                _port(get.get("src_port")),
                None if get.get("dst_ip") is None else str(get["dst_ip"]),
                _port(get.get("dst_port")),
                _proto(get.get("proto")),
                service=None if get.get("service") is None else str(get["service"]),
                duration=None if duration is None else duration * self.duration_scale,
                bytes_out=_count(get.get("bytes_out")),
                bytes_in=_count(get.get("bytes_in")),
                dst_domain=None if get.get("dst_domain") is None else str(get["dst_domain"]),
                domain_source="mapped",
                src_host=None if get.get("src_host") is None else str(get["src_host"]),
            )
        except (ValueError, TypeError, OverflowError) as exc:
            sink.problem(line, f"{self.where}: {exc}")


class _Missing:
    pass


_MISSING: Any = _Missing()


def _get(obj: Mapping[str, Any], path: str) -> Any:
    """``obj[path]``, else the dotted path walked through nested objects."""
    if path in obj:
        return obj[path]
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _number(v: Any) -> float | None:
    return None if v is None else float(v)


def _count(v: Any) -> int | None:
    if v is None:
        return None
    n = int(float(v))
    if n < 0:
        raise ValueError(f"negative byte count {v!r}")
    if n > _LARGEST_COUNT:  # 1e308 is a float; the store's counts are 64-bit
        raise ValueError(f"byte count {v!r} out of range")
    return n


def _port(v: Any) -> int | None:
    if v is None:
        return None
    n = int(float(v))
    if not 0 <= n <= 65535:
        raise ValueError(f"port {v!r} out of range")
    return n


def _proto(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip().lower()
    return _PROTO_NUMBERS.get(s, s)


def load_sources(entries: object, source: str) -> tuple[MappedReader, ...]:
    """Build the readers of the config file's ``[[sources]]`` array of tables."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'sources' must be an array of tables ([[sources]])")
    out = []
    names: set[str] = set()
    for i, raw in enumerate(entries, start=1):
        where = f"{source} [[sources]] #{i}"
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a table")
        reader = _source(raw, where)
        if reader.name in names:
            raise ConfigError(f"{where}: duplicate name {reader.name!r}")
        names.add(reader.name)
        out.append(reader)
    return tuple(out)


def _source(raw: Mapping[str, Any], where: str) -> MappedReader:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    where = f"{where} ({name})"
    fmt = raw.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise ConfigError(f"{where}: format must be 'csv' or 'jsonl' (got {fmt!r})")
    fields = raw.get("fields")
    if not isinstance(fields, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in fields.items()
    ):
        raise ConfigError(f"{where}: [sources.fields] must map column names to strings")
    bad = sorted(set(fields) - set(MAPPABLE))
    if bad:
        raise ConfigError(
            f"{where}: unknown normalized column(s) {', '.join(bad)}; use {', '.join(MAPPABLE)}"
        )
    if "ts" not in fields or "src_ip" not in fields:
        raise ConfigError(f"{where}: fields must map 'ts' and 'src_ip'")
    if "dst_ip" not in fields and "dst_domain" not in fields:
        raise ConfigError(f"{where}: fields must map 'dst_ip' or 'dst_domain'")
    delimiter = raw.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"{where}: delimiter must be one character")
    time_format = raw.get("time_format", "iso8601")
    if not isinstance(time_format, str) or not time_format:
        raise ConfigError(f"{where}: time_format must be a string")
    if time_format not in _EPOCH and time_format != "iso8601" and "%" not in time_format:
        raise ConfigError(
            f"{where}: time_format {time_format!r} is not iso8601, epoch, epoch_ms, epoch_us,"
            " epoch_ns or a strptime pattern"
        )
    tz_name = raw.get("timezone", "UTC")
    try:
        zone: tzinfo = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: unknown timezone {tz_name!r}") from exc
    unit = raw.get("duration_unit", "s")
    if unit not in _UNITS:
        raise ConfigError(f"{where}: duration_unit must be one of {', '.join(_UNITS)}")
    keep_column = raw.get("keep_column")
    keep_values = raw.get("keep_values", [])
    if keep_column is not None and (
        not isinstance(keep_column, str)
        or not isinstance(keep_values, list)
        or not keep_values
        or not all(isinstance(v, str) for v in keep_values)
    ):
        raise ConfigError(f"{where}: keep_column needs a non-empty keep_values list of strings")
    return MappedReader(
        name=name.strip(),
        fmt=fmt,
        fields=dict(fields),
        delimiter=delimiter,
        time_format=time_format,
        zone=zone,
        duration_scale=_UNITS[unit],
        keep_column=keep_column,
        keep_values=frozenset(v.lower() for v in keep_values),
        where=where,
    )
