"""The hunt, stage by stage: ingest -> normalize -> store -> detect -> enrich -> decide.

Detection runs every registered detector (:mod:`beaconhunt.detect.base`; the
beacon detector is :mod:`beaconhunt.detect.beacon`); their candidates share
attribution, investigation and the decision.

:func:`hunt` is what ``beaconhunt hunt`` and ``beaconhunt demo`` run. It
returns findings and a report of what was read; it never prints (the CLI
does) and it raises only :class:`~beaconhunt.errors.BeaconhuntError`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from beaconhunt.config import DecideSettings, EvidenceSettings, HuntSettings
from beaconhunt.decide import Policy
from beaconhunt.detect import ScoreSettings
from beaconhunt.detect.base import Candidate, DetectInput, DetectReport, PairRef, detectors
from beaconhunt.detect.filter import FilterSettings
from beaconhunt.detect.settings import DnsSettings, LongSessionSettings
from beaconhunt.duration import parse_duration
from beaconhunt.enrich import Allowlist, Networks
from beaconhunt.enrich.fingerprints import ClientPrints, fingerprint_evidence
from beaconhunt.enrich.investigate import Context, Draft, count_active_hosts, investigate
from beaconhunt.enrich.process import (
    FileCreate,
    PersistenceEntry,
    RegSet,
    link_persistence,
    persistence_entries,
    process_evidence,
)
from beaconhunt.enrich.services import Traffic, service_evidence
from beaconhunt.errors import NoUsableInput
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.ingest.network import NetworkReader
from beaconhunt.model import PIVOTS, Decision, Evidence, Finding, ProcessInfo, ProcessShare, Verdict
from beaconhunt.model.run import MAX_LISTED, ReadSummary
from beaconhunt.store import facts as store_facts
from beaconhunt.store.duckdb import DuckDBStore, ProgressFn
from beaconhunt.store.history import History
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timing import StageClock

__all__ = ["HuntResult", "hunt"]

#: Epoch seconds before this are taken as relative to the start of a capture.
_RELATIVE_BEFORE = 1e9


@dataclass
class HuntResult:
    """Findings (sorted by score, highest first) and what the run read."""

    findings: list[Finding]
    load: LoadReport
    connections: int = 0
    outbound_pairs: int = 0
    span: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)
    #: pairs the volume/variability prefilter dropped, by reason code
    dropped: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    #: the run's id in a ``--db`` store (None without one)
    run_id: int | None = None

    def read_summary(self) -> ReadSummary:
        """What this run read, skipped and noted, as the store keeps it."""
        load = self.load
        return ReadSummary(
            files=load.files, rows={k: v for k, v in load.rows.items() if v},
            skipped_lines=load.skipped_lines,
            problems=tuple(str(p) for p in load.problems[:MAX_LISTED]),
            problem_count=len(load.problems),
            not_logs=tuple(p.name for p in load.not_logs[:MAX_LISTED]),
            not_log_count=len(load.not_logs), unused_logs=sum(load.unused_logs.values()),
            already_loaded=load.already_loaded, skipped_records=dict(load.skipped_records),
            connections=self.connections, outbound_pairs=self.outbound_pairs,
            dropped=dict(self.dropped), notes=tuple(self.notes),
            seconds=self.seconds.get("total", 0.0),
        )  # fmt: skip


def hunt(
    paths: Sequence[Path],
    settings: HuntSettings | None = None,
    score: ScoreSettings | None = None,
    decide: DecideSettings | None = None,
    filters: FilterSettings | None = None,
    allowlist: Allowlist | None = None,
    db: Path | None = None,
    progress: ProgressFn | None = None,
    on_file: Callable[[str], None] | None = None,
    store: DuckDBStore | None = None,
    *,
    context: Context | None = None,
    evidence: EvidenceSettings | None = None,
    policy: Policy | None = None,
    sources: Sequence[NetworkReader] = (),
    long_session: LongSessionSettings | None = None,
    dns: DnsSettings | None = None,
) -> HuntResult:
    """Read ``paths``, score every outbound pair, investigate and decide each finding.

    ``store`` lets a caller pass a store it already filled (tests, notebooks);
    it is left open. Otherwise a new one is made (in ``db`` or in memory).
    With a file-backed store, the run, its findings and analysts' verdicts are
    remembered (:class:`~beaconhunt.store.history.History`). ``sources`` are
    field-mapped readers for other exports (:mod:`beaconhunt.ingest.mapped`).
    """
    settings = settings or HuntSettings()
    score = score or ScoreSettings()
    decide = decide or DecideSettings()
    filters = filters or FilterSettings()
    context = context or Context()
    if allowlist is not None:
        context.allowlist = allowlist
    job = _Job(settings, score, decide, filters, context, evidence or EvidenceSettings(),
               policy or Policy.default(), long_session or LongSessionSettings(),
               dns or DnsSettings())  # fmt: skip
    networks = Networks(settings.internal)
    window = parse_duration(settings.window) if settings.window else None
    clock = StageClock()
    t0 = time.perf_counter()

    own_store = store is None
    store = store or DuckDBStore(db)
    try:
        store.progress = progress
        with clock.stage("load"):
            load = load_paths(paths, store, on_file=on_file, sources=sources,
                              max_line=settings.max_line_bytes)  # fmt: skip
        with clock.stage("group"):
            result = HuntResult([], load, connections=store.count("conn"))
            span = store.time_span()
        if span is None:
            raise NoUsableInput(_nothing_read(load))
        start, end = span
        if window is not None:
            start = max(start, end - window)
        result.span = (start, end)
        if end < _RELATIVE_BEFORE:
            result.notes.append(
                "timestamps look relative to the capture start (before 2001); times are shown"
                " as offsets from 1970-01-01"
            )
        with clock.stage("group"):
            store.candidate_pairs(
                start,
                end,
                settings.min_connections,
                (long_session or LongSessionSettings()).min_piece_s,
            )
            store.mark_internal(networks)
        counted: list[int] = []
        history = History(store.con) if store.path is not None else None
        run_id = (
            history.start_run(time.time(), [str(p) for p in paths], (start, end))
            if history is not None
            else None
        )
        findings = _score_pairs(
            store, start, end, job, networks, history, result.dropped, counted, clock
        )
        result.outbound_pairs = counted[0] if counted else 0
        result.findings = findings
        result.run_id = run_id
        clock["total"] = time.perf_counter() - t0
        result.seconds = clock
        if history is not None and run_id is not None:
            with clock.stage("history"):
                history.record_findings(run_id, findings)
                history.record_summary(run_id, result.read_summary().to_record())
    finally:
        if own_store:
            store.close()
    clock["total"] = time.perf_counter() - t0
    return result


def _nothing_read(load: LoadReport) -> str:
    if load.files == 0:
        return "no input files found"
    kinds = ", ".join(f"{k}: {v}" for k, v in load.rows.items() if v) or "none"
    first = f"; {load.problems[0]}" if load.problems else ""
    return (
        f"no connection records in {load.files} file(s) (records read: {kinds}){first};"
        " give network logs (Zeek, Suricata, NetFlow, proxy or firewall) or Sysmon events"
    )


@dataclass(frozen=True)
class _Job:
    """Everything a hunt was asked to do, passed down as one value."""

    settings: HuntSettings
    score: ScoreSettings
    decide: DecideSettings
    filters: FilterSettings
    context: Context
    evidence: EvidenceSettings
    policy: Policy
    long_session: LongSessionSettings = field(default_factory=LongSessionSettings)
    dns: DnsSettings = field(default_factory=DnsSettings)


def _score_pairs(
    store: DuckDBStore,
    start: float,
    end: float,
    job: _Job,
    networks: Networks,
    history: History | None,
    dropped: Counter[str],
    counted: list[int],
    clock: StageClock,
) -> list[Finding]:
    """Run every registered detector (:mod:`beaconhunt.detect.base`), then attribute,
    investigate and decide all their candidates the same way (``clock``: seconds per
    stage, ``detect.<kind>``, ``details``, ``investigate``, ``decide``)."""
    settings = job.settings
    data = DetectInput(store, start, end, settings.min_connections, settings.min_score,
                       job.score, job.filters, job.long_session, job.dns)  # fmt: skip
    report = DetectReport(seconds=clock)
    candidates = []
    with clock.stage("detect"):
        for detector in detectors():
            with clock.stage(f"detect.{detector.kind}"):
                candidates += detector.detect(data, report)
    counted.append(report.scored)
    dropped.update(report.dropped)
    if not candidates:
        return []
    ids = sorted({c.pair_id for c in candidates if c.pair is None})
    with clock.stage("details"):
        details = store.pair_details(ids, start, end)
        traffic = store_facts.pair_traffic(store.con, ids, start, end)
        clients, prevalence = store_facts.pair_clients(store.con, ids, start, end)
        active = count_active_hosts(store.con, start, end, networks)
    with clock.stage("attribution"):
        attributed = store.attribution(ids, start, end, settings.attribution_tolerance)
        own = any(c.attribution for c in candidates)
        persistence = _persistence(store) if attributed or own else ()
    drafts: list[Draft] = []
    scored: list[tuple[dict[str, Any], Candidate]] = []
    for c in candidates:
        detail = c.details
        d = _pair_of(c.pair) if c.pair is not None else details[c.pair_id]
        rows = c.attribution if c.attribution is not None else attributed.get(c.pair_id, [])
        processes = _processes(rows)
        conn_pair = c.pair is None
        found = (
            *detail.reasons,
            *(_service(d, traffic.get(c.pair_id), detail.median_interval) if conn_pair else ()),
            *(_clients(clients.get(c.pair_id), prevalence, active, job.evidence)
              if conn_pair else ()),
            *_process_reasons(processes, detail.n_connections, _UNIT.get(c.kind, "connections")),
            *(_suspicious(rows[0], persistence) if rows else ()),
        )  # fmt: skip
        drafts.append(Draft(
            src_ip=d["src_ip"],
            src_host=d["src_host"] or (processes[0].host if processes else None),
            dst_domain=d["dst_domain"],
            dst_ips=tuple(d["dst_ips"]),
            score=c.score,
            interval=_none_if_nan(detail.median_interval),
            first_seen=float(detail.first_seen),
            times=c.times,
            bytes_out_median=_none_if_nan(detail.bytes_out_median),
            bytes_in_median=_none_if_nan(detail.bytes_in_median),
            processes=processes,
            evidence=found,
            kind=c.kind,
        ))  # fmt: skip
        scored.append((d, c))
    with clock.stage("investigate"):
        evidence = investigate(
            store.con, drafts, start, end, networks, job.context, job.decide, job.evidence,
            persistence, active,
        )  # fmt: skip
    assets = job.context.assets
    for draft in drafts:
        if draft.src_host is None and assets is not None:
            asset = assets.by_ip(draft.src_ip)
            draft.src_host = asset.hostname if asset is not None else None
    findings = []
    for draft, (d, c), ev in zip(drafts, scored, evidence, strict=True):
        f = _finding(d, c, draft, ev)
        if history is not None:
            ev = (*ev, *history.evidence_for(f))
        verdict = job.policy.decide(ev, f.score, f.kind)
        findings.append(replace(f, decision=verdict.decision, rule=verdict.rule,
                                reasons=_ordered(verdict, ev)))  # fmt: skip
    findings.sort(key=_rank)
    return findings


def _service(
    d: dict[str, Any], cols: dict[str, NDArray[Any]] | None, interval: float
) -> list[Evidence]:
    """Protocol conformance of the pair's connections (:mod:`beaconhunt.enrich.services`)."""
    if cols is None:
        return []
    port = d["dst_port"]
    t = Traffic.from_columns(d["proto"], None if port in (None, -1) else int(port), cols)
    return service_evidence(t, _none_if_nan(interval))


