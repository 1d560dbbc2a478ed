"""Load input paths into the store: find files, sniff them, read each the right way.

Order matters: DNS, TLS and HTTP records are loaded before connection records,
so each connection can be named (SNI, Host, CONNECT target, DNS answer) as it
is stored. Files with the same Zeek header are read in one parallel DuckDB
scan, which is what makes hourly-rotated folders fast. Sysmon files (native
EVTX or JSON lines, :mod:`beaconhunt.ingest.sysmon`) fill the endpoint tables,
streaming, in batches; they are loaded with the side logs, before connections.

One call is one import, and one transaction (:meth:`DuckDBStore.begin_load`): its
rows and its ``inputs`` entries are stored together or not at all, so a kill at
any moment costs the import's time, never data, and the rerun neither skips nor
doubles a file. DuckDB aborts a transaction on any error, so a file it cannot
scan (a damaged gzip member, a file gone since it was found) rolls the import
back and the import starts again with that file loaded more carefully: alone,
then salvaged up to the damage, then skipped with its error.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from beaconhunt.errors import InputError, InputProblem
from beaconhunt.ingest.lines import DEFAULT_MAX_LINE, DUCKDB_BUFFER, guard, lines_longer_than
from beaconhunt.ingest.linescan import holds_unit_separator
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.plausible import impossible_tsv_lines
from beaconhunt.ingest.sniff import Sniffed, file_problem, iter_files, sniff
from beaconhunt.ingest.sysmon import SysmonBatches, read_evtx, read_sysmon_json
from beaconhunt.ingest.zeek import JsonRecords, ZeekHeader, read_json_records, read_tsv_header
from beaconhunt.normalize.zeek_fields import FIELD_MAPS
from beaconhunt.store.duckdb import DuckDBStore, ScanAborted, header_problem

__all__ = ["LoadReport", "load_paths"]

_SIDE_LOGS = ("dns", "ssl", "http")
_SYSMON_KINDS = ("evtx", "sysmon_json")


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
    #: valid records read but not used, by reason (``sysmon other channel``,
    #: ``sysmon unused event``): counted, not reported as problems
    skipped_records: Counter[str] = field(default_factory=Counter)
    #: the Zeek TSV files this load scanned, by log, with their headers
    tsv_files: dict[str, list[tuple[Path, ZeekHeader]]] = field(default_factory=dict)

    @property
    def skipped_lines(self) -> int:
        return sum(p.skipped for p in self.problems)


def load_paths(
    paths: Iterable[Path],
    store: DuckDBStore,
    on_file: Callable[[str], None] | None = None,
    sources: Sequence[NetworkReader] = (),
    max_line: int = DEFAULT_MAX_LINE,
) -> LoadReport:
    """Read every file under ``paths`` into ``store``; problems are collected, not raised.

    A line longer than ``max_line`` characters is skipped and reported with its
    file and line, in every format (:mod:`beaconhunt.ingest.lines`).

    ``sources`` are extra network readers (field mappings from the config file),
    tried before the built-in formats.

    Records that no sensor can write are dropped (:meth:`DuckDBStore.drop_impossible`)
    and Sysmon connections of hosts no network log saw are added, in the same
    transaction. Raises :class:`InputError` only for a path that does not exist.
    """
    #: files DuckDB could not scan, by how carefully to load them next (see _load_group)
    care: Counter[Path] = Counter()
    errors: dict[Path, str] = {}
    while True:
        interrupted = store.begin_load()
        store.max_line = max_line
        try:
            with guard(max_line) as too_long:
                report = _load_once(paths, store, on_file, sources, care, errors)
            report.problems.extend(too_long.problems())
            report.problems.extend(_locate_impossible(store.drop_impossible(), report, store))
            report.rows["conn_from_sysmon"] += store.endpoint_connections()
        except ScanAborted as exc:
            store.rollback_load()
            for f in exc.files:  # a group of files is retried one by one first
                care[f] = care[f] + 1 if len(exc.files) > 1 else max(care[f] + 1, 2)
                errors[f] = exc.message
            continue
        except BaseException:
            store.rollback_load()
            raise
        store.commit_load()
        if interrupted is not None:
            msg = (
                f"an import into this store that began {interrupted} did not finish (the"
                " process was stopped): nothing of it was kept, and its files were read now"
            )
            report.problems.insert(0, InputProblem(str(store.path), None, msg))
        return report


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return path


def _names(paths: set[Path]) -> set[str]:
    return {p.name for p in paths}


def _store_files(store: DuckDBStore) -> set[Path]:
    """The database file of ``store`` and its write-ahead log, if it has a file."""
    if store.path is None:
        return set()
    db = _resolved(Path(store.path))
    return {db, db.with_name(db.name + ".wal")}


def _load_once(
    paths: Iterable[Path],
    store: DuckDBStore,
    on_file: Callable[[str], None] | None,
    sources: Sequence[NetworkReader],
    care: Counter[Path],
    errors: dict[Path, str],
) -> LoadReport:
    report = LoadReport()
    tsv_groups: dict[tuple[str, tuple[object, ...], bool], list[tuple[Path, ZeekHeader]]] = (
        defaultdict(list)
    )
    json_files: list[Sniffed] = []
    sysmon_files: list[Sniffed] = []
    network_files: list[Sniffed] = []
    own = _store_files(store)
    for path, named in iter_files(paths):
        if not named and own and path.name in _names(own) and _resolved(path) in own:
            continue  # the store this hunt writes, kept next to its logs
        report.files += 1
        why = file_problem(path)
        if why is not None:
            report.problems.append(InputProblem(str(path), None, why))
            continue
        try:
            s = sniff(path, sources)
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
        if s.kind in _SYSMON_KINDS:
            sysmon_files.append(s)
            continue
        if s.kind == "network":
            network_files.append(s)
            continue
        header = read_tsv_header(path, headerless=s.reason == "headerless")
        log = header.path or s.log
        if log == "conn_long":  # Zeek's long-connections package: conn records, again
            log = "conn"
            store.repeats_uids = True
        if s.reason == "headerless":
            msg = "no Zeek header; read as a conn.log in Zeek's default column order"
            report.problems.append(InputProblem(str(path), 1, msg))
        if log not in FIELD_MAPS:
            report.unused_logs[log or "unnamed"] += 1
            continue
        why = header_problem(header)
        if why is not None:  # a damaged header costs its file, not the load
            report.problems.append(InputProblem(str(path), None, why))
            continue
        tsv_groups[(log, header.signature(), s.compressed)].append((path, header))
        report.tsv_files.setdefault(log, []).append((path, header))

    def load_group(log: str, members: list[tuple[Path, ZeekHeader]], compressed: bool) -> None:
        together = [m for m in members if not care[m[0]]]
        if together:
            load_files(log, together, compressed)
        for m in members:
            level = care[m[0]]
            if level == 1:  # its group's scan failed: alone
                load_files(log, [m], compressed)
            elif level == 2 and compressed:  # alone too: up to the damage
                rows, problems = store.salvage_tsv(m[0], m[1], log)
                report.rows[log] += rows
                report.problems.extend(problems)
                store.record_input(m[0], log, rows)
            elif level >= 2:
                report.problems.append(InputProblem(str(m[0]), None, errors[m[0]]))
                store.record_input(m[0], log, 0)

    def load_files(log: str, members: list[tuple[Path, ZeekHeader]], compressed: bool) -> None:
        files = [p for p, _ in members]
        if on_file:
            on_file(files[0].name if len(files) == 1 else f"{len(files)} {log} files")
        rows, problems = store.load_tsv(files, members[0][1], log, compressed)
        report.rows[log] += rows
        if not compressed:  # lines past DuckDB's buffer are dropped without a reject
            for f in files:
                what = f"line longer than {DUCKDB_BUFFER:,} bytes: skipped"
                problems += [InputProblem(str(f), n, what, 1) for n in lines_longer_than(f)]
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
    _load_sysmon(sysmon_files, store, report, on_file)
    for s in network_files:  # staged; DNS answers they carry count as side logs
        if on_file:
            on_file(s.path.name)
        _load_network(s, store, report, sources, care)
    # 2. connections, named with what step 1 loaded
    staged = 0
    for (log, _sig, compressed), members in tsv_groups.items():
        if log == "conn":
            before = report.rows["conn"]
            load_group(log, members, compressed)
            if store.stages_conn:
                staged += report.rows["conn"] - before
    report.rows["conn"] += store.flush_raw_conn() - staged
    store.flush_flows()
    # 3. http/ssl records with no conn record become connections
    report.rows["conn_from_http_ssl"] += store.finish_load()
    return report


#: impossible records listed per file (the rest are counted)
_SHOWN_LINES = 5
#: the store's tables of Zeek TSV records, and the log each comes from
_TSV_TABLES = {"conn": "conn", "dns_lookup": "dns", "ssl": "ssl", "http": "http"}


def _locate_impossible(
    dropped: list[InputProblem], report: LoadReport, store: DuckDBStore
) -> list[InputProblem]:
    """The store's count of impossible rows per table, as lines of the Zeek TSV files
    that held them (:func:`beaconhunt.ingest.plausible.impossible_tsv_lines`); rows
    found in no such file (other formats check their records as they read them) stay
    a count for their table. Located rows leave the log's count of rows read."""
    out: list[InputProblem] = []
    for problem in dropped:
        table = problem.file.removesuffix(" records")
        log = _TSV_TABLES.get(table, "")
        if table == "dns" and report.tsv_files.get("dns"):
            continue  # the address answers of the lookups said under dns_lookup
        left = problem.skipped
        for path, header in report.tsv_files.get(log, []):
            rejected = store.rejected_lines.get(str(path), set())
            found = list(impossible_tsv_lines(path, header, log, rejected))
            shown = found[:_SHOWN_LINES]
            out += [InputProblem(str(path), n, f"{why}: record skipped", 1) for n, why in shown]
            if len(found) > len(shown):
                more = len(found) - len(shown)
                what = f"{len(found)} impossible records in all"
                out.append(InputProblem(str(path), None, what, more))
            left -= len(found)
            if log != "dns":  # a line is loaded or skipped, not both (dns counts answers)
                report.rows[log] -= len(found)
        if left > 0:
            out.append(InputProblem(problem.file, None, problem.message, left))
    return out


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


