"""Markdown case files: one finding written up the way an analyst writes a case.

Usage::

    beaconhunt case 3fa2c1 --db hunt.duckdb -o case-3fa2c1.md

    text = render_case(finding, verdicts, stored, generated_at=time.time())

The layout follows the analyst case write-up: a header with the decision, an
alert summary table, the detection hypothesis, the evidence grouped by
investigation pivot (destination, timing, process, host, lateral, threat
intelligence, analyst history), the timing in numbers and a histogram of the
intervals, the decision with its rationale and analyst verdicts, and next
steps chosen by the decision and the evidence.

Domains, URLs, command lines, user names and analyst notes are attacker- or
analyst-controlled, and Markdown renders raw HTML and links: every such string
goes through :func:`md_text` (escaped prose) or :func:`md_code` (a code span
whose fence no backtick inside can close).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from beaconhunt.detect.reasons import duration
from beaconhunt.model import (
    PIVOTS,
    Decision,
    Evidence,
    Finding,
)
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timefmt import iso_utc

if TYPE_CHECKING:
    from beaconhunt.store.history import AnalystVerdict, StoredFinding

__all__ = ["interval_histogram", "md_code", "md_text", "render_case"]

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
_BAR = 40
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#|!&~$])")
_ISO = "%Y-%m-%dT%H:%M:%SZ"


# -- escaping ---------------------------------------------------------------------------------


def md_text(value: object, max_len: int = 200) -> str:
    """``value`` as inert Markdown prose on one line: no HTML, links, emphasis or table breaks.

    Control characters become visible escapes and long text is cut (see
    :func:`~beaconhunt.report.safe.terminal_text`), then every character
    Markdown gives meaning to is backslash-escaped. ``None`` becomes ``-``.
    """
    return _MD_SPECIAL.sub(r"\\\1", terminal_text(value, max_len))


def md_code(value: object, max_len: int = 200, table: bool = False) -> str:
    """``value`` as a one-line code span (shown verbatim, never rendered).

    The fence is one backtick longer than any run of backticks inside. In a
    table cell (``table=True``) every ``|`` is escaped so it cannot end the
    cell (GitHub tables split on pipes even inside code spans). ``None`` and
    empty strings become ``-``.
    """
    if value is None or value == "":
        return "-"
    s = terminal_text(value, max_len)
    if table:
        s = re.sub(r"(\\*)\|", _escape_pipe, s)
    runs = re.findall(r"`+", s)
    fence = "`" * (max((len(r) for r in runs), default=0) + 1)
    pad = " " if s[:1] in ("`", " ") or s[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _escape_pipe(m: re.Match[str]) -> str:
    """An odd number of backslashes before a pipe: GFM reads ``\\\\`` pairs first."""
    slashes = m.group(1)
    return slashes + ("\\" if len(slashes) % 2 == 0 else "\\\\") + "|"


# -- timing -----------------------------------------------------------------------------------


def interval_histogram(
    intervals: Sequence[float] | np.ndarray, bins: int = HISTOGRAM_BINS
) -> list[tuple[float, float, int]]:
    """``(low, high, count)`` bins covering every finite interval once.

    Bins are log-spaced when the positive intervals span more than 10x
    (beacons with missed check-ins, or jitter over a wide range), linear
    otherwise; one bin when all intervals are equal. Zero intervals (two
    connections in the same second) fall in the first bin, which then starts
    at 0. The counts sum to the number of finite intervals.
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


def _histogram_lines(hist: list[tuple[float, float, int]]) -> list[str]:
    labels = [f"{duration(a)} - {duration(b)}" for a, b, _ in hist]
    width = max(len(s) for s in labels)
    top = max(c for _, _, c in hist) or 1
    out = []
    for label, (_, _, c) in zip(labels, hist, strict=True):
        bar = "#" * (max(1, round(c / top * _BAR)) if c else 0)
        out.append(f"{label:>{width}} | {bar:<{_BAR}} {c}")
    return out


def _timeline(f: Finding) -> list[str]:
    """A long session's sessions, one row each."""
    info = f.info or {}
    rows = [(float(a), float(b)) for a, b in info.get("sessions") or ()]
    if not rows:
        return ["No session times are kept for this finding."]
    out = [
        f"The pair held connections open for {duration(float(info.get('connected_s') or 0))}"
        f" ({float(info.get('coverage') or 0):.0%} of the window) in {len(rows)} session(s);"
        f" longest connection {duration(float(info.get('longest_s') or 0))}"
        + ("; still open when the log ends." if info.get("open_at_end") else "."),
        "",
        "| # | Start (UTC) | End (UTC) | Held | Gap before |",
        "|---:|---|---|---:|---:|",
    ]
    prev: float | None = None
    for i, (a, b) in enumerate(rows, start=1):
        gap = "-" if prev is None else duration(a - prev)
        out.append(f"| {i} | {iso_utc(a)} | {iso_utc(b)} | {duration(b - a)} | {gap} |")
        prev = b
    return out


