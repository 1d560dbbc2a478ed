"""What an analyst does with a ``--db`` store: open a finding, record a verdict, list.

Usage::

    with Workbench(Path("hunt.duckdb")) as wb:              # read-only
        fid = wb.resolve("3fa2")
        doc = wb.case(fid)                                  # a CaseDocument
        views = wb.finding_view(fid)                        # + the pair's connections, peers
    with Workbench(Path("hunt.duckdb"), read_only=False) as wb:
        receipt = wb.record_verdict(fid, Decision.CLOSE, "Dropbox client", "alice")

The command line (``decide``, ``case``, ``show``), the HTML report and the web UI
call these, so a verdict recorded in one is the same verdict in the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from beaconhunt.app.case import CaseDocument, case_document
from beaconhunt.app.run import RunReport, run_report
from beaconhunt.errors import ConfigError
from beaconhunt.model import Decision, Finding
from beaconhunt.model.record import finding_from_record
from beaconhunt.model.run import ReadSummary
from beaconhunt.store.duckdb import DuckDBStore
from beaconhunt.store.history import AnalystVerdict, History, StoredFinding

__all__ = ["ConnectionSeries", "FindingView", "Peer", "VerdictReceipt", "Workbench"]

#: What a verdict does to later hunts, by decision ({what}: destination [and process]).
EFFECTS = {
    Decision.CLOSE: "close {what} with your note as the reason",
    Decision.MONITOR: "mark {what} monitor with your note as the reason",
    Decision.ESCALATE: (
        "escalate {what}, and flag the process on other hosts and destinations"
        " (same command line for images under C:\\Windows\\)"
    ),
}


@dataclass(frozen=True, slots=True)
class ConnectionSeries:
    """A pair's connections as the store keeps them: start times and bytes each way
    (NaN when unknown), oldest first."""

    ts: np.ndarray
    bytes_out: np.ndarray
    bytes_in: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)


@dataclass(frozen=True, slots=True)
class Peer:
    """A source that talked to the finding's destination."""

    src_ip: str
    src_host: str | None
    connections: int
    first: float
    last: float


@dataclass(frozen=True, slots=True)
class FindingView:
    """One finding as the report and the UI show it: its case document, its
    connections and the other sources of its destination."""

    case: CaseDocument
    series: ConnectionSeries
    peers: tuple[Peer, ...]


@dataclass(frozen=True, slots=True)
class VerdictReceipt:
    """A recorded verdict and what it will do, in words."""

    verdict: AnalystVerdict
    effect: str


def series_of(store: DuckDBStore, f: Finding) -> ConnectionSeries:
    """The connections of finding ``f``'s pair in ``store`` (none for DNS findings,
    whose events are lookups: their times are the finding's own)."""
    if f.kind == "dns":
        t = np.asarray(f.times, dtype=np.float64)
        nan = np.full(t.size, np.nan)
        return ConnectionSeries(t, nan, nan.copy())
    ts, out, inn = store.finding_series(f.src_ip, f.dst_domain, f.dst_ip, f.dst_port)
    return ConnectionSeries(ts, out, inn)


def peers_of(store: DuckDBStore, f: Finding) -> tuple[Peer, ...]:
    """The sources that talked to ``f``'s destination, the finding's own source first."""
    if f.kind == "dns" or not (f.dst_domain or f.dst_ip):
        return ()
    return _ranked(store.destination_peers(f.dst_domain, f.dst_ip), f)


def _ranked(rows: list[tuple[str, str | None, int, float, float]], f: Finding) -> tuple[Peer, ...]:
    """Peers as :class:`Peer` s, the finding's own source first, then by connections."""
    peers = [Peer(*row) for row in rows]
    return tuple(sorted(peers, key=lambda p: (p.src_ip != f.src_ip, -p.connections)))