def _clients(
    raw: dict[str, Any] | None, prevalence: dict[str, int], active: int, s: EvidenceSettings
) -> list[Evidence]:
    """Client-fingerprint evidence of a pair (:mod:`beaconhunt.enrich.fingerprints`)."""
    if raw is None:
        return []
    prints = ClientPrints(
        {k: Counter(v) for k, v in raw["values"].items()}, raw["http"], raw["no_host"]
    )
    return fingerprint_evidence(prints, prevalence, active, s.prevalence_min_hosts,
                                s.common_min_hosts, s.common_min_share)  # fmt: skip


def _ordered(verdict: Verdict, evidence: Sequence[Evidence]) -> tuple[Evidence, ...]:
    """The rule's sentence first, then the evidence pivot by pivot."""
    order = {p: i for i, p in enumerate(PIVOTS)}
    ranked = sorted(evidence, key=lambda e: order.get(e.pivot, len(order)))
    return (*verdict.reasons, *ranked)


def _rank(f: Finding) -> tuple[int, float, str, str]:
    """Escalations first, then monitor, then close; by score within each."""
    return (f.decision.rank, -f.score, f.src_ip, f.dst_domain or f.dst_ip or "")


def _none_if_nan(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def _processes(rows: list[dict[str, Any]]) -> tuple[ProcessShare, ...]:
    """Attribution rows (most connections first) as process shares of the pair."""
    return tuple(
        ProcessShare(
            image=r["image"],
            host=r["host"],
            process_guid=r["process_guid"],
            pid=None if r["pid"] is None else int(r["pid"]),
            user=r["user"],
            command_line=r["command_line"],
            parent_image=r["parent_image"],
            connections=int(r["n"]),
            share=int(r["n"]) / max(1, int(r["total"])),
        )
        for r in rows
    )


def _persistence(store: DuckDBStore) -> tuple[PersistenceEntry, ...]:
    """Every persistence entry in the input, classified once per hunt."""
    rec = store.persistence_candidates()
    return persistence_entries(
        [FileCreate.from_row(r) for r in rec["file_create"]],
        [RegSet.from_row(r) for r in rec["reg_set"]],
        [_process_info(r) for r in rec["proc_create"]],
    )


def _process_info(r: dict[str, Any]) -> ProcessInfo:
    """A ProcessInfo from an attribution or proc_create row (schema column names)."""
    pid = r.get("pid")
    return ProcessInfo(
        host=r.get("host"),
        process_guid=r.get("process_guid"),
        pid=None if pid is None else int(pid),
        image=r.get("image"),
        command_line=r.get("command_line"),
        user=r.get("user"),
        parent_image=r.get("parent_image"),
        parent_command_line=r.get("parent_command_line"),
        current_directory=r.get("current_directory"),
        original_file_name=r.get("original_file_name"),
        company=r.get("company"),
        product=r.get("product"),
        description=r.get("description"),
        integrity_level=r.get("integrity_level"),
    )


def _suspicious(
    row: dict[str, Any], persistence: tuple[PersistenceEntry, ...]
) -> tuple[Evidence, ...]:
    """Suspicious-process and persistence evidence about the main process of a pair."""
    proc = _process_info(row)
    return (*process_evidence(proc), *link_persistence(proc, persistence))


#: What a kind's events are called in sentences ("12 of 40 lookups made by ...").
_UNIT = {"dns": "lookups"}


def _pair_of(ref: PairRef) -> dict[str, Any]:
    """A detector's own pair description shaped like a store pair's details."""
    return {
        "src_ip": ref.src_ip, "dst_port": ref.dst_port, "proto": ref.proto,
        "src_host": ref.src_host, "dst_domain": ref.dst_domain, "domain_source": None,
        "proxied": False, "dst_ips": list(ref.dst_ips),
    }  # fmt: skip


def _process_reasons(
    processes: tuple[ProcessShare, ...], total: int, unit: str = "connections"
) -> tuple[Evidence, ...]:
    """Say which process made the connections, and when several did, each one's share."""
    if not processes:
        return ()
    top = processes[0]
    who = ", ".join(
        x for x in (f"pid {top.pid}" if top.pid is not None else "",
                    f"user {top.user}" if top.user else "",
                    f"on {top.host}" if top.host else "") if x
    )  # fmt: skip
    matched = sum(p.connections for p in processes)
    out = [Evidence(
        "process.attributed",
        f"{top.connections} of {total} {unit} made by {terminal_text(top.image, 120)}"
        + (f" ({terminal_text(who, 120)})" if who else "")
        + (f"; {total - matched} not matched to endpoint events"
           if matched < total and unit == "connections" else ""),
    )]  # fmt: skip
    if len(processes) > 1:
        shares = "; ".join(f"{terminal_text(p.image, 80)} {p.share:.0%}" for p in processes[:5])
        more = f" and {len(processes) - 5} more" if len(processes) > 5 else ""
        out.append(Evidence("process.multiple", f"several processes: {shares}{more}"))
    return tuple(out)


def _finding(
    d: dict[str, Any], c: Candidate, draft: Draft, evidence: Sequence[Evidence]
) -> Finding:
    """The finding of one candidate, undecided (the policy fills decision, rule, reasons)."""
    port = d["dst_port"]
    processes = draft.processes
    detail = c.details
    return Finding(
        src_ip=d["src_ip"],
        src_host=draft.src_host,
        dst_ip=draft.dst_ips[0] if draft.dst_ips else None,
        dst_domain=d["dst_domain"],
        dst_port=None if port == -1 else int(port),
        proto=d["proto"] or None,
        process_image=processes[0].image if processes else None,
        connections=detail.n_connections,
        first_seen=float(detail.first_seen),
        last_seen=float(detail.last_seen),
        interval_s=_none_if_nan(detail.median_interval),
        score=c.score,
        decision=Decision.MONITOR,
        components=detail.components,
        bytes_out_median=_none_if_nan(detail.bytes_out_median),
        bytes_in_median=_none_if_nan(detail.bytes_in_median),
        dst_ips=draft.dst_ips,
        processes=processes,
        times=tuple(float(t) for t in draft.times),
        reasons=tuple(evidence),
        kind=c.kind,
        info=c.info,
    )
