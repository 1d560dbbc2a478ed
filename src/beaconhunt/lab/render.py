"""Evaluations and grids as text tables, Markdown and JSON.

Rates print as percentages; a rate that cannot be measured (NaN: no implant,
nothing escalated) prints ``n/a`` in tables and ``null`` in JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from beaconhunt.lab.breakdown import FAMILY_ORDER, Group
from beaconhunt.lab.grid import BASE, GridResult, PointResult
from beaconhunt.lab.metrics import Evaluation

__all__ = [
    "evaluation_json",
    "evaluation_text",
    "grid_json",
    "grid_markdown",
    "grid_text",
    "knob_value",
    "pct",
    "table",
]


def pct(x: float) -> str:
    """``0.875`` -> ``88%``; NaN -> ``n/a``."""
    return "n/a" if math.isnan(x) else f"{x:.0%}"


def _num(x: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.{digits}f}"


def knob_value(knob: str, v: float) -> str:
    """A swept value as people say it: ``30%``, ``5 min``, ``1 h``, ``10 s``."""
    if knob != "sleep":
        return f"{v:.0%}"
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        if v >= size and v % size == 0:
            return f"{v / size:g} {unit}"
    return f"{v:g} s"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """Rows as a Markdown pipe table or as aligned plain-text columns."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _metric_rows(ev: Evaluation) -> list[list[str]]:
    m = ev.metrics
    host_days = f"{m.hosts} hosts × {m.days:.2f} days"
    return [
        ["implant pairs", f"{m.implant_pairs}", f"{m.benign_pairs:,} benign pairs labelled"],
        ["recall (escalated)", pct(m.recall_escalated),
         f"{m.implants_escalated} of {m.implant_pairs} implant pairs escalated"],
        ["recall (found)", pct(m.recall_found),
         f"{m.implants_found} of {m.implant_pairs} reported at any decision"],
        ["false escalations / 1,000 host-days",
         _num(m.false_escalations_per_1000_host_days, 1),
         f"{m.false_escalations} benign pairs escalated over {host_days}"],
        ["precision", pct(m.precision), f"{m.escalated} pairs escalated"],
        ["process attribution", pct(m.attribution_accuracy),
         f"{m.attributed_correctly} of {m.attributed} found implants with a known process"],
        ["average precision", _num(m.average_precision, 3),
         f"ranking of {m.findings:,} findings"],
    ]  # fmt: skip


def _group_rows(groups: Sequence[Group]) -> list[list[str]]:
    return [
        [g.value, str(g.implant_pairs), pct(g.recall_escalated), pct(g.recall_found),
         f"{g.attributed_correctly}/{g.attributed}" if g.attributed else "-"]
        for g in groups
    ]  # fmt: skip


_GROUP_HEADER = ("pairs", "escalated", "found", "process right")
_BENIGN_HEADER = ("kind", "pairs", "escalate", "monitor", "close", "not reported")


def benign_rows(ev: Evaluation) -> list[list[str]]:
    """One row per benign kind: its pairs and how they were decided."""
    return [
        [kind, str(sum(c.values())),
         *(str(c.get(d, 0)) for d in ("escalate", "monitor", "close", "not reported"))]
        for kind, c in ev.benign_kinds().items()
    ]  # fmt: skip


def evaluation_text(ev: Evaluation, markdown: bool = False) -> str:
    """The overall metrics, then one table per breakdown (and false escalations by kind)."""
    heading = "### " if markdown else ""
    parts = [table(("metric", "value", ""), _metric_rows(ev), markdown)]
    for name, groups in ev.breakdowns.items():
        parts.append(f"{heading}by {name}\n" if markdown else f"by {name}:\n")
        parts.append(table((name, *_GROUP_HEADER), _group_rows(groups), markdown))
    if ev.false_kinds:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(ev.false_kinds.items()))
        parts.append(f"false escalations by kind: {kinds}\n")
    parts.append(f"{heading}benign kinds\n" if markdown else "benign kinds (pairs by decision):\n")
    parts.append(table(_BENIGN_HEADER, benign_rows(ev), markdown))
    missed = [o for o in ev.outcomes if o.label.implant and o.decided != "escalate"]
    if missed:
        parts.append(f"{heading}implant pairs not escalated\n" if markdown else "not escalated:\n")
        rows = [[o.label.kind, o.label.src_ip, f"{o.label.dst}:{o.label.dst_port}", o.decided,
                 o.finding.rule if o.finding else "-",
                 f"{o.finding.score:.2f}" if o.finding else "-"] for o in missed]  # fmt: skip
        parts.append(table(("family", "source", "destination", "decided", "rule", "score"),
                           rows, markdown))  # fmt: skip
    return "\n".join(parts)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def _group_dict(g: Group) -> dict[str, Any]:
    return {"value": g.value, "implant_pairs": g.implant_pairs, "escalated": g.escalated,
            "found": g.found, "recall_escalated": g.recall_escalated,
            "recall_found": g.recall_found, "attributed": g.attributed,
            "attributed_correctly": g.attributed_correctly}  # fmt: skip


