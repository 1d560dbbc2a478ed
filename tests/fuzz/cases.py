"""Every reader as a fuzz case: its fixture, how a file splits into header and records,
how one file is read, and what one read says (an :class:`Outcome`).

Shared by the property tests (``tests/fuzz/test_reader_properties.py``) and the
coverage-guided harness (``fuzz/fuzz_readers.py``), so both feed a reader through the
same path. Two paths per case:

* :func:`read_direct`: the reader itself (``reader.read(path, FlowSink)``,
  ``read_json_records``, ``read_sysmon_json``), which says exactly what became of each
  line: kept records, counted skips, bad lines with their numbers. Zeek TSV has no
  Python reader (DuckDB reads it), so it has no direct path.
* :func:`read_loaded`: ``load_paths([file], DuckDBStore())``, the path ``beaconhunt
  hunt`` takes: sniffing, the store's appends and :meth:`DuckDBStore.drop_impossible`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from beaconhunt.config import load_config
from beaconhunt.errors import InputProblem
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.mapped import load_sources
from beaconhunt.ingest.network import FlowSink, NetworkReader
from beaconhunt.ingest.readers import network_readers
from beaconhunt.ingest.sniff import json_log_kind, sniff
from beaconhunt.ingest.sysmon import SysmonBatches, read_sysmon_json
from beaconhunt.ingest.zeek import JsonRecords, read_json_records
from beaconhunt.normalize.zeek_fields import FIELD_MAPS
from beaconhunt.store.duckdb import DuckDBStore

__all__ = [
    "CASES",
    "Case",
    "Loaded",
    "Outcome",
    "by_name",
    "read_direct",
    "read_loaded",
    "sniffed_as",
    "table_of",
]

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
MAPPINGS = ROOT / "docs" / "mappings"

#: what drop_impossible names its problems after (``conn records``, ``dns records``...)
_IMPOSSIBLE_SUFFIX = " records"


@dataclass
class Outcome:
    """What one direct read said about a file.

    ``rows`` are the kept records as comparable keys (see :attr:`Case.key`);
    ``skips`` valid records counted as not used; ``bad`` malformed lines counted
    (including those only in a total); ``bad_lines`` the line numbers of the listed
    ones; ``extra`` other records kept (DNS answers, TLS records of a network log);
    ``notes`` problems about the whole file (no line number, not a bad line).
    """

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    skips: int = 0
    bad: int = 0
    bad_lines: list[int] = field(default_factory=list)
    extra: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def counted(self) -> int:
        """Records the read accounted for, one way or another."""
        return len(self.rows) + self.skips + self.bad + self.extra


@dataclass
class Loaded:
    """What ``load_paths`` said about one file, and what the store kept."""

    report: LoadReport
    #: rows per table after the load (conn, dns_lookup, ssl, http, Sysmon tables)
    stored: dict[str, list[dict[str, Any]]]

    def line_problems(self) -> list[InputProblem]:
        return [p for p in self.report.problems if p.line is not None]

    def dropped(self, table: str) -> int:
        """Rows of ``table`` that drop_impossible removed."""
        name = table + _IMPOSSIBLE_SUFFIX
        return sum(p.skipped for p in self.report.problems if p.file == name)


@dataclass(frozen=True)
class Case:
    """One reader on one fixture layout.

    ``kind``: ``network`` (a :class:`NetworkReader`), ``zeek_json``, ``sysmon_json`` or
    ``zeek_tsv``. ``sep``: the field separator mutations split records at (None: JSON,
    mutated as parsed objects). ``header``: how many leading lines are the header (-1:
    every leading line starting with ``#``). ``comment``: a line starting with it is a
    directive or comment, not a record, so a mutation never produces one.
    ``additive``: the reader is stateless enough that a file's counts are the sum of
    its lines' counts, each read alone (nfdump pairs two one-way records into one
    connection, so it is not). ``kv``: fields are ``KEY=value`` (netfilter), so a
    mutation replaces the value.
    """

    name: str
    fixture: Path
    kind: str
    sep: bytes | None
    reader: str | None = None
    log: str | None = None
    header: int = 0
    comment: bytes | None = None
    additive: bool = True
    kv: bool = False
    mapping: Path | None = None
    #: the last line of the first block of records (nfdump's Summary, W3C's next upload)
    stop: Callable[[bytes], bool] | None = None

    @property
    def network(self) -> NetworkReader:
        if self.mapping is not None:
            return _mapped(self.mapping)[0]
        return next(r for r in network_readers() if r.name == self.reader)

    @property
    def sources(self) -> Sequence[NetworkReader]:
        return _mapped(self.mapping) if self.mapping is not None else ()

    def key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """A kept record's identity, from what its own line says (not what another
        line may add: Suricata names a flow from its tls/http events and a CONNECT
        port; nfdump pairs records, so a connection is known by its 5-tuple)."""
        if self.kind != "network":
            return tuple(row.values())
        if self.reader == "nfdump":
            a, b = (row["src_ip"], row["src_port"]), (row["dst_ip"], row["dst_port"])
            return (row["proto"], *sorted([a, b]))
        drop = {"dst_domain", "domain_source", "proxied", "dst_port"}
        if self.reader != "suricata":
            drop = set()
        return tuple(v for k, v in row.items() if k not in drop)

    def split(self) -> tuple[list[bytes], list[bytes]]:
        """(header lines, record lines) of the fixture's first block of records."""
        lines = [ln.rstrip(b"\r") for ln in self.fixture.read_bytes().split(b"\n")]
        if self.header >= 0:
            head, body = lines[: self.header], lines[self.header :]
        else:
            n = next(i for i, ln in enumerate(lines) if not ln.startswith(b"#") and ln.strip())
            head = [ln for ln in lines[:n] if ln.strip()]
            body = lines[n:]
        records: list[bytes] = []
        for ln in body:
            if self.stop is not None and self.stop(ln):
                break
            if ln.strip() and not (self.comment and ln.startswith(self.comment)):
                records.append(ln)
        return head, records

    def absorbed(self, line: bytes) -> bool:
        """True for a record the reader uses without counting it, by design:
        Suricata tls/http events (they name the flow with the same flow_id) and Zeek
        JSON records of logs beaconhunt does not read (x509, files...: documented as
        skipped silently)."""
        text = line.decode("utf-8", errors="replace")  # as open_text reads it
        if self.reader == "suricata":  # anything before the object is a prefix
            text = text[text.find("{") :]
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            return False
        if not isinstance(obj, dict):
            return False
        if self.kind == "zeek_json":
            return (self.log or json_log_kind(obj)) not in FIELD_MAPS
        if self.reader == "suricata":
            et = obj.get("event_type")
            return et in ("tls", "http") and isinstance(obj.get(et), dict)
        return False


