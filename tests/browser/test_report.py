"""The HTML report of ``beaconhunt demo`` in a real browser, opened over ``file://``.

The report is one self-contained file: its script filters and sorts the findings
table, its cases open to plots and evidence, printing hides the controls. These tests
drive all of that as an analyst would and check the page loads nothing, throws
nothing and breaks none of its own Content-Security-Policy.
"""

from __future__ import annotations

from collections import Counter

import pytest

from beaconhunt.app.run import RunReport
from beaconhunt.app.store import Workbench
from beaconhunt.model import Decision, Finding
from beaconhunt.report.html import asset
from beaconhunt.util.text import terminal_text

from .conftest import BrowserPage
from .support import DemoData, demo_data

ROWS = "#findings-table tr.finding"
VISIBLE = "#findings-table tr.finding:not([hidden])"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return demo_data(tmp_path_factory)


@pytest.fixture(scope="module")
def stored(demo: DemoData) -> RunReport:
    """The report of the demo's run, read back from its ``--db`` store."""
    with Workbench(demo.db) as wb:
        report = wb.run_report()
    decisions = {d for d, n in report.decisions if n}
    # the tests below filter by decision: the demo must hold more than one
    assert Decision.ESCALATE in decisions and len(decisions) > 1, report.decisions
    return report


@pytest.fixture
def report(page: BrowserPage, demo: DemoData) -> BrowserPage:
    """The demo report loaded in a fresh page."""
    page.page.goto(demo.html.as_uri())
    page.page.wait_for_load_state("load")
    return page


def _visible_attr(page: BrowserPage, attr: str) -> list[str]:
    values: list[str] = page.page.eval_on_selector_all(
        VISIBLE, f"rows => rows.map(r => r.getAttribute('{attr}'))"
    )
    return values


def _all_attr(page: BrowserPage, attr: str) -> list[str]:
    values: list[str] = page.page.eval_on_selector_all(
        ROWS, f"rows => rows.map(r => r.getAttribute('{attr}'))"
    )
    return values


def _clean(page: BrowserPage) -> None:
    """Nothing went wrong in the page: no error, no blocked load, no CSP violation."""
    page.page.wait_for_timeout(100)  # let late console / CSP events arrive
    assert [t for kind, t in page.console if kind == "error"] == []
    assert page.errors == []
    assert page.blocked == []
    assert page.csp_violations() == []


def test_the_report_loads_clean_and_offline(report: BrowserPage, demo: DemoData) -> None:
    pg = report.page
    assert pg.url.startswith("file://")
    # the one script is the packaged report.js, allowed by hash: the CSP is in force
    csp = pg.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
    assert csp is not None and "default-src 'none'" in csp and "script-src 'sha256-" in csp
    scripts: list[str] = pg.eval_on_selector_all("script", "ss => ss.map(s => s.textContent)")
    assert scripts == [asset("report.js")]
    # the script ran: sorting buttons answer (checked in detail below), the count is set
    assert pg.text_content("#f-count") is not None
    _clean(report)


def test_the_overview_counts_match_the_store(report: BrowserPage, stored: RunReport) -> None:
    pg = report.page
    ids = _all_attr(report, "data-id")
    assert len(ids) == len(stored.findings)
    assert ids == [f.finding_id for f in stored.findings]  # ranked as the store ranks them
    assert pg.text_content("#f-count") == f"{len(stored.findings)} shown"

    cards = {d: pg.text_content(f"#overview .card.d-{d.value} .n") for d, _ in stored.decisions}
    assert cards == {d: f"{n:,}" for d, n in stored.decisions}
    by_decision = Counter(_all_attr(report, "data-decision"))
    assert by_decision == Counter({d.value: n for d, n in stored.decisions if n})
    # the kinds table: one row per kind, its counts per decision
    kinds: list[list[str]] = pg.eval_on_selector_all(
        "#overview table.kinds tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent.trim()))",
    )
    assert kinds == [[k, *(f"{n:,}" for _, n in counts)] for k, counts in stored.kinds]
    # a case for each finding the report details, each linked from its row
    cases: list[str] = pg.eval_on_selector_all("details.case", "ds => ds.map(d => d.id)")
    assert cases == [f"f-{i}" for i in ids[: len(cases)]] and cases
    _clean(report)


def test_filter_by_decision(report: BrowserPage, stored: RunReport) -> None:
    pg = report.page
    expected = [f.finding_id for f in stored.findings if f.decision is Decision.ESCALATE]
    assert 0 < len(expected) < len(stored.findings)
    pg.select_option("#f-decision", "escalate")
    pg.wait_for_function(
        "n => document.getElementById('f-count').textContent === n + ' shown'", arg=len(expected)
    )
    assert set(_visible_attr(report, "data-decision")) == {"escalate"}
    assert _visible_attr(report, "data-id") == expected
    # the cases of the hidden rows are hidden with them
    shown_cases: list[str] = pg.eval_on_selector_all(
        "details.case:not([hidden])", "ds => ds.map(d => d.dataset.id)"
    )
    assert set(shown_cases) <= set(expected) and shown_cases
    assert pg.locator("details.case[hidden]").count() > 0

    pg.select_option("#f-decision", "")  # back to any
    pg.wait_for_function(
        "n => document.getElementById('f-count').textContent === n + ' shown'",
        arg=len(stored.findings),
    )
    assert len(_visible_attr(report, "data-id")) == len(stored.findings)
    _clean(report)


