"""Write logs exactly as Zeek does: TSV with its header block, or JSON lines.

The field lists and types are copied from real Zeek output (RITA's test data,
Zeek 5/6 with the JA3 package: ``conn``, ``dns``, ``ssl``, ``http``). TSV files
start with ``#separator \\x09``, ``#set_separator``, ``#empty_field``,
``#unset_field``, ``#path``, ``#open``, ``#fields`` and ``#types`` and end with
``#close``; unset values print as ``-`` and empty containers as ``(empty)``.
JSON lines use Zeek's dotted keys (``id.orig_h``), omit unset fields, print
containers as arrays and add ``_path`` like JSON-streaming exports do.
Rotated output mimics Zeek's log archive: one gzip file per log and hour,
``conn.00:00:00-01:00:00.log.gz``, in one folder per day (``2026-11-03/``).
Gzip headers carry no timestamp or name, so output is byte-for-byte
reproducible.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["SCHEMAS", "LogFormat", "LogFrame", "write_log"]

LogFormat = Literal["tsv", "json"]


def _schema(fields: str, types: str) -> list[tuple[str, str]]:
    """Pair a ``#fields`` line with its ``#types`` line (both space-separated here)."""
    names, kinds = fields.split(), types.split()
    assert len(names) == len(kinds), (names, kinds)
    return list(zip(names, kinds, strict=True))


_ID_F = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p"
_ID_T = "time string addr port addr port"

#: Field name and Zeek type of every column, per log, in Zeek's order.
SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "conn": _schema(
        f"{_ID_F} proto service duration orig_bytes resp_bytes conn_state local_orig local_resp "
        "missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents",
        f"{_ID_T} enum string interval count count string bool bool count string count count "
        "count count set[string]",
    ),
    "dns": _schema(
        f"{_ID_F} proto trans_id rtt query qclass qclass_name qtype qtype_name rcode rcode_name "
        "AA TC RD RA Z answers TTLs rejected",
        f"{_ID_T} enum count interval string count string count string count string bool bool "
        "bool bool count vector[string] vector[interval] bool",
    ),
    "ssl": _schema(
        f"{_ID_F} version cipher curve server_name resumed last_alert next_protocol established "
        "cert_chain_fuids client_cert_chain_fuids subject issuer client_subject client_issuer "
        "validation_status ja3 ja3s",
        f"{_ID_T} string string string string bool string string bool vector[string] "
        "vector[string] string string string string string string string",
    ),
    "http": _schema(
        f"{_ID_F} trans_depth method host uri referrer version user_agent origin "
        "request_body_len response_body_len status_code status_msg info_code info_msg tags "
        "username password proxied orig_fuids orig_filenames orig_mime_types resp_fuids "
        "resp_filenames resp_mime_types",
        f"{_ID_T} count string string string string string string string count count count "
        "string count string set[enum] string string set[string] vector[string] vector[string] "
        "vector[string] vector[string] vector[string] vector[string]",
    ),
}

_FLOAT = ("time", "interval")
_INT = ("count", "port")


@dataclass(frozen=True, slots=True)
class LogFrame:
    """One log ready to write: rows already in output order.

    Columns are numpy arrays named like the Zeek fields: floats (``nan`` =
    unset) for time/interval, ints (``-1`` = unset) for count/port, objects
    (``None`` = unset, ``""`` = empty container, ``"T"``/``"F"`` for bools,
    comma-joined text for containers) for the rest. Fields without a column are
    unset on every row.
    """

    path: str
    columns: dict[str, NDArray[Any]]
    ts: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.ts.size)


def write_log(
    frame: LogFrame, out_dir: Path, fmt: LogFormat, rotate: bool, span: tuple[float, float]
) -> list[Path]:
    """Write ``frame`` under ``out_dir`` (one file, or hourly gzip archives); return paths.

    ``span`` is the capture's (start, end), used for ``#open``/``#close`` of an
    unrotated file. An empty log still gets its header, like Zeek's.
    """
    lines = _json_lines(frame) if fmt == "json" else _tsv_lines(frame)
    if not rotate:
        path = out_dir / f"{frame.path}.log"
        path.write_bytes(_document(frame.path, lines, fmt, span).encode())
        return [path]
    hours = np.floor(frame.ts / 3600.0).astype(np.int64)
    order = np.argsort(hours, kind="stable")  # keeps the output order inside each hour
    hours, lines = hours[order], [lines[i] for i in order.tolist()]
    bounds = np.flatnonzero(np.diff(hours)) + 1
    written: list[Path] = []
    for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(lines)], strict=True):
        if a == b:
            continue
        start = float(hours[a]) * 3600.0
        written.append(_write_hour(frame.path, lines[a:b], fmt, start, out_dir))
    return written


