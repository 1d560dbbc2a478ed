"""Sysmon readers: native ``.evtx`` files, and JSON lines (evtx_dump, Winlogbeat, NXLog).

Both readers stream: one record at a time is parsed, mapped by
:func:`beaconhunt.ingest.sysmon_fields.normalize` (which documents every
layout and field mapping) and appended to columnar batches
(:class:`SysmonBatches`). Each time a table's batch reaches ``batch_rows`` the
reader yields that table's name, so the caller can append the batch to the
store and drop it: a 1 GB file is never held in memory.

Native EVTX files are parsed by the Rust-backed ``evtx`` package
(``PyEvtxParser.records_json()``: each record as the JSON ``evtx_dump``
writes). Records whose ``EventID`` is not used are counted from the raw JSON
text without parsing it, which matters because event 7 (image load) and 10
(process access) are often most of a Sysmon log. gzip-compressed EVTX files are
read too.

One bad line, record, chunk or file never ends the run: each becomes an
:class:`~beaconhunt.errors.InputProblem` with the file and the line number (JSON
lines) or the EventRecordID (EVTX); the first few per file are listed, then a
total. Valid records that are not used (other channels, other event IDs) are
counted in :attr:`SysmonBatches.skipped`, not reported.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beaconhunt.errors import InputProblem
from beaconhunt.ingest.plausible import time_problem
from beaconhunt.ingest.sniff import open_text
from beaconhunt.ingest.sysmon_fields import (
    SILENT_SKIPS,
    UNUSED_EVENT,
    columns,
    json_layout,
    normalize,
)
from beaconhunt.store.schema import SYSMON_EVENT_TABLES

__all__ = ["SysmonBatches", "read_evtx", "read_sysmon_json"]

_EVTX_CHUNK = 65536
#: More records than a 64 KiB chunk can hold (a record takes well over 8 bytes).
_MAX_CHUNK_RECORDS = _EVTX_CHUNK // 8
#: Problems listed per file and kind before only a total is given.
_MAX_LISTED = 5
#: An EVTX file that keeps failing after this many unreadable chunks is given up.
_MAX_EVTX_ERRORS = 100
# "EventID":3 at the start of the evtx crate's JSON (no Qualifiers attribute).
_QUICK_EVENT_ID = re.compile(r'"EventID":(\d+)[,}]')
_CHUNK_IDS = re.compile(r"record IDs (\d+)\.\.(\d+)")
# Errors that one malformed record can raise while it is mapped.
_RECORD_ERRORS = (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError)


@dataclass
class SysmonBatches:
    """Rows of Sysmon events per table, and what reading met on the way."""

    batch_rows: int = 50_000
    #: table -> rows (values in :func:`~beaconhunt.ingest.sysmon_fields.columns` order)
    rows: dict[str, list[list[object]]] = field(default_factory=dict)
    problems: list[InputProblem] = field(default_factory=list)
    #: records (EVTX records or non-empty JSON lines) read
    records: int = 0
    #: malformed records skipped
    bad: int = 0
    #: rows added (taken or not)
    used: int = 0
    #: valid records not used, by reason (``other channel``, ``unused event``)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, row: list[object]) -> bool:
        """Append one row; True when the table's batch is full."""
        rows = self.rows.setdefault(table, [])
        rows.append(row)
        self.used += 1
        return len(rows) >= self.batch_rows

    def pending(self) -> list[str]:
        """Tables with rows not taken yet."""
        return [t for t, rows in self.rows.items() if rows]

    def take(self, table: str) -> dict[str, list[object]]:
        """Remove the rows collected for ``table``; return them as columns
        (the batch :meth:`DuckDBStore.append_endpoint` takes)."""
        rows = self.rows.pop(table, [])
        if not rows:
            return {}
        return {
            name: list(values)
            for name, values in zip(columns(table), zip(*rows, strict=True), strict=True)
        }


