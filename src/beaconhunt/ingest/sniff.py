"""Find input files and tell what they are from their content, not their name.

A file name is only a hint (``conn.00:00:00-01:00:00.log.gz`` and
``conn_20260101.log`` are both conn logs, but so is ``capture.json``). We read
the first bytes: gzip magic, the EVTX magic ``ElfFile\0`` (native Windows
event logs), a Zeek ``#separator`` header, or a JSON object whose keys say
which Zeek log or which Windows event layout (evtx_dump, Winlogbeat, NXLog:
see :mod:`beaconhunt.ingest.sysmon_fields`) it is.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from beaconhunt.errors import InputError
from beaconhunt.ingest.lines import BoundedText, current_limit
from beaconhunt.ingest.network import NetworkReader
from beaconhunt.ingest.sysmon_fields import json_layout as sysmon_layout

__all__ = ["Sniffed", "file_problem", "iter_files", "json_log_kind", "open_text", "sniff"]

_GZIP_MAGIC = b"\x1f\x8b"
_EVTX_MAGIC = b"ElfFile\x00"
#: Lines after a broken first one probed for a JSON record to sniff.
_PROBE_LINES = 10
_HEAD_BYTES = 1 << 16
_NOT_BLANK = re.compile(rb"\S")
# conn.log, conn.00:00:00-01:00:00.log.gz, conn_red.log, conn.log.labeled ...
_NAME_HINT = re.compile(r"^(conn|dns|ssl|http|files|x509|weird|notice)[._-]")


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What a file holds.

    ``kind`` is ``zeek_tsv``, ``zeek_json``, ``evtx`` (a native Windows event
    log), ``sysmon_json`` (Windows event records as JSON lines), ``network``
    (another network log format: ``log`` names its reader) or ``unknown``.
    ``log`` is the Zeek log path (``conn``, ``dns``...) when the whole file is
    one log, ``None`` for multiplexed JSON streams and EVTX files, and the
    layout (``evtx_json``, ``winlogbeat``, ``nxlog``) for ``sysmon_json``;
    ``reason`` explains an ``unknown``.
    """

    path: Path
    kind: str
    log: str | None
    compressed: bool
    reason: str = ""


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Yield ``(file, named)`` for every regular file under ``paths``.

    ``named`` is True for a file given directly, False for one found inside a
    directory (recursively, sorted; hidden files and folders skipped). A
    missing path raises :class:`InputError`. What is under a folder but cannot
    be read as a file (a FIFO, socket or device, a broken or looping symlink, an
    unreadable folder) is yielded too, so the loader reports it per file
    (:func:`file_problem` says what is wrong) and goes on with the rest.
    """
    for p in paths:
        if p.is_dir():
            unreadable: list[Path] = []

            def note(err: OSError, into: list[Path] = unreadable) -> None:
                into.append(Path(err.filename or "?"))

            for root, dirs, files in os.walk(p, onerror=note):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name, False
            yield from ((d, False) for d in unreadable)
        elif p.is_file() or p.exists() or p.is_symlink():  # the loader says what is wrong
            yield p, True
        else:
            raise InputError(f"{p}: no such file or directory")


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a log file, or None when it is a regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode):
        return "cannot read this folder: permission denied"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a FIFO, socket or device): skipped"
    return None


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with path.open("rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def open_text(path: Path) -> BoundedText:
    """Open a (possibly gzip-compressed) file as UTF-8 text, replacing bad bytes, with
    lines bounded by the current load's limit (:mod:`beaconhunt.ingest.lines`)."""
    raw: IO[str]
    if is_gzip(path):
        raw = io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")  # noqa: SIM115 (closed by BoundedText)
    else:
        raw = path.open("r", encoding="utf-8", errors="replace")
    return BoundedText(raw, str(path))


def _head(path: Path) -> tuple[bytes, bool]:
    """The first 64 KiB of ``path`` (decompressed), or more when its first record is longer.

    A record can be longer than 64 KiB (a Sysmon event with two Windows-sized command
    lines): then the file is read on to the end of its first line, at most to the line
    limit of the load (:func:`beaconhunt.ingest.lines.current_limit`), so that it is
    recognised from a whole record.
    """
    compressed = is_gzip(path)
    limit = max(_HEAD_BYTES, current_limit() * 4 + 4)  # characters: at most 4 bytes each
    data = bytearray()
    try:
        opener = gzip.open if compressed else open
        with opener(path, "rb") as fh:
            # small reads: a damaged gzip member raises in the read that meets the
            # damage, and what the earlier ones returned is still a head to sniff
            while chunk := fh.read(4096):
                data += chunk
                if len(data) >= limit:
                    break
                if len(data) >= _HEAD_BYTES and b"\n" in chunk and _first_line_ends(data):
                    break
    except (OSError, EOFError, zlib.error) as exc:
        if not data:  # damaged right at the start: nothing to go on
            raise InputError(f"{path}: cannot read: {exc}") from exc
    return bytes(data), compressed


