"""The run report: what a hunt read, what it found, and what stands out.

Usage::

    report = run_report(result.findings, result.read_summary(), span=result.span)
    for line in summary_lines(report.read):   # the command line's summary
        print(line)
    html = render_report_html(report, views)  # beaconhunt.report.html

A run report is made from a live hunt (``hunt --html``) or from a ``--db`` store
(``beaconhunt report``, :meth:`beaconhunt.app.store.Workbench.run_report`), so
the terminal summary, the HTML report and the web UI count the same things.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from beaconhunt.model import Decision, Finding
from beaconhunt.model.run import ReadSummary

__all__ = ["DECISION_ORDER", "DestinationRow", "RunReport", "run_report", "summary_lines"]

#: Decisions in the order every view lists them.
DECISION_ORDER = (Decision.ESCALATE, Decision.MONITOR, Decision.CLOSE)
TOP_DESTINATIONS = 10


@dataclass(frozen=True, slots=True)
class DestinationRow:
    """A destination with the findings that name it."""

    destination: str
    findings: int
    sources: int
    escalated: int
    top_score: float


@dataclass(frozen=True, slots=True)
class RunReport:
    """One hunt's findings with the counts an overview shows."""

    findings: tuple[Finding, ...]
    read: ReadSummary | None
    #: (start, end) epoch seconds of the data hunted
    span: tuple[float, float] | None
    run_id: int | None
    started: float | None
    inputs: tuple[str, ...]
    decisions: tuple[tuple[Decision, int], ...]
    #: findings by detector kind, then by decision
    kinds: tuple[tuple[str, tuple[tuple[Decision, int], ...]], ...]
    top_destinations: tuple[DestinationRow, ...]


def _destination(f: Finding) -> str:
    return f.dst_domain or f.dst_ip or "-"


def run_report(
    findings: Sequence[Finding], read: ReadSummary | None, *,
    span: tuple[float, float] | None = None, run_id: int | None = None,
    started: float | None = None, inputs: Sequence[str] = (),
) -> RunReport:  # fmt: skip
    """The report of a run that found ``findings`` (sorted here as a triage queue:
    escalations, then monitor, then close, by score within each, then by id)."""
    ranked = tuple(sorted(findings, key=lambda f: (f.decision.rank, -f.score, f.finding_id)))
    per_decision = Counter(f.decision for f in ranked)
    per_kind: dict[str, Counter[Decision]] = {}
    for f in ranked:
        per_kind.setdefault(f.kind, Counter())[f.decision] += 1
    by_dst: dict[str, list[Finding]] = {}
    for f in ranked:
        if f.kind != "dns":  # a DNS finding's destination is the resolver
            by_dst.setdefault(_destination(f), []).append(f)
    rows = [
        DestinationRow(
            destination=dst,
            findings=len(fs),
            sources=len({f.src_ip for f in fs}),
            escalated=sum(f.decision is Decision.ESCALATE for f in fs),
            top_score=max(f.score for f in fs),
        )
        for dst, fs in by_dst.items()
    ]
    rows.sort(key=lambda r: (-r.escalated, -r.sources, -r.top_score, r.destination))
    return RunReport(
        findings=ranked, read=read, span=span, run_id=run_id, started=started,
        inputs=tuple(inputs),
        decisions=tuple((d, per_decision.get(d, 0)) for d in DECISION_ORDER),
        kinds=tuple(
            (kind, tuple((d, c.get(d, 0)) for d in DECISION_ORDER))
            for kind, c in sorted(per_kind.items())
        ),
        top_destinations=tuple(rows[:TOP_DESTINATIONS]),
    )  # fmt: skip


def summary_lines(read: ReadSummary, findings: int) -> list[str]:
    """The run summary in sentences: notes, then what was read (problems are listed
    separately, by :attr:`ReadSummary.problems`). Values are raw: escape to print."""
    out: list[str] = []
    if read.not_log_count:
        names = ", ".join(read.not_logs[:5])
        more = f" and {read.not_log_count - 5} more" if read.not_log_count > 5 else ""
        out.append(f"skipped {read.not_log_count} file(s) that are not logs: {names}{more}")
    out += [f"note: {note}" for note in read.notes]
    rows = ", ".join(f"{k} {v:,}" for k, v in sorted(read.rows.items()) if v)
    skipped = f", {read.skipped_lines:,} malformed line(s) skipped" if read.skipped_lines else ""
    unused = f", {read.unused_logs} file(s) of other Zeek logs ignored" if read.unused_logs else ""
    again = f", {read.already_loaded} already in the store" if read.already_loaded else ""
    unused_rec = sum(read.skipped_records.values())
    unused += f", {unused_rec:,} records of unused events or channels" if unused_rec else ""
    n_drop = sum(read.dropped.values())
    dropped = f" ({n_drop:,} dropped as bulk or highly variable)" if n_drop else ""
    out.append(
        f"read {read.files} file(s): {rows or 'no records'}{skipped}{unused}{again};"
        f" {read.connections:,} connections stored, {read.outbound_pairs:,} outbound"
        f" pairs scored{dropped}, {findings:,} findings ({read.seconds:.1f} s)"
    )
    return out
