"""What no sensor writes: the bounds a record's time, ports and counts hold.

A record with a timestamp that is NaN, infinite or outside 1970-2100, a port outside
0-65535, a negative or non-finite duration, or a negative byte or packet count is
impossible: it is skipped, and said with its file and line, and never costs the run.

One rule, in two forms:

* Python (:func:`connection_problem`, :func:`time_problem`), for records made in Python:
  :class:`~beaconhunt.ingest.network.FlowSink` checks every connection, DNS answer and
  TLS session a network reader gives it (so a new reader gets the check without a line
  of code, and the line from :func:`beaconhunt.ingest.lines.current_line`), and the Zeek
  JSON reader checks every record.
* SQL (:data:`BAD_TS_SQL`, :data:`BAD_PORT_SQL`), for rows DuckDB reads itself (Zeek TSV)
  and as the store's backstop after every import
  (:meth:`beaconhunt.store.duckdb.DuckDBStore.drop_impossible`); the lines of Zeek TSV
  rows it drops are then found by :func:`impossible_tsv_lines`, which reads only the
  files that held such rows.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from beaconhunt.normalize.zeek_fields import FIELD_MAPS

if TYPE_CHECKING:  # zeek.py checks its records with this module
    from beaconhunt.ingest.zeek import ZeekHeader

__all__ = [
    "BAD_PORT_SQL",
    "BAD_TS_SQL",
    "PORT_MAX",
    "TS_MAX",
    "TS_MIN",
    "connection_problem",
    "impossible_tsv_lines",
    "time_problem",
]

#: Earliest and latest believable timestamps (1970-01-01 and 2100-01-01 UTC).
TS_MIN, TS_MAX = 0.0, 4_102_444_800.0
PORT_MAX = 65_535
BAD_TS_SQL = f"NOT (isfinite(ts) AND ts BETWEEN {TS_MIN} AND {TS_MAX})"
BAD_PORT_SQL = f"NOT (coalesce({{c}}, 0) BETWEEN 0 AND {PORT_MAX})"


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)  # a port or count read as a number: 70000, not 70000.0
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def time_problem(ts: float | None) -> str | None:
    """Why ``ts`` (epoch seconds) is no time a sensor writes, or None."""
    if ts is not None and TS_MIN <= ts <= TS_MAX:  # NaN fails every comparison
        return None
    if ts is None:
        return "record has no timestamp"
    return f"timestamp {_shown(ts)} is not a time (NaN, infinite or outside 1970-2100)"


def connection_problem(
    ts: float | None,
    src_port: float | None,
    dst_port: float | None,
    duration: float | None,
    *counts: float | None,
) -> str | None:
    """Why a connection is impossible (time, ports, duration, byte and packet
    ``counts``), or None. The good case costs a few comparisons."""
    if ts is None or not TS_MIN <= ts <= TS_MAX:
        return time_problem(ts)
    for name, port in (("source port", src_port), ("destination port", dst_port)):
        if port is not None and not 0 <= port <= PORT_MAX:
            return f"{name} {_shown(port)} is outside 0-65535"
    if duration is not None and not 0 <= duration < math.inf:
        return f"duration {_shown(duration)} is negative or not finite"
    for count in counts:
        if count is not None and not count >= 0:
            return f"byte or packet count {_shown(count)} is negative"
    return None


def _number(text: str, unset: str) -> float | None:
    """A field's number, None when unset; ValueError when it is none (DuckDB rejected
    such a line itself)."""
    if text == unset or text == "":
        return None
    return float(text)


def impossible_tsv_lines(
    path: Path, header: ZeekHeader, log: str, rejected: Collection[int] = ()
) -> Iterator[tuple[int, str]]:
    """(line, why) of each record of a Zeek TSV file that :func:`connection_problem`
    (conn) or :func:`time_problem` (other logs) rejects; ``rejected`` lines (the scan's
    rejects) are not looked at. Reads the whole file: called only for files whose log
    held rows the store dropped."""
    from beaconhunt.ingest.sniff import open_text  # sniff imports the readers

    where = {f: i for i, f in enumerate(header.fields)}
    mapping = FIELD_MAPS[log]
    cols = ("ts", "src_port", "dst_port", "duration", "bytes_out", "bytes_in", "pkts_out",
            "pkts_in") if log == "conn" else ("ts",)  # fmt: skip
    at = [where.get(mapping.get(c, ""), -1) for c in cols]
    sep, unset = header.separator, header.unset_field
    with open_text(path) as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith("#") or n in rejected:
                continue
            fields = line.rstrip("\r\n").split(sep)
            try:
                values = [_number(fields[i], unset) if 0 <= i < len(fields) else None for i in at]
            except ValueError:
                continue
            why = connection_problem(*values) if log == "conn" else time_problem(values[0])
            if why is not None:
                yield n, why
