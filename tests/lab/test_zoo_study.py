"""The zoo study: its measures, a tiny run, and the docs that quote it."""

from __future__ import annotations

from pathlib import Path

from beaconhunt.lab.labels import Label, Outcome
from beaconhunt.lab.metrics import Evaluation, Metrics
from beaconhunt.lab.zoo_study import MODES, conformant_outranks, report, run_study
from beaconhunt.model import Decision, Evidence, Finding

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _finding(dst: str, decision: Decision, code: str | None = None) -> Finding:
    reasons = (Evidence(code, code),) if code else ()
    return Finding("10.0.0.1", None, dst, None, 443, "tcp", None, 10, 0.0, 1.0, 60.0, 0.9,
                   decision, reasons=reasons)  # fmt: skip


def _eval(outcomes: list[Outcome]) -> Evaluation:
    nan = float("nan")
    m = Metrics(0, 0, 0, 0, 0, 0, 0, 1, 1.0, 0, 0, nan, nan, nan, nan, nan, nan)
    return Evaluation(m, tuple(outcomes))


def _label(dst: str, kind: str) -> Label:
    return Label("10.0.0.1", dst, 443, kind, "escalate")


def test_conformant_outranks_counts_implants_below_a_protocol_finding() -> None:
    ntp = _finding("1.1.1.1", Decision.MONITOR, "service.ntp")
    c2 = _finding("2.2.2.2", Decision.MONITOR)
    mismatch = _finding("3.3.3.3", Decision.ESCALATE, "service.mismatch")
    ev = _eval([Outcome(_label("2.2.2.2", "sliver"), c2)])
    # table order: mismatch (an indicator, not a conformant protocol), NTP, then the C2
    assert conformant_outranks([mismatch, ntp, c2], ev) == 1
    assert conformant_outranks([mismatch, c2, ntp], ev) == 0


def test_a_tiny_study_runs_every_mode(tmp_path: Path) -> None:
    results = run_study({"tuning": [5]}, hosts=20, days=0.2, workdir=tmp_path)
    assert [r.mode for r in results] == list(MODES)
    for r in results:
        assert r.seeds == [5] and r.implant_pairs > 0 and r.host_days > 0
        assert r.kinds  # benign kinds were decided
    text = report(results, 20, 0.2, "test")
    assert "| all | tuning (5) |" in text and "## Benign kinds, network-only" in text


def test_the_docs_quote_the_measured_zoo_table() -> None:
    zoo = (DOCS / "accuracy" / "zoo.md").read_text(encoding="utf-8")
    start = zoo.index("| input |")
    table = zoo[start : zoo.index("\n\n", start)]
    for page in ("policy.md", "accuracy.md"):
        assert table in (DOCS / page).read_text(encoding="utf-8"), page
