"""The web UI over a real ``--db`` store, through Starlette's test client (HTTP in
process): the token, CSRF, headers, the findings list and its filters, verdicts.
The same UI in a real browser is tested in ``tests/browser``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from beaconhunt.app.store import Workbench
from beaconhunt.cli import main
from beaconhunt.model import Decision
from beaconhunt.synth import Scenario, generate
from beaconhunt.web.app import COOKIE, CSP, create_app
from beaconhunt.web.index import Filters, FindingIndex

TOKEN = "t0ken-for-the-tests-0123456789"


def _hunt(logs: Path, db: Path) -> None:
    res = CliRunner().invoke(main, ["hunt", str(logs), "--db", str(db), "-q", "--format",
                                    "ndjson", "--min-score", "0", "--intel",
                                    str(logs / "intel.csv")])  # fmt: skip
    assert res.exit_code == 0, res.stderr


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic day of 14 hosts: every decision, several hundred findings."""
    root = tmp_path_factory.mktemp("web") / "logs"
    generate(root, Scenario(hosts=14, seed=3), sysmon=True)
    return root


@pytest.fixture(scope="module")
def store(logs: Path) -> Path:
    path = logs.parent / "hunt.duckdb"
    _hunt(logs, path)
    return path


@pytest.fixture
def db(store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "hunt.duckdb"
    copy.write_bytes(store.read_bytes())
    return copy


@pytest.fixture
def client(db: Path) -> TestClient:
    c = TestClient(create_app(db, TOKEN, "dana"), base_url="http://127.0.0.1:8765")
    c.headers["Authorization"] = f"token {TOKEN}"
    return c


def _ids(db: Path) -> list[str]:
    with Workbench(db) as wb:
        rows = wb.store.con.execute(
            "SELECT finding_id FROM findings ORDER BY"
            " list_position(['escalate', 'monitor', 'close'], decision),"
            " round(score, 4) DESC, finding_id"
        )
        return [r[0] for r in rows.fetchall()]


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert m is not None
    return m.group(1)


def test_every_request_needs_the_token(db: Path) -> None:
    anon = TestClient(create_app(db, TOKEN), base_url="http://127.0.0.1:8765")
    for url in ("/", f"/finding/{_ids(db)[0]}", "/static/report.css"):
        assert anon.get(url).status_code == 403
    assert anon.get("/", headers={"Authorization": "token wrong"}).status_code == 403
    assert anon.get("/?token=wrong").status_code == 403


def test_the_token_in_the_address_becomes_a_cookie(db: Path) -> None:
    anon = TestClient(create_app(db, TOKEN), base_url="http://127.0.0.1:8765")
    first = anon.get(f"/?token={TOKEN}&decision=close", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/?decision=close"  # the token leaves the address
    assert "httponly" in first.headers["set-cookie"].lower()
    assert "samesite=strict" in first.headers["set-cookie"].lower()
    assert anon.cookies.get(COOKIE) == TOKEN
    assert anon.get("/").status_code == 200


def test_responses_carry_the_security_headers(client: TestClient) -> None:
    r = client.get("/")
    assert r.headers["content-security-policy"] == CSP
    assert "script-src" not in CSP and "default-src 'none'" in CSP  # no script at all
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "<script" not in r.text


def test_the_list_shows_every_finding_and_filters(client: TestClient, db: Path) -> None:
    ids = _ids(db)
    page = client.get("/").text
    assert re.findall(r'<tr class="finding" data-id="([0-9a-f]+)"', page) == ids[:50]
    with Workbench(db) as wb:
        recs = wb.history.findings_of(None)
    decision = recs[-1].decision.value
    chosen = [s.finding_id for s in recs if s.decision.value == decision]
    shown = re.findall(r'data-id="([0-9a-f]+)"', client.get(f"/?decision={decision}").text)
    assert shown == chosen[:50] and len(shown) < len(ids)
    dst = recs[0].record["dst_domain"] or recs[0].record["dst_ip"]
    by_dst = re.findall(r'data-id="([0-9a-f]+)"', client.get(f"/?destination={dst}").text)
    assert recs[0].finding_id in by_dst
    assert all((s.record["dst_domain"] or s.record["dst_ip"]) and dst in
               (s.record["dst_domain"] or s.record["dst_ip"]) for s in recs
               if s.finding_id in by_dst)  # fmt: skip
    none = client.get("/?host=no-such-host-anywhere").text
    assert "data-id=" not in none and "0 finding(s)" in none


def test_a_filter_value_is_data_not_sql(client: TestClient) -> None:
    r = client.get("/", params={"host": "x' OR '1'='1", "process": "%'; DROP TABLE idx; --"})
    assert r.status_code == 200 and "data-id=" not in r.text
    assert "data-id=" in client.get("/").text  # the index is still there


def test_index_pages_and_time_window(db: Path) -> None:
    index = FindingIndex(db)
    with Workbench(db) as wb:
        index.refresh(wb.store.con)
        recs = wb.history.findings_of(None)
    p = index.page(Filters(), page=1, size=2)
    assert p.total == len(recs) and p.pages == -(-len(recs) // 2) and len(p.rows) == 2
    last = index.page(Filters(), page=10_000, size=2)
    assert last.page == p.pages  # a page past the end shows the last one
    seen = [r.last_seen for r in index.page(Filters(), size=1000).rows]
    cut = sorted(s for s in seen if s is not None)[len(seen) // 2]
    kept = index.page(Filters(since=cut), size=1000).rows
    assert kept and all(r.last_seen is not None and r.last_seen >= cut for r in kept)
    assert len(kept) < len(recs)


def test_a_verdict_from_the_ui_is_set_in_the_index_in_place(db: Path) -> None:
    index = FindingIndex(db)
    with Workbench(db) as wb:
        index.refresh(wb.store.con)
    fid = _ids(db)[0]
    was_current = index.current()
    assert was_current
    with Workbench(db, read_only=False) as wb:
        wb.record_verdict(fid, Decision.CLOSE, "approved", "dana")
    assert not index.current()  # the store file changed
    index.verdict_recorded(fid, "close", was_current)
    assert index.current()  # patched, so the next page does not rebuild
    rows = {r.finding_id: r for r in index.page(Filters(), size=1000).rows}
    assert rows[fid].verdict == "close"
    # Stale before the write (another process wrote): rebuilt from the store instead.
    with Workbench(db, read_only=False) as wb:
        wb.record_verdict(fid, Decision.ESCALATE, "not approved", "eve")
    index.verdict_recorded(fid, "monitor", False)
    assert not index.current()
    with Workbench(db) as wb:
        index.refresh(wb.store.con)
    rows = {r.finding_id: r for r in index.page(Filters(), size=1000).rows}
    assert rows[fid].verdict == "escalate"


def test_the_finding_page_is_the_case(client: TestClient, db: Path) -> None:
    fid = _ids(db)[0]
    html = client.get(f"/finding/{fid[:8]}").text  # a prefix is enough, as on the CLI
    assert f"Case <code>{fid}</code>" in html
    for title in ("Alert summary", "Hypothesis", "Timing", "Evidence by pivot",
                  "Decision and rationale", "Suggested next steps"):  # fmt: skip
        assert f"<h3>{title}</h3>" in html
    assert '<svg class="plot"' in html
    assert client.get("/finding/ffffffffffffff").status_code == 404
    md = client.get(f"/finding/{fid}/case.md")
    assert md.headers["content-disposition"] == f'attachment; filename="case-{fid}.md"'
    assert md.text.startswith(f"# Case {fid}:")


def test_a_verdict_is_recorded_and_applied_by_the_next_hunt(
    client: TestClient, db: Path, logs: Path
) -> None:
    fid = _ids(db)[0]
    token = _csrf(client.get(f"/finding/{fid}").text)
    r = client.post(f"/finding/{fid}/verdict", data={"decision": "close", "note": "approved <b>",
                    "analyst": "dana", "csrf": token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/finding/{fid}?recorded=close"
    page = client.get(r.headers["location"]).text
    assert 'id="recorded"' in page and "approved &lt;b&gt;" in page
    with Workbench(db) as wb:
        assert [(v.decision.value, v.note) for v in wb.history.verdicts(fid)] == [
            ("close", "approved <b>")]  # fmt: skip
    assert '<td class="n">close</td>' in client.get("/").text  # the list shows the verdict
    _hunt(logs, db)
    with Workbench(db) as wb:
        codes = [r["code"] for r in wb.stored(fid).record["reasons"]]
    assert "history.closed" in codes


def test_verdicts_need_the_csrf_token_and_a_note(client: TestClient, db: Path) -> None:
    fid = _ids(db)[0]
    form = {"decision": "close", "note": "n", "analyst": "x"}
    assert client.post(f"/finding/{fid}/verdict", data=form).status_code == 403
    bad = client.post(f"/finding/{fid}/verdict", data={**form, "csrf": "0" * 64})
    assert bad.status_code == 403
    token = _csrf(client.get(f"/finding/{fid}").text)
    other = client.post(f"/finding/{fid}/verdict", data={**form, "csrf": token},
                        headers={"Origin": "http://evil.example"})  # fmt: skip
    assert other.status_code == 403
    empty = client.post(f"/finding/{fid}/verdict", data={**form, "note": " ", "csrf": token},
                        follow_redirects=False)  # fmt: skip
    assert empty.status_code == 303 and "error=" in empty.headers["location"]
    assert client.get(f"/finding/{fid}/verdict").status_code == 405  # never a GET
    with Workbench(db) as wb:
        assert wb.history.verdicts(fid) == []


def test_a_busy_store_says_so(client: TestClient, db: Path) -> None:
    import duckdb

    holder = duckdb.connect(str(db))  # as a running hunt --db holds it
    try:
        r = client.get("/")
    finally:
        holder.close()
    assert r.status_code == 503 and "reload in a moment" in r.text
