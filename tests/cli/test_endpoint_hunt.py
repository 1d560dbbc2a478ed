"""Zeek + Sysmon of the same host name the beaconing process; Sysmon alone finds it too."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from beaconhunt.cli import main
from tests.conftest import FIXTURES, ZEEK

SYSMON = FIXTURES / "sysmon_basic" / "sysmon.jsonl"
PS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"


def _hunt(*paths: Path) -> list[dict[str, object]]:
    res = CliRunner().invoke(
        main, ["hunt", *map(str, paths), "--format", "ndjson", "--min-score", "0"]
    )
    assert res.exit_code == 0, res.stderr
    return [json.loads(line) for line in res.stdout.splitlines()]


def _beacon(rows: list[dict[str, object]]) -> dict[str, object]:
    return next(r for r in rows if r["dst_domain"] == "c2.badsite.example")


def test_zeek_plus_sysmon_names_the_process_and_its_tradecraft() -> None:
    f = _beacon(_hunt(ZEEK / "basic", SYSMON))
    assert f["decision"] == "escalate"
    assert f["connections"] == 30  # the Sysmon events describe, they do not add
    assert f["process_image"] == PS
    assert f["process_pid"] == 4242 and f["process_user"] == "CORP\\alice"
    assert str(f["parent_image"]).endswith("WINWORD.EXE")
    assert "-encodedcommand" in str(f["process_command_line"])
    codes = {r["code"] for r in f["reasons"]}  # type: ignore[attr-defined]
    assert {
        "process.attributed",
        "process.powershell_encoded",
        "process.download_cradle",
        "process.office_child",
        "persistence.run_key",
    } <= codes
    encoded = next(r for r in f["reasons"] if r["code"] == "process.powershell_encoded")  # type: ignore[attr-defined]
    assert "DownloadString" in encoded["text"]  # the decoded command, shown safely


def test_sysmon_only_finds_the_same_beacon() -> None:
    f = _beacon(_hunt(SYSMON))
    assert (f["src_ip"], f["dst_ip"], f["dst_port"]) == ("10.1.1.5", "198.51.100.23", 443)
    assert f["connections"] == 30
    assert f["process_image"] == PS
    assert f["src_host"] == "WS-005.corp.example"
    assert f["score"] >= 0.7  # type: ignore[operator]
