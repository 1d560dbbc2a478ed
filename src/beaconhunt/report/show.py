"""One finding in full on a terminal (``beaconhunt show FINDING_ID --db FILE``).

The case document (:mod:`beaconhunt.app.case`) as Rich renderables: the summary,
the hypothesis, the evidence by pivot, the timing with its histogram, the decision
with its rationale and verdicts, the next steps. Values from the logs go through
:func:`~beaconhunt.util.text.terminal_text` into Rich ``Text`` objects, never markup.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from beaconhunt.app.case import CaseDocument, Line, Timing
from beaconhunt.detect.reasons import duration
from beaconhunt.model import Decision
from beaconhunt.util.text import terminal_text
from beaconhunt.util.timefmt import iso_utc

__all__ = ["render_show", "text_of"]

_STYLE = {Decision.ESCALATE: "bold red", Decision.MONITOR: "yellow", Decision.CLOSE: "green"}
_BAR = 40


def text_of(line: Line) -> Text:
    """A document line as Rich text: values escaped for a terminal, code in cyan."""
    out = Text()
    for span in line:
        if span.kind == "plain":
            out.append((span.text or "").replace("\n", ", "))
        elif span.kind == "code":
            out.append(terminal_text(span.text, span.limit), style="cyan")
        else:
            out.append(terminal_text(span.text, span.limit))
    return out


def _heading(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def _timing(t: Timing) -> list[RenderableType]:
    if t.kind == "none":
        return [Text(t.note)]
    if t.kind == "sessions":
        rows = Table(show_edge=False, box=None, pad_edge=False)
        for name in ("#", "start (UTC)", "end (UTC)", "held"):
            rows.add_column(name)
        for i, s in enumerate(t.sessions, 1):
            rows.add_row(str(i), iso_utc(s.start), iso_utc(s.end), duration(s.end - s.start))
        head = (f"held open {duration(t.connected_s)} ({t.coverage:.0%} of the window) in"
                f" {len(t.sessions)} session(s); longest {duration(t.longest_s)}"
                + ("; still open at the end" if t.open_at_end else ""))  # fmt: skip
        return [Text(head), rows]
    st = t.stats
    assert st is not None
    out: list[RenderableType] = [
        Text(
            f"{len(t.times):,} {t.events} times, {st.count:,} intervals: min"
            f" {duration(st.minimum)}, median {duration(st.median)}, p90 {duration(st.p90)},"
            f" max {duration(st.maximum)}"
            f" ({'log-spaced' if t.log_spaced else 'linear'} bins below)"
        ),
    ]
    labels = [f"{duration(b.low)} - {duration(b.high)}" for b in t.histogram]
    width = max(len(s) for s in labels)
    top = max(b.count for b in t.histogram) or 1
    for label, b in zip(labels, t.histogram, strict=True):
        bar = "#" * (max(1, round(b.count / top * _BAR)) if b.count else 0)
        out.append(Text(f"  {label:>{width}} | {bar:<{_BAR}} {b.count}"))
    return out


def render_show(doc: CaseDocument, console: Console) -> None:
    """Print the whole case of one finding to ``console``."""
    f = doc.finding
    head = Text()
    head.append(f"Case {doc.finding_id}: {doc.title}\n", style="bold")
    head.append(f.decision.value.upper(), style=_STYLE[f.decision])
    head.append(f" by rule {terminal_text(f.rule or '-', 80)}, score {f.score:.2f}\n")
    head.append("status: ").append_text(text_of(doc.status))
    if doc.history is not None:
        runs, first, _ = doc.history
        head.append(f"\nreported in {runs} run(s) since {iso_utc(first)}")
    parts: list[RenderableType] = [head]
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    for label, value in doc.summary:
        summary.add_row(label, text_of(value))
    parts += [_heading("Alert summary"), summary]
    parts += [_heading("Hypothesis"), text_of(doc.hypothesis)]
    parts.append(_heading("Evidence"))
    for n, section in enumerate(doc.evidence, 1):
        parts.append(Text(f"{n}. {section.title}", style="bold"))
        if not section.items:
            parts.append(Text("   no evidence on this pivot", style="dim"))
        for r in section.items:
            line = Text("   ")
            line.append(terminal_text(r.code, 60), style="cyan")
            line.append(": " + terminal_text(r.text, 500))
            parts.append(line)
    parts += [_heading("Timing"), *_timing(doc.timing)]
    parts.append(_heading("Decision and rationale"))
    for r in doc.rule_reasons:
        parts.append(Text(f"   {terminal_text(r.code, 60)}: {terminal_text(r.text, 500)}"))
    if not doc.verdicts:
        parts.append(Text("   no analyst verdict recorded yet", style="dim"))
    for v in doc.verdicts:
        who = terminal_text(v.analyst, 40) if v.analyst else "an analyst"
        parts.append(Text(f"   {iso_utc(v.at)}: {v.decision.value.upper()} by {who}:"
                          f" {terminal_text(v.note, 500)}"))  # fmt: skip
    parts.append(_heading("Suggested next steps"))
    for i, step in enumerate(doc.next_steps, 1):
        parts.append(Text(f"{i}. ").append_text(text_of(step)))
    console.print(Group(*parts))
