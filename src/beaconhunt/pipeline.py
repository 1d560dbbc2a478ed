"""The hunt, stage by stage: ingest -> normalize -> store -> detect -> enrich -> decide.

:func:`hunt` is what ``beaconhunt hunt`` and ``beaconhunt demo`` run. It
returns findings and a report of what was read; it never prints (the CLI
does) and it raises only :class:`~beaconhunt.errors.BeaconhuntError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from beaconhunt.config import DecideSettings, HuntSettings
from beaconhunt.decide import AllowlistRule, Candidate, Policy, ScoreRule
from beaconhunt.detect import (
    ScoreSettings,
    SeriesBatch,
    prefilter,
    score_batch,
    score_series,
)
from beaconhunt.duration import parse_duration
from beaconhunt.enrich import Allowlist, Networks
from beaconhunt.errors import InputProblem, NoUsableInput
from beaconhunt.ingest.loader import LoadReport, load_paths
from beaconhunt.model import Evidence, Finding
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
    candidates: int = 0
    span: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def hunt(
    paths: Sequence[Path],
    settings: HuntSettings | None = None,
    score: ScoreSettings | None = None,
    decide: DecideSettings | None = None,
    allowlist: Allowlist | None = None,
    db: Path | None = None,
    progress: ProgressFn | None = None,
    on_file: Callable[[str], None] | None = None,
) -> HuntResult:
    """Read ``paths``, score every outbound pair and decide each finding."""
    settings = settings or HuntSettings()
    score = score or ScoreSettings()
    decide = decide or DecideSettings()
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
        store.set_internal(networks.internal_of(store.distinct_ips()))
        pairs = store.pair_stats(start, end, settings.min_connections)
        result.outbound_pairs = pairs.num_rows
        t1 = time.perf_counter()
        findings = _score_pairs(store, pairs, start, end, settings, score, decide, allowlist)
        clock["detect"] = time.perf_counter() - t1
        result.findings = findings
        result.candidates = len(findings)
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


def _col(pairs: object, name: str) -> np.ndarray:
    return np.asarray(pairs.column(name).to_numpy(zero_copy_only=False))  # type: ignore[attr-defined]


def _score_pairs(
    store: DuckDBStore,
    pairs: object,
    start: float,
    end: float,
    settings: HuntSettings,
    score: ScoreSettings,
    decide: DecideSettings,
    allowlist: Allowlist,
) -> list[Finding]:
    raise NotImplementedError  # filled in below once detect's API is fixed


def problems_summary(problems: Sequence[InputProblem]) -> list[str]:
    """One line per problem, as shown to the analyst."""
    return [str(p) for p in problems]


_ = Evidence
