"""`beaconhunt demo`: generates a day, hunts it, and checks itself against what it hid."""

from __future__ import annotations

import json
from pathlib import Path

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