def _timing(f: Finding) -> list[str]:
    if f.kind == "long_session":
        return _timeline(f)
    times = np.sort(np.asarray(f.times, dtype=np.float64))
    if times.size < 2:
        return [
            f"Fewer than two connection times are kept for this finding ({times.size}):"
            " no interval to show."
        ]
    d = np.diff(times)
    p = np.percentile(d, [50, 90])
    out = [
        f"Intervals between the {times.size:,} kept {_events(f)} times"
        f" ({iso_utc(float(times[0]))} to {iso_utc(float(times[-1]))}):",
        "",
        "| Intervals | Min | Median | p90 | Max |",
        "|---:|---:|---:|---:|---:|",
        f"| {d.size:,} | {duration(float(d.min()))} | {duration(float(p[0]))}"
        f" | {duration(float(p[1]))} | {duration(float(d.max()))} |",
        "",
    ]
    hist = interval_histogram(d)
    positive = d[d > 0]
    log = positive.size > 0 and float(d.max()) / float(positive.min()) > 10
    out.append(f"Histogram of the intervals ({'log-spaced' if log else 'linear'} bins):")
    out += ["", "```text", *_histogram_lines(hist), "```"]
    return out


# -- sections ---------------------------------------------------------------------------------


def _events(f: Finding) -> str:
    return "lookup" if f.kind == "dns" else "connection"


_TITLES = {"dns": "suspicious DNS lookups (C2 over DNS)",
           "long_session": "long-lived outbound session"}  # fmt: skip


def _title(f: Finding) -> str:
    if f.kind == "dns" and (f.info or {}).get("pattern") == "dga":
        return "lookups of generated domains (DGA)"
    return _TITLES.get(f.kind, "suspicious outbound beaconing")


def _kind_rows(f: Finding) -> list[tuple[str, str]]:
    """The summary rows of a kind's own details (every value from the logs escaped)."""
    info = f.info or {}
    if f.kind == "dns":
        qtypes = ", ".join(f"{md_text(q, 12)} {n:,}" for q, n in (info.get("qtypes") or {}).items())
        names = "<br>".join(md_code(n, 120, True) for n in info.get("sample_names") or ())
        return [
            ("Zone", md_code(info.get("zone"), 120, True) if info.get("zone") else "-"),
            ("Lookups / distinct names", f"{int(info.get('lookups') or 0):,} /"
             f" {int(info.get('unique_names') or 0):,}"),
            ("Query types", qtypes or "-"),
            ("NXDOMAIN share", f"{float(info.get('nxdomain_share') or 0):.0%}"),
            ("Label length (mean / max)", f"{float(info.get('mean_label_length') or 0):.0f} /"
             f" {int(info.get('max_label_length') or 0)}"),
            ("Characters in fresh names", f"{int(info.get('encoded_chars') or 0):,}"),
            ("Sample names", names or "-"),
        ]  # fmt: skip
    if f.kind == "long_session":
        return [
            ("Connected time", duration(float(info.get("connected_s") or 0))),
            ("Coverage of the window", f"{float(info.get('coverage') or 0):.0%}"),
            ("Longest connection", duration(float(info.get("longest_s") or 0))),
            ("Sessions / reconnects", f"{len(info.get('sessions') or ())} /"
             f" {int(info.get('reconnects') or 0)}"),
            ("Open at end of log", "yes" if info.get("open_at_end") else "no"),
        ]  # fmt: skip
    return []


def _dst(f: Finding, table: bool = False) -> str:
    return md_code(f.dst_domain or f.dst_ip, 120, table)


def _src(f: Finding, table: bool = False) -> str:
    if f.src_host:
        return f"{md_code(f.src_host, 80, table)} ({md_code(f.src_ip, 60, table)})"
    return md_code(f.src_ip, 60, table)


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


def _header(
    f: Finding,
    verdicts: Sequence[AnalystVerdict],
    history: StoredFinding | None,
    generated_at: float | None,
) -> list[str]:
    if verdicts:
        v = verdicts[-1]
        who = md_text(v.analyst, 40) if v.analyst else "an analyst"
        status = (
            f"Investigated → Decision Made (analyst: {v.decision.value.upper()} by {who}"
            f" on {iso_utc(v.at)})"
        )
    else:
        status = "Automated decision, awaiting analyst review"
    out = [
        f"# Case {f.finding_id}: {_title(f)}",
        "",
        f"**Decision:** {f.decision.value.upper()}  ",
        f"**Rule:** {md_code(f.rule or '-', 80)}  ",
        f"**Score:** {f.score:.2f}  ",
        f"**Status:** {status}  ",
    ]
    if history is not None:
        out.append(
            f"**History:** reported in {history.runs} run(s) since"
            f" {iso_utc(history.first_reported)}  "
        )
    if generated_at is not None:
        out.append(f"**Generated:** {iso_utc(generated_at)}  ")
    return out