def test_text_search_filters(report: BrowserPage, stored: RunReport) -> None:
    pg = report.page
    target = next(f for f in stored.findings if f.decision is Decision.ESCALATE)
    query = (target.dst_domain or target.dst_ip or "").upper()  # the search ignores case
    assert query

    def haystack(f: Finding) -> str:
        """What report.js searches: the row's source, destination, process and id."""
        src = f"{terminal_text(f.src_host or '', 100)} {terminal_text(f.src_ip, 60)}"
        dst = terminal_text(f.dst_domain or f.dst_ip or "", 200)
        proc = terminal_text(f.process_image or "", 200)
        return f"{src} {dst} {proc} {f.finding_id}".lower()

    expected = [f.finding_id for f in stored.findings if query.lower() in haystack(f)]
    assert target.finding_id in expected and len(expected) < len(stored.findings)
    pg.fill("#f-text", query)
    pg.wait_for_function(
        "n => document.getElementById('f-count').textContent === n + ' shown'", arg=len(expected)
    )
    assert _visible_attr(report, "data-id") == expected

    # combined with a decision filter, and a search that matches nothing
    pg.select_option("#f-decision", "close")
    closed = [i for i in expected if next(f for f in stored.findings if f.finding_id == i)
              .decision is Decision.CLOSE]  # fmt: skip
    pg.wait_for_function(
        "n => document.getElementById('f-count').textContent === n + ' shown'", arg=len(closed)
    )
    assert _visible_attr(report, "data-id") == closed
    pg.select_option("#f-decision", "")
    pg.fill("#f-text", "no-such-host.invalid")
    pg.wait_for_function("document.getElementById('f-count').textContent === '0 shown'")
    assert _visible_attr(report, "data-id") == []
    _clean(report)


def test_sort_by_score(report: BrowserPage, stored: RunReport) -> None:
    pg = report.page
    initial = _all_attr(report, "data-id")

    # first sort by source, so that sorting by score has to reorder the rows
    pg.click("th button[data-sort=src]")
    by_src = _all_attr(report, "data-src")
    assert by_src == sorted(by_src, reverse=True)  # a first click sorts descending
    assert _all_attr(report, "data-id") != initial

    button = pg.locator("th button[data-sort=score]")
    button.click()
    assert button.get_attribute("aria-sort") == "descending"
    assert pg.get_attribute("th button[data-sort=src]", "aria-sort") is None
    scores = [float(s) for s in _all_attr(report, "data-score")]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]

    button.click()
    assert button.get_attribute("aria-sort") == "ascending"
    scores = [float(s) for s in _all_attr(report, "data-score")]
    assert scores == sorted(scores)
    assert scores[0] == pytest.approx(min(f.score for f in stored.findings), abs=1e-4)
    assert sorted(_all_attr(report, "data-id")) == sorted(initial)  # no row lost
    # sorting keeps the filter: the hidden rows stay hidden
    pg.select_option("#f-decision", "escalate")
    button.click()
    assert set(_visible_attr(report, "data-decision")) == {"escalate"}
    _clean(report)


def test_opening_a_case_shows_its_histogram_and_evidence(
    report: BrowserPage, stored: RunReport
) -> None:
    pg = report.page
    # a closed case with an interval histogram (escalated ones may start open)
    case_id: str | None = pg.evaluate(
        """() => {
          const d = Array.from(document.querySelectorAll('details.case:not([open])')).find(
            (d) => d.querySelector('svg.plot[aria-label^="histogram"]'));
          return d ? d.id : null;
        }"""
    )
    assert case_id is not None
    fid = case_id.removeprefix("f-")
    case = pg.locator(f"details.case#{case_id}")
    plot = case.locator('svg.plot[aria-label^="histogram"]')
    evidence = case.locator("ul.evidence li")
    assert not plot.is_visible() and not evidence.first.is_visible()

    case.locator("summary").click()
    assert case.get_attribute("open") is not None
    assert plot.is_visible()
    box = plot.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 20
    assert plot.locator("rect.bar").count() > 0
    assert evidence.count() > 0 and evidence.first.is_visible()
    codes = case.locator("ul.evidence li code").all_text_contents()
    assert codes and all(c.strip() for c in codes)
    finding = next(f for f in stored.findings if f.finding_id == fid)
    assert {r.code for r in finding.reasons} & set(codes)
    assert fid in (case.locator("summary").text_content() or "")

    # the row's rule links to the case
    link = pg.locator(f'tr.finding[data-id="{fid}"] a[href="#{case_id}"]')
    assert link.count() == 1
    _clean(report)


def test_printing_hides_the_filters(report: BrowserPage) -> None:
    pg = report.page
    assert pg.is_visible("#filters")
    pg.emulate_media(media="print")
    assert not pg.is_visible("#filters")
    assert pg.evaluate("getComputedStyle(document.getElementById('filters')).display") == "none"
    assert pg.is_visible("#findings-table")  # the findings themselves still print
    pg.emulate_media(media="screen")
    assert pg.is_visible("#filters")
    _clean(report)