class _FileLog:
    """Problems of one file: the first few of each kind listed, then totals."""

    def __init__(self, path: Path, out: SysmonBatches) -> None:
        self.name = str(path)
        self.out = out
        self.bad = 0
        self.bad_records = 0
        self.listed_records = 0
        self.cut = 0
        #: where reading is: the last line number or EventRecordID read
        self.position = 0

    def bad_record(self, where: int | None, message: str, skipped: int = 1) -> None:
        self.bad += 1
        self.bad_records += skipped
        self.out.bad += skipped
        if self.bad <= _MAX_LISTED:
            self.listed_records += skipped
            self.out.problems.append(InputProblem(self.name, where, message, skipped))

    def cut_field(self, where: int | None, message: str) -> None:
        self.cut += 1
        if self.cut <= _MAX_LISTED:
            self.out.problems.append(InputProblem(self.name, where, message))

    def whole_file(self, where: int | None, message: str) -> None:
        self.out.problems.append(InputProblem(self.name, where, message))

    def finish(self) -> None:
        if self.bad > _MAX_LISTED:
            unlisted = self.bad_records - self.listed_records
            msg = f"{self.bad_records} malformed records in all ({unlisted} not listed)"
            self.out.problems.append(InputProblem(self.name, None, msg, unlisted))
        if self.cut > _MAX_LISTED:
            self.whole_file(None, f"{self.cut} over-long fields cut in all")


def _take(
    obj: Any, layout: str, where: int | None, out: SysmonBatches, log: _FileLog
) -> str | None:
    """Map one parsed record into ``out``; the table's name when its batch is now full."""
    if not isinstance(obj, dict):
        log.bad_record(where, "not a JSON object")
        return None
    try:
        result = normalize(json_layout(obj) or layout, obj)
    except _RECORD_ERRORS as exc:
        log.bad_record(where, f"cannot read record ({type(exc).__name__})")
        return None
    if isinstance(result, str):
        if result in SILENT_SKIPS:
            out.skipped[result] += 1
        else:
            log.bad_record(where, result)
        return None
    ts = result.row[0]  # every endpoint table's first column
    why = time_problem(ts if isinstance(ts, float | int) else None)
    if why is not None:  # a time no sensor writes (beaconhunt.ingest.plausible)
        log.bad_record(where, why)
        return None
    for note in result.notes:
        log.cut_field(where, note)
    return result.table if out.add(result.table, result.row) else None


# -- JSON lines -------------------------------------------------------------------------------


def read_sysmon_json(path: Path, layout: str, out: SysmonBatches) -> Iterator[str]:
    """Read Sysmon JSON lines (plain or gzip) of ``layout`` into ``out``; yield a
    table name each time its batch is full. Each line's own layout wins when it
    differs from the file's (concatenated exports)."""
    log = _FileLog(path, out)
    lineno = 0
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):  # too-long lines: see ingest.lines
                if lineno == 1:
                    line = line.lstrip("\ufeff")
                if not line.strip():
                    continue
                out.records += 1
                table = _json_line(line, lineno, layout, out, log)
                if table:
                    yield table
    except (OSError, EOFError, zlib.error) as exc:
        log.whole_file(lineno + 1, f"stopped reading: {exc} (records before it are kept)")
    log.finish()


def _json_line(
    line: str, lineno: int, layout: str, out: SysmonBatches, log: _FileLog
) -> str | None:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        log.bad_record(lineno, f"not valid JSON ({exc.msg})")
        return None
    except ValueError:  # json's limit on integer digits (4,300)
        log.bad_record(lineno, "not valid JSON (number too long)")
        return None
    except RecursionError:
        log.bad_record(lineno, "JSON nested too deeply")
        return None
    return _take(obj, layout, lineno, out, log)


# -- native EVTX ------------------------------------------------------------------------------


