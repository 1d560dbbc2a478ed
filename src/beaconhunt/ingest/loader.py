"""Load input paths into the store: find files, sniff them, read each the right way.

Order matters: DNS, TLS and HTTP records are loaded before connection records,
so each connection can be named (SNI, Host, CONNECT target, DNS answer) as it
is stored. Files with the same Zeek header are read in one parallel DuckDB
scan, which is what makes hourly-rotated folders fast.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from beaconhunt.errors import InputError, InputProblem
from beaconhunt.ingest.sniff import Sniffed, iter_files, sniff
from beaconhunt.ingest.zeek import JsonRecords, ZeekHeader, read_json_records, read_tsv_header
from beaconhunt.normalize.zeek_fields import FIELD_MAPS
from beaconhunt.store.duckdb import DuckDBStore

__all__ = ["LoadReport", "load_paths"]

_SIDE_LOGS = ("dns", "ssl", "http")


@dataclass
class LoadReport:
    """What loading read, skipped and complained about."""

    files: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    problems: list[InputProblem] = field(default_factory=list)
    unused_logs: Counter[str] = field(default_factory=Counter)
    already_loaded: int = 0
    #: files found inside directories that are not logs (skipped quietly)
    not_logs: list[Path] = field(default_factory=list)

    @property
    def skipped_lines(self) -> int:
        return sum(p.skipped for p in self.problems)


def load_paths(
    paths: Iterable[Path],
    store: DuckDBStore,
    on_file: Callable[[str], None] | None = None,
) -> LoadReport:
    """Read every file under ``paths`` into ``store``; problems are collected, not raised.

    Raises :class:`InputError` only for a path that does not exist.
    """
    report = LoadReport()
    tsv_groups: dict[tuple[str, tuple[object, ...], bool], list[tuple[Path, ZeekHeader]]] = (
        defaultdict(list)
    )
    json_files: list[Sniffed] = []
    for path, named in iter_files(paths):
        report.files += 1
        try:
            s = sniff(path)
        except InputError as exc:
            report.problems.append(InputProblem(str(path), None, str(exc).split(": ", 1)[-1]))
            continue
        if s.kind == "unknown":
            if named:
                report.problems.append(InputProblem(str(path), None, f"skipped: {s.reason}"))
            else:  # found in a folder: README, licences, CSVs... listed once
                report.not_logs.append(path)
            continue
        if store.already_loaded(path):
            report.already_loaded += 1
            continue
        if s.kind == "zeek_json":
            json_files.append(s)
            continue
        header = read_tsv_header(path, headerless=s.reason == "headerless")
        log = header.path or s.log
        if s.reason == "headerless":
            msg = "no Zeek header; read as a conn.log in Zeek's default column order"
            report.problems.append(InputProblem(str(path), 1, msg))
        if log not in FIELD_MAPS:
            report.unused_logs[log or "unnamed"] += 1
            continue
        tsv_groups[(log, header.signature(), s.compressed)].append((path, header))

    def load_group(log: str, members: list[tuple[Path, ZeekHeader]], compressed: bool) -> None:
        files = [p for p, _ in members]
        if on_file:
            on_file(files[0].name if len(files) == 1 else f"{len(files)} {log} files")
        rows, problems = store.load_tsv(files, members[0][1], log, compressed)
        report.rows[log] += rows
        report.problems.extend(problems)
        if rows == 0 and not problems:
            for f in files:
                report.problems.append(InputProblem(str(f), None, "header only: no records"))
        for f in files:
            store.record_input(f, log, rows if len(files) == 1 else -1)

    # 1. side logs (names for destinations), TSV then JSON; JSON conn rows are staged
    for (log, _sig, compressed), members in tsv_groups.items():
        if log in _SIDE_LOGS:
            load_group(log, members, compressed)
    for s in json_files:
        if on_file:
            on_file(s.path.name)
        _load_json(s, store, report)
    # 2. connections, named with what step 1 loaded
    staged = 0
    for (log, _sig, compressed), members in tsv_groups.items():
        if log == "conn":
            before = report.rows["conn"]
            load_group(log, members, compressed)
            if store.stages_conn:
                staged += report.rows["conn"] - before
    report.rows["conn"] += store.flush_raw_conn() - staged
    # 3. http/ssl records with no conn record become connections
    report.rows["conn_from_http_ssl"] += store.finish_load()
    return report


def _load_json(s: Sniffed, store: DuckDBStore, report: LoadReport) -> None:
    records = JsonRecords()
    per_log: Counter[str] = Counter()
    for log in read_json_records(s.path, s.log, records):
        per_log[log] += store.append(log, records.take(log))
    for log in list(records.columns):
        per_log[log] += store.append(log, records.take(log))
    report.problems.extend(records.problems)
    for log, n in per_log.items():
        if log != "conn":  # conn rows are counted when they are normalized
            report.rows[log] += n
    if not per_log and records.lines and not records.problems:
        report.problems.append(InputProblem(str(s.path), None, "no conn/dns/ssl/http records"))
    store.record_input(s.path, s.log or "json", sum(per_log.values()))
