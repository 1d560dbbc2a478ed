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

Read by DuckDB
--------------
:meth:`MappedReader.line_scan` reads the usual rows of a CSV export in SQL
(:mod:`beaconhunt.ingest.linescan`). The header row is read from the head of the
file, as :meth:`~MappedReader.read` finds it, and gives each mapped column its
position (the last of a repeated name). One strict pattern per file then proves a
line's shape: printable ASCII without a double quote (Python's ``csv`` module
decides quoting), as many fields as the header has, and mapped values without
spaces around them: ports 0-65535 and counts of at most 18 digits in decimal
digits, a duration with an optional fraction, a time in ``epoch``/``epoch_ms``/
``epoch_us``/``epoch_ns`` digits or ISO 8601 ``YYYY-MM-DD[T ]HH:MM:SS[.fraction]``
with ``Z``, ``+HH:MM`` or (in a UTC source only) no offset, years 1900-2199. Such a
line is split on the delimiter; an empty value or ``-`` is no value, as in Python.
A ``keep_values`` skip is read in SQL when the kept column has a value. Every other
line (the header and what precedes it, quotes, tabs or non-ASCII text, spaces
around a value, another field count, a missing or unusual value, a time that is no
date, anything Python would report) goes to the same per-line Python as
:meth:`~MappedReader.read`, so the two read a file identically
(``tests/ingest/test_mapped_sql.py``). JSON lines, strptime patterns, a delimiter
that is not printable ASCII (or one a number or time holds: digits, ``.-:+TZ``)
and files that start with a byte-order mark are read in Python (``line_scan``
returns None).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from beaconhunt.errors import ConfigError
from beaconhunt.ingest.lines import BoundedText, LineGuard, current_limit
from beaconhunt.ingest.linescan import LineScan
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.sniff import is_gzip, open_text

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
_PROTO_CASES = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _PROTO_NUMBERS.items())


#: zones whose local time is UTC: a time without an offset needs no zone rules
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT"})
#: delimiters the SQL reads: printable ASCII (or a tab) that no number or time holds
_SQL_DELIMITERS = frozenset({"\t", *(chr(c) for c in range(0x20, 0x7F))} - set('"0123456789.-:+TZ'))
#: what each normalized column's field may hold in the SQL's line pattern (values
#: as they are, no space around them; an empty value and ``-`` are no value)
_KIND = {"ts": "ts", "src_port": "port", "dst_port": "port", "bytes_out": "count",
         "bytes_in": "count", "duration": "number"}  # fmt: skip
#: a number ``float`` reads as the SQL does: digits, an optional fraction
_DECIMAL = r"[0-9]{1,20}(\.[0-9]{1,20})?"
_PATTERNS = {
    # 0-65535, leading zeros allowed as int(float(v)) allows them
    "port": r"(|-|[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])",
    # at most 18 digits: below 2**63 after float's rounding, as _count checks
    "count": r"(|-|[0-9]{1,18})",
    "number": rf"(|-|{_DECIMAL})",
    "epoch": _DECIMAL,
}
#: the usual ISO 8601 time: years 1900-2199 (epoch microseconds stay below 2**53, so
#: their division by 10**6 is as exact as Python's), seconds with up to 9 digits
#: (Python keeps 6), then ``Z``, an offset or (``{zone}``) none
_ISO = (
    r"(19|20|21)[0-9][0-9]-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]){sep}"
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,9}})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]){zone}"
)
#: epoch seconds of a :data:`_ISO` time ``ts_t``, NULL for a day its month does not
#: have. DuckDB reads the time as ``fromisoformat`` does (the fraction cut at
#: microseconds, the offset applied); whole microseconds are divided once, as
#: ``datetime.timestamp`` divides them
_ISO_SECONDS = """CAST(CASE
            WHEN ends_with(ts_t, 'Z') OR substr(ts_t, strlen(ts_t) - 5, 1) IN ('+', '-')
                THEN epoch_us(TRY_CAST(ts_t AS TIMESTAMPTZ))
            ELSE epoch_us(TRY_CAST(ts_t AS TIMESTAMP)) END AS DOUBLE) / CAST(1000000 AS DOUBLE)"""


def _char_class(chars: Iterable[str]) -> str:
    """An RE2 character class of exactly ``chars`` (ASCII), every one hex-escaped."""
    codes = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for c in codes:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    body = "".join(f"\\x{a:02x}" if a == b else f"\\x{a:02x}-\\x{b:02x}" for a, b in runs)
    return f"[{body}]"


