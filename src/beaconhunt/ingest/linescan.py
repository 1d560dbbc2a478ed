"""Network logs read by DuckDB: a reader's SQL over the lines of a file.

A line-oriented format (a proxy, firewall or flow log, Suricata's EVE) is
parsed fastest by the engine that stores it: DuckDB splits the file into
lines on every core, and a reader's SQL turns each line into a connection, a
skipped record or a problem, at several hundred thousand lines a second where
a per-line Python loop manages tens of thousands. A reader says how in a
:class:`LineScan` (:meth:`~beaconhunt.ingest.network.NetworkReader.line_scan`);
:func:`scan_lines` runs it and keeps everything the Python path promises:

* **Line numbers.** The reader's SQL sees the relation ``lines``: ``n``
  (BIGINT, the line's number from 1) and ``line`` (VARCHAR, without its line
  end; NULL for an empty line). ``row_number() OVER ()`` over a scan that
  keeps the file's order costs nothing measurable (2.2 s with or without it
  for 10M lines, 2026-12-03) and is exact: lines DuckDB itself rejects are
  listed with their numbers and the rest are counted past them.
* **Bounded lines.** A line longer than the load's limit
  (:mod:`beaconhunt.ingest.lines`) is skipped and told to the load's guard,
  as for a file read in Python.
* **Bytes that are not UTF-8.** DuckDB rejects such a line; it is read again
  from the file, decoded with replacement characters as ``open_text`` does,
  and parsed by the same SQL, so it is read exactly as the Python reader
  would read it.
* **Impossible records** (a time, port, duration or count no sensor writes:
  :mod:`beaconhunt.ingest.plausible`) are problems of their line, with the
  same message as :class:`~beaconhunt.ingest.network.FlowSink` gives.
* **Names** are lower case without a trailing dot and ``proxied`` is false
  when the reader says nothing, as the sink stores them.

What the reader's SQL returns, one row per line it keeps (lines it returns no
row for are ignored: comments, blank lines, directives):

==================  =====================================================
``n``               the line number (from ``lines``)
FLOW_COLUMNS        any of them, by name; missing ones are NULL
``skip``            the reason a valid record is not a connection
                    (counted, as ``FlowSink.skip``), else NULL
``problem``         why the line is malformed (reported with its line, as
                    ``FlowSink.problem``), else NULL
``python_line``     the line itself, when the SQL leaves it to the reader's
                    Python (:attr:`LineScan.python`); the row's other columns
                    are then ignored
==================  =====================================================

**Lines left to Python.** A reader's SQL need not say everything its Python
says: it reads the usual shape of a line (a strict regular expression, plain
casts) and hands every other line to ``LineScan.python``, the per-line part of
the reader's :meth:`~beaconhunt.ingest.network.NetworkReader.read`, which
writes to a :class:`~beaconhunt.ingest.network.FlowSink` as it always does.
The unusual line is then read exactly as the Python reader reads it, by the
same code, and the SQL stays simple enough to run at the engine's speed
(worded problems, odd encodings of a value and rare layouts cost nothing in
SQL). Problems from both are told in line order, as one reader would.
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from beaconhunt.errors import InputProblem
from beaconhunt.ingest.lines import DEFAULT_MAX_LINE, LineGuard, NumberedLines
from beaconhunt.ingest.network import FLOW_COLUMNS, MAX_PROBLEMS, FlowSink
from beaconhunt.ingest.plausible import BAD_TS_SQL, PORT_MAX, connection_problem
from beaconhunt.store.schema import TABLES

__all__ = ["LineScan", "LineScanResult", "holds_unit_separator", "scan_lines"]


@dataclass(frozen=True)
class LineScan:
    """How DuckDB reads one file of a format: ``select`` over ``lines(n, line)``.

    ``params`` are the select's positional parameters, in text order. ``notes``
    is called with the result and returns problems that say something about the
    file as a whole (a layout the reader cannot use, a missing event type).
    """

    select: str
    params: tuple[object, ...] = ()
    notes: Callable[[LineScanResult], list[InputProblem]] | None = None
    #: reads the lines returned as ``python_line`` (number, text without its line
    #: end, in file order) into the sink, as :meth:`NetworkReader.read` would
    python: Callable[[Iterable[tuple[int, str]], FlowSink], None] | None = None


@dataclass
class LineScanResult:
    """What one file gave: connections staged, records skipped by reason, problems."""

    file: str
    connections: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[InputProblem] = field(default_factory=list)
    #: lines that were problems (shown or not)
    bad_lines: int = 0
    #: DNS answers the reader's Python gave (``FlowSink.dns``)
    dns_records: int = 0


_COUNTS = ("bytes_out", "bytes_in", "pkts_out", "pkts_in")
#: the columns the sink's plausibility rule looks at, in :func:`connection_problem`'s order
_PLAUSIBLE_COLUMNS = ("ts", "src_port", "dst_port", "duration", *_COUNTS)
#: rows of lines left to Python fetched at a time
_PYTHON_SLICE = 10_000
#: the shortest ``max_line_size`` DuckDB is given (bytes)
_DUCKDB_MIN_LINE = 1 << 16


def holds_unit_separator(path: Path, compressed: bool) -> bool:
    """Whether ``path`` holds the byte 0x1f anywhere: the separator of DuckDB's line
    scan, at which it would cut a line without saying so. Such a file (an attacker
    can put the byte in a URL or user agent) is read in Python instead. A search of
    the bytes, at several hundred MB/s; a gzip file is decompressed to search it."""
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                if b"\x1f" in chunk:
                    return True
    except (OSError, EOFError, zlib.error):
        return True  # damaged: Python reads it up to the damage
    return False


def _lines_scan(compressed: bool) -> str:
    # one VARCHAR column: a separator no log uses, no quoting, no comment character.
    # Line ends: DuckDB takes the kind of the first line end for the whole file unless
    # told; told CRLF it ends a line at \r\n or \n, as Python does, so a file of \n
    # lines with \r\n ones appended keeps its line numbers (told nothing, it would
    # count each \r\n after a first \n as two lines). A lone \r, which Python also
    # ends a line at, is the one case left: such a line reads as an empty one.
    return (
        "read_csv(?, columns = {'line': 'VARCHAR'}, header = false, delim = '\x1f',"
        " new_line = '\\r\\n',"
        " quote = '', escape = '', comment = '', auto_detect = false, ignore_errors = true,"
        " store_rejects = true, rejects_table = '_ls_rej', rejects_scan = '_ls_rejscan',"
        " strict_mode = false, null_padding = false, max_line_size = ?,"
        f" compression = '{'gzip' if compressed else 'none'}')"
    )


def _column_exprs(present: Sequence[str]) -> list[str]:
    """The ``_flows`` columns from the scanned row, as the sink would store them."""
    out = []
    for c in FLOW_COLUMNS:
        kind = TABLES["conn"][c]
        if c not in present:
            out.append("false" if c == "proxied" else f"NULL::{kind}")
        elif c == "dst_domain":
            out.append("CASE WHEN dst_domain <> '' THEN rtrim(lower(dst_domain), '.') END")
        elif c == "domain_source":
            src = "domain_source" if "dst_domain" in present else "NULL"
            guard = "dst_domain <> ''" if "dst_domain" in present else "false"
            out.append(f"CASE WHEN {guard} THEN CAST({src} AS VARCHAR) END")
        elif c == "proxied":
            out.append("coalesce(CAST(proxied AS BOOLEAN), false)")
        else:
            out.append(f"CAST({c} AS {kind})")
    return out


def scan_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    scan: LineScan,
    log: str,
    *,
    compressed: bool,
    line_guard: LineGuard | None = None,
    insert: str = "_flows",
    sink: FlowSink | None = None,
) -> LineScanResult:
    """Run ``scan`` over ``path`` and stage its connections in table ``insert``
    (``FLOW_COLUMNS`` then ``log``). Problems are per line, the first
    :data:`~beaconhunt.ingest.network.MAX_PROBLEMS` shown and the rest counted;
    too-long lines are told to ``line_guard`` (the load's). Lines the SQL leaves
    to Python go through ``scan.python`` into ``sink`` (required then; closed
    here). DuckDB errors (a file it cannot read at all) propagate."""
    limit = line_guard.limit if line_guard is not None else DEFAULT_MAX_LINE
    result = LineScanResult(str(path))
    con.execute("DROP TABLE IF EXISTS _ls_rej")
    con.execute("DROP TABLE IF EXISTS _ls_rejscan")
    # DuckDB's limit is in bytes and has a floor; a lower limit in characters is a filter
    floor = max(limit, _DUCKDB_MIN_LINE)
    raw = f"SELECT row_number() OVER () AS n, line FROM {_lines_scan(compressed)}"
    short = f" WHERE coalesce(length(line) <= {int(limit)}, true)" if limit < floor else ""
    # the lines are numbered once, into a materialized CTE, and the reader's SQL runs
    # over that: over the scan itself it would run in the numbering's one thread
    # (row_number() OVER () keeps the file's order in a single stream), over the CTE
    # on every core. 2 cores, 100 hosts, 2026-12-05: Squid 0.95 -> 0.65 s, PAN-OS
    # 1.49 -> 0.91 s. The lines are held in memory for the statement (the file's size)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ls AS WITH lines AS MATERIALIZED ({raw}{short})"
        f" SELECT * FROM ({scan.select})",
        [str(path), floor, *scan.params],
    )
    rejected = con.execute("SELECT line, error_type FROM _ls_rej ORDER BY line").fetchall()
    missing = [int(n) for n, _ in rejected]
    too_long = [int(n) for n, kind in rejected if kind == "LINE SIZE OVER MAXIMUM"]
    undecoded = [int(n) for n, kind in rejected if kind != "LINE SIZE OVER MAXIMUM"]
    if missing:
        _renumber(con, missing)
    if short:  # lines under DuckDB's floor and over the limit: their numbers, once more
        too_long += [
            int(r[0])
            for r in con.execute(
                f"SELECT n FROM ({raw}) WHERE length(line) > ?", [str(path), floor, limit]
            ).fetchall()
        ]
    if undecoded:
        _parse_decoded(con, path, undecoded, compressed, scan, limit, too_long)
    if line_guard is not None:
        for n in sorted(too_long):
            line_guard.record(str(path), n)
    names = {r[0] for r in con.execute("DESCRIBE _ls").fetchall()}
    late = _read_in_python(con, scan, sink, result) if "python_line" in names else []
    present = [c for c in FLOW_COLUMNS if c in names]
    kept = " AND ".join(f"{c} IS NULL" for c in ("problem", "skip") if c in names) or "true"
    impossible = _impossible(names)
    cols = ", ".join(_column_exprs(present))
    result.connections += int(
        con.execute(
            f"INSERT INTO {insert} SELECT {cols}, ? FROM _ls WHERE {kept} AND NOT ({impossible})",
            [log],
        ).fetchall()[0][0]
    )
    if "skip" in names:
        unproblematic = " AND problem IS NULL" if "problem" in names else ""
        for reason, count in con.execute(
            f"SELECT skip, count(*) FROM _ls WHERE skip IS NOT NULL{unproblematic} GROUP BY skip"
        ).fetchall():
            result.skipped[str(reason)] += int(count)
    bad: list[tuple[int, str]] = []
    if "problem" in names:
        sql = "SELECT n, problem FROM _ls WHERE problem IS NOT NULL"
        bad += [(int(n), str(msg)) for n, msg in con.execute(sql).fetchall()]
    checked = ", ".join(c if c in names else f"NULL AS {c}" for c in _PLAUSIBLE_COLUMNS)
    for row in con.execute(
        f"SELECT n, {checked} FROM _ls WHERE {kept} AND ({impossible})"
    ).fetchall():
        bad.append((int(row[0]), connection_problem(*row[1:]) or "record has no timestamp"))
    con.execute("DROP TABLE IF EXISTS _ls")
    bad += late
    bad.sort()
    result.bad_lines += len(bad)
    for n, msg in bad[:MAX_PROBLEMS]:
        result.problems.append(InputProblem(str(path), n, msg, 1))
    if result.bad_lines > MAX_PROBLEMS:
        rest = result.bad_lines - MAX_PROBLEMS
        result.problems.append(
            InputProblem(str(path), None, "further malformed lines not shown", rest)
        )
    if scan.notes is not None:
        result.problems.extend(scan.notes(result))
    return result


def _read_in_python(
    con: duckdb.DuckDBPyConnection, scan: LineScan, sink: FlowSink | None, result: LineScanResult
) -> list[tuple[int, str]]:
    """Hand the lines the SQL left to Python (``python_line``) to ``scan.python`` and
    take them out of ``_ls``; what the sink got is added to ``result``. Returns the
    sink's shown problems as ``(line, message)``: told with the SQL's in line order
    (the sink shows its first ones, which are the first of its lines); the count of
    the rest goes to ``result.bad_lines``."""
    if scan.python is None or sink is None:
        raise ValueError("a line scan that returns python_line needs its python reader and a sink")
    # numbered in line order in a table of their own and fetched a slice at a time,
    # each slice a whole query: the sink writes to this connection while the lines are
    # read, which DuckDB refuses while a result is still open (a slice is found by its
    # numbers, ``i``, not by sorting what is left of the table again)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _ls_py AS SELECT row_number() OVER (ORDER BY n) AS i,"
        " n, python_line FROM _ls WHERE python_line IS NOT NULL"
    )
    con.execute("DELETE FROM _ls WHERE python_line IS NOT NULL")
    sql = "SELECT n, python_line FROM _ls_py WHERE i > ? AND i <= ? ORDER BY i"

    def rows() -> Iterator[tuple[int, str]]:
        done = 0
        while chunk := con.execute(sql, [done, done + _PYTHON_SLICE]).fetchall():
            done += _PYTHON_SLICE
            for n, text in chunk:
                yield int(n), str(text)

    try:
        scan.python(NumberedLines(sink.file, rows()), sink)
        sink.close()
    finally:
        con.execute("DROP TABLE IF EXISTS _ls_py")
    result.connections += sink.connections
    result.dns_records += sink.dns_records
    result.skipped.update(sink.skipped)
    shown = [(p.line, p.message) for p in sink.problems if p.line is not None]
    result.bad_lines += sink.bad_lines - len(shown)
    return shown


def _renumber(con: duckdb.DuckDBPyConnection, missing: Sequence[int]) -> None:
    """Number the rows of ``_ls`` by the file's lines when DuckDB left out ``missing``
    (sorted): the row numbered ``n`` is on line ``n + k``, ``k`` the number of left-out
    lines ``m_i`` (the ``i``-th, from 1) with ``m_i - i < n``."""
    gaps = [m - i for i, m in enumerate(missing, start=1)]
    table = pa.table({"g": pa.array(gaps, pa.int64()),
                      "k": pa.array(range(1, len(gaps) + 1), pa.int64())})  # fmt: skip
    con.register("_ls_gaps", table)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ls AS SELECT * REPLACE (l.n + coalesce(g.k, 0) AS n)"
            " FROM _ls l ASOF LEFT JOIN (SELECT g, max(k) AS k FROM _ls_gaps GROUP BY g) g"
            " ON l.n > g.g"
        )
    finally:
        con.unregister("_ls_gaps")


def _parse_decoded(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    numbers: Sequence[int],
    compressed: bool,
    scan: LineScan,
    limit: int,
    too_long: list[int],
) -> None:
    """Read lines ``numbers`` of ``path`` again, decoded as ``open_text`` decodes them
    (bad bytes replaced), and add what ``scan`` makes of them to ``_ls``. (A format
    whose SQL reads a line in the light of earlier ones, a header, sees these alone.)"""
    wanted = set(numbers)
    got: dict[int, str | None] = {}
    opener = gzip.open if compressed else open
    with opener(path, "rb") as fh:
        for i, data in enumerate(fh, start=1):
            if i in wanted:
                text = data.decode("utf-8", errors="replace").rstrip("\r\n")
                if len(text) > limit:
                    too_long.append(i)
                else:
                    got[i] = text or None
                if len(got) + len(too_long) >= len(wanted):
                    break
    if not got:
        return
    lines = pa.table({"n": pa.array(list(got), pa.int64()),
                      "line": pa.array(list(got.values()), pa.string())})  # fmt: skip
    con.register("_ls_decoded", lines)
    try:
        con.execute(
            f"INSERT INTO _ls BY NAME WITH lines AS (SELECT * FROM _ls_decoded)"
            f" SELECT * FROM ({scan.select})",
            list(scan.params),
        )
    finally:
        con.unregister("_ls_decoded")


def _impossible(names: set[str]) -> str:
    """The sink's plausibility rule (:func:`connection_problem`) as a predicate over the
    scanned row's columns ``names``; :func:`connection_problem` then words the message
    for the few rows it selects."""
    if "ts" not in names:
        return "true"
    terms = [f"ts IS NULL OR {BAD_TS_SQL}"]
    terms += [f"NOT coalesce({c} BETWEEN 0 AND {PORT_MAX}, true)"
              for c in ("src_port", "dst_port") if c in names]  # fmt: skip
    if "duration" in names:
        terms.append("NOT coalesce(duration >= 0 AND isfinite(duration), true)")
    terms += [f"NOT coalesce({c} >= 0, true)" for c in _COUNTS if c in names]
    return " OR ".join(f"({t})" for t in terms)