def _load_network(
    s: Sniffed,
    store: DuckDBStore,
    report: LoadReport,
    sources: Sequence[NetworkReader],
    care: Counter[Path],
) -> None:
    """Stream one firewall, proxy, flow or IDS log through its reader into staging: in
    DuckDB when the reader has SQL for it (:mod:`beaconhunt.ingest.linescan`), else in
    Python. A file DuckDB could not read (the import starts again: ``care``) is read in
    Python, which reads a damaged file up to the damage."""
    from beaconhunt.ingest.readers import network_readers

    reader = next(r for r in (*sources, *network_readers()) if r.name == s.log)
    scan = reader.line_scan(s.path) if not care[s.path] else None
    if scan is not None and holds_unit_separator(s.path, s.compressed):
        scan = None
    sink = FlowSink(
        str(s.path), reader.name,
        lambda cols: store.append_flows(reader.name, cols),
        lambda cols: store.append("dns", cols),
        flush_tls=lambda cols: store.append("ssl", cols),
    )  # fmt: skip
    if scan is not None:
        got = store.scan_lines(s.path, scan, reader.name, s.compressed, sink)
        report.rows[reader.name] += got.connections
        if got.dns_records:
            report.rows[f"{reader.name}_dns"] += got.dns_records
        report.problems.extend(got.problems)
        for reason, n in got.skipped.items():
            report.skipped_records[f"{reader.name} {reason}"] += n
        if got.connections == 0 and not got.problems:
            report.problems.append(InputProblem(str(s.path), None, "no connection records"))
        store.record_input(s.path, reader.name, got.connections)
        return
    try:
        reader.read(s.path, sink)
    except (OSError, EOFError, zlib.error) as exc:
        sink.problem(None, f"stopped reading: {exc}")
    sink.close()
    report.rows[reader.name] += sink.connections
    if sink.dns_records:
        report.rows[f"{reader.name}_dns"] += sink.dns_records
    report.problems.extend(sink.problems)
    for reason, n in sink.skipped.items():
        report.skipped_records[f"{reader.name} {reason}"] += n
    if sink.connections == 0 and not sink.problems:
        report.problems.append(InputProblem(str(s.path), None, "no connection records"))
    store.record_input(s.path, reader.name, sink.connections)