def evaluation_json(ev: Evaluation) -> str:
    """The evaluation as one JSON object (metrics, breakdowns, implant outcomes)."""
    implants = [
        {"kind": o.label.kind, "src_ip": o.label.src_ip, "dst": o.label.dst,
         "dst_port": o.label.dst_port, "decided": o.decided,
         "rule": o.finding.rule if o.finding else None,
         "score": o.finding.score if o.finding else None,
         "process_image": o.finding.process_image if o.finding else None,
         "process_expected": o.label.process or None}
        for o in ev.outcomes if o.label.implant
    ]  # fmt: skip
    data = {
        "metrics": asdict(ev.metrics),
        "breakdowns": {k: [_group_dict(g) for g in v] for k, v in ev.breakdowns.items()},
        "false_escalations_by_kind": dict(sorted(ev.false_kinds.items())),
        "benign_kinds": {k: dict(c) for k, c in ev.benign_kinds().items()},
        "implants": implants,
    }
    return json.dumps(_clean(data), indent=2) + "\n"


def _fixed(knob: str) -> str:
    others = [k for k in BASE if k != knob]
    return ", ".join(f"{k} {knob_value(k, BASE[k])}" for k in others)


def _cell(g: Group | None) -> str:
    if g is None or not g.implant_pairs:
        return "-"
    return f"{pct(g.recall_escalated)} / {pct(g.recall_found)} ({g.implant_pairs})"


def _point_row(r: PointResult) -> list[str]:
    by = {g.value: g for g in r.families}
    return [knob_value(r.point.knob, r.point.value), *(_cell(by.get(f)) for f in FAMILY_ORDER),
            _cell(r.overall), _num(r.false_per_1000_host_days, 1), pct(r.precision),
            _num(r.average_precision, 3)]  # fmt: skip


def grid_text(
    result: GridResult, markdown: bool = False, images: dict[str, str] | None = None
) -> str:
    """One table per sweep: each family's recall escalated / found (implant pairs),
    in Markdown with each sweep's plot (``images``: knob -> file name) above its table."""
    parts = []
    for knob in result.knobs:
        title = f"{knob} sweep ({_fixed(knob)})"
        parts.append(f"### {title[0].upper()}{title[1:]}\n" if markdown else f"{title}:")
        if markdown and images and knob in images:
            parts.append(f"![detection rate vs {knob}]({images[knob]})\n")
        header = (knob, *FAMILY_ORDER, "all", "false esc. / 1,000 host-days", "precision", "AP")
        parts.append(table(header, [_point_row(r) for r in result.sweep(knob)], markdown))
    return "\n".join(parts)


def grid_markdown(
    result: GridResult, *, command: str, measured: str, images: dict[str, str] | None = None
) -> str:
    """The grid as a Markdown page: how it was measured, then each sweep."""
    runs = len(result.points) * len(result.seeds)
    mix = ", ".join(f"{k} {n}" for k, n in result.mix.counts().items() if n)
    seeds = ", ".join(str(s) for s in result.seeds)
    head = [
        "# Detection-rate grid",
        "",
        f"Measured with `{command}` {measured}: {len(result.points)} points × "
        f"{len(result.seeds)} seed(s) = {runs} generated captures, generated and hunted in "
        f"{result.seconds / 60:.1f} min.",
        "",
        f"Each capture: {result.hosts} hosts; implants per family: {mix} (the first Mythic "
        f"implant is a campaign on 3 hosts); seeds {seeds}; "
        f"{'Zeek + Sysmon' if result.sysmon else 'Zeek only (no Sysmon)'} and all context files "
        "(assets, allowlist, WHOIS, intel). Every implant is set to the point's sleep, jitter "
        "and loss (Meterpreter has no jitter knob: 5%). Capture length "
        "clamp(40 × sleep, 6 h, 3 days), from 08:00 on a Tuesday.",
        "",
        "Each cell: implant pairs **escalated / found at any decision** (number of pairs). "
        "False escalations: benign pairs escalated per 1,000 host-days; precision: share of "
        "escalated pairs that are implants; AP: average precision of the ranking (mean over "
        "seeds).",
        "",
    ]
    return "\n".join(head) + "\n" + grid_text(result, markdown=True, images=images)


def grid_json(result: GridResult) -> str:
    """Every grid point as JSON: its settings, groups per family and overall rates."""
    points = [
        {"knob": r.point.knob, "value": r.point.value, "sleep": r.point.sleep,
         "jitter": r.point.jitter, "loss": r.point.loss, "days": r.point.days,
         "families": [_group_dict(g) for g in r.families], "all": _group_dict(r.overall),
         "false_escalations": r.false_escalations, "host_days": r.host_days,
         "false_per_1000_host_days": r.false_per_1000_host_days, "precision": r.precision,
         "average_precision": r.average_precision, "seconds": r.seconds}
        for r in result.points
    ]  # fmt: skip
    data = {"seeds": list(result.seeds), "hosts": result.hosts,
            "implants": result.mix.counts(), "sysmon": result.sysmon,
            "seconds": result.seconds, "points": points}  # fmt: skip
    return json.dumps(_clean(data), indent=2) + "\n"
