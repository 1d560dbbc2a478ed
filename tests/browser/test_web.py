"""The web UI (``beaconhunt serve``) in a real browser, against a real server process.

The server runs as ``python -m beaconhunt serve`` on a free port with a random token,
over a copy of the demo's store. The tests go through the UI as an analyst does: log
in with the printed address, filter, open a finding, record a verdict, and check what
the UI refuses (no token, no CSRF field, another origin) and that its CSP forbids
every script without the UI tripping over it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from beaconhunt.app.run import RunReport
from beaconhunt.app.store import Workbench
from beaconhunt.model import Decision

from .conftest import BrowserPage
from .support import DemoData, Server, copy_store, demo_data

ROWS = "#findings-table tr.finding"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    return demo_data(tmp_path_factory)


@pytest.fixture(scope="module")
def db(demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own copy of the demo store."""
    return copy_store(demo.db, tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def stored(db: Path) -> RunReport:
    with Workbench(db) as wb:
        return wb.run_report(every=True)


@pytest.fixture(scope="module")
def server(db: Path) -> Iterator[Server]:
    srv = Server(db)
    try:
        yield srv.start()
    finally:
        srv.stop()


@pytest.fixture
def ui(page: BrowserPage, server: Server) -> BrowserPage:
    """A page logged in to the UI with the address ``serve`` printed."""
    resp = page.page.goto(server.login_url)
    assert resp is not None and resp.status == 200
    return page


def _ids(page: BrowserPage) -> list[str]:
    ids: list[str] = page.page.eval_on_selector_all(ROWS, "rs => rs.map(r => r.dataset.id)")
    return ids


def _clean(page: BrowserPage) -> None:
    page.page.wait_for_timeout(100)  # let late console / CSP events arrive
    assert [t for kind, t in page.console if kind == "error"] == []
    assert page.errors == []
    assert page.blocked == []
    assert page.csp_violations() == []


def _verdicts(db: Path, finding_id: str) -> list[tuple[str, str, str | None]]:
    with Workbench(db) as wb:
        return [(v.decision.value, v.note, v.analyst) for v in wb.history.verdicts(finding_id)]


def test_serve_printed_its_real_port(server: Server) -> None:
    assert server.port > 0
    assert any(server.login_url in line for line in server.said), server.said


def test_without_the_token_the_ui_is_forbidden(page: BrowserPage, server: Server) -> None:
    for url in (server.url("/"), server.url("/?token=not-the-token-at-all-000000"),
                server.url("/finding/0")):  # fmt: skip
        resp = page.page.goto(url)
        assert resp is not None and resp.status == 403, url
        assert "Token needed" in page.page.inner_text("h2")
        assert page.page.locator(ROWS).count() == 0
    assert page.context.cookies() == []  # a wrong token sets no cookie


def test_the_token_logs_in_and_the_list_loads(
    ui: BrowserPage, server: Server, stored: RunReport
) -> None:
    pg = ui.page
    assert pg.url == server.url("/")  # redirected: the token left the address bar
    [cookie] = ui.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    total = len(stored.findings)
    count = pg.text_content("#count") or ""
    assert count.startswith(f"{total:,} finding(s)"), count
    ids = _ids(ui)
    assert len(ids) == min(total, 50) and len(set(ids)) == len(ids)
    # a triage queue: escalations, monitor, close, by score within each, then by id;
    # the report ranks the same way
    assert ids == [f.finding_id for f in stored.findings[:50]]
    ranks = [f.decision.rank for f in stored.findings]
    assert ranks == sorted(ranks)
    for d, n in stored.decisions:
        assert pg.text_content(f".cards .card.d-{d.value} .n") == f"{n:,}"
    # the cookie carries the session: a reload needs no token
    resp = pg.reload()
    assert resp is not None and resp.status == 200
    _clean(ui)


def test_filter_by_decision_through_the_form(ui: BrowserPage, stored: RunReport) -> None:
    pg = ui.page
    expected = [f.finding_id for f in stored.findings if f.decision is Decision.ESCALATE]
    assert 0 < len(expected) < len(stored.findings)
    pg.select_option("form.filters select[name=decision]", "escalate")
    with pg.expect_navigation():
        pg.click("form.filters button[type=submit]")
    assert "decision=escalate" in pg.url
    assert pg.input_value("form.filters select[name=decision]") == "escalate"  # kept
    assert sorted(_ids(ui)) == sorted(expected)  # (score ties may order either way)
    badges = pg.locator(f"{ROWS} td:first-child .badge").all_text_contents()
    assert badges == ["escalate"] * len(expected)
    assert (pg.text_content("#count") or "").startswith(f"{len(expected)} finding(s)")

    # a text filter on top: the destination of one of them
    target = stored.findings[[f.finding_id for f in stored.findings].index(expected[0])]
    dst = target.dst_domain or target.dst_ip or ""
    pg.fill("form.filters input[name=destination]", dst.upper())
    with pg.expect_navigation():
        pg.click("form.filters button[type=submit]")
    want = [i for i in expected
            if dst.lower() in (next(f for f in stored.findings if f.finding_id == i).dst_domain
                               or "").lower()]  # fmt: skip
    assert sorted(_ids(ui)) == sorted(want) and target.finding_id in want
    _clean(ui)


def test_open_a_finding_by_its_link(ui: BrowserPage, stored: RunReport) -> None:
    pg = ui.page
    fid = _ids(ui)[1]
    with pg.expect_navigation():
        pg.click(f'{ROWS}[data-id="{fid}"] a[href^="/finding/"]')
    assert pg.url.endswith(f"/finding/{fid}")
    assert fid in (pg.text_content("article.case h2") or "")
    finding = next(f for f in stored.findings if f.finding_id == fid)
    assert pg.text_content("article.case .badge") == finding.decision.value
    assert pg.locator("form.verdict").count() == 1
    assert pg.locator("form.verdict input[name=csrf]").count() == 1
    assert pg.locator("article.case svg.plot").count() > 0
    assert pg.get_attribute("a[download]", "href") == f"/finding/{fid}/case.md"
    _clean(ui)


def test_record_a_verdict_through_the_form(
    page: BrowserPage, db: Path, tmp_path: Path, stored: RunReport
) -> None:
    """A server of its own on its own store copy: stopping it proves the verdict is on disk."""
    own = copy_store(db, tmp_path)
    fid = next(f.finding_id for f in stored.findings if f.decision is Decision.ESCALATE)
    assert _verdicts(own, fid) == []
    note = "benign: the <b>updater</b> of a vendor, ticket #42"
    srv = Server(own).start()
    try:
        pg = page.page
        resp = pg.goto(srv.login_url)
        assert resp is not None and resp.status == 200
        pg.goto(srv.url(f"/finding/{fid}"))
        assert pg.locator("#recorded").count() == 0
        assert "none recorded yet" in (pg.text_content("article.case") or "")
        pg.check("form.verdict input[name=decision][value=close]")
        pg.fill("form.verdict textarea[name=note]", note)
        pg.fill("form.verdict input[name=analyst]", "alice")
        with pg.expect_navigation():
            pg.click("form.verdict button[type=submit]")
        assert pg.url.endswith(f"/finding/{fid}?recorded=close")
        assert pg.is_visible("#recorded")
        assert "Verdict recorded: close" in (pg.text_content("#recorded") or "")
        shown = pg.text_content("article.case ul.verdicts") or ""
        assert "CLOSE by alice" in shown and note in shown  # the note as text, not markup
        assert pg.locator("article.case ul.verdicts b").count() == 0
        _clean(page)
    finally:
        srv.stop()
    assert srv.proc is None
    assert _verdicts(own, fid) == [("close", note, "alice")]


def test_a_post_without_the_csrf_field_is_refused(
    ui: BrowserPage, server: Server, stored: RunReport
) -> None:
    fid = stored.findings[0].finding_id
    url = server.url(f"/finding/{fid}/verdict")
    req = ui.page.request  # shares the context's cookie: the token is there
    form: dict[str, str | float | bool] = {
        "decision": "close",
        "note": "forged",
        "analyst": "mallory",
    }
    resp = req.post(url, form=form, max_redirects=0)
    assert resp.status == 403 and "stale or forged" in resp.text()
    resp = req.post(url, form={**form, "csrf": "0" * 64}, max_redirects=0)
    assert resp.status == 403 and "stale or forged" in resp.text()

    # the right CSRF value from another origin is refused too
    ui.page.goto(server.url(f"/finding/{fid}"))
    csrf = ui.page.get_attribute("form.verdict input[name=csrf]", "value")
    assert csrf
    resp = req.post(url, form={**form, "csrf": csrf}, max_redirects=0,
                    headers={"Origin": "http://attacker.example"})  # fmt: skip
    assert resp.status == 403 and "a verdict must come from" in resp.text()

    ui.page.goto(server.url(f"/finding/{fid}"))
    assert "none recorded yet" in (ui.page.text_content("article.case") or "")
    assert _verdicts(server.db, fid) == []


def test_the_csp_header_forbids_scripts_and_the_ui_needs_none(
    ui: BrowserPage, server: Server, stored: RunReport
) -> None:
    pg = ui.page
    for path in ("/", f"/finding/{stored.findings[0].finding_id}", "/?decision=close"):
        resp = pg.goto(server.url(path))
        assert resp is not None and resp.status == 200
        csp = resp.headers.get("content-security-policy", "")
        directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
        assert directives.get("default-src") == "default-src 'none'", csp
        assert "script-src" not in directives  # so default-src 'none' applies to scripts
        assert directives.get("frame-ancestors") == "frame-ancestors 'none'"
        assert resp.headers.get("x-content-type-options") == "nosniff"
        assert pg.locator("script").count() == 0
        # the stylesheet loaded (style-src 'self'): the page is styled
        assert pg.evaluate("document.styleSheets.length") == 1
        assert pg.evaluate("getComputedStyle(document.body).margin") == "0px"
        assert ui.csp_violations() == []

    # the policy is enforced: a script put in the page does not run, and says so
    pg.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__ran = true'; document.body.appendChild(s); }"""
    )
    ui.wait_until(lambda: ui.csp_violations())
    assert pg.evaluate("window.__ran === undefined")
    [violation] = ui.csp_violations()
    assert violation["effectiveDirective"] == "script-src-elem"
    assert re.search(r"Content Security Policy", " ".join(t for _, t in ui.console))
    assert ui.errors == [] and ui.blocked == []
