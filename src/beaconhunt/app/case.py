"""The case document: one finding laid out the way an analyst writes a case.

Usage::

    doc = case_document(finding, verdicts, stored, generated_at=time.time())
    markdown = render_markdown(doc)            # beaconhunt.report.case
    html = render_case_html(doc)               # beaconhunt.report.html

The layout follows the analyst case write-up: a header with the decision, an alert
summary, the detection hypothesis, the evidence grouped by investigation pivot
(destination, timing, process, host, lateral, threat intelligence, analyst history),
the timing in numbers with a histogram of the intervals (or the sessions of a long
session), the decision with its rationale and analyst verdicts, and next steps chosen
by the decision and the evidence.

The document is data, not text in a format: every sentence is a :data:`Line` of
:class:`Span` s, and a span says whose words it holds. ``plain`` spans are
beaconhunt's own words; ``text`` and ``code`` spans hold values from the logs or from
analysts (domains, command lines, notes), which every renderer escapes for its format
(Markdown: escaped prose or a code span; HTML: autoescaped text or ``<code>``). So the
Markdown and HTML case files say the same thing, and no renderer can forget to escape
a value: it never sees one mixed into a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from beaconhunt.detect.reasons import duration
from beaconhunt.model import PIVOTS, Decision, Evidence, Finding, ProcessShare
from beaconhunt.util.timefmt import iso_utc

if TYPE_CHECKING:
    from beaconhunt.store.history import AnalystVerdict, StoredFinding

__all__ = [
    "BREAK",
    "HISTOGRAM_BINS",
    "PIVOT_TITLES",
    "CaseDocument",
    "HistogramBin",
    "IntervalStats",
    "Line",
    "PivotSection",
    "Session",
    "Span",
    "Timing",
    "VerdictView",
    "case_document",
    "interval_histogram",
]

#: Section title of each evidence pivot, in :data:`beaconhunt.model.PIVOTS` order.
PIVOT_TITLES: dict[str, str] = {
    "destination": "Destination analysis",
    "timing": "Timing analysis",
    "process": "Process attribution",
    "host": "Host context",
    "lateral": "Lateral indicators",
    "intel": "Threat intelligence",
    "history": "Analyst history",
    "other": "Other evidence",
}
HISTOGRAM_BINS = 12
"""Bins of the interval histogram (fewer when the intervals are all equal)."""


# -- the parts of a document ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of a sentence. ``kind``: ``plain`` (beaconhunt's own words), ``text`` (a
    value from the logs or an analyst, shown as prose) or ``code`` (such a value shown
    verbatim). ``limit``: how many characters of a value are shown; ``None`` is shown
    as ``-``."""

    text: str | None
    kind: Literal["plain", "text", "code"] = "plain"
    limit: int = 200


Line = tuple[Span, ...]
#: A line break inside a line (a table cell of several names): each renderer writes its own.
BREAK = Span("\n")


def _sep(separator: Span, parts: Sequence[Line]) -> list[Span]:
    """``parts`` one after the other, ``separator`` between them."""
    out: list[Span] = []
    for part in parts:
        out += [*([separator] if out else []), *part]
    return out


def _p(text: str) -> Span:
    return Span(text)


def _t(value: object, limit: int = 200) -> Span:
    return Span(None if value is None else str(value), "text", limit)


def _c(value: object, limit: int = 200) -> Span:
    return Span(None if value is None or value == "" else str(value), "code", limit)


@dataclass(frozen=True, slots=True)
class PivotSection:
    """The evidence of one investigation pivot (``items`` may be empty)."""

    pivot: str
    title: str
    items: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class IntervalStats:
    """The intervals between kept event times, in seconds."""

    count: int
    minimum: float
    median: float
    p90: float
    maximum: float


@dataclass(frozen=True, slots=True)
class HistogramBin:
    low: float
    high: float
    count: int


