"""Markdown case files: layout, evidence by pivot, timing histogram, next steps, escaping."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
from markdown_it import MarkdownIt

from beaconhunt.app.case import HISTOGRAM_BINS, interval_histogram
from beaconhunt.model import Decision, Evidence, Finding, ProcessShare, ScoreComponents
from beaconhunt.model.record import finding_from_record, finding_record
from beaconhunt.report.case import md_code, md_text, render_case
from beaconhunt.store.history import AnalystVerdict, StoredFinding

T0 = 1_790_000_000.0
SECTIONS = [
    "# Case ",
    "## Alert summary",
    "## Hypothesis",
    "## Evidence",
    "## Timing",
    "## Decision and rationale",
    "## Suggested next steps",
]
PIVOT_HEADINGS = [
    "### 1. Destination analysis",
    "### 2. Timing analysis",
    "### 3. Process attribution",
    "### 4. Host context",
    "### 5. Lateral indicators",
    "### 6. Threat intelligence",
    "### 7. Analyst history",
]
REASONS = (
    Evidence("timing.regular", "median interval 60.0 s, relative MAD 0.02"),
    Evidence("dest.rare", "1 of 40 hosts contact this domain"),
    Evidence("decision.escalate_rare", "regular beacon to a rare destination"),
    Evidence("persistence.run_key", "Run key HKCU Software Microsoft Windows Run upd set"),
    Evidence("lateral.same_destination", "also beaconing: WS-07, WS-12"),
    Evidence("history.seen", "reported in 2 earlier run(s) since 2026-09-20"),
)


def make(
    decision: Decision = Decision.ESCALATE,
    times: tuple[float, ...] = tuple(T0 + 60.0 * i for i in range(100)),
    reasons: tuple[Evidence, ...] = REASONS,
    domain: str | None = "upd.example",
    image: str | None = "C:\\Users\\bob\\AppData\\upd.exe",
    cmd: str | None = "upd.exe --silent",
    user: str | None = "CORP\\bob",
) -> Finding:
    proc = ProcessShare(image, "WS-01", "{g}", 4242, user, cmd, "C:\\Windows\\explorer.exe",
                        len(times), 1.0)  # fmt: skip
    return Finding(
        src_ip="10.0.0.5", src_host="WS-01", dst_ip="203.0.113.7", dst_domain=domain,
        dst_port=443, proto="tcp", process_image=image, connections=len(times),
        first_seen=times[0] if times else T0, last_seen=times[-1] if times else T0,
        interval_s=60.0, score=0.9123, decision=decision,
        components=ScoreComponents(0.9, 0.8, 0.95, 0.7, 1.0, 1.0, 0.9123),
        bytes_out_median=220.0, bytes_in_median=1024.0, dst_ips=("203.0.113.7",),
        processes=(proc,), reasons=reasons, rule="escalate_rare", times=times,
    )  # fmt: skip


def verdict(note: str = "implant confirmed", analyst: str | None = "alice") -> AnalystVerdict:
    f = make()
    return AnalystVerdict(
        1, f.finding_id, T0 + 7200, Decision.ESCALATE, note, analyst, f.src_ip, f.src_host,
        f.dst_domain, f.dst_ip, f.dst_port, f.process_image, None,
    )  # fmt: skip


def section(md: str, title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## ``."""
    body = md.split(f"## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def render_html(md: str) -> str:
    """Rendered like a Markdown viewer that allows raw HTML (the worst case)."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


# -- layout -------------------------------------------------------------------------------------


def test_sections_are_present_in_order() -> None:
    md = render_case(make())
    positions = [md.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert md.startswith(f"# Case {make().finding_id}: suspicious outbound beaconing\n")


def test_header_says_decision_rule_score_and_status() -> None:
    md = render_case(make(), generated_at=T0)
    head = md.split("## Alert summary", 1)[0]
    assert "**Decision:** ESCALATE" in head and "`escalate_rare`" in head
    assert "**Score:** 0.91" in head and "awaiting analyst review" in head
    assert "**Generated:** 2026-09-21T" in head
    assert "**Generated:**" not in render_case(make())


def test_status_and_history_with_verdicts() -> None:
    stored = StoredFinding(
        make().finding_id, finding_record(make()), make().times, 3, 1, 3, T0 - 172800, T0,
        Decision.ESCALATE, "escalate_rare", 0.91,
    )  # fmt: skip
    md = render_case(make(), [verdict()], stored)
    assert "Investigated → Decision Made (analyst: ESCALATE by alice" in md
    assert "reported in 3 run(s) since" in md
    decision = section(md, "Decision and rationale")
    assert "**ESCALATE** by alice: implant confirmed" in decision
    assert "Reported in 3 runs between" in decision


def test_alert_summary_table() -> None:
    summary = section(render_case(make()), "Alert summary")
    for cell in ("`WS-01` (`10.0.0.5`)", "`upd.example` (`203.0.113.7`)", "443/tcp",
                 "pid 4242", "user `CORP\\bob`", "`upd.exe --silent`", "| Connections | 100 |",
                 "| Median interval | 60.0 s |", "220 B / 1,024 B",
                 "| First seen (UTC) | 2026-09-21T"):  # fmt: skip
        assert cell in summary, cell


def test_hypothesis_is_one_templated_paragraph() -> None:
    hyp = section(render_case(make()), "Hypothesis").strip().split("\n---")[0].strip()
    assert "\n" not in hyp
    assert hyp.startswith("If `WS-01` (`10.0.0.5`) makes repeated outbound connections")
    assert "consistent intervals (median 60.0 s)" in hyp and "low data volume" in hyp


def test_evidence_is_grouped_by_pivot_in_order() -> None:
    ev = section(render_case(make()), "Evidence")
    positions = [ev.index(h) for h in PIVOT_HEADINGS]
    assert positions == sorted(positions)
    blocks = dict(zip(PIVOT_HEADINGS, re.split(r"### \d\. .*\n", ev)[1:], strict=True))
    assert "`dest.rare`: 1 of 40 hosts" in blocks["### 1. Destination analysis"]
    assert "`timing.regular`" in blocks["### 2. Timing analysis"]
    assert "`persistence.run_key`" in blocks["### 3. Process attribution"]
    assert "_no evidence on this pivot_" in blocks["### 4. Host context"]
    assert "`lateral.same_destination`" in blocks["### 5. Lateral indicators"]
    assert "_no evidence on this pivot_" in blocks["### 6. Threat intelligence"]
    assert "`history.seen`" in blocks["### 7. Analyst history"]
    assert "decision.escalate_rare" not in ev
    assert "Other evidence" not in ev


def test_unknown_codes_go_last() -> None:
    f = make(reasons=(*REASONS, Evidence("weird.code", "something else")))
    ev = section(render_case(f), "Evidence")
    assert ev.index("### 8. Other evidence") > ev.index("### 7. Analyst history")
    assert "`weird.code`: something else" in ev


def test_decision_section_has_the_rule_sentence() -> None:
    decision = section(render_case(make()), "Decision and rationale")
    assert "**Decision:** ESCALATE (rule `escalate_rare`, score 0.91)" in decision
    assert "`decision.escalate_rare`: regular beacon to a rare destination" in decision
    assert "_none recorded yet_" in decision


# -- timing -------------------------------------------------------------------------------------


def test_histogram_of_regular_intervals_is_linear_and_sums_up() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(60, 3, 500)
    hist = interval_histogram(d)
    assert len(hist) == HISTOGRAM_BINS
    assert sum(c for _, _, c in hist) == 500
    assert hist[0][0] == pytest.approx(d.min()) and hist[-1][1] == pytest.approx(d.max())
    widths = [b - a for a, b, _ in hist]
    assert max(widths) == pytest.approx(min(widths))


def test_histogram_is_log_spaced_over_a_wide_range() -> None:
    d = [1.0, 2.0, 5.0, 60.0, 60.0, 3600.0]  # 3600x range
    hist = interval_histogram(d)
    assert len(hist) == HISTOGRAM_BINS and sum(c for _, _, c in hist) == len(d)
    ratios = [b / a for a, b, _ in hist]
    assert max(ratios) == pytest.approx(min(ratios))  # equal ratios: log-spaced


@pytest.mark.parametrize(
    ("d", "bins"),
    [([60.0] * 5, 1), ([0.0, 0.0, 10.0, 100.0, 1000.0], HISTOGRAM_BINS), ([], 0), ([5.0], 1)],
)
def test_histogram_edge_cases(d: list[float], bins: int) -> None:
    hist = interval_histogram(d)
    assert len(hist) == bins and sum(c for _, _, c in hist) == len(d)
    if 0.0 in d:
        assert hist[0][0] == 0.0 and hist[0][2] >= 2  # zeros counted in the first bin


def test_timing_section_shows_stats_and_a_fenced_histogram() -> None:
    times = (*(T0 + 60.0 * i for i in range(50)), T0 + 60.0 * 49 + 3600)
    timing = section(render_case(make(times=times)), "Timing")
    assert "| 50 | 60.0 s | 60.0 s | 60.0 s | 60.0 min |" in timing
    assert "log-spaced bins" in timing
    block = timing.split("```text\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == HISTOGRAM_BINS
    assert sum(int(line.rsplit(" ", 1)[1]) for line in block) == 50
    # 60 s .. 3600 s is 60x: log bins, each 60 ** (1/12) = 1.4066x wide; 60 * 1.4066 = 84.4
    assert block[0].split("|")[0].strip() == "60.0 s - 84.4 s"
    assert block[0].count("#") == 40 and block[-1].count("#") == 1


def test_timing_with_fewer_than_two_times_is_a_sentence() -> None:
    for times in ((), (T0,)):
        timing = section(render_case(make(times=times)), "Timing")
        assert "no interval to show" in timing and "```" not in timing


# -- next steps ---------------------------------------------------------------------------------


def test_next_steps_for_escalate() -> None:
    steps = section(render_case(make()), "Suggested next steps")
    for words in ("Isolate or contain", "memory", "Block `upd.example`", "Hunt other hosts",
                  "also beaconing: WS-07, WS-12", "persistence", "Run key HKCU",
                  f"`beaconhunt decide {make().finding_id} escalate"):  # fmt: skip
        assert words in steps, words


def test_next_steps_for_monitor() -> None:
    f = make(decision=Decision.MONITOR, reasons=REASONS[:2])
    steps = section(render_case(f), "Suggested next steps")
    assert "watch list" in steps and "owner" in steps and "`--db`" in steps
    assert f"`beaconhunt decide {f.finding_id} close" in steps
    assert "Isolate" not in steps


def test_next_steps_for_close() -> None:
    f = make(decision=Decision.CLOSE, reasons=(Evidence("intel.match", "listed by feed X"),))
    steps = section(render_case(f), "Suggested next steps")
    assert "allowlist" in steps and f"`beaconhunt decide {f.finding_id} close --note" in steps
    assert "Confirm the threat intelligence match: listed by feed X" in steps
    assert "Isolate" not in steps and "watch list" not in steps


# -- escaping -----------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "a | b | c",
    "line1\nline2\r\n## injected heading",
    "``` code ` fence ``",
    "<img src=x onerror=alert(1)>",
    "\x1b[31mred\x1b[0m \u202eevil",
    "x" * 5000,
    "C:\\tmp\\|y",
]


@pytest.mark.parametrize("evil", HOSTILE)
def test_md_text_is_inert(evil: str) -> None:
    html = render_html(f"- {md_text(evil)}\n")
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert html.count("<li>") == 1 and "<h2" not in html and "<code" not in html
    assert "\n" not in md_text(evil) and "\x1b" not in md_text(evil)
    assert len(md_text(evil)) <= 2 * 200


@pytest.mark.parametrize("evil", HOSTILE)
def test_md_code_is_one_code_span(evil: str) -> None:
    span = md_code(evil)
    assert "\n" not in span
    html = render_html(f"x {span} y\n")
    assert html.count("<code>") == 1 and "<script" not in html and "<a " not in html
    table = render_html(f"| k | v |\n|---|---|\n| a | {md_code(evil, table=True)} |\n")
    assert table.count("<td>") == 2 and table.count("<code>") == 1


def test_md_code_fence_outruns_backticks() -> None:
    assert md_code("a``b") == "```a``b```"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code(None) == "-" and md_code("") == "-"


def test_hostile_finding_renders_safely() -> None:
    evil = "<script>alert(1)</script>[x](javascript:alert(1)) | pipe\n## fake `tick` " + "A" * 3000
    reasons = (Evidence("dest.rare", evil), Evidence("decision.x", evil))
    f = make(domain=evil, image=evil, cmd=evil, user=evil, reasons=reasons)
    v = replace(verdict(note=evil, analyst=evil), finding_id=f.finding_id)
    md = render_case(f, [v])
    assert len(md) < 40_000
    html = render_html(md)
    assert "<script" not in html and "<a " not in html
    assert html.count("<h2>") == len(SECTIONS) - 1 and html.count("<h1>") == 1
    summary = render_html(section(md, "Alert summary"))
    rows = summary.split("<tr>")[2:]
    assert rows and all(r.count("<td>") == 2 for r in rows)


# -- rebuilding from a record -------------------------------------------------------------------


def test_finding_from_record_round_trips() -> None:
    f = make()
    back = finding_from_record(finding_record(f), f.times)
    assert finding_record(back) == finding_record(f)
    assert back.times == f.times
    # values the record keeps exactly come back equal
    assert back == replace(f, score=round(f.score, 4))


def test_finding_from_record_without_optional_parts() -> None:
    f = replace(make(), components=None, processes=(), process_image=None, dst_domain=None)
    back = finding_from_record(finding_record(f), [])
    assert finding_record(back) == finding_record(f)
    assert back.times == () and back.process is None
