"""``beaconhunt generate`` and ``beaconhunt evaluate`` through click, as an analyst runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from beaconhunt import cli_lab
from beaconhunt.cli import main
from beaconhunt.errors import ConfigError
from beaconhunt.lab import Sweep
from beaconhunt.synth import ImplantMix

TINY = ["--hosts", "12", "--days", "0.25", "--seed", "3"]


def _cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """A 6-hour capture of 12 hosts with every family, written by the CLI."""
    out = tmp_path_factory.mktemp("tiny") / "day"
    return out, _cli("generate", out, *TINY)


def test_generate_writes_logs_labels_and_context(tiny: tuple[Path, Result]) -> None:
    out, res = tiny
    assert res.exit_code == 0, res.stderr
    names = {p.name for p in out.iterdir()}
    assert names >= {"conn.log", "dns.log", "ssl.log", "http.log", "labels.csv", "assets.csv",
                     "allowlist.txt", "whois.csv", "intel.csv", "sysmon.json"}  # fmt: skip
    assert "generating 0.25 day(s) of traffic for 12 hosts (seed 3)" in res.stderr
    assert "hidden implants (5):" in res.stdout
    for family in ("cobalt_strike", "sliver", "havoc", "mythic", "meterpreter"):
        assert f"  {family}" in res.stdout
    assert "labels.csv:" in res.stdout and "sysmon.json: event 1" in res.stdout


def test_generate_options(tmp_path: Path) -> None:
    res = _cli("generate", tmp_path / "g", "--hosts", "10", "--days", "0.1", "--format", "json",
               "--gzip", "--no-sysmon", "--implants", "sliver=2", "--sleep", "30", "--jitter",
               "10", "--loss", "5")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert not (tmp_path / "g" / "sysmon.json").exists()
    assert list((tmp_path / "g").glob("*/conn.*.log.gz"))
    assert "hidden implants (2):" in res.stdout
    assert "sleep 30s jitter 10% loss 5%" in res.stdout


def test_generate_other_network_formats_are_hunted_like_zeek(tmp_path: Path) -> None:
    """--network writes the same traffic as a firewall log; the hunt reads it and finds the
    implant pairs the labels name (by address: a firewall log has no names)."""
    out = tmp_path / "pa"
    res = _cli("generate", out, "--hosts", "12", "--days", "0.25", "--seed", "3",
               "--network", "panos", "--implants", "cobalt_strike=1,sliver=1")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert (out / "pan-traffic.log").is_file() and not (out / "conn.log").exists()
    assert "panos logs of the simulated traffic" in res.stdout
    ev = _cli("evaluate", out, "--format", "json")
    assert ev.exit_code == 0, ev.stderr
    found = json.loads(ev.stdout)["metrics"]
    assert found["implant_pairs"] == 2 and found["recall_found"] == 1.0


def test_generate_rejects_zeek_options_with_another_network_format(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["generate", str(tmp_path / "x"), "--network", "squid",
                                    "--gzip"])  # fmt: skip
    assert res.exit_code == 2
    assert "--format and --gzip describe Zeek logs" in res.stderr


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("cobalt_strike=2,sliver=1", {"cobalt_strike": 2, "sliver": 1}),
        ("all=2,havoc=0", {"cobalt_strike": 2, "sliver": 2, "mythic": 2, "meterpreter": 2}),
        ("none", {}),
        (" Cobalt-Strike = 3 ", {"cobalt_strike": 3}),
    ],
)
def test_parse_implants(text: str, counts: dict[str, int]) -> None:
    expected = ImplantMix.none().counts() | counts
    assert cli_lab.parse_implants(text).counts() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("emotet=1", "is not FAMILY=N"), ("sliver", "is not FAMILY=N"),
     ("sliver=-1", "whole number >= 0"), ("sliver=two", "whole number >= 0")],
)  # fmt: skip
def test_parse_implants_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cli_lab.parse_implants(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "{tmp}/x", "--implants", "zeus=1"], "'zeus=1' is not FAMILY=N"),
        (["generate", "{tmp}/x", "--hosts", "3"], "hosts must be at least 7"),
        (["generate", "{tmp}/x", "--hosts", "8", "--implants", "all=3"], "infected hosts"),
        (["evaluate", "{tmp}"], "no labels.csv"),
        (["evaluate", "--out", "{tmp}/o"], "--out goes with --grid"),
        (["evaluate", "--quick"], "--quick goes with --grid"),
        (["evaluate", "--grid", "--sleep", "5"], "--grid sets --sleep itself"),
        (["evaluate", "{tmp}", "--hosts", "5"], "--hosts generates data"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    res = _cli(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr


def test_evaluate_a_folder(tiny: tuple[Path, Result]) -> None:
    out, _ = tiny
    res = _cli("evaluate", out)
    assert res.exit_code == 0, res.stderr
    for line in ("recall (escalated)", "recall (found)", "false escalations / 1,000 host-days",
                 "precision", "process attribution", "average precision", "by family:",
                 "by jitter:", "by sleep:", "by loss:"):  # fmt: skip
        assert line in res.stdout
    data = json.loads(_cli("evaluate", out, "--format", "json").stdout)
    m = data["metrics"]
    assert m["hosts"] == 12 and 0.2 < m["days"] <= 0.25
    assert m["implant_pairs"] == len(data["implants"]) > 0
    assert 0.0 <= m["recall_escalated"] <= m["recall_found"] <= 1.0
    md = _cli("evaluate", out, "--format", "markdown").stdout
    assert "| metric | value |  |" in md and "### by family" in md


def test_evaluate_without_context_files(tiny: tuple[Path, Result]) -> None:
    out, _ = tiny
    with_ctx = json.loads(_cli("evaluate", out, "--format", "json").stdout)["metrics"]
    without = json.loads(_cli("evaluate", out, "--no-context", "--format", "json").stdout)
    # without WHOIS and intel nothing condemns a beacon reached by name alone
    assert without["metrics"]["recall_escalated"] <= with_ctx["recall_escalated"]


def test_evaluate_generates_when_no_folder_is_given() -> None:
    res = _cli("evaluate", *TINY, "--implants", "sliver=1,havoc=1", "--format", "json")
    assert res.exit_code == 0, res.stderr
    assert "generating 0.25 day(s) for 12 hosts (seed 3)" in res.stderr
    kinds = {i["kind"] for i in json.loads(res.stdout)["implants"]}
    assert kinds <= {"sliver", "havoc"}


def test_evaluate_grid_writes_plots_and_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    # a two-point grid keeps this test fast; the real grids are exercised by the docs
    tiny_grid = (Sweep("jitter", (0.0,)), Sweep("loss", (0.3,)))
    monkeypatch.setattr(cli_lab, "QUICK_GRID", tiny_grid)
    out = tmp_path / "acc"
    res = _cli("evaluate", "--grid", "--quick", "--hosts", "12", "--implants", "all=1",
               "--seeds", "1", "--out", out, "--format", "markdown")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy-grid.md", "detection-vs-jitter.png", "detection-vs-loss.png"]  # fmt: skip
    page = (out / "accuracy-grid.md").read_text()
    command = (
        f"beaconhunt evaluate --hosts 12 --implants all=1 --grid --out {out} --seeds 1 --quick"
    )
    assert f"Measured with `{command}` on 20" in page
    assert "![detection rate vs loss](detection-vs-loss.png)" in page
    assert "| jitter | cobalt_strike | sliver | havoc | mythic | meterpreter | all |" in page
    assert "[1/2] jitter 0%, seed 7" in res.stderr and "[2/2] loss 30%" in res.stderr
    assert "### Jitter sweep (sleep 1 min, loss 0%)" in res.stdout


def test_grid_plots_without_matplotlib_fail_before_any_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    ran: list[object] = []
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setattr(cli_lab, "run_grid", lambda *a, **k: ran.append(a))
    res = CliRunner().invoke(main, ["evaluate", "--grid", "--quick", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "pip install 'beaconhunt[lab]'" in res.stderr
    assert ran == []  # refused up front, not after ten minutes of grid


def test_a_grid_too_big_for_the_network_fails_before_any_capture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[object] = []
    monkeypatch.setattr(cli_lab, "run_grid", lambda *a, **k: ran.append(a))
    res = CliRunner().invoke(main, ["evaluate", "--grid", "--quick", "--hosts", "12"])
    assert res.exit_code == 2
    assert "infected hosts need more than" in res.stderr and ran == []


def test_generate_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "old-firewall.log").write_text("leftover\n")
    args = ["generate", str(tmp_path), "--hosts", "12", "--days", "0.05", "--no-sysmon"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and "is not empty" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old-firewall.log"]
    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert (tmp_path / "conn.log").is_file() and (tmp_path / "old-firewall.log").is_file()