@dataclass(frozen=True, slots=True)
class Session:
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Timing:
    """The timing section. ``kind``: ``intervals`` (beacons, DNS), ``sessions`` (a long
    session) or ``none`` (too little kept: ``note`` says why)."""

    kind: Literal["intervals", "sessions", "none"]
    note: str = ""
    #: what the times are of: ``connection`` or ``lookup``
    events: str = "connection"
    times: tuple[float, ...] = ()
    stats: IntervalStats | None = None
    histogram: tuple[HistogramBin, ...] = ()
    log_spaced: bool = False
    sessions: tuple[Session, ...] = ()
    connected_s: float = 0.0
    coverage: float = 0.0
    longest_s: float = 0.0
    open_at_end: bool = False


@dataclass(frozen=True, slots=True)
class VerdictView:
    """An analyst verdict as a case shows it."""

    at: float
    decision: Decision
    analyst: str | None
    note: str


@dataclass(frozen=True, slots=True)
class CaseDocument:
    """Everything a case file says about one finding (see the module docstring)."""

    finding: Finding
    title: str
    #: the analyst's status line (``Automated decision, awaiting analyst review``...)
    status: Line
    #: (runs, first reported, last reported) when the store remembers the finding
    history: tuple[int, float, float] | None
    generated_at: float | None
    summary: tuple[tuple[str, Line], ...]
    hypothesis: Line
    evidence: tuple[PivotSection, ...]
    timing: Timing
    #: the deciding rule's own sentences (code ``decision.<rule>``)
    rule_reasons: tuple[Evidence, ...]
    verdicts: tuple[VerdictView, ...]
    next_steps: tuple[Line, ...]
    processes: tuple[ProcessShare, ...] = field(default=())

    @property
    def finding_id(self) -> str:
        return self.finding.finding_id


# -- timing ------------------------------------------------------------------------------------