def _load_sysmon(
    files: list[Sniffed],
    store: DuckDBStore,
    report: LoadReport,
    on_file: Callable[[str], None] | None,
) -> None:
    """Stream Sysmon files into the endpoint tables, appending each table's batch
    when it is full. Batches are shared across files, so a folder of many small
    EVTX exports costs one insert per table, not one per file and table. Rows
    are counted per table as ``sysmon_<table>`` (``sysmon_net_conn``...).
    """
    batches = SysmonBatches()

    def flush(table: str) -> None:
        report.rows[f"sysmon_{table}"] += store.append_endpoint(table, batches.take(table))

    for s in files:
        if on_file:
            on_file(s.path.name)
        rows = _read_sysmon_file(s, batches, flush)
        store.record_input(s.path, "sysmon", rows)
    for table in batches.pending():
        flush(table)
    report.problems.extend(batches.problems)
    for reason, n in batches.skipped.items():
        report.skipped_records[f"sysmon {reason}"] += n


def _read_sysmon_file(s: Sniffed, batches: SysmonBatches, flush: Callable[[str], None]) -> int:
    """Read one Sysmon file into ``batches``, flushing full ones; returns its rows."""
    records, bad, used = batches.records, batches.bad, batches.used
    skipped = Counter(batches.skipped)
    if s.kind == "evtx":
        reader = read_evtx(s.path, batches, s.compressed)
    else:
        reader = read_sysmon_json(s.path, s.log or "evtx_json", batches)
    for table in reader:
        flush(table)
    records, used = batches.records - records, batches.used - used
    if used == 0 and records and batches.bad == bad:
        kinds = ", ".join(f"{n} {r}" for r, n in sorted((batches.skipped - skipped).items()))
        msg = f"no Sysmon events 1, 3, 5, 11, 13 or 22 among {records} records ({kinds})"
        batches.problems.append(InputProblem(str(s.path), None, msg))
    return used
