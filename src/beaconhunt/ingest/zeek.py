"""Zeek logs: the TSV header, and JSON records (dotted, underscore and streaming).

TSV files are not parsed here: their header is, and DuckDB's CSV reader then
reads the body in parallel (:meth:`beaconhunt.store.duckdb.DuckDBStore.load_tsv`),
which is 10-50x faster than any Python line loop. JSON lines are parsed here,
streaming, one line at a time, so a broken line costs only itself.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from beaconhunt.errors import InputProblem
from beaconhunt.ingest.plausible import connection_problem, time_problem
from beaconhunt.ingest.sniff import json_log_kind, open_text
from beaconhunt.normalize.zeek_fields import (
    DEFAULT_CONN_FIELDS,
    FIELD_MAPS,
    json_key_variants,
    parse_zeek_time,
)

__all__ = ["JsonRecords", "ZeekHeader", "read_json_records", "read_tsv_header"]

_ESC = re.compile(r"\\x([0-9a-fA-F]{2})")


def _unescape(value: str) -> str:
    return _ESC.sub(lambda m: chr(int(m.group(1), 16)), value)


@dataclass(frozen=True, slots=True)
class ZeekHeader:
    """The ``#``-lines at the top of a Zeek TSV log."""

    separator: str = "\t"
    set_separator: str = ","
    empty_field: str = "(empty)"
    unset_field: str = "-"
    path: str | None = None
    fields: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    headerless: bool = False

    def signature(self) -> tuple[object, ...]:
        """Files with the same signature can be read in one DuckDB scan."""
        return (self.separator, self.set_separator, self.empty_field, self.unset_field,
                self.path, self.fields, self.types)  # fmt: skip


def read_tsv_header(path: Path, headerless: bool = False) -> ZeekHeader:
    """Parse the ``#separator`` ... ``#types`` lines of a Zeek TSV log.

    A file whose header was cut off (``headerless``) gets Zeek's default conn
    layout, sized to its first line.
    """
    with open_text(path) as fh:
        if headerless:
            first = fh.readline().rstrip("\n")
            n = len(first.split("\t"))
            names = list(DEFAULT_CONN_FIELDS[:n])
            names += [f"extra_{i}" for i in range(len(names), n)]
            return ZeekHeader(path="conn", fields=tuple(names), types=(), headerless=True)
        values: dict[str, str] = {}
        sep = "\t"
        for line in fh:
            if not line.startswith("#"):
                break
            line = line.rstrip("\r\n")
            if line.startswith("#separator"):
                sep = _unescape(line[len("#separator") :].strip()) or "\t"
                continue
            key, _, rest = line[1:].partition(sep)
            values[key] = rest
            if key == "types":
                break
    return ZeekHeader(
        separator=sep,
        set_separator=_unescape(values.get("set_separator", ",")),
        empty_field=values.get("empty_field", "(empty)"),
        unset_field=values.get("unset_field", "-"),
        path=values.get("path"),
        fields=tuple(values["fields"].split(sep)) if "fields" in values else (),
        types=tuple(values["types"].split(sep)) if "types" in values else (),
    )


@dataclass
class JsonRecords:
    """Columnar batches of normalized records per log, filled by :func:`read_json_records`."""

    columns: dict[str, dict[str, list[object]]] = field(default_factory=dict)
    problems: list[InputProblem] = field(default_factory=list)
    lines: int = 0
    skipped: int = 0

    def rows(self, log: str) -> int:
        cols = self.columns.get(log)
        return len(cols["ts"]) if cols else 0

    def take(self, log: str) -> dict[str, list[object]]:
        """Remove and return the batch collected for ``log``."""
        return self.columns.pop(log, {})


def _get(obj: dict[str, object], zeek_field: str) -> object:
    for key in json_key_variants(zeek_field):
        if key in obj:
            return obj[key]
    return None


def _str(value: object) -> str | None:
    if value is None or value == "-" or value == "(empty)":
        return None
    if isinstance(value, list):
        return ",".join(str(v) for v in value) if value else None
    return str(value)


class _OutOfRange(ValueError):
    """A number the store's column cannot hold (a 30-digit port, 1e400 bytes)."""


