"""The hostile corpus in the browser: the HTML report and every page of the web UI.

``tests/hostile/capture.py`` writes every entry of ``tests/hostile/strings.py`` into
real Zeek and Sysmon logs (destination names, process images, command lines, users,
hosts); every one becomes an escalated beacon. The capture is hunted once with
``--db`` and ``--html``; the report is opened over ``file://`` and, through a real
``beaconhunt serve``, the findings list (every page of it) and every finding's page.

In each document the DOM must hold nothing a hostile string could have become: no
script but the report's own, no element the templates do not write, no ``on*``
handler, no ``javascript:`` URL, no frame, object or image; no dialog may open and no
CSP violation occur. And the strings must still be there, as text: the analyst sees
``<script>alert(1)</script>``, with bidi overrides shown as ``?``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from beaconhunt.app.store import Workbench
from beaconhunt.model import Finding
from beaconhunt.report.html import asset
from tests.hostile.capture import Beacon, Capture, write_capture
from tests.hostile.strings import CORPUS, by_name
from tests.hostile.test_hostile_outputs import invoke

from .conftest import BrowserPage
from .support import DOM_AUDIT, DomAudit, Server

if TYPE_CHECKING:  # playwright may be missing: the harness then skips
    from playwright.sync_api import Dialog

#: Every element the report's templates (report.html.j2, case.html.j2) and plots
#: (report/svg.py, ``<br>`` from report/html.py line_html) write.
REPORT_TAGS = frozenset({
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p",
    "main", "section", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "figure",
    "figcaption", "svg", "line", "rect", "text", "path", "code", "ul", "li", "ol", "details",
    "summary", "form", "label", "select", "option", "input", "button", "strong", "br", "a",
    "script",
})  # fmt: skip
#: Every element the web UI's templates (web/templates/*.j2, the report's case.html.j2,
#: the plots, ``<br>``) write: no script, no inline style, no ``<meta http-equiv>``.
WEB_TAGS = frozenset({
    "html", "head", "meta", "title", "link", "body", "header", "h1", "h2", "h3", "h4", "p",
    "main", "section", "article", "nav", "div", "span", "table", "thead", "tbody", "tr", "th",
    "td", "figure", "figcaption", "svg", "line", "rect", "text", "path", "code", "ul", "li",
    "ol", "strong", "br", "a", "form", "fieldset", "legend", "label", "select", "option",
    "input", "textarea", "button",
})  # fmt: skip
#: Elements no page of ours may have: they load or run content, or rebase the links.
NEVER = frozenset({"iframe", "frame", "frameset", "object", "embed", "img", "image", "video",
                   "audio", "source", "picture", "base", "foreignobject", "math"})  # fmt: skip
#: The bidirectional overrides and isolates ``terminal_text`` shows as ``?``.
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Corpus entries whose text must be visible, literally, in the pages: markup as text.
AS_TEXT = ("html-script", "html-img", "html-svg", "html-entity", "md-js-link")


@dataclass
class Hunted:
    cap: Capture
    db: Path
    html: Path
    findings: list[Finding]
    beacon: dict[str, Beacon]  # finding_id -> the beacon it is


@pytest.fixture(scope="module")
def hunted(tmp_path_factory: pytest.TempPathFactory) -> Hunted:
    root = tmp_path_factory.mktemp("hostile-views")
    cap = write_capture(root)
    db, html = root / "hunt.duckdb", root / "report.html"
    code, _, err = invoke(["hunt", str(cap.logs), "--intel", str(cap.intel), "--min-score", "0",
                           "--limit", "1000", "--format", "ndjson", "--db", str(db),
                           "--html", str(html)])  # fmt: skip
    assert code == 0, err
    with Workbench(db) as wb:
        findings = list(wb.run_report().findings)
    by_src = {b.src_ip: b for b in cap.beacons}
    beacon = {f.finding_id: by_src[f.src_ip] for f in findings}
    assert len(findings) == len(cap.beacons)  # every beacon found, once
    assert {f.decision.value for f in findings} == {"escalate"}
    return Hunted(cap, db, html, findings, beacon)


@pytest.fixture(scope="module")
def server(hunted: Hunted) -> Iterator[Server]:
    srv = Server(hunted.db)
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture
def dialogs(page: BrowserPage) -> list[str]:
    """Every dialog (alert, confirm, prompt, beforeunload) the page opens, dismissed."""
    seen: list[str] = []

    def on_dialog(d: Dialog) -> None:
        seen.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.page.on("dialog", on_dialog)
    return seen


def audit(page: BrowserPage) -> DomAudit:
    result: DomAudit = page.page.evaluate(DOM_AUDIT)
    return result


def problems(page: BrowserPage, dom: DomAudit, allowed: frozenset[str]) -> list[str]:
    """What is wrong in the current document; [] when nothing is."""
    out: list[str] = []
    tags = set(dom["tags"])
    if tags - allowed:
        out.append(f"unexpected elements {sorted(tags - allowed)}")
    if {t.lower() for t in tags} & NEVER:
        out.append(f"forbidden elements {sorted({t.lower() for t in tags} & NEVER)}")
    if dom["handlers"]:
        out.append(f"event handler attributes {dom['handlers'][:5]}")
    if dom["js_urls"]:
        out.append(f"script URLs {dom['js_urls'][:5]}")
    for name, text in (("textContent", dom["text"]), ("innerText", dom["inner_text"])):
        raw = sorted({f"U+{ord(c):04X}" for c in text if c in BIDI})
        if raw:
            out.append(f"raw bidi characters {raw} in {name}")
    raw_attr = sorted({f"U+{ord(c):04X}" for v in dom["attr_values"] for c in v if c in BIDI})
    if raw_attr:
        out.append(f"raw bidi characters {raw_attr} in attribute values")
    violations = page.csp_violations()
    if violations:
        out.append(f"CSP violations {violations[:3]}")
    return out


def _clean(page: BrowserPage, dialogs: list[str]) -> None:
    assert dialogs == []
    assert page.errors == []
    assert page.blocked == []
    assert [t for kind, t in page.console if kind == "error"] == []


def _visible(entry: str, text: str) -> bool:
    """Whether corpus entry ``entry`` shows in ``text`` (a page's innerText): as
    written, or lower-cased as destination names are."""
    value = by_name(entry).value
    return value in text or value.lower() in text


def test_the_allowed_sets_are_what_the_templates_write() -> None:
    # the allow-lists must not grow to swallow what a hostile string would add
    assert not (REPORT_TAGS | WEB_TAGS) & NEVER
    assert "script" not in WEB_TAGS and "script" in REPORT_TAGS


def test_the_audit_catches_what_it_looks_for(
    page: BrowserPage, dialogs: list[str], tmp_path: Path
) -> None:
    """The checks below can fail: on a page where the corpus did act, they all fire."""
    bad = tmp_path / "acted.html"
    bad.write_text(
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        "<p>invoice\u202efdp.exe</p><img src=x onerror=\"document.title='x'\">"
        '<a href=" \tJavaScript:alert(1)">x</a><iframe srcdoc="hi"></iframe>'
        "<svg><foreignObject></foreignObject></svg>"
        "<script>alert(1)</script></body></html>",
        encoding="utf-8",
    )
    page.page.goto(bad.as_uri())
    page.wait_until(lambda: dialogs)
    dom = audit(page)
    found = " | ".join(problems(page, dom, WEB_TAGS))
    for what in ("unexpected elements", "forbidden elements", "'iframe'", "'img'",
                 "'foreignObject'", "event handler attributes", "img[onerror]",
                 "script URLs", "raw bidi characters ['U+202E'] in innerText"):  # fmt: skip
        assert what in found, what
    assert dom["scripts"] and dialogs == ["alert: 1"]


def test_the_report_holds_the_hostile_strings_as_text(
    page: BrowserPage, dialogs: list[str], hunted: Hunted
) -> None:
    pg = page.page
    pg.goto(hunted.html.as_uri())
    pg.wait_for_load_state("load")
    # open every case, so its content is rendered (innerText) and its plots laid out
    pg.eval_on_selector_all("details.case", "ds => ds.forEach(d => { d.open = true; })")
    pg.wait_for_timeout(100)
    dom = audit(page)

    assert dom["scripts"] == [{"src": "", "inline": True, "text": asset("report.js")}]
    assert problems(page, dom, REPORT_TAGS) == []
    assert pg.locator("iframe, object, embed, img").count() == 0
    assert pg.locator(", ".join(sorted(NEVER))).count() == 0
    # one <meta http-equiv>: the report's CSP (no refresh, no second policy)
    assert dom["http_equiv"] == ["content-security-policy"]
    assert pg.locator("tr.finding").count() == len(hunted.findings)
    assert pg.locator("details.case").count() == len(hunted.findings)

    text = dom["inner_text"]
    for name in AS_TEXT:
        assert _visible(name, text), name
    assert "invoice?fdp.exe" in text  # the RIGHT-TO-LEFT OVERRIDE shown as '?'
    assert "?a?b?c?d" in text  # LRE, RLE, PDF, LRO

    # the page's script still works on hostile rows, and nothing it does runs them
    pg.fill("#f-text", "<script>alert(1)</script>")
    pg.wait_for_function("document.getElementById('f-count').textContent !== '0 shown'")
    shown = int((pg.text_content("#f-count") or "0").split()[0])
    assert 0 < shown < len(hunted.findings)
    pg.click("th button[data-sort=dst]")
    pg.click("th button[data-sort=proc]")
    pg.emulate_media(media="print")
    pg.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    pg.wait_for_timeout(100)
    assert problems(page, audit(page), REPORT_TAGS) == []
    _clean(page, dialogs)


def _list_pages(page: BrowserPage, server: Server) -> Iterator[str]:
    """Walk the findings list page by page (its ``next`` link); yield each page's URL."""
    pg = page.page
    resp = pg.goto(server.login_url)
    assert resp is not None and resp.status == 200
    seen: set[str] = set()
    while True:
        assert pg.url not in seen
        seen.add(pg.url)
        yield pg.url
        nxt = pg.locator('nav.pages a[rel="next"]')
        if nxt.count() == 0:
            return
        with pg.expect_navigation():
            nxt.click()


def test_the_web_list_holds_the_hostile_strings_as_text(
    page: BrowserPage, dialogs: list[str], hunted: Hunted, server: Server
) -> None:
    ids: list[str] = []
    text = ""
    bad: dict[str, list[str]] = {}
    for url in _list_pages(page, server):
        dom = audit(page)
        found = problems(page, dom, WEB_TAGS)
        if dom["scripts"]:
            found.append(f"script elements {dom['scripts'][:3]}")
        if dom["http_equiv"]:
            found.append(f"meta http-equiv {dom['http_equiv']}")
        if found:
            bad[url] = found
        ids += page.page.eval_on_selector_all(
            "#findings-table tr.finding", "rs => rs.map(r => r.dataset.id)"
        )
        text += dom["inner_text"]
    assert bad == {}
    assert sorted(ids) == sorted(f.finding_id for f in hunted.findings)
    for name in AS_TEXT:
        assert _visible(name, text), name
    assert "invoice?fdp.exe" in text
    _clean(page, dialogs)


def test_every_hostile_finding_page_is_inert(
    page: BrowserPage, dialogs: list[str], hunted: Hunted, server: Server
) -> None:
    pg = page.page
    resp = pg.goto(server.login_url)
    assert resp is not None and resp.status == 200
    bad: dict[str, list[str]] = {}
    missing: list[str] = []
    for f in hunted.findings:
        b = hunted.beacon[f.finding_id]
        resp = pg.goto(server.url(f"/finding/{f.finding_id}"))
        assert resp is not None and resp.status == 200, f"{b.route} {b.entry.name}"
        dom = audit(page)
        found = problems(page, dom, WEB_TAGS)
        if dom["scripts"]:
            found.append(f"script elements {dom['scripts'][:3]}")
        if dom["verdict_forms"] != 1:
            found.append("no verdict form")
        if dom["http_equiv"]:
            found.append(f"meta http-equiv {dom['http_equiv']}")
        if found:
            bad[f"{b.route} {b.entry.name}"] = found
        # the process image is the entry as written, on every route: it shows as text
        if b.entry.name in AS_TEXT and not _visible(b.entry.name, dom["inner_text"]):
            missing.append(f"{b.route} {b.entry.name}")
    assert bad == {}
    assert missing == []
    _clean(page, dialogs)


def test_the_corpus_reached_the_pages(hunted: Hunted) -> None:
    # every entry is in the capture: the checks above ran over the whole corpus
    assert {b.entry.name for b in hunted.beacon.values()} == {h.name for h in CORPUS}
    assert any(unicodedata.category(c) == "Cf" for h in CORPUS for c in h.value)