@cache
def _mapped(mapping: Path) -> tuple[NetworkReader, ...]:
    return load_sources(load_config(mapping)["sources"], str(mapping))


def _nfdump_stop(line: bytes) -> bool:
    return line == b"Summary"


def _w3c_stop(line: bytes) -> bool:
    return line.startswith(b"#Software")


def _zeek_close(line: bytes) -> bool:
    return line.startswith(b"#close")


F = FIXTURES
CASES: tuple[Case, ...] = (
    # Zeek TSV, read by DuckDB (load path only)
    Case("zeek-tsv-conn", F / "zeek/basic/conn.log", "zeek_tsv", b"\t", log="conn",
         header=-1, comment=b"#", stop=_zeek_close),
    Case("zeek-tsv-dns", F / "zeek/basic/dns.log", "zeek_tsv", b"\t", log="dns",
         header=-1, comment=b"#", stop=_zeek_close),
    Case("zeek-tsv-ssl", F / "zeek/basic/ssl.log", "zeek_tsv", b"\t", log="ssl",
         header=-1, comment=b"#", stop=_zeek_close),
    Case("zeek-tsv-http", F / "zeek/proxy/http.log", "zeek_tsv", b"\t", log="http",
         header=-1, comment=b"#", stop=_zeek_close),
    # Zeek JSON lines
    Case("zeek-json-conn", F / "zeek/json/conn.log", "zeek_json", None, log="conn"),
    Case("zeek-json-ssl", F / "zeek/json/ssl.log", "zeek_json", None, log="ssl"),
    Case("zeek-json-stream", F / "zeek/json/stream.log", "zeek_json", None),
    # network readers
    Case("suricata", F / "suricata/eve.json", "network", None, reader="suricata"),
    Case("nfdump-1.6", F / "nfdump/nfdump-1.6.csv", "network", b",", reader="nfdump",
         header=1, additive=False, stop=_nfdump_stop),
    Case("nfdump-1.7", F / "nfdump/nfdump-1.7.csv", "network", b",", reader="nfdump",
         header=1, additive=False),
    Case("flow-csv", F / "nfdump/flows-generic.csv", "network", b",", reader="nfdump",
         header=1, additive=False),
    Case("aws-vpc", F / "nfdump/vpc-flow-logs.log", "network", b" ", reader="nfdump",
         header=1, additive=False),
    Case("squid-native", F / "squid/access.log", "network", b" ", reader="squid"),
    Case("squid-combined", F / "squid/access-combined.log", "network", b" ", reader="squid"),
    Case("w3c-proxysg", F / "w3c/proxysg_main.log", "network", b" ", reader="w3c",
         header=-1, comment=b"#", stop=_w3c_stop),
    Case("w3c-tmg", F / "w3c/tmg_webproxy.w3c", "network", b"\t", reader="w3c",
         header=-1, comment=b"#"),
    Case("panos-syslog", F / "panos/traffic-syslog.log", "network", b",", reader="panos"),
    Case("panos-rfc5424", F / "panos/traffic-10.2-rfc5424.log", "network", b",",
         reader="panos"),
    Case("winfw", F / "winfw/pfirewall.log", "network", b" ", reader="winfw",
         header=-1, comment=b"#"),
    Case("netfilter-kern", F / "netfilter/kern.log", "network", b" ", reader="netfilter",
         kv=True),
    Case("netfilter-rfc3339", F / "netfilter/messages-rfc3339.log", "network", b" ",
         reader="netfilter", kv=True),
    Case("netfilter-journal", F / "netfilter/journal-short-iso.txt", "network", b" ",
         reader="netfilter", kv=True),
    # field-mapped sources (the two shipped mappings)
    Case("mapped-csv", F / "mapped/splunk_network_traffic.csv", "network", b",",
         header=1, mapping=MAPPINGS / "splunk_cim_network_traffic.toml"),
    Case("mapped-jsonl", F / "mapped/ecs_network.ndjson", "network", None,
         mapping=MAPPINGS / "elastic_ecs_network.toml"),
    # Sysmon JSON lines, every layout
    Case("sysmon-evtx-json", F / "sysmon/evtx_dump.jsonl", "sysmon_json", None,
         log="evtx_json"),
    Case("sysmon-basic", F / "sysmon_basic/sysmon.jsonl", "sysmon_json", None,
         log="evtx_json"),
    Case("sysmon-winlogbeat", F / "sysmon/winlogbeat.ndjson", "sysmon_json", None,
         log="winlogbeat"),
    Case("sysmon-winlogbeat-flat", F / "sysmon/winlogbeat_raw_and_flat.ndjson",
         "sysmon_json", None, log="winlogbeat"),
    Case("sysmon-nxlog", F / "sysmon/nxlog.json", "sysmon_json", None, log="nxlog"),
)  # fmt: skip