def read_evtx(path: Path, out: SysmonBatches, compressed: bool = False) -> Iterator[str]:
    """Read a native ``.evtx`` file (or a gzip-compressed one) into ``out``; yield
    a table name each time its batch is full. Problem lines are EventRecordIDs."""
    log = _FileLog(path, out)
    try:
        from evtx import PyEvtxParser
    except ImportError:
        log.whole_file(None, "cannot read EVTX files: the 'evtx' package is not installed")
        return
    try:
        with contextlib.ExitStack() as stack:
            # a path lets the parser read by itself (faster than a Python file object)
            source = stack.enter_context(gzip.open(path, "rb")) if compressed else str(path)
            try:
                records = PyEvtxParser(source).records_json()
            except (OSError, RuntimeError, ValueError) as exc:
                log.whole_file(None, f"not a readable EVTX file ({_short(exc)})")
                return
            yield from _evtx_records(records, out, log)
    except (OSError, EOFError, zlib.error) as exc:
        msg = f"stopped reading: {_short(exc)} (records before it are kept)"
        log.whole_file(log.position + 1, msg)
    damage = None if compressed else _evtx_damage(path)
    if damage:
        msg = f"{damage}; records after EventRecordID {log.position} are lost"
        log.whole_file(log.position + 1, msg)
    log.finish()


def _evtx_records(records: Iterator[Any], out: SysmonBatches, log: _FileLog) -> Iterator[str]:
    """Map every record; yield a table name when its batch is full. ``log.position``
    follows the EventRecordID; unreadable chunks become problems."""
    errors = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (RuntimeError, OSError, ValueError) as exc:
            errors += 1
            _chunk_problem(exc, log)
            if errors >= _MAX_EVTX_ERRORS:
                log.whole_file(log.position + 1, f"gave up after {errors} unreadable chunks")
                return
            continue
        rid = record.get("event_record_id") if isinstance(record, dict) else None
        log.position = rid if isinstance(rid, int) else log.position + 1
        out.records += 1
        data = record.get("data") if isinstance(record, dict) else None
        table = _evtx_record(data, log.position, out, log)
        if table:
            yield table


def _evtx_record(data: Any, rid: int, out: SysmonBatches, log: _FileLog) -> str | None:
    if not isinstance(data, str):
        log.bad_record(rid, "record has no data")
        return None
    # the evtx crate writes System first: an unused event is known before parsing
    m = _QUICK_EVENT_ID.search(data, 0, 2000)
    if m and int(m.group(1)) not in SYSMON_EVENT_TABLES:
        out.skipped[UNUSED_EVENT] += 1
        return None
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:  # ValueError: a number of 4,300+ digits
        log.bad_record(rid, f"record is not valid JSON ({type(exc).__name__})")
        return None
    return _take(obj, "evtx_json", rid, out, log)


def _chunk_problem(exc: BaseException, log: _FileLog) -> None:
    """An unreadable chunk: its records by ID when the parser says them."""
    m = _CHUNK_IDS.search(str(exc))
    after = log.position + 1
    first, last = (int(m.group(1)), int(m.group(2))) if m else (after, after)
    n = min(max(1, last - first + 1), _MAX_CHUNK_RECORDS)  # the IDs come from the file
    log.bad_record(first, f"EVTX record(s) {first}..{last} unreadable ({_short(exc)})", n)


def _evtx_damage(path: Path) -> str | None:
    """Why an EVTX file is cut short, from its size and header (None when whole).

    The file header (4 KiB) says how many 64 KiB chunks follow; the parser
    silently stops at a partial chunk, so this is the only sign of truncation.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None  # reading it already said what is wrong
    if len(head) < 4096:
        return "file ends inside its header"
    header_size, chunks = struct.unpack_from("<HH", head, 40)
    whole, rest = divmod(size - header_size, _EVTX_CHUNK)
    if rest:
        return f"file is truncated: it ends {rest:,} bytes into chunk {whole + 1}"
    if whole < chunks:
        return f"file is truncated: its header lists {chunks} chunks, it holds {whole}"
    return None


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
