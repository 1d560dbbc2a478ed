"""The HTML report: one file, its own script and style allowed by hash, every value
escaped, the run's counts; ``beaconhunt report`` and ``hunt --html``.
The report in a real browser is tested in ``tests/browser``."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from beaconhunt.app.case import BREAK, Span
from beaconhunt.app.run import run_report, summary_lines
from beaconhunt.app.store import Workbench
from beaconhunt.cli import main
from beaconhunt.model.run import ReadSummary
from beaconhunt.report.html import line_html

ZEEK = Path(__file__).resolve().parents[1] / "fixtures" / "zeek" / "basic"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "hunt.duckdb"
    res = CliRunner().invoke(main, ["hunt", str(ZEEK), "--db", str(path), "-q",
                                    "--format", "ndjson", "--min-score", "0"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return path


@pytest.fixture(scope="module")
def html(db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("out") / "report.html"
    res = CliRunner().invoke(main, ["report", "--db", str(db), "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    assert "wrote the report of 2 finding(s)" in res.stderr
    return out.read_text(encoding="utf-8")


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_report_allows_only_its_own_script_and_style(html: str) -> None:
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 1 and len(styles) == 1
    policy = unescape(csp.group(1))
    assert f"script-src 'sha256-{_sha(scripts[0])}'" in policy
    assert f"style-src 'sha256-{_sha(styles[0])}'" in policy
    assert "default-src 'none'" in policy
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)  # nothing remote
    assert not re.search(r"\son[a-z]+=", html)  # no inline handler


def test_the_report_lists_every_finding_with_its_case(html: str, db: Path) -> None:
    with Workbench(db) as wb:
        report = wb.run_report()
    ids = re.findall(r'<tr class="finding" data-id="([0-9a-f]+)"', html)
    assert ids == [f.finding_id for f in report.findings] and ids
    for fid in ids:
        assert f'<details class="case" id="f-{fid}"' in html
    assert html.count('<svg class="plot"') >= len(ids) + 1  # a timeline each + the day
    assert "read 1 file(s)" in html or "read " in html
    assert report.read is not None and report.read.files >= 1


def test_values_are_escaped_and_code_is_code() -> None:
    line = (Span("host "), Span("<script>alert(1)</script>", "text"), BREAK,
            Span("\u202eexe.txt", "code", 50), Span(None, "text"))  # fmt: skip
    out = str(line_html(line))
    assert out == ("host &lt;script&gt;alert(1)&lt;/script&gt;<br>"
                   "<code>?exe.txt</code>-")  # fmt: skip


def test_a_run_report_counts_decisions_kinds_and_destinations(db: Path) -> None:
    with Workbench(db) as wb:
        report = wb.run_report()
        every = wb.run_report(every=True)
    findings = report.findings
    assert sum(n for _, n in report.decisions) == len(findings)
    assert [d.value for d, _ in report.decisions] == ["escalate", "monitor", "close"]
    assert sum(n for _, counts in report.kinds for _, n in counts) == len(findings)
    assert {r.destination for r in report.top_destinations} <= {
        f.dst_domain or f.dst_ip for f in findings}  # fmt: skip
    assert list(findings) == sorted(findings, key=lambda f: (f.decision.rank, -f.score))
    assert every.read is None and len(every.findings) == len(findings)
    again = run_report(list(reversed(findings)), None)
    assert again.findings == findings  # ranked the same whatever the order given


def test_a_read_summary_survives_the_store() -> None:
    s = ReadSummary(files=3, rows={"conn": 10}, skipped_lines=2, problems=("a.log:3: bad",),
                    problem_count=5, not_logs=("README",), not_log_count=1,
                    dropped={"volume.bulk": 4}, notes=("n",), seconds=1.5)  # fmt: skip
    assert ReadSummary.from_record(s.to_record()) == s
    assert ReadSummary.from_record({"files": 1, "future_key": 9}).files == 1
    lines = summary_lines(s, 7)
    assert lines[0].startswith("skipped 1 file(s) that are not logs: README")
    assert lines[-1].startswith("read 3 file(s): conn 10, 2 malformed line(s) skipped")
    assert "4 dropped as bulk" in lines[-1] and "7 findings" in lines[-1]


def test_report_names_a_missing_run(db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["report", "--db", str(db), "-o", str(tmp_path / "r.html"),
                                    "--run", "99"])  # fmt: skip
    assert res.exit_code == 2 and "no run 99 (runs 1 to 1)" in res.stderr


def test_hunt_html_without_a_store(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["hunt", str(ZEEK), "--html", str(out), "--format",
                                    "ndjson", "--min-score", "0"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert f"wrote the HTML report to {out}" in res.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count('<tr class="finding"') == len(res.stdout.splitlines()) == 2
    assert "received (down)" in text  # the connections were there to plot
