"""The hunt, stage by stage: ingest -> normalize -> store -> detect -> enrich -> decide.

:func:`hunt` is what ``beaconhunt hunt`` and ``beaconhunt demo`` run. It
returns findings and a report of what was read; it never prints (the CLI
does) and it raises only :class:`~beaconhunt.errors.BeaconhuntError`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from beaconhunt.config import DecideSettings, HuntSettings
from beaconhunt.decide import AllowlistRule, Candidate, Policy, ScoreRule
from beaconhunt.detect import PairScore, ScoreSettings, SeriesBatch, score_batch, score_series
from beaconhunt.detect.filter import FilterSettings, PairAggregates, prefilter_aggregates
from beaconhunt.duration import parse_duration
from beaconhunt.enrich import Allowlist, Networks
from beaconhunt.errors import InputProblem, NoUsableInput
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.model import Decision, Finding, Verdict
from beaconhunt.store.duckdb import DuckDBStore, ProgressFn

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
) -> HuntResult:
    """Read ``paths``, score every outbound pair and decide each finding."""
    settings = settings or HuntSettings()
    score = score or ScoreSettings()
    decide = decide or DecideSettings()
    filters = filters or FilterSettings()
    allowlist = allowlist or Allowlist()
    networks = Networks(settings.internal)
    window = parse_duration(settings.window) if settings.window else None
    clock: dict[str, float] = {}
    t0 = time.perf_counter()

    store = DuckDBStore(db)
    try:
        store.progress = progress
        load = load_paths(paths, store, on_file=on_file)
        clock["load"] = time.perf_counter() - t0
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
        store.mark_internal(networks)
        pairs = store.pair_stats(start, end, settings.min_connections)
        result.outbound_pairs = pairs.num_rows
        t1 = time.perf_counter()
        findings = _score_pairs(
            store, pairs, start, end, settings, score, decide, filters, allowlist, result.dropped
        )
        clock["detect"] = time.perf_counter() - t1
        result.findings = findings
    finally:
        store.close()
    clock["total"] = time.perf_counter() - t0
    result.seconds = clock
    return result


def _nothing_read(load: LoadReport) -> str:
    if load.files == 0:
        return "no input files found"
    kinds = ", ".join(f"{k}: {v}" for k, v in load.rows.items() if v) or "none"
    return (
        f"no connection records in {load.files} file(s) (records read: {kinds});"
        " give Zeek conn, http or ssl logs"
    )


def _col(pairs: pa.Table, name: str) -> np.ndarray:
    return np.asarray(pairs.column(name).to_numpy(zero_copy_only=False))


def _score_pairs(
    store: DuckDBStore,
    pairs: pa.Table,
    start: float,
    end: float,
    settings: HuntSettings,
    score: ScoreSettings,
    decide: DecideSettings,
    filters: FilterSettings,
    allowlist: Allowlist,
    dropped: Counter[str],
) -> list[Finding]:
    """Score every pair at once, drop bulk/variable ones, explain and decide the rest."""
    if pairs.num_rows == 0:
        return []
    pair_id = _col(pairs, "pair_id").astype(np.int64)
    series = store.pair_series(np.sort(pair_id), start, end)
    batch = SeriesBatch(series.ts, series.bytes_out, series.bytes_in, series.offsets)
    kept = prefilter_aggregates(PairAggregates.from_batch(batch), filters)
    dropped.update(kept.counts())
    scores = score_batch(batch, start, end, score)
    reported = np.flatnonzero(kept.keep & (scores.score >= settings.min_score))
    reported = reported[np.argsort(-scores.score[reported], kind="stable")]
    ids = series.pair_id[reported]
    ips = store.dst_ips_for(ids.tolist(), start, end)
    row_of = {int(p): i for i, p in enumerate(pair_id)}
    cols = {name: pairs.column(name).to_pylist() for name in _PAIR_COLUMNS}
    policy = Policy([AllowlistRule(allowlist), ScoreRule(decide)])
    findings = []
    for k, pid in zip(reported.tolist(), ids.tolist(), strict=True):
        r = row_of[pid]
        ts, bo, bi = batch.pair(k)
        detail = score_series(ts, bo, bi, start, end, score)
        dst_ips = tuple(ips.get(pid, ()))
        verdict = policy.decide(Candidate(cols["dst_domain"][r], dst_ips, detail.score))
        findings.append(_finding(cols, r, detail, dst_ips, verdict))
    findings.sort(key=_rank)
    return findings


_DECISION_RANK = {Decision.ESCALATE: 0, Decision.MONITOR: 1, Decision.CLOSE: 2}


def _rank(f: Finding) -> tuple[int, float, str, str]:
    """Escalations first, then monitor, then close; by score within each."""
    return (_DECISION_RANK[f.decision], -f.score, f.src_ip, f.dst_domain or f.dst_ip or "")


_PAIR_COLUMNS = ("src_ip", "src_host", "dst_ip", "dst_domain", "dst_port", "proto", "n",
                 "first_ts", "last_ts")  # fmt: skip


def _none_if_nan(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def _finding(
    cols: dict[str, list[Any]], r: int, detail: PairScore, dst_ips: tuple[str, ...],
    verdict: Verdict,
) -> Finding:  # fmt: skip
    port = cols["dst_port"][r]
    return Finding(
        src_ip=cols["src_ip"][r],
        src_host=cols["src_host"][r],
        dst_ip=dst_ips[0] if dst_ips else cols["dst_ip"][r],
        dst_domain=cols["dst_domain"][r],
        dst_port=None if port == -1 else int(port),
        proto=cols["proto"][r] or None,
        process_image=None,
        connections=int(cols["n"][r]),
        first_seen=float(cols["first_ts"][r]),
        last_seen=float(cols["last_ts"][r]),
        interval_s=_none_if_nan(detail.median_interval),
        score=float(detail.score),
        decision=verdict.decision,
        components=detail.components,
        bytes_out_median=_none_if_nan(detail.bytes_out_median),
        bytes_in_median=_none_if_nan(detail.bytes_in_median),
        dst_ips=dst_ips,
        reasons=(*verdict.reasons, *detail.reasons),
    )


def problems_summary(problems: Sequence[InputProblem]) -> list[str]:
    """One line per problem, as shown to the analyst."""
    return [str(p) for p in problems]


