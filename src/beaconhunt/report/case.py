"""Markdown case files: the case document (:mod:`beaconhunt.app.case`) in Markdown.

Usage::

    beaconhunt case 3fa2c1 --db hunt.duckdb -o case-3fa2c1.md

    text = render_markdown(case_document(finding, verdicts, stored, generated_at=now))
    text = render_case(finding, verdicts, stored, generated_at=now)   # the same

Domains, URLs, command lines, user names and analyst notes are attacker- or
analyst-controlled, and Markdown renders raw HTML and links: every such value is a
``text`` or ``code`` span of the document, written through :func:`md_text` (escaped
prose) or :func:`md_code` (a code span whose fence no backtick inside can close).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from beaconhunt.app.case import CaseDocument, Line, Timing, case_document
from beaconhunt.detect.reasons import duration
from beaconhunt.model import Finding
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timefmt import iso_utc

if TYPE_CHECKING:
    from beaconhunt.store.history import AnalystVerdict, StoredFinding

__all__ = ["md_code", "md_line", "md_text", "render_case", "render_markdown"]

_BAR = 40
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#|!&~$])")


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


def md_line(line: Line, table: bool = False) -> str:
    """A document line in Markdown: beaconhunt's words as they are, values escaped
    (``table``: inside a table cell, where pipes end cells)."""
    out = []
    for span in line:
        if span.kind == "plain":
            out.append(span.text.replace("\n", "<br>") if span.text else "")
        elif span.kind == "code":
            out.append(md_code(span.text, span.limit, table))
        else:
            out.append(md_text(span.text, span.limit))
    return "".join(out)


# -- timing -----------------------------------------------------------------------------------


def _histogram_lines(t: Timing) -> list[str]:
    labels = [f"{duration(b.low)} - {duration(b.high)}" for b in t.histogram]
    width = max(len(s) for s in labels)
    top = max(b.count for b in t.histogram) or 1
    out = []
    for label, b in zip(labels, t.histogram, strict=True):
        bar = "#" * (max(1, round(b.count / top * _BAR)) if b.count else 0)
        out.append(f"{label:>{width}} | {bar:<{_BAR}} {b.count}")
    return out


def _timing(t: Timing) -> list[str]:
    if t.kind == "none":
        return [t.note]
    if t.kind == "sessions":
        out = [
            f"The pair held connections open for {duration(t.connected_s)}"
            f" ({t.coverage:.0%} of the window) in {len(t.sessions)} session(s);"
            f" longest connection {duration(t.longest_s)}"
            + ("; still open when the log ends." if t.open_at_end else "."),
            "",
            "| # | Start (UTC) | End (UTC) | Held | Gap before |",
            "|---:|---|---|---:|---:|",
        ]
        prev: float | None = None
        for i, s in enumerate(t.sessions, start=1):
            gap = "-" if prev is None else duration(s.start - prev)
            out.append(
                f"| {i} | {iso_utc(s.start)} | {iso_utc(s.end)} | {duration(s.end - s.start)}"
                f" | {gap} |"
            )
            prev = s.end
        return out
    st = t.stats
    assert st is not None  # intervals always have their numbers
    out = [
        f"Intervals between the {len(t.times):,} kept {t.events} times"
        f" ({iso_utc(t.times[0])} to {iso_utc(t.times[-1])}):",
        "",
        "| Intervals | Min | Median | p90 | Max |",
        "|---:|---:|---:|---:|---:|",
        f"| {st.count:,} | {duration(st.minimum)} | {duration(st.median)}"
        f" | {duration(st.p90)} | {duration(st.maximum)} |",
        "",
        f"Histogram of the intervals ({'log-spaced' if t.log_spaced else 'linear'} bins):",
    ]
    return [*out, "", "```text", *_histogram_lines(t), "```"]


# -- sections ---------------------------------------------------------------------------------


def _header(doc: CaseDocument) -> list[str]:
    f = doc.finding
    out = [
        f"# Case {doc.finding_id}: {doc.title}",
        "",
        f"**Decision:** {f.decision.value.upper()}  ",
        f"**Rule:** {md_code(f.rule or '-', 80)}  ",
        f"**Score:** {f.score:.2f}  ",
        f"**Status:** {md_line(doc.status)}  ",
    ]
    if doc.history is not None:
        runs, first, _last = doc.history
        out.append(f"**History:** reported in {runs} run(s) since {iso_utc(first)}  ")
    if doc.generated_at is not None:
        out.append(f"**Generated:** {iso_utc(doc.generated_at)}  ")
    return out


def _summary(doc: CaseDocument) -> list[str]:
    rows = [f"| {k} | {md_line(v, table=True)} |" for k, v in doc.summary]
    return ["| Field | Value |", "|---|---|", *rows]


def _evidence(doc: CaseDocument) -> list[str]:
    out: list[str] = []
    for n, section in enumerate(doc.evidence, start=1):
        out += ["", f"### {n}. {section.title}", ""]
        out += [f"- {md_code(r.code, 60)}: {md_text(r.text, 500)}" for r in section.items] or [
            "_no evidence on this pivot_"
        ]
    return out[1:]


def _decision(doc: CaseDocument) -> list[str]:
    f = doc.finding
    out = [
        f"**Decision:** {f.decision.value.upper()} (rule {md_code(f.rule or '-', 80)},"
        f" score {f.score:.2f})",
        "",
    ]
    out += [f"- {md_code(r.code, 60)}: {md_text(r.text, 500)}" for r in doc.rule_reasons] or [
        "- the deciding rule gave no sentence"
    ]
    if doc.history is not None and doc.history[0] > 1:
        runs, first, last = doc.history
        out += ["", f"Reported in {runs} runs between {iso_utc(first)} and {iso_utc(last)}."]
    out += ["", "**Analyst verdicts:**", ""]
    if not doc.verdicts:
        out.append("_none recorded yet_")
    for v in doc.verdicts:
        who = md_text(v.analyst, 40) if v.analyst else "an analyst"
        out.append(
            f"- {iso_utc(v.at)}: **{v.decision.value.upper()}** by {who}: {md_text(v.note, 500)}"
        )
    return out


def render_markdown(doc: CaseDocument) -> str:
    """The Markdown case file of a case document."""
    parts: list[list[str]] = [
        _header(doc),
        ["## Alert summary", "", *_summary(doc)],
        ["## Hypothesis", "", md_line(doc.hypothesis)],
        ["## Evidence", "", *_evidence(doc)],
        ["## Timing", "", *_timing(doc.timing)],
        ["## Decision and rationale", "", *_decision(doc)],
        ["## Suggested next steps", "", *(f"{i}. {md_line(s)}" for i, s in
                                         enumerate(doc.next_steps, 1))],
    ]  # fmt: skip
    return "\n\n---\n\n".join("\n".join(p) for p in parts) + "\n"


def render_case(
    finding: Finding,
    verdicts: Sequence[AnalystVerdict] = (),
    history: StoredFinding | None = None,
    generated_at: float | None = None,
) -> str:
    """The Markdown case file of ``finding`` (:func:`render_markdown` of its document).

    ``verdicts`` are the analyst verdicts on this finding (oldest first),
    ``history`` what the store remembers of it; ``generated_at`` (epoch
    seconds) is printed in the header when given.
    """
    return render_markdown(case_document(finding, verdicts, history, generated_at))