def _write_hour(
    path: str, lines: Sequence[str], fmt: LogFormat, start: float, out_dir: Path
) -> Path:
    """One hourly archive, named and placed as Zeek's log-archival does."""
    t0 = datetime.fromtimestamp(start, UTC)
    t1 = datetime.fromtimestamp(start + 3600.0, UTC)
    folder = out_dir / t0.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path}.{t0:%H:%M:%S}-{t1:%H:%M:%S}.log.gz"
    text = _document(path, lines, fmt, (start, start + 3600.0))
    target.write_bytes(gzip.compress(text.encode(), compresslevel=6, mtime=0))
    return target


def _stamp(epoch: float) -> str:
    """Zeek's ``#open``/``#close`` time format (UTC)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d-%H-%M-%S")


def _document(path: str, lines: Sequence[str], fmt: LogFormat, span: tuple[float, float]) -> str:
    """The whole file: header block + rows + ``#close`` (TSV), or bare rows (JSON)."""
    body = "".join(line + "\n" for line in lines)
    if fmt == "json":
        return body
    fields = SCHEMAS[path]
    head = (
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        f"#path\t{path}\n#open\t{_stamp(span[0])}\n"
        f"#fields\t{chr(9).join(n for n, _ in fields)}\n"
        f"#types\t{chr(9).join(t for _, t in fields)}\n"
    )
    return f"{head}{body}#close\t{_stamp(span[1])}\n"


def _tsv_lines(frame: LogFrame) -> list[str]:
    """Each row as tab-separated text, formatted column by column."""
    n = len(frame)
    cols = [_tsv_column(frame.columns.get(name), ztype, n) for name, ztype in SCHEMAS[frame.path]]
    return ["\t".join(row) for row in zip(*cols, strict=True)]


def _tsv_column(col: NDArray[Any] | None, ztype: str, n: int) -> list[str]:
    """One column as Zeek TSV text."""
    if col is None:
        return ["-"] * n
    values = col.tolist()
    if ztype in _FLOAT:
        return ["-" if x != x else f"{x:.6f}" for x in values]
    if ztype in _INT:
        return ["-" if x < 0 else str(x) for x in values]
    return ["-" if x is None else (x or "(empty)") for x in values]


def _json_lines(frame: LogFrame) -> list[str]:
    """Each row as one Zeek JSON object (unset fields left out)."""
    n = len(frame)
    cols = [
        _json_column(frame.columns.get(name), name, ztype, n) for name, ztype in SCHEMAS[frame.path]
    ]
    tail = f',"_path":"{frame.path}"}}'
    return ["{" + ",".join(filter(None, row)) + tail for row in zip(*cols, strict=True)]


def _json_column(col: NDArray[Any] | None, name: str, ztype: str, n: int) -> list[str | None]:
    """One column as ``"key":value`` fragments, ``None`` where unset."""
    if col is None:
        return [None] * n
    key = json.dumps(name) + ":"
    values = col.tolist()
    if ztype in _FLOAT:
        return [None if x != x else f"{key}{x:.6f}" for x in values]
    if ztype in _INT:
        return [None if x < 0 else f"{key}{x}" for x in values]
    cache: dict[Any, str | None] = {None: None}
    for v in set(values) - {None}:
        cache[v] = key + _json_value(v, ztype)
    return [cache[v] for v in values]


def _json_value(value: str, ztype: str) -> str:
    """A non-numeric value as JSON: bools, arrays for containers, else a string."""
    if ztype == "bool":
        return "true" if value == "T" else "false"
    if ztype.startswith(("set[", "vector[")):
        items = value.split(",") if value else []
        if ztype == "vector[interval]":
            return "[" + ",".join(items) + "]"
        return json.dumps(items, separators=(",", ":"))
    return json.dumps(value)