def _double(x: float) -> str:
    """``x`` as a DuckDB DOUBLE literal of the same value (repr reads back exactly)."""
    return f"CAST('{x!r}' AS DOUBLE)"


def _is_utc(zone: tzinfo) -> bool:
    return zone is UTC or getattr(zone, "key", None) in _UTC_ZONES


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
        self.zone = zone
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

    def line_scan(self, path: Path) -> LineScan | None:
        """The usual CSV rows in SQL, every other line in Python (module docstring,
        "Read by DuckDB"); None (all in Python) for what the SQL does not read."""
        if (
            self.fmt != "csv"
            or not (self.time_format in _EPOCH or self.time_format == "iso8601")
            or self.delimiter not in _SQL_DELIMITERS
        ):
            return None
        try:
            head = self._header(path)
        except (OSError, EOFError, zlib.error):
            return None
        if head is None:
            return None
        sql = self._scan_sql(*head)
        return None if sql is None else LineScan(sql[0], sql[1], python=self._read_lines)

    def read(self, path: Path, sink: FlowSink) -> None:
        with open_text(path) as fh:
            self._read_lines(enumerate(fh, start=1), sink)

    def _read_lines(self, lines: Iterable[tuple[int, str]], sink: FlowSink) -> None:
        """Numbered lines (with or without their line end) into ``sink``: what
        :meth:`read` does with a file, and what the SQL leaves to Python."""
        rows = self._csv_rows(lines, sink) if self.fmt == "csv" else self._json_rows(lines, sink)
        for line, row in rows:
            self._one(line, row, sink)

    def _split(self, line: str) -> list[str]:
        """One CSV line's fields (``csv.Error`` for a quoted value past csv's limit)."""
        return next(csv.reader([line.rstrip("\r\n")], delimiter=self.delimiter), [])

    def _csv_rows(
        self, lines: Iterable[tuple[int, str]], sink: FlowSink
    ) -> Iterable[tuple[int, Mapping[str, Any]]]:
        # One record per line: a quote left open (a cut line, a stray '"') must not
        # swallow the lines after it, as a quoted value spanning lines would
        header: list[str] | None = None
        for n, line in lines:
            try:
                row = self._split(line)
            except csv.Error as exc:  # a quoted value longer than csv's field limit
                sink.problem(n, f"{self.where}: unreadable CSV line: {exc}")
                continue
            if _blank(row):
                continue
            if header is None:
                header = [h.strip() for h in row]
                continue
            yield n, dict(zip(header, row, strict=False))

    def _header(self, path: Path) -> tuple[int, list[str]] | None:
        """The header row of a CSV file and its line, as :meth:`_csv_rows` finds it (a
        too-long line is not told to the load's guard: the scan tells it); None when
        the file has none or starts with a byte-order mark (which Python keeps in the
        first column's name and DuckDB drops)."""
        raw: IO[str]
        if is_gzip(path):
            raw = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")  # noqa: SIM115
        else:
            raw = path.open("r", encoding="utf-8", errors="replace")
        with BoundedText(raw, str(path), LineGuard(current_limit())) as fh:
            for n, line in enumerate(fh, start=1):
                if n == 1 and line.startswith("\ufeff"):
                    return None
                try:
                    row = self._split(line)
                except csv.Error:
                    continue
                if not _blank(row):
                    return n, [h.strip() for h in row]
        return None

    def _json_rows(
        self, lines: Iterable[tuple[int, str]], sink: FlowSink
    ) -> Iterable[tuple[int, Mapping[str, Any]]]:
        for n, line in lines:
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

    def _scan_sql(
        self, header_line: int, header: list[str]
    ) -> tuple[str, tuple[object, ...]] | None:
        """The SQL of :meth:`line_scan` for a CSV file whose header row ``header`` is on
        line ``header_line``, and its parameters; None when the mapping puts two kinds
        of value in one column."""
        # a column's value is the last field of that name (dict(zip(header, row)))
        at = {h: i for i, h in enumerate(header)}
        kinds: dict[int, str] = {}
        keep = [("keep", self.keep_column)] if self.keep_column else []
        for key, column in [*self.fields.items(), *keep]:
            if column in at:
                kind = _KIND.get(key, "text")
                if kinds.setdefault(at[column], kind) != kind:
                    return None
        d = self.delimiter
        printable = {chr(c) for c in range(0x20, 0x7F)} - {'"', d}
        free = _char_class(printable) + "*"  # a field the mapping does not read
        edge = _char_class(printable - {" "})
        text = f"({edge}({free}{edge})?)?"  # a value without space around it
        if self.time_format in _EPOCH:
            ts_pattern = _PATTERNS["epoch"]
        else:
            # a time without an offset in another zone needs its rules: Python
            ts_pattern = _ISO.format(sep="T" if d == " " else "[T ]",
                                     zone="?" if _is_utc(self.zone) else "")  # fmt: skip
        patterns = {"ts": ts_pattern, "text": text, **_PATTERNS}
        line_re = _char_class(d).join(patterns[kinds[i]] if i in kinds else free
                                      for i in range(len(header)))  # fmt: skip

        def value(column: str | None, cast: str = "") -> str:
            if column is None or column not in at:
                return "NULL"
            f = f"f[{at[column] + 1}]"
            return (
                f"TRY_CAST({f} AS {cast})"
                if cast
                else f"CASE WHEN {f} NOT IN ('', '-') THEN {f} END"
            )

        fields = self.fields
        cols = {
            "ts_t": f"f[{at[fields['ts']] + 1}]" if fields["ts"] in at else "NULL",
            "src_ip": value(fields.get("src_ip")),
            "src_port": value(fields.get("src_port"), "INTEGER"),
            "dst_ip": value(fields.get("dst_ip")),
            "dst_port": value(fields.get("dst_port"), "INTEGER"),
            "proto_t": value(fields.get("proto")),
            "service": value(fields.get("service")),
            "duration_t": value(fields.get("duration"), "DOUBLE"),
            "bytes_out": f"CAST({value(fields.get('bytes_out'), 'DOUBLE')} AS BIGINT)",
            "bytes_in": f"CAST({value(fields.get('bytes_in'), 'DOUBLE')} AS BIGINT)",
            "dst_domain": value(fields.get("dst_domain")),
            "src_host": value(fields.get("src_host")),
            "keep_t": value(self.keep_column),
        }
        if self.time_format in _EPOCH:
            ts = f"CAST(ts_t AS DOUBLE) * {_double(_EPOCH[self.time_format])}"
        else:
            ts = _ISO_SECONDS
        if self.keep_column:
            skip = "CASE WHEN NOT list_contains(?::VARCHAR[], lower(keep_t)) THEN ? END"
            params: tuple[object, ...] = (sorted(self.keep_values), f"{self.keep_column} not kept")
            python = "NOT ok OR keep_t IS NULL OR (skip IS NULL AND NOT good)"
        else:
            skip, params, python = "NULL::VARCHAR", (), "NOT ok OR NOT good"
        values = ", ".join(f"{e} AS {k}" for k, e in cols.items())
        select = f"""
WITH m AS (
    SELECT n, line,
           coalesce(n > {int(header_line)} AND strlen(line) <= {int(csv.field_size_limit())}
                    AND regexp_full_match(line, '{line_re}'), false) AS ok
    FROM lines WHERE line IS NOT NULL
), v AS (
    SELECT n, line, ok, {values}
    FROM (SELECT n, line, ok, CASE WHEN ok THEN string_split(line, '{d.replace("'", "''")}') END
              AS f FROM m)
), t AS (
    SELECT *, CASE WHEN ok THEN {skip} END AS skip, {ts} AS ts FROM v
)
SELECT n,
       CASE WHEN {python} THEN line END AS python_line,
       skip, ts, src_ip, src_port, dst_ip, dst_port,
       CASE lower(proto_t) {_PROTO_CASES} ELSE lower(proto_t) END AS proto,
       service,
       duration_t * {_double(self.duration_scale)} AS duration,
       bytes_out, bytes_in, dst_domain,
       'mapped' AS domain_source,
       src_host
FROM (SELECT *, coalesce(ts IS NOT NULL AND src_ip IS NOT NULL
                         AND (dst_ip IS NOT NULL OR dst_domain IS NOT NULL), false) AS good
      FROM t)
"""
        return select, params

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


def _blank(row: list[str]) -> bool:
    """A CSV row without any value: skipped, neither header nor record."""
    return not row or not any(c.strip() for c in row)


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