def _int(value: object, top: int) -> int | None:
    """A whole number (None when absent, not a number or not finite); ``_OutOfRange``
    beyond +-``top``. Negative and too-large ports fit and are dropped, counted, later."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if not isinstance(value, int):
        return None
    if not -top - 1 <= value <= top:
        raise _OutOfRange
    return value


def _float(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            return float(value)
    except ValueError:
        return None
    except OverflowError:  # an integer of more than 308 digits
        raise _OutOfRange from None
    return None


_INTEGER, _BIGINT = (1 << 31) - 1, (1 << 63) - 1
#: integer columns and the largest value each holds in the store (INTEGER or BIGINT)
_INT_COLS = {"src_port": _INTEGER, "dst_port": _INTEGER, "trans_depth": _INTEGER,
             "bytes_out": _BIGINT, "bytes_in": _BIGINT, "pkts_out": _BIGINT,
             "pkts_in": _BIGINT}  # fmt: skip
_FLOAT_COLS = {"duration"}
_CHECKED = ("src_port", "dst_port", "duration", "bytes_out", "bytes_in", "pkts_out", "pkts_in")


def _append(batch: dict[str, list[object]], log: str, obj: dict[str, object]) -> str | None:
    """Normalize one record into ``batch``; what is wrong with it (then nothing is added)."""
    try:
        ts = parse_zeek_time(obj.get("ts"))
    except OverflowError:  # an integer of more than 308 digits
        ts = None
    if ts is None:
        return "record has no valid 'ts'"
    mapping = FIELD_MAPS[log]
    row: list[object] = []
    for col, zf in mapping.items():
        if col == "ts":
            row.append(ts)
            continue
        raw = _get(obj, zf)
        try:
            if col in _INT_COLS:
                row.append(_int(raw, _INT_COLS[col]))
            elif col in _FLOAT_COLS:
                row.append(_float(raw))
            else:
                row.append(_str(raw))
        except _OutOfRange:
            shown = repr(raw)
            return f"{zf} is out of range: {shown[:40]}{'...' if len(shown) > 40 else ''}"
    if log == "conn":  # times, ports and counts no sensor writes: beaconhunt.ingest.plausible
        rec = dict(zip(mapping, row, strict=True))
        nums = [v if isinstance(v, int | float) else None for v in map(rec.get, _CHECKED)]
        why = connection_problem(ts, *nums)
    else:
        why = time_problem(ts)
    if why is not None:
        return why
    if not batch:
        batch.update({col: [] for col in mapping})
    for col, value in zip(mapping, row, strict=True):
        batch[col].append(value)
    return None


def read_json_records(
    path: Path, default_log: str | None, out: JsonRecords, max_problems: int = 5
) -> Iterator[str]:
    """Parse Zeek JSON lines from ``path`` into ``out``; yield a log name each
    time its batch grows past 100k rows so the caller can flush it to the store.

    Lines that are not JSON objects, lack a time, or hold a number no column can
    (a 30-digit port, 1e400 bytes) are counted and reported with their line number
    (the first ``max_problems`` per file, then a total).
    Logs other than conn/dns/ssl/http (x509, files, kerberos...) are skipped
    silently: they are valid, just not used.
    """
    name = str(path)
    bad = 0
    lineno = 0
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                out.lines += 1
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError) as exc:  # ValueError: 4,300+ digits
                    bad += 1
                    why = (
                        exc.msg if isinstance(exc, json.JSONDecodeError)
                        else "number too long" if isinstance(exc, ValueError)
                        else "nested too deeply"
                    )  # fmt: skip
                    if bad <= max_problems:
                        out.problems.append(
                            InputProblem(name, lineno, f"not valid JSON ({why})", 1)
                        )
                    continue
                if not isinstance(obj, dict):
                    bad += 1
                    if bad <= max_problems:
                        out.problems.append(InputProblem(name, lineno, "not a JSON object", 1))
                    continue
                log = json_log_kind(obj) if default_log is None else default_log
                if log not in FIELD_MAPS:
                    continue
                batch = out.columns.setdefault(log, {})
                error = _append(batch, log, obj)
                if error:
                    bad += 1
                    if bad <= max_problems:
                        out.problems.append(InputProblem(name, lineno, error, 1))
                    continue
                if len(batch["ts"]) >= 100_000:
                    yield log
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a damaged gzip member
        out.problems.append(
            InputProblem(name, lineno + 1, f"stopped reading: {exc} (data before it is kept)")
        )
    if bad > max_problems:
        out.problems.append(
            InputProblem(name, None, f"{bad} malformed lines in all", bad - max_problems)
        )
    out.skipped += bad
