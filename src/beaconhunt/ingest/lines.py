"""Lines of bounded length: no line of an input file costs more than a limit.

A proxy or firewall log holds whatever a client sent, and a damaged file can
hold one line of hundreds of megabytes. Every reader that reads text lines in
Python gets them from :func:`beaconhunt.ingest.sniff.open_text`, which wraps the
file in :class:`BoundedText`: it reads in blocks, and a line longer than the
limit is never assembled. It is skipped, the reader sees an empty line in its
place (so line numbers stay right), and the line number is recorded on the
:class:`LineGuard` of the current load, which the loader turns into one
problem per file ("line 12: longer than 1,048,576 characters: skipped"). A new
reader that opens its files with ``open_text`` gets this without a line of code.

Zeek TSV files are read by DuckDB, which enforces the same limit itself
(``max_line_size``, :meth:`beaconhunt.store.duckdb.DuckDBStore.load_tsv`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from beaconhunt.errors import InputProblem

__all__ = [
    "DEFAULT_MAX_LINE",
    "BoundedText",
    "LineGuard",
    "current_guard",
    "current_limit",
    "current_line",
    "guard",
    "lines_longer_than",
    "valid_unicode",
]

#: Longest line read, in characters (bytes for ASCII logs): 1 MiB. Real records are
#: far shorter (a Zeek http.log line with a long URI is a few KiB; Windows command
#: lines stop at 32,767 characters).
DEFAULT_MAX_LINE = 1 << 20
_SHOWN = 5


@dataclass
class LineGuard:
    """The line limit of one load, and the too-long lines it met, per file."""

    limit: int = DEFAULT_MAX_LINE
    too_long: dict[str, list[int]] = field(default_factory=dict)

    def record(self, name: str, line: int) -> None:
        self.too_long.setdefault(name, []).append(line)

    def problems(self) -> list[InputProblem]:
        """One problem per too-long line (the first few per file), then a total."""
        out: list[InputProblem] = []
        what = f"line longer than {self.limit:,} characters: skipped"
        for name, lines in self.too_long.items():
            out.extend(InputProblem(name, n, what, 1) for n in lines[:_SHOWN])
            if len(lines) > _SHOWN:
                more = len(lines) - _SHOWN
                out.append(InputProblem(name, None, f"{len(lines)} too-long lines in all", more))
        self.too_long.clear()
        return out


_CURRENT: ContextVar[LineGuard | None] = ContextVar("beaconhunt_line_guard", default=None)
#: the file opened last with ``open_text`` and not closed (see :func:`current_line`)
_READING: ContextVar[BoundedText | NumberedLines | None] = ContextVar(
    "beaconhunt_reading", default=None
)


def current_line(name: str) -> int | None:
    """The line number just read from file ``name`` in the load in progress, if that
    is the file read last (:class:`BoundedText`): how a record's consumer (the
    :class:`~beaconhunt.ingest.network.FlowSink`) names the line of a bad record
    without the reader passing it."""
    reading = _READING.get()
    return reading.line if reading is not None and reading.name == name else None


def current_guard() -> LineGuard | None:
    """The guard of the load in progress (:func:`guard`), if any: where a reader that
    does not use ``open_text`` (DuckDB's, :mod:`beaconhunt.ingest.linescan`) records
    the lines it skipped for length."""
    return _CURRENT.get()


def current_limit() -> int:
    """The line limit of the load in progress (:func:`guard`), or the default."""
    g = _CURRENT.get()
    return g.limit if g is not None else DEFAULT_MAX_LINE


@contextlib.contextmanager
def guard(limit: int = DEFAULT_MAX_LINE) -> Iterator[LineGuard]:
    """Make ``limit`` the line limit of every file opened with ``open_text`` inside."""
    g = LineGuard(limit)
    token = _CURRENT.set(g)
    try:
        yield g
    finally:
        _CURRENT.reset(token)


class BoundedText:
    """A text file whose lines (iteration and :meth:`readline`) are at most
    ``limit`` characters; longer ones come back as ``"\\n"`` and are recorded.

    Lines end at ``\\n`` only (after the universal-newline translation of the
    underlying text file), as when iterating a file: other Unicode line breaks
    inside a record (U+2028, form feed) do not split it.
    """

    def __init__(self, raw: IO[str], name: str, line_guard: LineGuard | None = None) -> None:
        self._raw = raw
        self.name = name
        self._guard = line_guard if line_guard is not None else _CURRENT.get()
        self.limit = self._guard.limit if self._guard is not None else DEFAULT_MAX_LINE
        #: line numbers of the lines skipped for length (also told to the guard)
        self.too_long: list[int] = []
        #: the number of the line returned last
        self.line = 0
        self._lines = self._generate()
        _READING.set(self)

    # -- file protocol ------------------------------------------------------------------

    def __enter__(self) -> BoundedText:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def __next__(self) -> str:
        return next(self._lines)

    def readline(self, size: int = -1) -> str:
        """The next line ("" at the end). ``size`` is accepted for compatibility;
        lines are bounded by the limit whatever it says."""
        return next(self._lines, "")

    def close(self) -> None:
        self._raw.close()
        if _READING.get() is self:
            _READING.set(None)

    # -- the bounded splitter -----------------------------------------------------------

    def _skipped(self, lineno: int) -> None:
        self.too_long.append(lineno)
        if self._guard is not None:
            self._guard.record(self.name, lineno)

    def _generate(self) -> Iterator[str]:
        # TextIOWrapper.readline(size) reads block by block and stops at a line end
        # or at ``size`` characters, so a too-long line is never assembled; and the
        # lines read before damage in a gzip member are all returned first.
        limit, readline = self.limit, self._raw.readline
        lineno = 0
        while line := readline(limit + 1):
            lineno += 1
            self.line = lineno
            if len(line) <= limit or line.endswith("\n"):
                yield line
                continue
            while (rest := readline(limit + 1)) and not rest.endswith("\n"):
                pass
            self._skipped(lineno)
            yield "\n"


class NumberedLines:
    """Lines of file ``name`` that are already numbered, as ``(number, text)``: the lines
    of a file DuckDB read that its SQL leaves to a reader's Python
    (:mod:`beaconhunt.ingest.linescan`). While they are iterated, :func:`current_line`
    names the line in hand, as for a file opened with ``open_text``."""

    def __init__(self, name: str, lines: Iterable[tuple[int, str]]) -> None:
        self.name = name
        self._lines = lines
        #: the number of the line returned last
        self.line = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        before = _READING.get()
        _READING.set(self)
        try:
            for n, text in self._lines:
                self.line = n
                yield n, text
        finally:
            if _READING.get() is self:
                _READING.set(before)


#: Lines DuckDB 2.0's CSV reader drops without a reject: longer than its 32 MiB buffer.
DUCKDB_BUFFER = 32 << 20
_PROBE_STEP = 4 << 20
_PROBE_BYTES = 4096


def lines_longer_than(path: Path, length: int = DUCKDB_BUFFER) -> list[int]:
    """Line numbers of the lines of an uncompressed file longer than ``length``
    bytes (``length`` at least 8 MiB), found without reading the whole file.

    A line that long leaves several consecutive 4 KiB samples, taken every
    4 MiB, without a newline; only such a stretch is read in full (and the
    file up to it, to number the line). Normal files cost a few hundred small
    reads per gigabyte.
    """
    size = path.stat().st_size
    if size <= length:
        return []
    need = max(length // _PROBE_STEP - 1, 1)  # samples a too-long line must cover
    found: list[int] = []
    with path.open("rb") as fh:
        run_start, run = 0, 0
        offset = 0
        while offset < size:
            fh.seek(offset)
            if b"\n" in fh.read(_PROBE_BYTES):
                if run >= need:
                    found.extend(_check_stretch(fh, run_start, offset + _PROBE_BYTES, length))
                run = 0
            else:
                run_start = offset if run == 0 else run_start
                run += 1
            offset += _PROBE_STEP
        if run >= need:
            found.extend(_check_stretch(fh, run_start, size, length))
    return sorted(set(found))


def _check_stretch(fh: IO[bytes], start: int, end: int, length: int) -> list[int]:
    """Numbers of the lines longer than ``length`` around the newline-free stretch."""
    lo = max(start - _PROBE_STEP, 0)
    fh.seek(0)
    lineno = 1
    remaining = lo
    while remaining > 0:  # number the lines before the stretch
        chunk = fh.read(min(remaining, 1 << 22))
        if not chunk:
            break
        lineno += chunk.count(b"\n")
        remaining -= len(chunk)
    out: list[int] = []
    begin = lo  # offset where the current line began (approximately, for the first)
    pos = lo
    while pos < end + _PROBE_STEP:
        chunk = fh.read(1 << 22)
        if not chunk:
            if pos - begin > length:
                out.append(lineno)
            break
        at = chunk.find(b"\n")
        base = pos
        while at >= 0:
            if base + at - begin > length:
                out.append(lineno)
            lineno += 1
            begin = base + at + 1
            at = chunk.find(b"\n", at + 1)
        pos += len(chunk)
    return out


def valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (from JSON ``\\ud800`` escapes) as U+FFFD.

    ``json.loads`` turns an escaped lone surrogate into a Python string that no
    UTF-8 store accepts; a correctly paired one stays the character it encodes.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
