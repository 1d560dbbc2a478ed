"""Network logs beyond Zeek: the reader interface and the sink readers write to.

A :class:`NetworkReader` recognises one log format from the first 64 KiB of
a file (:meth:`~NetworkReader.detect`) and streams its records into a
:class:`FlowSink` (:meth:`~NetworkReader.read`): one call per connection, and
DNS answers when the format carries them. The sink batches columns, reports a
malformed line with file and line and goes on, and hands full batches to the
store, so a reader never holds a whole file.

Every reader fills the same normalized connection row (``conn`` in
:mod:`beaconhunt.store.schema`): source and destination address and port,
protocol, start time, duration, bytes each way, the destination name when
the format knows it (TLS SNI, HTTP Host, the URL a proxy fetched) and whether
the connection went through a proxy. A connection without a name is named
afterwards from the DNS answers the source received, as Zeek connections are.

Readers are registered by module name in :mod:`beaconhunt.ingest.readers`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beaconhunt.errors import InputProblem
from beaconhunt.ingest.lines import current_line
from beaconhunt.ingest.plausible import connection_problem, time_problem

if TYPE_CHECKING:  # linescan imports this module
    from beaconhunt.ingest.linescan import LineScan

__all__ = ["FLOW_COLUMNS", "MAX_PROBLEMS", "TLS_COLUMNS", "FlowSink", "NetworkReader"]

#: The columns a reader fills, in ``conn`` schema order (uid and process are not theirs).
FLOW_COLUMNS: tuple[str, ...] = (
    "ts",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "service",
    "duration",
    "bytes_out",
    "bytes_in",
    "conn_state",
    "dst_domain",
    "domain_source",
    "proxied",
    "src_host",
    "pkts_out",
    "pkts_in",
    "uid",
)
#: What a reader can say about a TLS session (the ``ssl`` side table, joined to its
#: connection by ``uid``): the SNI, fingerprints and the server certificate.
TLS_COLUMNS: tuple[str, ...] = (
    "ts", "uid", "src_ip", "src_port", "dst_ip", "dst_port", "server_name",
    "ja3", "ja3s", "ja4", "ja4s", "subject", "issuer",
)  # fmt: skip

_BATCH = 100_000
#: What a reader says about one DNS response (the store's ``dns`` staging columns).
_DNS_COLUMNS = ("ts", "uid", "src_ip", "query", "answer", "resolver", "qtype", "rcode")
#: Problems shown per file; the rest are only counted.
MAX_PROBLEMS = 50


class FlowSink:
    """Collects one file's connections and DNS answers in columns, flushing full batches.

    ``flush_flows(columns)`` and ``flush_dns(columns)`` receive the full
    batches (the store's staging appends). Problems are kept per file with
    their line numbers (the first 50; the rest counted in the last one).
    """

    def __init__(
        self,
        file: str,
        log: str,
        flush_flows: Callable[[dict[str, list[Any]]], int],
        flush_dns: Callable[[dict[str, list[Any]]], int],
        batch: int = _BATCH,
        flush_tls: Callable[[dict[str, list[Any]]], int] | None = None,
    ) -> None:
        self.file = file
        self.log = log
        self._flush_flows = flush_flows
        self._flush_dns = flush_dns
        self._flush_tls = flush_tls
        self._tls: dict[str, list[Any]] = {c: [] for c in TLS_COLUMNS}
        self._batch = batch
        self._flows: dict[str, list[Any]] = {c: [] for c in FLOW_COLUMNS}
        self._dns: dict[str, list[Any]] = {c: [] for c in _DNS_COLUMNS}
        self.connections = 0
        self.dns_records = 0
        self.problems: list[InputProblem] = []
        self._bad_lines = 0
        #: valid records of the format that are not connections, by reason
        self.skipped: Counter[str] = Counter()

    # -- what readers call ------------------------------------------------------------------

    def connection(
        self,
        ts: float,
        src_ip: str,
        src_port: int | None,
        dst_ip: str | None,
        dst_port: int | None,
        proto: str | None,
        *,
        service: str | None = None,
        duration: float | None = None,
        bytes_out: int | None = None,
        bytes_in: int | None = None,
        conn_state: str | None = None,
        dst_domain: str | None = None,
        domain_source: str | None = None,
        proxied: bool = False,
        src_host: str | None = None,
        pkts_out: int | None = None,
        pkts_in: int | None = None,
        uid: str | None = None,
    ) -> None:
        """One connection (``ts`` epoch seconds UTC; ``proto`` lower case; packet
        counts each way where the format has them). An impossible one (a time, port,
        duration or count no sensor writes: :mod:`beaconhunt.ingest.plausible`) is a
        problem of its line instead."""
        why = connection_problem(ts, src_port, dst_port, duration, bytes_out, bytes_in,
                                 pkts_out, pkts_in)  # fmt: skip
        if why is not None:
            self.problem(current_line(self.file), why)
            return
        f = self._flows
        f["ts"].append(ts)
        f["src_ip"].append(src_ip)
        f["src_port"].append(src_port)
        f["dst_ip"].append(dst_ip)
        f["dst_port"].append(dst_port)
        f["proto"].append(proto)
        f["service"].append(service)
        f["duration"].append(duration)
        f["bytes_out"].append(bytes_out)
        f["bytes_in"].append(bytes_in)
        f["conn_state"].append(conn_state)
        f["dst_domain"].append(dst_domain.lower().rstrip(".") if dst_domain else None)
        f["domain_source"].append(domain_source if dst_domain else None)
        f["proxied"].append(proxied)
        f["src_host"].append(src_host)
        f["pkts_out"].append(pkts_out)
        f["pkts_in"].append(pkts_in)
        f["uid"].append(uid)
        self.connections += 1
        if len(f["ts"]) >= self._batch:
            self._flush_flows(self._take_flows())

    def tls(self, ts: float, uid: str, src_ip: str | None, src_port: int | None,
            dst_ip: str | None, dst_port: int | None, **fields: str | None) -> None:  # fmt: skip
        """One TLS session of the connection with the same ``uid``: ``fields`` are
        ``server_name``, ``ja3``, ``ja3s``, ``ja4``, ``ja4s``, ``subject``, ``issuer``
        (any may be missing). Ignored when the loader keeps no TLS records."""
        if self._flush_tls is None:
            return
        why = connection_problem(ts, src_port, dst_port, None)
        if why is not None:
            self.problem(current_line(self.file), why)
            return
        t = self._tls
        for c, v in (("ts", ts), ("uid", uid), ("src_ip", src_ip), ("src_port", src_port),
                     ("dst_ip", dst_ip), ("dst_port", dst_port)):  # fmt: skip
            t[c].append(v)
        for c in TLS_COLUMNS[6:]:
            t[c].append(fields.get(c))
        if len(t["ts"]) >= self._batch:
            self._flush_tls(self._take_tls())

    def dns(
        self,
        ts: float,
        src_ip: str,
        query: str,
        answers: Sequence[str],
        *,
        resolver: str | None = None,
        qtype: str | None = None,
        rcode: str | None = None,
        lookup: bool = False,
    ) -> None:
        """One DNS response seen by ``src_ip``: the name and its address answers.
        ``lookup``: the event is one whole lookup (kept for the DNS detector with its
        ``resolver``, ``qtype`` and ``rcode`` even without an address answer)."""
        if not query or not (answers or lookup):
            return
        why = time_problem(ts)
        if why is not None:
            self.problem(current_line(self.file), why)
            return
        d = self._dns
        d["ts"].append(ts)
        d["uid"].append(None)
        d["src_ip"].append(src_ip)
        d["query"].append(query.lower().rstrip("."))
        d["answer"].append(",".join(answers) if answers else None)
        d["resolver"].append(resolver if lookup else None)
        d["qtype"].append(qtype if lookup else None)
        d["rcode"].append(rcode if lookup else None)
        self.dns_records += 1
        if len(d["ts"]) >= self._batch:
            self._flush_dns(self._take_dns())

    def problem(self, line: int | None, message: str) -> None:
        """A malformed line or record: reported with file and line, then skipped."""
        self._bad_lines += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(InputProblem(self.file, line, message, 1))
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append(
                InputProblem(self.file, None, "further malformed lines not shown", 1)
            )
        else:
            last = self.problems[-1]
            self.problems[-1] = InputProblem(last.file, None, last.message, last.skipped + 1)

    @property
    def bad_lines(self) -> int:
        """Malformed lines and records told so far (shown or only counted)."""
        return self._bad_lines

    def skip(self, reason: str) -> None:
        """A valid record that is not a connection this hunt uses (a denied or
        dropped packet, an inbound request...): counted by reason, not a problem."""
        self.skipped[reason] += 1

    # -- what the loader calls --------------------------------------------------------------

    def close(self) -> None:
        """Hand over what is left in the batches."""
        if self._flows["ts"]:
            self._flush_flows(self._take_flows())
        if self._dns["ts"]:
            self._flush_dns(self._take_dns())
        if self._tls["ts"] and self._flush_tls is not None:
            self._flush_tls(self._take_tls())

    def _take_flows(self) -> dict[str, list[Any]]:
        out, self._flows = self._flows, {c: [] for c in FLOW_COLUMNS}
        return out

    def _take_tls(self) -> dict[str, list[Any]]:
        out, self._tls = self._tls, {c: [] for c in TLS_COLUMNS}
        return out

    def _take_dns(self) -> dict[str, list[Any]]:
        out = self._dns
        self._dns = {c: [] for c in out}
        return out


class NetworkReader(ABC):
    """One network log format: how to recognise it and how to read it.

    ``name`` is stored in the ``log`` column of every connection it reads and
    names the format in messages; ``description`` is one line for the README's
    list of formats.
    """

    name: str = "network"
    description: str = ""

    @abstractmethod
    def detect(self, head: str, path: Path) -> bool:
        """True when ``head`` (the first 64 KiB, decompressed and decoded, BOM
        removed) is this format. ``path`` is only a hint; decide from content."""

    def line_scan(self, path: Path) -> LineScan | None:
        """How DuckDB reads ``path`` (:mod:`beaconhunt.ingest.linescan`), or None to
        read it with :meth:`read`. The two must give the same rows, skips and
        problems; :meth:`read` stays the reference (and reads a file DuckDB cannot)."""
        return None

    @abstractmethod
    def read(self, path: Path, sink: FlowSink) -> None:
        """Stream every record of ``path`` (gzip or not: use
        :func:`beaconhunt.ingest.sniff.open_text`) into ``sink``; report each
        malformed line with ``sink.problem(line, message)`` and go on."""