def _first_line_ends(data: bytearray) -> bool:
    """Whether ``data`` holds the end of its first non-blank line."""
    m = _NOT_BLANK.search(data)
    return m is not None and data.find(b"\n", m.start()) >= 0


def name_hint(path: Path) -> str | None:
    """The Zeek log named by a file name (``conn.00:00:00-01:00:00.log.gz`` -> ``conn``)."""
    m = _NAME_HINT.match(path.name)
    return m.group(1) if m else None


def json_log_kind(obj: dict[str, object]) -> str | None:
    """Which Zeek log a JSON record belongs to: ``_path``, ``@stream`` or its keys."""
    for key in ("_path", "@stream"):
        v = obj.get(key)
        if isinstance(v, str) and v:
            return v
    keys = obj.keys()
    if "conn_state" in keys or ("orig_bytes" in keys and "proto" in keys):
        return "conn"
    if "query" in keys and ("qtype_name" in keys or "trans_id" in keys or "answers" in keys):
        return "dns"
    if "server_name" in keys or ("cipher" in keys and "version" in keys):
        return "ssl"
    if "method" in keys and ("uri" in keys or "host" in keys):
        return "http"
    return None


def sniff(path: Path, extra: Sequence[NetworkReader] = ()) -> Sniffed:
    """Tell what ``path`` holds from its first 64 KiB (decompressed), or first line if longer.

    Zeek and Windows event layouts are recognised here; anything else is
    offered to the network log readers (:mod:`beaconhunt.ingest.readers`),
    which give ``kind="network"`` and ``log=<reader name>``; ``extra``
    readers (the config file's ``[[sources]]`` mappings) are tried first.
    """
    head, compressed = _head(path)
    found = _sniff_zeek_or_windows(path, head, compressed)
    if found.kind != "unknown" or head.startswith(_EVTX_MAGIC):
        return found
    from beaconhunt.ingest.readers import network_readers

    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    if not text.strip():
        return found
    for reader in (*extra, *network_readers()):
        if reader.detect(text, path):
            return Sniffed(path, "network", reader.name, compressed)
    return found


def _sniff_zeek_or_windows(path: Path, head: bytes, compressed: bool) -> Sniffed:
    if head.startswith(_EVTX_MAGIC):
        return Sniffed(path, "evtx", None, compressed)
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        return Sniffed(path, "unknown", None, compressed, "file is empty")
    if first.startswith("#separator"):
        m = re.search(r"^#path\s+(\S+)", text, re.MULTILINE)
        log = m.group(1) if m else name_hint(path)
        return Sniffed(path, "zeek_tsv", log, compressed)
    if first.lstrip().startswith("{"):
        obj = _json_or_none(first)
        if obj is None:  # a broken first record: the reader reports it; sniff the next one
            obj = _first_json_object_below(text)
            if obj is None:
                return Sniffed(path, "unknown", None, compressed, "first line is not valid JSON")
        if not isinstance(obj, dict):
            return Sniffed(path, "unknown", None, compressed, "first line is not a JSON object")
        layout = sysmon_layout(obj)
        if layout:
            return Sniffed(path, "sysmon_json", layout, compressed)
        if "@stream" in obj:
            return Sniffed(path, "zeek_json", None, compressed)
        log = json_log_kind(obj) or name_hint(path)
        if log is None or not ("ts" in obj or "uid" in obj):
            return Sniffed(path, "unknown", None, compressed, "JSON records are not Zeek logs")
        return Sniffed(path, "zeek_json", log, compressed)
    if _looks_like_headerless_conn(first):
        return Sniffed(path, "zeek_tsv", "conn", compressed, "headerless")
    return Sniffed(path, "unknown", None, compressed, "not a log format beaconhunt reads")


def _json_or_none(line: str) -> object | None:
    """``line`` parsed as JSON, or None where it is not valid JSON."""
    try:
        obj: object = json.loads(line)
    except (ValueError, RecursionError):  # ValueError: also json's 4,300-digit limit
        return None
    return obj


def _first_json_object_below(text: str) -> dict[str, object] | None:
    """The first JSON object among the lines after the first (a few are probed)."""
    lines = [ln for ln in text.splitlines()[1:] if ln.strip()][:_PROBE_LINES]
    for line in lines:
        obj = _json_or_none(line)
        if isinstance(obj, dict):
            return obj
    return None


_FLOAT = re.compile(r"^\d+(\.\d+)?$")


def _looks_like_headerless_conn(line: str) -> bool:
    """A Zeek conn.log line whose header was cut off: ts, uid, ip, port, ip, port, proto."""
    parts = line.split("\t")
    return (
        len(parts) >= 20
        and bool(_FLOAT.match(parts[0]))
        and parts[3].isdigit()
        and parts[5].isdigit()
        and parts[6] in ("tcp", "udp", "icmp", "unknown_transport")
    )