def interval_histogram(
    intervals: Sequence[float] | np.ndarray, bins: int = HISTOGRAM_BINS
) -> list[tuple[float, float, int]]:
    """``(low, high, count)`` bins covering every finite interval once.

    Bins are log-spaced when the positive intervals span more than 10x (beacons with
    missed check-ins, or jitter over a wide range), linear otherwise; one bin when all
    intervals are equal. Zero intervals (two connections in the same second) fall in
    the first bin, which then starts at 0. The counts sum to the number of finite
    intervals.
    """
    d = np.asarray(intervals, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return []
    lo, hi = float(d.min()), float(d.max())
    if hi <= lo:
        return [(lo, hi, int(d.size))]
    positive = d[d > 0]
    low_pos = float(positive.min()) if positive.size else 0.0
    if low_pos > 0 and hi / low_pos > 10:
        edges = np.geomspace(low_pos, hi, bins + 1)
        edges[0], edges[-1] = low_pos, hi
        counts, _ = np.histogram(np.clip(d, low_pos, hi), edges)
        edges[0] = lo
    else:
        edges = np.linspace(lo, hi, bins + 1)
        counts, _ = np.histogram(d, edges)
    return [(float(edges[i]), float(edges[i + 1]), int(c)) for i, c in enumerate(counts)]


def _timing(f: Finding) -> Timing:
    if f.kind == "long_session":
        info = f.info or {}
        rows = tuple(Session(float(a), float(b)) for a, b in info.get("sessions") or ())
        if not rows:
            return Timing("none", note="No session times are kept for this finding.")
        return Timing(
            "sessions", sessions=rows, connected_s=float(info.get("connected_s") or 0),
            coverage=float(info.get("coverage") or 0), longest_s=float(info.get("longest_s") or 0),
            open_at_end=bool(info.get("open_at_end")),
        )  # fmt: skip
    events = "lookup" if f.kind == "dns" else "connection"
    times = np.sort(np.asarray(f.times, dtype=np.float64))
    if times.size < 2:
        note = (
            f"Fewer than two connection times are kept for this finding ({times.size}):"
            " no interval to show."
        )
        return Timing("none", note=note, events=events, times=tuple(map(float, times)))
    d = np.diff(times)
    p = np.percentile(d, [50, 90])
    stats = IntervalStats(int(d.size), float(d.min()), float(p[0]), float(p[1]), float(d.max()))
    positive = d[d > 0]
    log = bool(positive.size > 0 and float(d.max()) / float(positive.min()) > 10)
    hist = tuple(HistogramBin(a, b, c) for a, b, c in interval_histogram(d))
    return Timing("intervals", events=events, times=tuple(map(float, times)), stats=stats,
                  histogram=hist, log_spaced=log)  # fmt: skip


# -- sections ---------------------------------------------------------------------------------

_TITLES = {"dns": "suspicious DNS lookups (C2 over DNS)",
           "long_session": "long-lived outbound session"}  # fmt: skip


def _title(f: Finding) -> str:
    if f.kind == "dns" and (f.info or {}).get("pattern") == "dga":
        return "lookups of generated domains (DGA)"
    return _TITLES.get(f.kind, "suspicious outbound beaconing")


def _dst(f: Finding) -> Span:
    return _c(f.dst_domain or f.dst_ip, 120)


def _src(f: Finding) -> Line:
    if f.src_host:
        return (_c(f.src_host, 80), _p(" ("), _c(f.src_ip, 60), _p(")"))
    return (_c(f.src_ip, 60),)


def _bytes(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:,.0f} B"


def _median_interval(f: Finding) -> float | None:
    if f.interval_s is not None:
        return f.interval_s
    if len(f.times) >= 2:
        return float(np.median(np.diff(np.sort(np.asarray(f.times)))))
    return None


def _status(verdicts: Sequence[AnalystVerdict]) -> Line:
    if not verdicts:
        return (_p("Automated decision, awaiting analyst review"),)
    v = verdicts[-1]
    who = _t(v.analyst, 40) if v.analyst else _p("an analyst")
    return (
        _p(f"Investigated → Decision Made (analyst: {v.decision.value.upper()} by "), who,
        _p(f" on {iso_utc(v.at)})"),
    )  # fmt: skip


def _kind_rows(f: Finding) -> list[tuple[str, Line]]:
    """The summary rows of a kind's own details (every value from the logs a span)."""
    info = f.info or {}
    if f.kind == "dns":
        qtypes = _sep(_p(", "), [(_t(q, 12), _p(f" {n:,}"))
                                 for q, n in (info.get("qtypes") or {}).items()])  # fmt: skip
        names = _sep(BREAK, [(_c(name, 120),) for name in info.get("sample_names") or ()])
        return [
            ("Zone", (_c(info.get("zone"), 120),) if info.get("zone") else (_p("-"),)),
            ("Lookups / distinct names", (_p(f"{int(info.get('lookups') or 0):,} /"
             f" {int(info.get('unique_names') or 0):,}"),)),
            ("Query types", tuple(qtypes) or (_p("-"),)),
            ("NXDOMAIN share", (_p(f"{float(info.get('nxdomain_share') or 0):.0%}"),)),
            ("Label length (mean / max)", (_p(f"{float(info.get('mean_label_length') or 0):.0f} /"
             f" {int(info.get('max_label_length') or 0)}"),)),
            ("Characters in fresh names", (_p(f"{int(info.get('encoded_chars') or 0):,}"),)),
            ("Sample names", tuple(names) or (_p("-"),)),
        ]  # fmt: skip
    if f.kind == "long_session":
        return [
            ("Connected time", (_p(duration(float(info.get("connected_s") or 0))),)),
            ("Coverage of the window", (_p(f"{float(info.get('coverage') or 0):.0%}"),)),
            ("Longest connection", (_p(duration(float(info.get("longest_s") or 0))),)),
            ("Sessions / reconnects", (_p(f"{len(info.get('sessions') or ())} /"
             f" {int(info.get('reconnects') or 0)}"),)),
            ("Open at end of log", (_p("yes" if info.get("open_at_end") else "no"),)),
        ]  # fmt: skip
    return []


def _summary(f: Finding) -> list[tuple[str, Line]]:
    p = f.process
    ips = [ip for ip in (f.dst_ip, *f.dst_ips) if ip]
    dst: list[Span] = [_dst(f)]
    if f.dst_domain and ips:
        shown = _sep(_p(", "), [(_c(ip, 60),) for ip in dict.fromkeys(ips[:5])])
        dst += [_p(" ("), *shown, _p(f"{', ...' if len(set(ips)) > 5 else ''})")]
    proc: list[Span] = [_c(f.process_image, 200)] if f.process_image else [_p("unknown")]
    extra: list[Line] = []
    if p is not None and p.pid is not None:
        extra.append((_p(f"pid {p.pid}"),))
    if p is not None and p.user:
        extra.append((_p("user "), _c(p.user, 80)))
    if extra:
        proc += [_p(" ("), *_sep(_p(", "), extra), _p(")")]
    interval = _median_interval(f)
    port = f"{f.dst_port if f.dst_port is not None else '-'}/{f.proto or '-'}"
    rows: list[tuple[str, Line]] = [
        ("Source host / IP", _src(f)),
        ("Destination domain / IP", tuple(dst)),
        ("Port / protocol", (_p(port),)),
        ("Process", tuple(proc)),
        ("Command line", (_c(p.command_line if p else None, 300),)),
        ("Parent process", (_c(p.parent_image if p else None, 200),)),
        ("Connections", (_p(f"{f.connections:,}"),)),
        ("First seen (UTC)", (_p(iso_utc(f.first_seen)),)),
        ("Last seen (UTC)", (_p(iso_utc(f.last_seen)),)),
        ("Median interval", (_p(duration(interval) if interval is not None else "-"),)),
        ("Bytes out / in (median)",
         (_p(f"{_bytes(f.bytes_out_median)} / {_bytes(f.bytes_in_median)}"),)),
        *_kind_rows(f),
    ]  # fmt: skip
    if f.kind == "dns":
        rows[1] = ("Zone / resolver", tuple(dst))
        rows[6] = ("Lookups", (_p(f"{f.connections:,}"),))
    return rows


def _hypothesis(f: Finding) -> Line:
    if f.kind == "dns":
        return (
            _p("If "), *_src(f), _p(" looks up many fresh names under "), _dst(f),
            _p(", the names may carry data to a server authoritative for the zone and the"
               " answers may carry commands back: C2 or a tunnel over DNS. Antivirus"
               " reputation lookups, DNS blocklists, CDN and telemetry names look the same,"
               " so the zone, the process and the host decide."),
        )  # fmt: skip
    if f.kind == "long_session":
        return (
            _p("If "), *_src(f), _p(" holds a connection to "), _dst(f),
            _p(" open for hours, it may be an interactive C2 session, a reverse shell or a"
               " tunnel. Chat and meeting websockets, push channels, IMAP IDLE, VPN and sync"
               " clients hold sessions too, so the destination, the process and the host"
               " decide."),
        )  # fmt: skip
    interval = _median_interval(f)
    every = duration(interval) if interval is not None else "unknown"
    volume = (
        f"median {_bytes(f.bytes_out_median)} out per connection"
        if f.bytes_out_median is not None and np.isfinite(f.bytes_out_median)
        else "data volume unknown"
    )
    who = (_p("process "), _c(f.process_image, 200)) if f.process_image else (
        _p("an unattributed process"),)  # fmt: skip
    port = f"port {f.dst_port}/{f.proto or '-'}" if f.dst_port is not None else "the same port"
    return (
        _p("If "), *_src(f), _p(" makes repeated outbound connections to "), _dst(f),
        _p(f" on {port} at consistent intervals (median {every}) with low data volume"
           f" ({volume}), the activity of "), *who,
        _p(" may be command-and-control beaconing. Update checks, telemetry and sync clients"
           " look the same, so the destination, the process and the host context decide."),
    )  # fmt: skip


def _evidence(f: Finding) -> tuple[PivotSection, ...]:
    by_pivot: dict[str, list[Evidence]] = {p: [] for p in PIVOTS}
    for r in f.reasons:
        by_pivot.setdefault(r.pivot, []).append(r)
    return tuple(
        PivotSection(pivot, PIVOT_TITLES.get(pivot, pivot.title()), tuple(by_pivot[pivot]))
        for pivot in PIVOTS
        if pivot != "decision" and (pivot != "other" or by_pivot["other"])
    )


def _codes(f: Finding, prefix: str) -> list[Evidence]:
    return [r for r in f.reasons if r.code.startswith(prefix)]


def _joined(items: Sequence[Evidence], limit: int = 300) -> list[Span]:
    return _sep(_p("; "), [(_t(r.text, limit),) for r in items])


def _next_steps(f: Finding) -> list[Line]:
    fid, src, dst = f.finding_id, _src(f), _dst(f)
    image: Line = (_c(f.process_image, 200),) if f.process_image else (
        _p("the process (not attributed)"),)  # fmt: skip

    def record(verb: str) -> Span:
        return _c(f'beaconhunt decide {fid} {verb} --note "..." --db FILE', 200)

    lateral = _joined(_codes(f, "lateral."))
    persistence = _joined(_codes(f, "persistence."))
    steps: list[Line] = []
    if f.decision is Decision.ESCALATE:
        p = f.process
        parent: Line = ()
        if p and p.parent_image:
            parent = (_p(" (parent "), _c(p.parent_image, 200), _p(")"))
        steps += [
            (_p("Isolate or contain "), *src,
             _p(" through the EDR until the beaconing process is understood.")),
            (_p("Collect "), *image, *parent,
             _p(": the binary and its hash, its parent and command line.")),
            (_p("Capture the memory of "), *src,
             _p(" before any reboot (implants often live only in memory).")),
            (_p("Block "), dst, _p(" at the proxy and firewall; check DNS logs for who else"
                                   " resolved it.")),
            (_p("Hunt other hosts for connections to "), dst, _p(" and for the image "), *image,
             *((_p("; lateral evidence: "), *lateral) if lateral else ()), _p(".")),
            (_p("Check persistence on "), *src,
             _p(": Run keys, services, scheduled tasks, startup folder"),
             *((_p("; found: "), *persistence) if persistence else ()), _p(".")),
            (_p("Record the outcome: "), record("escalate"), _p(".")),
        ]  # fmt: skip
    elif f.decision is Decision.MONITOR:
        steps += [
            (_p("Add "), dst, _p(" from "), *src, _p(" to the watch list.")),
            (_p("Confirm the owner and the application ("), *image, _p(") with the owner of "),
             *src, _p(".")),
            (_p("Hunt again with "), _c("--db"), _p(" on later logs to build history: a beacon"
                " that persists across days weighs more than one day of it."),),
            (_p("Record the verdict: "), record("close"), _p(" (or "), _c("monitor"), _p(" / "),
             _c("escalate"), _p("); later hunts with the same "), _c("--db"),
             _p(" apply it to this destination and process on every host.")),
        ]  # fmt: skip
        if lateral:
            steps.append((_p("Review the other hosts named by lateral evidence: "), *lateral,
                          _p(".")))  # fmt: skip
    else:
        steps += [
            (_p("Add "), dst, _p(" to the allowlist or the application inventory if "), *image,
             _p(" is approved.")),
            (_p("Record the verdict: "), record("close"),
             _p(", so later hunts close this destination and process with your note as the"
                " reason.")),
        ]  # fmt: skip
    for r in _codes(f, "intel."):
        steps.append((_p("Confirm the threat intelligence match: "), _t(r.text, 300), _p(".")))
    for r in _codes(f, "history.process_flagged"):
        steps.append((_p("Read the earlier escalation of this process: "), _t(r.text, 300),
                      _p(".")))  # fmt: skip
    return steps


def case_document(
    finding: Finding,
    verdicts: Sequence[AnalystVerdict] = (),
    history: StoredFinding | None = None,
    generated_at: float | None = None,
) -> CaseDocument:
    """The case document of ``finding``.

    ``verdicts`` are the analyst verdicts on this finding (oldest first), ``history``
    what the store remembers of it; ``generated_at`` (epoch seconds) is said in the
    header when given.
    """
    f = finding
    seen = None if history is None else (
        history.runs, history.first_reported, history.last_reported)  # fmt: skip
    return CaseDocument(
        finding=f,
        title=_title(f),
        status=_status(verdicts),
        history=seen,
        generated_at=generated_at,
        summary=tuple(_summary(f)),
        hypothesis=_hypothesis(f),
        evidence=_evidence(f),
        timing=_timing(f),
        rule_reasons=tuple(r for r in f.reasons if r.pivot == "decision"),
        verdicts=tuple(VerdictView(v.at, v.decision, v.analyst, v.note) for v in verdicts),
        next_steps=tuple(_next_steps(f)),
        processes=f.processes,
    )
