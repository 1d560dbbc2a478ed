"""The default engine: DuckDB, in memory or in a file (``--db``).

The store loads normalized rows (:mod:`beaconhunt.store.schema`), and answers
the two questions detection asks: per-pair aggregates, and the time series of
the candidate pairs. Values always reach SQL as parameters; the few names that
come from input files (Zeek field names) are checked against a strict pattern
and quoted before they are used as column names.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from beaconhunt.enrich.network import Networks
from beaconhunt.errors import InputProblem, StoreError
from beaconhunt.ingest.lines import DEFAULT_MAX_LINE, current_guard, valid_unicode
from beaconhunt.ingest.linescan import LineScan, LineScanResult, scan_lines
from beaconhunt.ingest.network import FLOW_COLUMNS, FlowSink
from beaconhunt.ingest.plausible import BAD_PORT_SQL, BAD_TS_SQL
from beaconhunt.ingest.zeek import ZeekHeader
from beaconhunt.normalize.destination import (
    build_domain_maps_sql,
    flows_insert_sql,
    normalized_conn_select,
    orphan_conn_inserts,
)
from beaconhunt.normalize.endpoint import ATTRIBUTION_SQL, ENDPOINT_CONN_INSERT, SYSMON_DNS_MAP
from beaconhunt.normalize.zeek_fields import FIELD_MAPS
from beaconhunt.store.schema import (
    CLOSED_STATES,
    DDL,
    MIGRATIONS,
    SCHEMA_VERSION,
    SYSMON_TABLES,
    TABLES,
)
from beaconhunt.store.sessions import DEDUPE_BY_UID, JOIN_FLOW_SPLITS

__all__ = ["DuckDBStore", "PairSeries", "ProgressFn", "ScanAborted"]

#: Called with (label, fraction done in [0, 1]) while a long query runs.
ProgressFn = Callable[[str, float], None]

_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.@\-]{1,128}$")
_TYPED = {
    "ts": "DOUBLE",
    "src_port": "INTEGER",
    "dst_port": "INTEGER",
    "duration": "DOUBLE",
    "bytes_out": "BIGINT",
    "bytes_in": "BIGINT",
    "trans_depth": "INTEGER",
}
#: Columns read leniently from TSV (a bad value is NULL, the line is kept): they
#: refine evidence but a row without them is still a connection.
_LENIENT = {"pkts_out": "BIGINT", "pkts_in": "BIGINT"}
_MAX_LINE_PROBLEMS = 5
#: A DNS log's rows into the lookup table (answers re-joined with ``,``) and its
#: address answers into ``dns``; parameters: the log's set separator (then, for
#: the answers, the address pattern). ``{src}`` holds FIELD_MAPS["dns"] columns.
_DNS_LOOKUP_INSERT = (
    "INSERT INTO _new_dns_lookup SELECT ts, uid, src_ip, resolver, lower(query), qtype, rcode,"
    " array_to_string(string_split(answer, ?), ',') FROM {src}"
    " WHERE query IS NOT NULL AND query <> ''"
)
_DNS_ANSWERS_INSERT = (
    "INSERT INTO _new_dns SELECT ts, uid, src_ip, query, a FROM"
    " (SELECT *, unnest(string_split(answer, ?)) AS a FROM {src})"
    " WHERE regexp_matches(a, ?)"
)
_IP_ANSWER = r"^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)$"


@dataclass(frozen=True, slots=True)
class PairSeries:
    """Time series of candidate pairs, flat and sorted by (pair_id, ts)."""

    pair_id: np.ndarray
    ts: np.ndarray
    bytes_out: np.ndarray
    bytes_in: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True, slots=True)
class LongRows:
    """The long connections of candidate pairs (the long-session detector's input),
    sorted by (pair_id, ts); ``n`` is the pair's count of outbound connections in
    the window, repeated on each row; ``open_state`` the state is not a closed one."""

    pair_id: np.ndarray
    ts: np.ndarray
    duration: np.ndarray
    bytes_out: np.ndarray
    bytes_in: np.ndarray
    open_state: np.ndarray
    n: np.ndarray


# addresses of the candidate pairs only: classifying every address of a large
# store costs a full scan for nothing
_DISTINCT_IPS = """
CREATE OR REPLACE TEMP TABLE _ips AS
SELECT ip, CASE WHEN regexp_full_match(ip, '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}')
                THEN (TRY_CAST(split_part(ip, '.', 1) AS UBIGINT) << 24)
                   + (TRY_CAST(split_part(ip, '.', 2) AS UBIGINT) << 16)
                   + (TRY_CAST(split_part(ip, '.', 3) AS UBIGINT) << 8)
                   + TRY_CAST(split_part(ip, '.', 4) AS UBIGINT) END AS n
FROM (SELECT src_ip AS ip FROM conn UNION SELECT dst_ip FROM conn)
WHERE ip IS NOT NULL
"""
_INTERNAL_V4 = """
CREATE OR REPLACE TEMP TABLE _internal AS
SELECT DISTINCT i.ip FROM _ips i JOIN _ranges r ON i.n BETWEEN r.lo AND r.hi
"""


_PERSISTENCE_SQL = {
    "reg_set": """SELECT * FROM reg_set WHERE lower(target_object) SIMILAR TO
        '.*(\\\\run|\\\\runonce|\\\\runservices|\\\\services\\\\|\\\\winlogon\\\\).*'""",
    "file_create": """SELECT * FROM file_create WHERE lower(target_filename) LIKE '%\\startup\\%'
        OR lower(target_filename) LIKE '%\\system32\\tasks\\%'""",
    "proc_create": """SELECT * FROM proc_create WHERE lower(command_line) SIMILAR TO
        '.*(schtasks|sc(\\.exe)?\\s|scheduledtask|new-service|register-scheduledjob).*'""",
}


_BAD_TS, _BAD_PORT = BAD_TS_SQL, BAD_PORT_SQL  # the rule: beaconhunt.ingest.plausible
#: (table, SQL condition of an impossible row, what it says) for drop_impossible.
_IMPOSSIBLE: tuple[tuple[str, str, str], ...] = (
    ("conn", f"{_BAD_TS} OR ts IS NULL OR NOT isfinite(coalesce(duration, 0))"
     " OR coalesce(duration, 0) < 0"
     f" OR {_BAD_PORT.format(c='src_port')} OR {_BAD_PORT.format(c='dst_port')}"
     " OR coalesce(bytes_out, 0) < 0 OR coalesce(bytes_in, 0) < 0"
     " OR coalesce(pkts_out, 0) < 0 OR coalesce(pkts_in, 0) < 0",
     "connections with a timestamp that is not a time (NaN, infinite or outside"
     " 1970-2100), a negative or non-finite duration, a port outside 0-65535 or a"
     " negative count"),
    ("dns_lookup", f"{_BAD_TS} OR ts IS NULL", "DNS lookups with a timestamp that is not a time"),
    ("dns", f"{_BAD_TS} OR ts IS NULL", "DNS answers with a timestamp that is not a time"),
    ("ssl", f"{_BAD_TS} OR ts IS NULL", "TLS records with a timestamp that is not a time"),
    ("http", f"{_BAD_TS} OR ts IS NULL", "HTTP records with a timestamp that is not a time"),
    *((t, f"{_BAD_TS} OR ts IS NULL", f"Sysmon {t} events with a timestamp that is not a time")
      for t in SYSMON_TABLES),
)  # fmt: skip


#: ``meta`` key of an import that has begun and not committed (see :meth:`DuckDBStore.begin_load`).
_LOAD_MARK = "load_in_progress"


class ScanAborted(StoreError):
    """DuckDB could not scan these files inside the load's transaction, which
    DuckDB then aborts: the loader rolls back and loads them more carefully."""

    def __init__(self, files: Sequence[Path], message: str) -> None:
        super().__init__(message)
        self.files = tuple(files)
        self.message = message


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextlib.contextmanager
def _duckdb_names(files: Sequence[Path]) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Names DuckDB can open ``files`` by, and the way back from them to the files.

    DuckDB takes file names as UTF-8 text, and Linux allows any bytes in a name: a
    file whose name is not UTF-8 is given as a symbolic link with a plain name in a
    temporary folder (removed afterwards). Other names are given as they are.
    """
    names: list[str] = []
    back: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        tmp: str | None = None
        for n, f in enumerate(files):
            name = str(f)
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                if tmp is None:
                    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="beaconhunt-"))
                link = os.path.join(tmp, f"{n}.log")
                os.symlink(f.resolve(), link)
                back[link] = name
                name = link
            names.append(name)
        yield names, back


