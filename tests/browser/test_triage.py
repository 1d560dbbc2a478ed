"""An analyst's triage in a real browser: filter the report, then open a finding in
the web UI, record a verdict and find it in the store."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from beaconhunt.app.store import Workbench
from beaconhunt.cli import main
from beaconhunt.synth import Scenario, generate

from .conftest import BrowserPage


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic day of 14 hosts hunted into a store, and its HTML report."""
    root = tmp_path_factory.mktemp("triage")
    logs = root / "logs"
    generate(logs, Scenario(hosts=14, seed=5), sysmon=True)
    db, html = root / "hunt.duckdb", root / "report.html"
    res = CliRunner().invoke(main, ["hunt", str(logs), "--db", str(db), "--html", str(html),
                                    "--intel", str(logs / "intel.csv"), "-q",
                                    "--format", "ndjson"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return db, html


def test_the_report_filters_and_sorts_in_the_page(
    page: BrowserPage, day: tuple[Path, Path]
) -> None:
    db, html = day
    with Workbench(db) as wb:
        report = wb.run_report()
    p = page.page
    p.goto(html.as_uri())
    rows = p.locator("tr.finding")
    assert rows.count() == len(report.findings)
    escalated = sum(f.decision.value == "escalate" for f in report.findings)
    assert escalated > 0
    p.select_option("#f-decision", "escalate")
    assert p.inner_text("#f-count") == f"{escalated} shown"
    visible = p.locator("tr.finding:not([hidden])")
    assert visible.count() == escalated
    assert set(visible.evaluate_all("rs => rs.map(r => r.dataset.decision)")) == {"escalate"}
    p.select_option("#f-decision", "")
    target = report.findings[-1]
    p.fill("#f-text", target.finding_id)
    assert p.locator("tr.finding:not([hidden])").evaluate_all(
        "rs => rs.map(r => r.dataset.id)") == [target.finding_id]  # fmt: skip
    p.fill("#f-text", "")
    p.click("th button[data-sort=score]")
    scores = rows.evaluate_all("rs => rs.map(r => parseFloat(r.dataset.score))")
    assert scores == sorted(scores, reverse=True)
    p.click("th button[data-sort=score]")
    scores = rows.evaluate_all("rs => rs.map(r => parseFloat(r.dataset.score))")
    assert scores == sorted(scores)
    first = p.locator("details.case").first
    if first.get_attribute("open") is not None:  # an escalation starts open: fold it
        first.locator("summary").click()
        assert not first.locator("svg.plot").first.is_visible()
    first.locator("summary").click()
    assert first.locator("svg.plot").first.is_visible()
    assert "Evidence by pivot" in first.inner_text()
    p.emulate_media(media="print")
    assert not p.locator("#filters").is_visible()
    assert page.errors == [] and page.blocked == [] and page.csp_violations() == []


@pytest.fixture
def served(day: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``beaconhunt serve`` as a real process over a copy of the day's store."""
    db = tmp_path / "hunt.duckdb"
    db.write_bytes(day[0].read_bytes())
    token = secrets.token_urlsafe(24)
    proc = subprocess.Popen([sys.executable, "-m", "beaconhunt", "serve", "--db", str(db),
                             "--port", "0", "--token", token],
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "USER": "dana"})  # fmt: skip
    try:
        assert proc.stderr is not None
        said = ""
        deadline = time.monotonic() + 30
        while "?token=" not in said and time.monotonic() < deadline:
            said += proc.stderr.readline() or ""
            if proc.poll() is not None:
                break
        m = re.search(r"(http://127\.0\.0\.1:\d+/)\?token=", said)
        assert m is not None, said
        yield f"{m.group(1)}?token={token}", db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_verdict_recorded_in_the_ui_is_in_the_store(
    page: BrowserPage, served: tuple[str, Path]
) -> None:
    url, db = served
    p = page.page
    p.goto(url)
    assert "token" not in p.url  # the token moved into a cookie
    p.select_option("select[name=decision]", "escalate")
    p.click("form.filters button[type=submit]")
    rows = p.locator("tr.finding")
    assert rows.count() > 0
    assert {b.strip() for b in p.locator("tr.finding .badge").all_text_contents()} == {"escalate"}
    fid = rows.first.get_attribute("data-id")
    assert fid
    rows.first.locator("a[href^='/finding/']").click()
    assert f"Case {fid}" in p.inner_text("h2")
    p.check("input[name=decision][value=close]")
    p.fill("textarea[name=note]", "lab test host, reimaged")
    p.click("form.verdict button[type=submit]")
    assert "Verdict recorded: close" in p.inner_text("#recorded")
    assert "lab test host, reimaged" in p.inner_text("ul.verdicts")
    assert page.errors == [] and page.blocked == [] and page.csp_violations() == []
    with Workbench(db) as wb:
        [v] = wb.history.verdicts(fid)
    assert (v.decision.value, v.note, v.analyst) == ("close", "lab test host, reimaged", "dana")