class Workbench:
    """A ``--db`` store opened for analyst work (read-only unless ``read_only=False``)."""

    def __init__(self, path: Path, read_only: bool = True) -> None:
        self.path = path
        self.store = DuckDBStore(path, read_only=read_only)
        try:
            self.history = History(self.store.con, read_only=read_only)
        except BaseException:
            self.store.close()
            raise

    def __enter__(self) -> Workbench:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # -- one finding -----------------------------------------------------------------------

    def resolve(self, prefix: str) -> str:
        """The full id a unique prefix names (:class:`~beaconhunt.store.history.UnknownFinding`
        otherwise)."""
        return self.history.resolve_id(prefix)

    def stored(self, finding_id: str) -> StoredFinding:
        return self.history.stored_finding(finding_id)

    def finding(self, finding_id: str) -> Finding:
        s = self.stored(finding_id)
        return finding_from_record(s.record, s.times)

    def case(self, finding_id: str, generated_at: float | None = None) -> CaseDocument:
        """The case document of a stored finding, with its verdicts and history."""
        s = self.stored(finding_id)
        f = finding_from_record(s.record, s.times)
        return case_document(f, self.history.verdicts(finding_id), s, generated_at)

    def finding_view(self, finding_id: str, generated_at: float | None = None) -> FindingView:
        doc = self.case(finding_id, generated_at)
        f = doc.finding
        return FindingView(doc, series_of(self.store, f), peers_of(self.store, f))

    # -- a run ---------------------------------------------------------------------------

    def run_report(self, run_id: int | None = None, every: bool = False) -> RunReport:
        """The report of run ``run_id`` (the latest when None): the findings it reported,
        with what it read. ``every``: every finding the store holds, whichever run."""
        runs = self.history.runs()
        if not runs:
            raise ConfigError(f"{self.path}: no hunt has been recorded in this store yet")
        run = runs[0] if run_id is None else next((r for r in runs if r.run_id == run_id), None)
        if run is None:
            raise ConfigError(f"{self.path}: no run {run_id} (runs 1 to {runs[0].run_id})")
        stored = self.history.findings_of(None if every else run.run_id)
        findings = [finding_from_record(s.record, s.times) for s in stored]
        read = None if run.summary is None else ReadSummary.from_record(run.summary)
        span = run.span
        if every and len(runs) > 1:
            spans = [r.span for r in runs if r.span is not None]
            span = (min(a for a, _ in spans), max(b for _, b in spans)) if spans else None
        return run_report(
            findings, None if every else read, span=span, run_id=None if every else run.run_id,
            started=run.started, inputs=run.inputs,
        )  # fmt: skip

    def finding_views(self, findings: list[Finding], generated_at: float | None = None
                      ) -> list[FindingView]:  # fmt: skip
        """The view of each finding (stored ones get their verdicts and history)."""
        verdicts: dict[str, list[AnalystVerdict]] = {}
        for v in self.history.all_verdicts():
            verdicts.setdefault(v.finding_id, []).append(v)
        wanted = [f for f in findings if f.kind != "dns" and (f.dst_domain or f.dst_ip)]
        peers = self.store.peers_of_destinations(
            [f.dst_domain for f in wanted if f.dst_domain],
            [f.dst_ip for f in wanted if not f.dst_domain and f.dst_ip],
        )
        out = []
        for f in findings:
            s = self.history.previous(f.finding_id)
            doc = case_document(f, verdicts.get(f.finding_id, []), s, generated_at)
            key = ("domain", f.dst_domain) if f.dst_domain else ("ip", f.dst_ip or "")
            rows = peers.get(key, []) if f.kind != "dns" else []
            out.append(FindingView(doc, series_of(self.store, f), _ranked(rows, f)))
        return out

    # -- verdicts --------------------------------------------------------------------------

    def record_verdict(
        self, finding_id: str, decision: Decision, note: str, analyst: str | None,
        at: float | None = None,
    ) -> VerdictReceipt:  # fmt: skip
        """Record an analyst verdict; later hunts with this store apply it."""
        v = self.history.record_verdict(
            finding_id, decision, note, analyst, time.time() if at is None else at
        )
        what = "this destination and process" if v.process_image else "this destination"
        return VerdictReceipt(v, EFFECTS[v.decision].format(what=what))