def by_name(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


# -- reading ----------------------------------------------------------------------------------


def read_direct(case: Case, path: Path) -> Outcome:
    """Read ``path`` with the case's own reader; any exception escapes (a crash)."""
    if case.kind == "network":
        return _read_network(case, path)
    if case.kind == "zeek_json":
        return _read_zeek_json(case, path)
    if case.kind == "sysmon_json":
        return _read_sysmon(case, path)
    raise ValueError(f"{case.name}: Zeek TSV has no direct reader (DuckDB reads it)")


def _listed(problems: Sequence[InputProblem], out: Outcome) -> None:
    for p in problems:
        if p.line is not None:
            out.bad_lines.append(p.line)
        elif not p.skipped or "netflow" in p.message:
            out.notes.append(p.message)


def _read_network(case: Case, path: Path) -> Outcome:
    flows: list[dict[str, list[Any]]] = []
    tls: list[int] = []

    def keep(cols: dict[str, list[Any]]) -> int:
        flows.append(cols)
        return len(cols["ts"])

    def count(cols: dict[str, list[Any]]) -> int:
        tls.append(len(cols["ts"]))
        return tls[-1]

    reader = case.network
    sink = FlowSink(str(path), reader.name, keep, lambda cols: len(cols["ts"]), flush_tls=count)
    try:
        reader.read(path, sink)
    except (OSError, EOFError, zlib.error) as exc:  # what the loader catches (_load_network)
        sink.problem(None, f"stopped reading: {exc}")
    sink.close()
    out = Outcome(skips=sum(sink.skipped.values()), extra=sink.dns_records + sum(tls))
    for cols in flows:
        names = list(cols)
        for values in zip(*cols.values(), strict=True):
            out.rows.append(case.key(dict(zip(names, values, strict=True))))
    assert len(out.rows) == sink.connections
    _listed(sink.problems, out)
    out.bad = sum(p.skipped for p in sink.problems if p.message not in out.notes)
    return out


def _read_zeek_json(case: Case, path: Path) -> Outcome:
    records = JsonRecords()
    batches: dict[str, list[dict[str, list[object]]]] = {}
    for log in read_json_records(path, case.log, records):
        batches.setdefault(log, []).append(records.take(log))
    for log in list(records.columns):
        batches.setdefault(log, []).append(records.take(log))
    out = Outcome(bad=records.skipped)
    for log, parts in batches.items():
        for cols in parts:
            for values in zip(*cols.values(), strict=True):
                out.rows.append((log, *values))
    _listed(records.problems, out)
    return out


def _read_sysmon(case: Case, path: Path) -> Outcome:
    batches = SysmonBatches()
    taken: list[tuple[Any, ...]] = []
    for table in read_sysmon_json(path, case.log or "evtx_json", batches):
        taken += [(table, *row) for row in batches.rows.pop(table, [])]
    for table, rows in batches.rows.items():
        taken += [(table, *row) for row in rows]
    out = Outcome(rows=taken, skips=sum(batches.skipped.values()), bad=batches.bad)
    for p in batches.problems:
        if p.line is not None and p.skipped:
            out.bad_lines.append(p.line)
        elif p.line is None and not p.skipped:
            out.notes.append(p.message)
    assert len(taken) == batches.used
    return out


_TABLES = {"conn": "conn", "dns": "dns_lookup", "ssl": "ssl", "http": "http"}


def read_loaded(case: Case, path: Path) -> Loaded:
    """Load ``path`` as ``beaconhunt hunt`` would; any exception escapes (a crash)."""
    store = DuckDBStore()
    try:
        report = load_paths([path], store, sources=case.sources)
        stored: dict[str, list[dict[str, Any]]] = {}
        for table in ("conn", "dns_lookup", "ssl", "http"):
            cur = store.con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            stored[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return Loaded(report, stored)
    finally:
        store.close()


def table_of(case: Case) -> str:
    """The store table a Zeek TSV case's records land in."""
    return _TABLES[case.log or "conn"]


def sniffed_as(case: Case, path: Path) -> tuple[str, str | None]:
    s = sniff(path, case.sources)
    return s.kind, s.log
