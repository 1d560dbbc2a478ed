"""`beaconhunt demo`: generates a day, hunts it, and checks itself against what it hid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from beaconhunt.cli import main


def test_demo_escalates_the_hidden_beacons(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main, ["demo", "--hosts", "12", "--out", str(tmp_path), "--format", "ndjson"]
    )
    assert res.exit_code == 0, res.stderr
    findings = [json.loads(line) for line in res.stdout.splitlines()]
    escalated = {(f["src_ip"], f["dst_domain"] or f["dst_ip"]) for f in findings
                 if f["decision"] == "escalate"}  # fmt: skip
    truth = [ln for ln in res.stderr.splitlines() if " -> " in ln]
    assert len(truth) >= 5
    # every hidden implant except the steady-polling Meterpreter is escalated
    for line in truth:
        if "meterpreter" not in line:
            assert ": escalate" in line, line
    assert (tmp_path / "conn.log").exists() and (tmp_path / "labels.csv").exists()
    assert any(dst == "198.51.100.23" for _, dst in escalated)  # the direct-IP Sliver
    report = tmp_path / "beaconhunt-demo.html"
    assert f"the HTML report of this day: {report.resolve()}" in res.stderr
    html = report.read_text(encoding="utf-8")
    assert html.count('<tr class="finding"') == len(findings)
    assert all(f'data-id="{f["finding_id"]}"' in html for f in findings)
    assert "hunt.duckdb" not in res.stderr.split("not logs:")[-1].split("\n")[0]


def test_demo_without_out_writes_the_report_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["demo", "--hosts", "12", "--format", "ndjson"])
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "beaconhunt-demo.html").stat().st_size > 10_000
    assert "beaconhunt serve" not in res.stderr.split("HTML report of this day")[-1]