def _path_key(path: Path) -> str:
    """How the inputs table names a file: its absolute path as text.

    A name that is not UTF-8 (Linux allows any bytes) is kept with its odd bytes as
    ``\\xe9`` escapes: the store holds only valid UTF-8, and the key stays unique.
    """
    return os.fsencode(path.resolve()).decode("utf-8", "backslashreplace")


def _arrow(columns: dict[str, list[Any]]) -> pa.Table:
    """A batch of reader values as an Arrow table; lone surrogates in text become U+FFFD.

    Checked only when Arrow refuses the batch, so good batches cost nothing more.
    """
    try:
        return pa.table(columns)
    except UnicodeEncodeError:
        fixed = {
            c: [valid_unicode(v) if isinstance(v, str) else v for v in vals]
            for c, vals in columns.items()
        }
        return pa.table(fixed)


def header_problem(header: ZeekHeader) -> str | None:
    """Why a Zeek TSV header cannot be scanned (a column name DuckDB would be given), or None."""
    bad = [f for f in header.fields if not _FIELD_NAME.match(f)]
    if bad:
        return f"unusable #fields header (column name {bad[0][:40]!r}): file skipped"
    return None if header.fields else "no #fields header: file skipped"


class DuckDBStore:
    """Normalized connection store on DuckDB. ``path=None`` keeps it in memory."""

    def __init__(
        self, path: Path | None = None, threads: int | None = None, read_only: bool = False
    ) -> None:
        """``read_only`` opens an existing file store without writing to it (``case``
        on a store the analyst may only read); it must already hold the tables."""
        config: dict[str, Any] = {
            # Order of rows in the store carries no meaning; letting DuckDB
            # insert in parallel makes loading ~2x faster.
            "preserve_insertion_order": False,
            # Never download extensions at run time (no network in many SOCs).
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if threads:
            config["threads"] = threads
        self.path = path
        try:
            self.con = duckdb.connect(
                str(path) if path else ":memory:", config=config, read_only=read_only
            )
            # beaconhunt draws its own progress display
            self.con.execute("SET enable_progress_bar = false")
            if not read_only:
                for ddl in (*DDL, *MIGRATIONS):
                    self.con.execute(ddl)
            self._check_version(read_only)
            for log, cols in TABLES.items():
                if log in SYSMON_TABLES:
                    continue
                body = ", ".join(f"{c} {t}" for c, t in cols.items())
                if log == "conn":
                    raw = {c: cols[c] for c in FIELD_MAPS["conn"]}
                    body = ", ".join(f"{c} {t}" for c, t in raw.items())
                    self.con.execute(f"CREATE OR REPLACE TEMP TABLE _raw_conn ({body})")
                else:
                    self.con.execute(f"CREATE OR REPLACE TEMP TABLE _new_{log} ({body})")
            flows = ", ".join(f"{c} {TABLES['conn'][c]}" for c in FLOW_COLUMNS)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _flows ({flows}, log VARCHAR)")
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {path or ':memory:'}: {exc}") from exc
        self.progress: ProgressFn | None = None
        self._maps_built = False
        self._have_flags = (False, False, False)
        #: a conn_long.log was loaded: rows repeat uids until finish_load dedupes them
        self.repeats_uids = False
        self._in_load = False
        #: every line the Zeek TSV scans of the current import rejected, per file
        self.rejected_lines: dict[str, set[int]] = {}
        #: longest Zeek TSV line read, in bytes (``beaconhunt.ingest.lines``)
        self.max_line = DEFAULT_MAX_LINE

    # -- housekeeping -----------------------------------------------------------------------

    def _check_version(self, read_only: bool = False) -> None:
        try:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        except duckdb.CatalogException as exc:  # only a read-only open skips the DDL
            raise StoreError(f"{self.path} is not a beaconhunt store (no meta table)") from exc
        if not row and read_only:
            raise StoreError(f"{self.path} is not a beaconhunt store (no schema version)")
        if not row:
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif row[0][0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"store {self.path} has schema version {row[0][0]}, this beaconhunt uses"
                f" {SCHEMA_VERSION}; hunt into a new --db file"
            )

    def close(self) -> None:
        if self._in_load:  # closed mid-load: keep nothing of it
            self.rollback_load()
        self.con.close()

    # -- one import, one transaction ---------------------------------------------------------
    #
    # Every row a load writes (connections, DNS, TLS, HTTP, endpoint events, the
    # connections derived from them) and every ``inputs`` entry commit together, or
    # not at all: a process killed at any moment leaves the store as the previous
    # import left it, and the rerun reads the same files again. The unit is the
    # whole import, not each file, because connections are named from the DNS, TLS
    # and HTTP logs of the same import (``beaconhunt.ingest.loader``): a file's
    # connections committed without their names would differ from a clean run's.
    # A marker in ``meta``, committed before the import begins and deleted by its
    # commit, tells the next run that an import was interrupted.

    def begin_load(self) -> str | None:
        """Start the import's transaction. Returns, for a file store, when an
        earlier import into it began and never committed (it was killed), else None."""
        if self._in_load:
            raise StoreError("an import into this store is already running")
        earlier = None
        if self.path is not None:
            rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [_LOAD_MARK]).fetchall()
            earlier = rows[0][0] if rows else None
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_LOAD_MARK, stamp])
        self.con.execute("BEGIN TRANSACTION")
        self._in_load = True
        self.rejected_lines.clear()
        return earlier

    def commit_load(self) -> None:
        """Commit everything the import wrote, and clear its marker, at once."""
        try:
            self.con.execute("DELETE FROM meta WHERE key = ?", [_LOAD_MARK])
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            self.rollback_load()
            where = self.path or "the in-memory store"
            raise StoreError(
                f"cannot write to {where} ({_short(str(exc))}): nothing of this import was"
                " stored; the store is as the previous import left it"
            ) from exc
        self._in_load = False

    def rollback_load(self) -> None:
        """Forget everything the import wrote (after an error or an interrupt).

        The marker stays only when the process dies; an orderly rollback says so itself."""
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")
        self._in_load = False
        self._maps_built = False
        self._have_flags = (False, False, False)
        self.repeats_uids = False
        if self.path is not None:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("DELETE FROM meta WHERE key = ?", [_LOAD_MARK])

    def already_loaded(self, path: Path) -> bool:
        """True when this exact file (path, size, mtime) was loaded into a --db store before."""
        if self.path is None:
            return False
        st = path.stat()
        rows = self.con.execute(
            "SELECT count(*) FROM inputs WHERE path = ? AND size = ? AND mtime = ?",
            [_path_key(path), st.st_size, st.st_mtime],
        ).fetchall()
        return bool(rows[0][0])

    def record_input(self, path: Path, log: str, rows: int) -> None:
        st = path.stat()
        self.con.execute(
            "INSERT INTO inputs VALUES (?, ?, ?, ?, ?, now())",
            [_path_key(path), st.st_size, st.st_mtime, log, rows],
        )

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise StoreError(f"no table {table!r}")
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    # -- running with progress ---------------------------------------------------------------

    def _execute(self, label: str, sql: str, params: Sequence[object] = ()) -> list[Any]:
        """Run one statement, reporting DuckDB's own progress while it runs."""
        with self._progress_of(label):
            return self.con.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _progress_of(self, label: str) -> Iterator[None]:
        """Report DuckDB's progress on the statements run inside as ``label``."""
        if self.progress is None:
            yield
            return
        done = threading.Event()
        report = self.progress

        def poll() -> None:
            while not done.wait(0.2):
                with contextlib.suppress(duckdb.Error):
                    pct = self.con.query_progress()
                    if pct >= 0:
                        report(label, min(1.0, pct / 100.0))

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        try:
            yield
        finally:
            done.set()
            t.join()
            report(label, 1.0)

    # -- loading ----------------------------------------------------------------------------

    def _tsv_scan(self, header: ZeekHeader, log: str, compressed: bool) -> tuple[str, list[Any]]:
        """``read_csv(...)`` projected onto schema columns, and its parameters (files first)."""
        why = header_problem(header)
        if why is not None:  # the loader checks first (header_problem): a programming error
            raise StoreError(why)
        wanted = FIELD_MAPS[log]
        by_field = {zf: col for col, zf in wanted.items()}
        columns = {f: _TYPED.get(by_field.get(f, ""), "VARCHAR") for f in header.fields}
        ztypes = dict(zip(header.fields, header.types, strict=False))
        proj = []
        for col, zf in wanted.items():
            if zf in columns:
                expr = _quote_ident(zf)
                # Zeek writes the empty marker only for containers (set, vector)
                container = ztypes.get(zf, "set").startswith(("set", "vector", "table"))
                needs_empty = columns[zf] == "VARCHAR" and container
                if needs_empty:
                    expr = f"NULLIF({expr}, ?)"
                if col in _LENIENT:
                    expr = f"TRY_CAST({expr} AS {_LENIENT[col]})"
                proj.append((col, expr, needs_empty))
            else:
                kind = TABLES[log].get(col) or TABLES["dns_lookup"].get(col, "VARCHAR")
                proj.append((col, f"NULL::{kind}", False))
        params: list[Any] = []
        select = []
        for col, expr, needs_empty in proj:
            if needs_empty:
                params.append(header.empty_field)
            select.append(f"{expr} AS {col}")
        # strict_mode off: in strict mode DuckDB records one error per surplus field of a
        # line, each with the whole line, so one line of 100,000 tabs took 22 s and
        # 3.2 GB (quadratic). Off, a line with surplus fields keeps its header's fields
        # (bad values in them still reject it); short lines are still rejected.
        # no comment character: DuckDB ends a line at a comment character anywhere in it,
        # so comment = '#' dropped every record with a '#' in a value (a URI fragment, a
        # hostile server name). Zeek's header lines are then lines of the scan: each is
        # short or fails a typed column, and _rejects() leaves out lines starting with '#'.
        scan = (
            "read_csv(?, delim = ?, quote = '', escape = '', comment = '', header = false,"
            " nullstr = ?, columns = ?, auto_detect = false, ignore_errors = true,"
            " store_rejects = true, rejects_table = '_rej', rejects_scan = '_rejscan',"
            " null_padding = false, strict_mode = false, max_line_size = ?, compression = ?)"
        )
        scan_params = [header.separator, header.unset_field, columns, max(self.max_line, 1 << 16)]
        scan_params.append("gzip" if compressed else "none")
        where = ""
        if columns[header.fields[0]] == "VARCHAR":  # a header line could pass as a record
            where = f" WHERE NOT starts_with({_quote_ident(header.fields[0])}, '#')"
        sql = f"(SELECT {', '.join(select)} FROM {scan}{where})"
        # parameters appear in text order: projection first, then the scan
        return sql, [*params, "__FILES__", *scan_params]

    def load_tsv(
        self, files: Sequence[Path], header: ZeekHeader, log: str, compressed: bool
    ) -> tuple[int, list[InputProblem]]:
        """Load Zeek TSV files that share one header into the store.

        Returns rows loaded and per-line problems (rejected lines, with
        file:line). A corrupt gzip member is salvaged up to the damage.
        """
        try:
            return self._load_tsv_once(files, header, log, compressed)
        except duckdb.Error as exc:
            if self._in_load:  # DuckDB aborted the transaction: the loader retries
                raise ScanAborted(files, f"cannot read: {_short(str(exc))}") from exc
            if len(files) > 1:  # find the bad file(s): load one by one
                rows, problems = 0, []
                for f in files:
                    r, p = self.load_tsv([f], header, log, compressed)
                    rows += r
                    problems += p
                return rows, problems
            if not compressed:
                return 0, [InputProblem(str(files[0]), None, f"cannot read: {_short(str(exc))}")]
        return self._salvage(files[0], header, log, compressed)

    def _load_tsv_once(
        self, files: Sequence[Path], header: ZeekHeader, log: str, compressed: bool
    ) -> tuple[int, list[InputProblem]]:
        self.con.execute("DROP TABLE IF EXISTS _rej")
        self.con.execute("DROP TABLE IF EXISTS _rejscan")
        with _duckdb_names(files) as (names, back):
            scan, params = self._tsv_scan(header, log, compressed)
            params = [names if p == "__FILES__" else p for p in params]
            return self._scan_tsv_into(scan, params, files, header, log, back)

    def _scan_tsv_into(
        self,
        scan: str,
        params: list[Any],
        files: Sequence[Path],
        header: ZeekHeader,
        log: str,
        back: dict[str, str],
    ) -> tuple[int, list[InputProblem]]:
        if log == "conn":
            self._ensure_maps()
            if self._have_flags[2]:
                # DuckDB plans the DNS ASOF join badly straight off a CSV scan
                # (48 s instead of 0.1 s for 160k rows): stage the rows first.
                sql = f"INSERT INTO _raw_conn SELECT * FROM {scan}"
            else:
                sql = "INSERT INTO conn BY NAME " + normalized_conn_select(scan, *self._have())
        elif log == "dns":
            # every lookup, then the address answers that name connections
            stage = f"CREATE OR REPLACE TEMP TABLE _dns_scan AS SELECT * FROM {scan}"
            self._execute("reading DNS", stage, params)
            self.con.execute(_DNS_LOOKUP_INSERT.format(src="_dns_scan"), [header.set_separator])
            sql = _DNS_ANSWERS_INSERT.format(src="_dns_scan")
            params = [header.set_separator, _IP_ANSWER]
        else:
            sql = f"INSERT INTO _new_{log} SELECT * FROM {scan}"
        name = files[0].name if len(files) == 1 else f"{len(files)} {log} files"
        rows = int(self._execute(f"reading {name}", sql, params)[0][0])
        if log == "dns":
            self.con.execute("DROP TABLE IF EXISTS _dns_scan")
        return rows, self._rejects(back)

    def _rejects(self, back: dict[str, str]) -> list[InputProblem]:
        """The lines the last scan rejected; ``back`` maps names DuckDB was given to files."""
        rows = self.con.execute(
            # one row per bad line: a line can fail several checks at once
            "SELECT s.file_path, e.line, arg_min(e.error_type, e.column_idx),"
            " arg_min(e.error_message, e.column_idx)"
            " FROM _rej e JOIN _rejscan s USING (scan_id, file_id)"
            " WHERE NOT starts_with(e.csv_line, '#')"  # Zeek's header and #close lines
            " GROUP BY s.file_path, e.line ORDER BY s.file_path, e.line"
        ).fetchall()
        out: list[InputProblem] = []
        per_file: dict[str, int] = {}
        for name, line, _etype, msg in rows:
            path = back.get(name, name)
            self.rejected_lines.setdefault(path, set()).add(int(line))
            n = per_file.get(path, 0) + 1
            per_file[path] = n
            if n <= _MAX_LINE_PROBLEMS:
                out.append(InputProblem(path, int(line), _short(msg), 1))
        for path, n in per_file.items():
            if n > _MAX_LINE_PROBLEMS:
                extra = n - _MAX_LINE_PROBLEMS
                out.append(InputProblem(path, None, f"{n} malformed lines in all", extra))
        return out

    def salvage_tsv(
        self, path: Path, header: ZeekHeader, log: str
    ) -> tuple[int, list[InputProblem]]:
        """Load the complete lines of a damaged gzip Zeek TSV file, up to the damage."""
        try:
            return self._salvage(path, header, log, True)
        except duckdb.Error as exc:
            if self._in_load:
                raise ScanAborted([path], f"cannot read: {_short(str(exc))}") from exc
            raise StoreError(f"{path}: cannot read: {_short(str(exc))}") from exc

    def _salvage(
        self, path: Path, header: ZeekHeader, log: str, compressed: bool
    ) -> tuple[int, list[InputProblem]]:
        """Read what can be read from a damaged (gzip) file, then load that."""
        with tempfile.TemporaryDirectory(prefix="beaconhunt-") as tmp:
            plain = Path(tmp) / (path.name.removesuffix(".gz") + ".salvaged")
            lines, error = _copy_until_damage(path, plain)
            problem = InputProblem(
                str(path), lines + 1, f"file is damaged ({error}); kept the {lines} lines before it"
            )
            if lines == 0:
                return 0, [problem]
            rows, problems = self._load_tsv_once([plain], header, log, False)
        if str(plain) in self.rejected_lines:  # the lines are the file's own
            self.rejected_lines[str(path)] = self.rejected_lines.pop(str(plain))
        fixed = [
            InputProblem(str(path), p.line, p.message, p.skipped)
            if p.file.endswith(".salvaged")
            else p
            for p in problems
        ]
        return rows, [problem, *fixed]

    def append(self, log: str, columns: dict[str, list[object]]) -> int:
        """Append a columnar batch of normalized records (from the JSON readers)."""
        if not columns or not columns.get("ts"):
            return 0
        schema = TABLES[log]
        arrays = {c: columns.get(c, [None] * len(columns["ts"])) for c in FIELD_MAPS[log]}
        batch = _arrow(arrays)
        self.con.register("_batch", batch)
        try:
            if log == "conn":
                cols = ", ".join(
                    f"CAST({c} AS {t})"
                    for c, t in TABLES["conn"].items()
                    if c in FIELD_MAPS["conn"]
                )
                self.con.execute(f"INSERT INTO _raw_conn SELECT {cols} FROM _batch")
            elif log == "dns":
                self.con.execute(_DNS_LOOKUP_INSERT.format(src="_batch"), [","])
                self.con.execute(_DNS_ANSWERS_INSERT.format(src="_batch"), [",", _IP_ANSWER])
            else:
                cols = ", ".join(
                    f"CAST({c} AS {t})" if c in columns else f"NULL::{t}" for c, t in schema.items()
                )
                self.con.execute(f"INSERT INTO _new_{log} SELECT {cols} FROM _batch")
        finally:
            self.con.unregister("_batch")
        return len(columns["ts"])

    def append_flows(self, log: str, columns: dict[str, list[object]]) -> int:
        """Stage a batch of connections from a network reader (:mod:`beaconhunt.ingest.network`);
        :meth:`flush_flows` names and stores them once every DNS record is loaded."""
        n = len(columns.get("ts", ()))
        if n == 0:
            return 0
        batch = _arrow({**{c: columns.get(c, [None] * n) for c in FLOW_COLUMNS},
                        "log": [log] * n})  # fmt: skip
        cols = ", ".join(f"CAST({c} AS {TABLES['conn'][c]})" for c in FLOW_COLUMNS)
        self.con.register("_fbatch", batch)
        try:
            self.con.execute(f"INSERT INTO _flows SELECT {cols}, log FROM _fbatch")
        finally:
            self.con.unregister("_fbatch")
        return n

    def scan_lines(
        self,
        path: Path,
        scan: LineScan,
        log: str,
        compressed: bool,
        sink: FlowSink | None = None,
    ) -> LineScanResult:
        """Stage the connections of one network log that DuckDB parses
        (:func:`beaconhunt.ingest.linescan.scan_lines`; ``sink`` takes the lines its
        SQL leaves to the reader's Python); :meth:`flush_flows` stores them."""
        try:
            with self._progress_of(f"reading {path.name}"):
                return scan_lines(self.con, path, scan, log, compressed=compressed,
                                  line_guard=current_guard(), sink=sink)  # fmt: skip
        except duckdb.Error as exc:
            if self._in_load:  # DuckDB aborted the transaction: the loader retries
                raise ScanAborted([path], f"cannot read: {_short(str(exc))}") from exc
            raise StoreError(f"{path}: cannot read: {_short(str(exc))}") from exc

    def flush_flows(self) -> int:
        """Store the staged network-reader connections; those without a name get
        the one the source resolved to that address (DNS, as for Zeek)."""
        if not self.con.execute("SELECT count(*) FROM _flows").fetchall()[0][0]:
            return 0
        self._ensure_maps()
        _, _, have_dns = self._have()
        for sql in JOIN_FLOW_SPLITS:  # one row per session an exporter split (sessions.py)
            self.con.execute(sql)
        rows = int(self._execute("naming destinations", flows_insert_sql(have_dns))[0][0])
        self.con.execute("DELETE FROM _flows")
        return rows

    @property
    def stages_conn(self) -> bool:
        """True when conn TSV rows go through ``_raw_conn`` (DNS naming needs it)."""
        return self._maps_built and self._have_flags[2]

    def append_endpoint(self, table: str, columns: dict[str, list[object]]) -> int:
        """Append a columnar batch of Sysmon records to one of ``SYSMON_TABLES``.

        ``columns`` maps column names to equally long lists; missing columns
        are NULL, unknown ones are an error. Returns rows appended.
        """
        schema = SYSMON_TABLES.get(table)
        if schema is None:
            raise StoreError(f"no endpoint table {table!r}")
        unknown = set(columns) - set(schema)
        if unknown:
            raise StoreError(f"unknown column(s) for {table}: {', '.join(sorted(unknown))}")
        n = len(columns.get("ts", ()))
        if n == 0:
            return 0
        batch = _arrow({c: columns.get(c, [None] * n) for c in schema})
        cols = ", ".join(f"CAST({c} AS {t})" for c, t in schema.items())
        self.con.register("_ebatch", batch)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT {cols} FROM _ebatch")
        finally:
            self.con.unregister("_ebatch")
        return n

    def drop_impossible(self) -> list[InputProblem]:
        """Delete records no sensor can write (a timestamp that is NaN, infinite or
        outside 1970-2100; a port outside 0-65535; negative byte or packet counts), one
        problem per table with their count: one bad value costs its row, never the run."""
        out: list[InputProblem] = []
        for table, check, what in _IMPOSSIBLE:
            n = int(
                self.con.execute(f"SELECT count(*) FROM {table} WHERE {check}").fetchall()[0][0]
            )
            if n:
                self.con.execute(f"DELETE FROM {table} WHERE {check}")
                out.append(InputProblem(f"{table} records", None, f"{what}: skipped", n))
        return out

    def endpoint_connections(self) -> int:
        """Turn Sysmon event 3 records of hosts no network log saw into
        connection rows (see :mod:`beaconhunt.normalize.endpoint`). Idempotent."""
        if not self.con.execute("SELECT count(*) FROM net_conn").fetchall()[0][0]:
            return 0
        self.con.execute(SYSMON_DNS_MAP)
        rows = self._execute("endpoint connections", ENDPOINT_CONN_INSERT)
        return int(rows[0][0])

    # -- what the views of one finding show -------------------------------------------------

    def finding_series(
        self, src_ip: str, dst_domain: str | None, dst_ip: str | None, dst_port: int | None,
        limit: int = 20_000,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """(start times, bytes out, bytes in) of a pair's connections, oldest first (the
        latest ``limit``); a destination is its name when it has one, else its address.
        Unknown byte counts are NaN."""
        where = "dst_domain = ?" if dst_domain else "dst_ip = ?"
        rows = self.con.execute(
            "SELECT ts, coalesce(bytes_out::DOUBLE, 'NaN'::DOUBLE) AS bytes_out,"
            " coalesce(bytes_in::DOUBLE, 'NaN'::DOUBLE) AS bytes_in"
            " FROM (SELECT ts, bytes_out, bytes_in FROM conn"
            f" WHERE src_ip = ? AND {where} AND dst_port IS NOT DISTINCT FROM ?"
            " ORDER BY ts DESC LIMIT ?) ORDER BY ts",
            [src_ip, dst_domain or dst_ip, dst_port, limit],
        ).fetchnumpy()
        return (
            np.asarray(rows["ts"], dtype=np.float64),
            np.asarray(rows["bytes_out"], dtype=np.float64),
            np.asarray(rows["bytes_in"], dtype=np.float64),
        )

    def destination_peers(
        self, dst_domain: str | None, dst_ip: str | None, limit: int = 50
    ) -> list[tuple[str, str | None, int, float, float]]:
        """The sources that talked to a destination: (source address, host name,
        connections, first, last), most connections first."""
        where = "dst_domain = ?" if dst_domain else "dst_ip = ?"
        rows = self.con.execute(
            "SELECT src_ip, any_value(src_host), count(*), min(ts), max(ts) FROM conn"
            f" WHERE {where} GROUP BY src_ip ORDER BY count(*) DESC, src_ip LIMIT ?",
            [dst_domain or dst_ip, limit],
        ).fetchall()
        return [(str(a), b, int(n), float(lo), float(hi)) for a, b, n, lo, hi in rows]

    def peers_of_destinations(
        self, domains: Sequence[str], ips: Sequence[str], limit: int = 50
    ) -> dict[tuple[str, str], list[tuple[str, str | None, int, float, float]]]:
        """:meth:`destination_peers` of many destinations in one scan: keyed by
        (``"domain"``, name) and (``"ip"``, address)."""
        rows = self.con.execute(
            "SELECT 'domain', dst_domain, src_ip, any_value(src_host), count(*), min(ts), max(ts)"
            " FROM conn WHERE list_contains(?, dst_domain) GROUP BY dst_domain, src_ip"
            " UNION ALL"
            " SELECT 'ip', dst_ip, src_ip, any_value(src_host), count(*), min(ts), max(ts)"
            " FROM conn WHERE list_contains(?, dst_ip) GROUP BY dst_ip, src_ip",
            [list(dict.fromkeys(domains)), list(dict.fromkeys(ips))],
        ).fetchall()
        out: dict[tuple[str, str], list[tuple[str, str | None, int, float, float]]] = {}
        for kind, key, a, b, n, lo, hi in rows:
            out.setdefault((kind, key), []).append((str(a), b, int(n), float(lo), float(hi)))
        for peers in out.values():
            peers.sort(key=lambda p: (-p[2], p[0]))
            del peers[limit:]
        return out

    def attribution(self, pair_ids: Sequence[int], start: float, end: float,
                    tolerance: float) -> dict[int, list[dict[str, Any]]]:  # fmt: skip
        """Which processes made the connections of the given pairs, most first.

        Each entry: host, process_guid, image, pid, user, command_line,
        parent_image, parent_command_line, current_directory, n (connections
        matched) and total (connections of the pair).
        """
        if not len(pair_ids) or not self._has_endpoint_data():
            return {}
        self.con.register("_ids", pa.table({"pair_id": np.asarray(pair_ids, dtype=np.int64)}))
        try:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _rep AS SELECT pair_id, pair_key FROM _pairs"
                " SEMI JOIN _ids USING (pair_id)"
            )
        finally:
            self.con.unregister("_ids")
        cur = self.con.execute(ATTRIBUTION_SQL, [start, end] + [tolerance] * 6)
        names = [d[0] for d in cur.description]
        out: dict[int, list[dict[str, Any]]] = {}
        for row in cur.fetchall():
            rec = dict(zip(names, row, strict=True))
            out.setdefault(int(rec.pop("pair_id")), []).append(rec)
        return out

    def persistence_candidates(self) -> dict[str, list[dict[str, Any]]]:
        """Sysmon records that may be persistence (Run keys, services, Winlogon,
        startup folder, task files, schtasks/sc/PowerShell task or service
        commands): a cheap SQL pre-selection; the rules in
        :mod:`beaconhunt.enrich.process_persistence` decide."""
        out: dict[str, list[dict[str, Any]]] = {}
        for table, sql in _PERSISTENCE_SQL.items():
            cur = self.con.execute(sql)
            names = [d[0] for d in cur.description]
            out[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return out

    def _has_endpoint_data(self) -> bool:
        n = self.con.execute(
            "SELECT (SELECT count(*) FROM net_conn) + (SELECT count(*) FROM conn"
            " WHERE log = 'sysmon')"
        ).fetchall()[0][0]
        return bool(n)

    def _have(self) -> tuple[bool, bool, bool]:
        return self._have_flags

    def _ensure_maps(self) -> None:
        """Build the uid/answer -> name maps once, before the first conn row."""
        if self._maps_built:
            return
        flags = []
        for log in ("http", "ssl", "dns"):
            n = self.con.execute(
                f"SELECT (SELECT count(*) FROM {log}) + (SELECT count(*) FROM _new_{log})"
            ).fetchall()[0][0]
            flags.append(bool(n))
        self._have_flags = (flags[0], flags[1], flags[2])
        for sql in build_domain_maps_sql(*self._have_flags):
            self.con.execute(sql)
        self._maps_built = True

    def flush_raw_conn(self) -> int:
        """Normalize the conn records appended from JSON into ``conn``."""
        self._ensure_maps()
        sql = "INSERT INTO conn BY NAME " + normalized_conn_select("_raw_conn", *self._have())
        rows = int(self._execute("naming destinations", sql)[0][0])
        self.con.execute("DELETE FROM _raw_conn")
        return rows

    def finish_load(self) -> int:
        """Turn orphan http/ssl rows into connections; file side rows. Returns rows added."""
        self._ensure_maps()
        added = 0
        have_http, have_ssl, _ = self._have_flags
        inserts = orphan_conn_inserts()
        if have_http:
            added += int(self.con.execute(inserts[0]).fetchall()[0][0])
        if have_ssl:
            added += int(self.con.execute(inserts[1]).fetchall()[0][0])
        for log in ("dns", "dns_lookup", "ssl", "http"):
            self.con.execute(f"INSERT INTO {log} SELECT * FROM _new_{log}")
            self.con.execute(f"DELETE FROM _new_{log}")
        if self.repeats_uids:  # conn_long.log: one row per connection (sessions.py)
            self.con.execute(DEDUPE_BY_UID)
            self.repeats_uids = False
        self._maps_built = False
        return added

    # -- queries for detection --------------------------------------------------------------

    def time_span(self) -> tuple[float, float] | None:
        row = self.con.execute("SELECT min(ts), max(ts) FROM conn").fetchall()[0]
        return None if row[0] is None else (float(row[0]), float(row[1]))

    def candidate_pairs(self, start: float, end: float, min_connections: int,
                        long_s: float | None = None) -> int:  # fmt: skip
        """Find the pairs with at least ``min_connections`` connections in
        ``[start, end]``, or (``long_s``) a connection lasting at least ``long_s``
        seconds (long sessions); returns how many. Creates ``_pairs(pair_id, pair_key, n)``.

        Only a count per pair, grouped by the integer ``pair_key``: any other
        aggregate over every pair of a large store (strings, medians) costs
        several times the whole scan, so details are fetched later, for the
        reported pairs only.
        """
        sql = """
CREATE OR REPLACE TEMP TABLE _pairs AS
SELECT (row_number() OVER (ORDER BY pair_key) - 1)::BIGINT AS pair_id, pair_key, n
FROM (
  SELECT pair_key, count(*) AS n FROM conn
  WHERE ts BETWEEN ? AND ?
  GROUP BY pair_key
  HAVING count(*) >= ? OR max(duration) >= ?
)
"""
        long = float("inf") if long_s is None else long_s
        self._execute("grouping connections", sql, [start, end, min_connections, long])
        return int(self.con.execute("SELECT count(*) FROM _pairs").fetchall()[0][0])

    def mark_internal(self, networks: Networks) -> None:
        """Register which addresses of the store are internal (``_internal``).

        Every address is classified, not only the candidate pairs': a DISTINCT
        over the two address columns took 0.43 s at 10M connections against
        1.23 s for the candidates' (the semi-join to find their rows costs more
        than the addresses it leaves out). IPv4 addresses are matched in SQL as
        integers against the networks' ranges; the rest (IPv6, odd strings) are
        checked in Python.
        """
        ranges = [(int(n.network_address), int(n.broadcast_address))
                  for n in networks.networks() if n.version == 4]  # fmt: skip
        self.con.execute("CREATE OR REPLACE TEMP TABLE _ranges (lo UBIGINT, hi UBIGINT)")
        if ranges:
            self.con.executemany("INSERT INTO _ranges VALUES (?, ?)", ranges)
        self.con.execute(_DISTINCT_IPS)
        self.con.execute(_INTERNAL_V4)
        others = [r[0] for r in self.con.execute(
            "SELECT ip FROM _ips WHERE n IS NULL").fetchall()]  # fmt: skip
        inside = networks.internal_of(others)
        if inside:
            self.con.register("_more", pa.table({"ip": inside}))
            self.con.execute("INSERT INTO _internal SELECT ip FROM _more")
            self.con.unregister("_more")

    def pair_series(self, start: float, end: float) -> PairSeries:
        """The outbound time series (ts, bytes out/in) of every candidate pair,
        sorted by (pair_id, ts). Outbound: an internal source, and an external
        destination or a proxied request (checked per row: a domain can
        resolve to internal addresses too)."""
        sql = """
SELECT p.pair_id, c.ts, c.bytes_out::DOUBLE AS bytes_out, c.bytes_in::DOUBLE AS bytes_in
FROM conn c
JOIN _pairs p ON c.pair_key = p.pair_key
JOIN _internal s ON c.src_ip = s.ip
LEFT JOIN _internal d ON c.dst_ip = d.ip
WHERE c.ts BETWEEN ? AND ? AND (c.proxied OR d.ip IS NULL)
ORDER BY p.pair_id, c.ts
"""
        # con.sql, not con.execute: DuckDB 2.0's DB-API Arrow path can lose ORDER BY
        # when preserve_insertion_order is off.
        tbl = self.con.sql(sql, params=[start, end]).to_arrow_table()
        pid = np.asarray(tbl.column("pair_id").to_numpy(), dtype=np.int64)
        ts = np.asarray(tbl.column("ts").to_numpy(), dtype=np.float64)
        bo = np.asarray(tbl.column("bytes_out").to_numpy(zero_copy_only=False), dtype=np.float64)
        bi = np.asarray(tbl.column("bytes_in").to_numpy(zero_copy_only=False), dtype=np.float64)
        starts = np.flatnonzero(np.diff(pid, prepend=-1)) if pid.size else np.empty(0, np.int64)
        ids = pid[starts]
        offsets = np.append(starts, pid.size).astype(np.int64)
        return PairSeries(ids, ts, bo, bi, offsets)

    def long_connections(self, start: float, end: float, min_duration: float) -> LongRows:
        """The outbound connections lasting at least ``min_duration`` seconds of every
        candidate pair, sorted by (pair_id, ts) (see :class:`LongRows`)."""
        closed = ", ".join(f"'{st}'" for st in CLOSED_STATES)
        sql = f"""
SELECT p.pair_id, c.ts, c.duration, c.bytes_out::DOUBLE AS bytes_out,
       c.bytes_in::DOUBLE AS bytes_in,
       coalesce(c.conn_state NOT IN ({closed}), true) AS open_state, p.n
FROM conn c
JOIN _pairs p ON c.pair_key = p.pair_key
JOIN _internal s ON c.src_ip = s.ip
LEFT JOIN _internal d ON c.dst_ip = d.ip
WHERE c.ts BETWEEN ? AND ? AND c.duration >= ? AND (c.proxied OR d.ip IS NULL)
ORDER BY p.pair_id, c.ts
"""
        tbl = self.con.sql(sql, params=[start, end, min_duration]).to_arrow_table()

        def col(name: str, dtype: Any) -> np.ndarray:
            return np.asarray(tbl.column(name).to_numpy(zero_copy_only=False), dtype=dtype)

        return LongRows(col("pair_id", np.int64), col("ts", np.float64),
                        col("duration", np.float64), col("bytes_out", np.float64),
                        col("bytes_in", np.float64), col("open_state", bool),
                        col("n", np.int64))  # fmt: skip

    def pair_details(self, pair_ids: Sequence[int], start: float, end: float,
                     max_ips: int = 5) -> dict[int, dict[str, Any]]:  # fmt: skip
        """Names and addresses of the given pairs (the reported ones): source
        IP and host, destination, port, protocol, the domain and how it was
        learnt, whether proxied, and the most used destination IPs."""
        if not len(pair_ids):
            return {}
        self.con.register("_ids", pa.table({"pair_id": np.asarray(pair_ids, dtype=np.int64)}))
        try:
            rows = self.con.execute(
                """
SELECT pair_id, any_value(src_ip), any_value(dst_port), any_value(proto),
       any_value(src_host), any_value(dst_domain), any_value(domain_source),
       bool_or(proxied), list(dst_ip ORDER BY n DESC, dst_ip)[1:?]
FROM (
  SELECT p.pair_id, c.dst_ip, any_value(c.src_ip) AS src_ip, any_value(c.dst_port) AS dst_port,
         any_value(c.proto) AS proto, any_value(c.src_host) AS src_host,
         any_value(c.dst_domain) AS dst_domain, any_value(c.domain_source) AS domain_source,
         bool_or(c.proxied) AS proxied, count(*) AS n
  FROM conn c JOIN (SELECT * FROM _pairs SEMI JOIN _ids USING (pair_id)) p
    ON c.pair_key = p.pair_key
  WHERE c.ts BETWEEN ? AND ?
  GROUP BY ALL
) GROUP BY pair_id
""",
                [max_ips, start, end],
            ).fetchall()
        finally:
            self.con.unregister("_ids")
        keys = ("src_ip", "dst_port", "proto", "src_host", "dst_domain", "domain_source",
                "proxied", "dst_ips")  # fmt: skip
        return {int(r[0]): dict(zip(keys, r[1:], strict=True)) for r in rows}


def _short(msg: str) -> str:
    msg = " ".join(str(msg).split())
    return msg[:160]


def _copy_until_damage(src: Path, dst: Path) -> tuple[int, str]:
    """Copy complete lines of a (gzip) file until it ends or is found damaged."""
    lines = 0
    error = "unexpected end of data"
    pending = b""
    with dst.open("wb") as out:
        try:
            with gzip.open(src, "rb") as fh:
                while chunk := fh.read1(1 << 16):
                    data = pending + chunk
                    cut = data.rfind(b"\n") + 1
                    out.write(data[:cut])
                    lines += data[:cut].count(b"\n")
                    pending = data[cut:]
            error = "last line incomplete" if pending else "no damage found"
        except (EOFError, OSError, zlib.error) as exc:
            error = f"gzip: {exc}" if str(exc) else "gzip data ends early"
    return lines, error