def _summary(f: Finding) -> list[str]:
    p = f.process
    ips = [ip for ip in (f.dst_ip, *f.dst_ips) if ip]
    dst = _dst(f, True)
    if f.dst_domain and ips:
        shown = ", ".join(md_code(ip, 60, True) for ip in dict.fromkeys(ips[:5]))
        dst += f" ({shown}{', ...' if len(set(ips)) > 5 else ''})"
    proc = md_code(f.process_image, 200, True) if f.process_image else "unknown"
    extra = []
    if p is not None and p.pid is not None:
        extra.append(f"pid {p.pid}")
    if p is not None and p.user:
        extra.append(f"user {md_code(p.user, 80, True)}")
    if extra:
        proc += f" ({', '.join(extra)})"
    interval = _median_interval(f)
    rows = [
        ("Source host / IP", _src(f, True)),
        ("Destination domain / IP", dst),
        ("Port / protocol", f"{f.dst_port if f.dst_port is not None else '-'}/{f.proto or '-'}"),
        ("Process", proc),
        ("Command line", md_code(p.command_line if p else None, 300, True)),
        ("Parent process", md_code(p.parent_image if p else None, 200, True)),
        ("Connections", f"{f.connections:,}"),
        ("First seen (UTC)", iso_utc(f.first_seen)),
        ("Last seen (UTC)", iso_utc(f.last_seen)),
        ("Median interval", duration(interval) if interval is not None else "-"),
        ("Bytes out / in (median)", f"{_bytes(f.bytes_out_median)} / {_bytes(f.bytes_in_median)}"),
        *_kind_rows(f),
    ]
    if f.kind == "dns":
        rows[1] = ("Zone / resolver", dst)
        rows[6] = ("Lookups", f"{f.connections:,}")
    return ["| Field | Value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def _hypothesis(f: Finding) -> list[str]:
    if f.kind == "dns":
        return [
            f"If {_src(f)} looks up many fresh names under {_dst(f)}, the names may carry data"
            " to a server authoritative for the zone and the answers may carry commands back:"
            " C2 or a tunnel over DNS. Antivirus reputation lookups, DNS blocklists, CDN and"
            " telemetry names look the same, so the zone, the process and the host decide."
        ]
    if f.kind == "long_session":
        return [
            f"If {_src(f)} holds a connection to {_dst(f)} open for hours, it may be an"
            " interactive C2 session, a reverse shell or a tunnel. Chat and meeting websockets,"
            " push channels, IMAP IDLE, VPN and sync clients hold sessions too, so the"
            " destination, the process and the host decide."
        ]
    interval = _median_interval(f)
    every = duration(interval) if interval is not None else "unknown"
    volume = (
        f"median {_bytes(f.bytes_out_median)} out per connection"
        if f.bytes_out_median is not None and np.isfinite(f.bytes_out_median)
        else "data volume unknown"
    )
    who = (
        f"process {md_code(f.process_image, 200)}" if f.process_image else "an unattributed process"
    )
    port = f"port {f.dst_port}/{f.proto or '-'}" if f.dst_port is not None else "the same port"
    return [
        f"If {_src(f)} makes repeated outbound connections to {_dst(f)} on {port} at"
        f" consistent intervals (median {every}) with low data volume ({volume}), the activity"
        f" of {who} may be command-and-control beaconing. Update checks, telemetry and sync"
        " clients look the same, so the destination, the process and the host context decide."
    ]


def _evidence(f: Finding) -> list[str]:
    by_pivot: dict[str, list[Evidence]] = {p: [] for p in PIVOTS}
    for r in f.reasons:
        by_pivot.setdefault(r.pivot, []).append(r)
    out: list[str] = []
    n = 0
    for pivot in PIVOTS:
        if pivot == "decision" or (pivot == "other" and not by_pivot["other"]):
            continue
        n += 1
        out += ["", f"### {n}. {PIVOT_TITLES.get(pivot, pivot.title())}", ""]
        items = by_pivot[pivot]
        out += [f"- {md_code(r.code, 60)}: {md_text(r.text, 500)}" for r in items] or [
            "_no evidence on this pivot_"
        ]
    return out[1:]


def _decision(
    f: Finding, verdicts: Sequence[AnalystVerdict], history: StoredFinding | None
) -> list[str]:
    out = [
        f"**Decision:** {f.decision.value.upper()} (rule {md_code(f.rule or '-', 80)},"
        f" score {f.score:.2f})",
        "",
    ]
    rule_reasons = [r for r in f.reasons if r.pivot == "decision"]
    out += [f"- {md_code(r.code, 60)}: {md_text(r.text, 500)}" for r in rule_reasons] or [
        "- the deciding rule gave no sentence"
    ]
    if history is not None and history.runs > 1:
        out += [
            "",
            f"Reported in {history.runs} runs between {iso_utc(history.first_reported)} and"
            f" {iso_utc(history.last_reported)}.",
        ]
    out += ["", "**Analyst verdicts:**", ""]
    if not verdicts:
        out.append("_none recorded yet_")
    for v in verdicts:
        who = md_text(v.analyst, 40) if v.analyst else "an analyst"
        out.append(
            f"- {iso_utc(v.at)}: **{v.decision.value.upper()}** by {who}: {md_text(v.note, 500)}"
        )
    return out


def _codes(f: Finding, prefix: str) -> list[Evidence]:
    return [r for r in f.reasons if r.code.startswith(prefix)]


def _next_steps(f: Finding) -> list[str]:
    fid, src, dst = f.finding_id, _src(f), _dst(f)
    image = md_code(f.process_image, 200) if f.process_image else "the process (not attributed)"
    record = "`beaconhunt decide " + fid + ' {} --note "..." --db FILE`'
    lateral = "; ".join(md_text(r.text, 300) for r in _codes(f, "lateral."))
    persistence = "; ".join(md_text(r.text, 300) for r in _codes(f, "persistence."))
    steps: list[str] = []
    if f.decision is Decision.ESCALATE:
        p = f.process
        parent = f" (parent {md_code(p.parent_image, 200)})" if p and p.parent_image else ""
        steps += [
            f"Isolate or contain {src} through the EDR until the beaconing process is understood.",
            f"Collect {image}{parent}: the binary and its hash, its parent and command line.",
            f"Capture the memory of {src} before any reboot (implants often live only in memory).",
            f"Block {dst} at the proxy and firewall; check DNS logs for who else resolved it.",
            f"Hunt other hosts for connections to {dst} and for the image {image}"
            + (f"; lateral evidence: {lateral}" if lateral else "")
            + ".",
            f"Check persistence on {src}: Run keys, services, scheduled tasks, startup folder"
            + (f"; found: {persistence}" if persistence else "")
            + ".",
            f"Record the outcome: {record.format('escalate')}.",
        ]
    elif f.decision is Decision.MONITOR:
        steps += [
            f"Add {dst} from {src} to the watch list.",
            f"Confirm the owner and the application ({image}) with the owner of {src}.",
            "Hunt again with `--db` on later logs to build history: a beacon that persists"
            " across days weighs more than one day of it.",
            f"Record the verdict: {record.format('close')} (or `monitor` / `escalate`); later"
            " hunts with the same `--db` apply it to this destination and process on every host.",
        ]
        if lateral:
            steps.append(f"Review the other hosts named by lateral evidence: {lateral}.")
    else:
        steps += [
            f"Add {dst} to the allowlist or the application inventory if {image} is approved.",
            f"Record the verdict: {record.format('close')}, so later hunts close this destination"
            " and process with your note as the reason.",
        ]
    for r in _codes(f, "intel."):
        steps.append(f"Confirm the threat intelligence match: {md_text(r.text, 300)}.")
    for r in _codes(f, "history.process_flagged"):
        steps.append(f"Read the earlier escalation of this process: {md_text(r.text, 300)}.")
    return [f"{i}. {s}" for i, s in enumerate(steps, 1)]


def render_case(
    finding: Finding,
    verdicts: Sequence[AnalystVerdict] = (),
    history: StoredFinding | None = None,
    generated_at: float | None = None,
) -> str:
    """The Markdown case file of ``finding``.

    ``verdicts`` are the analyst verdicts on this finding (oldest first),
    ``history`` what the store remembers of it; ``generated_at`` (epoch
    seconds) is printed in the header when given.
    """
    f = finding
    parts: list[list[str]] = [
        _header(f, verdicts, history, generated_at),
        ["## Alert summary", "", *_summary(f)],
        ["## Hypothesis", "", *_hypothesis(f)],
        ["## Evidence", "", *_evidence(f)],
        ["## Timing", "", *_timing(f)],
        ["## Decision and rationale", "", *_decision(f, verdicts, history)],
        ["## Suggested next steps", "", *_next_steps(f)],
    ]
    return "\n\n---\n\n".join("\n".join(p) for p in parts) + "\n"
