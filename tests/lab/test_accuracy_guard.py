"""Accuracy guard: small fixed-seed evaluations must not cross the recorded thresholds.

A scoring or policy change that loses recall or adds false escalations fails here before
it lands. The thresholds, and how to move them deliberately, are in
``accuracy_thresholds.toml`` next to this file. Each scenario is generated, hunted with
Sysmon and every context file, and scored exactly as ``beaconhunt evaluate DIR`` does.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from beaconhunt.cli_lab import folder_hunter
from beaconhunt.lab import Evaluation, evaluate_folder
from beaconhunt.lab.render import evaluation_text
from beaconhunt.synth import DEFAULT_START, ImplantMix, Scenario, generate

THRESHOLDS = tomllib.loads((Path(__file__).parent / "accuracy_thresholds.toml").read_text())
#: threshold key -> (metric attribute, True when the metric must stay at or above it)
CHECKS = {
    "recall_escalated_min": ("recall_escalated", True),
    "recall_found_min": ("recall_found", True),
    "false_per_1000_host_days_max": ("false_escalations_per_1000_host_days", False),
    "precision_min": ("precision", True),
    "attribution_min": ("attribution_accuracy", True),
    "average_precision_min": ("average_precision", True),
}


def _scenario(t: dict[str, Any]) -> Scenario:
    per_family = int(t.get("implants", 2))
    return Scenario(
        hosts=int(t["hosts"]),
        days=float(t["days"]),
        start=DEFAULT_START + 8 * 3600,  # office hours, as the grid does
        seed=int(t["seed"]),
        implants=ImplantMix(*[per_family] * 5),
        sleep=t.get("sleep"),
        jitter=t.get("jitter"),
        loss=t.get("loss"),
        zoo=bool(t.get("zoo", False)),
        shapes=bool(t.get("shapes", False)),
    )


@pytest.fixture(scope="module", params=sorted(THRESHOLDS))
def measured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Evaluation]:
    name = str(request.param)
    out = tmp_path_factory.mktemp(f"guard-{name}")
    generate(out, _scenario(THRESHOLDS[name]), sysmon=True)
    hunter = folder_hunter(context=bool(THRESHOLDS[name].get("context", True)))
    return name, evaluate_folder(out, hunter)


def test_every_threshold_is_checked() -> None:
    for name, t in THRESHOLDS.items():
        assert set(CHECKS) <= set(t), f"[{name}] lacks {set(CHECKS) - set(t)}"


def test_accuracy_stays_within_thresholds(measured: tuple[str, Evaluation]) -> None:
    name, ev = measured
    m, t = ev.metrics, THRESHOLDS[name]
    assert m.implant_pairs > 0
    failures = []
    for key, (attr, at_least) in CHECKS.items():
        value = getattr(m, attr)
        ok = not math.isnan(value) and (value >= t[key] if at_least else value <= t[key])
        if not ok:
            failures.append(f"{attr} = {value:.4f}, threshold {key} = {t[key]}")
    report = evaluation_text(ev)
    assert not failures, f"[{name}] " + "; ".join(failures) + "\n" + report


def test_conformant_time_sync_and_resolvers_are_never_escalated(
    measured: tuple[str, Evaluation],
) -> None:
    # the zoo's NTP to hard-coded pool addresses, w32time, chrony, DoT resolvers...
    _, ev = measured
    for o in ev.outcomes:
        f = o.finding
        if f is None or o.label.implant:
            continue
        codes = {r.code for r in f.reasons}
        if codes & {"service.ntp", "service.dns", "service.dot"}:
            assert f.decision.value != "escalate", (o.label.kind, f.rule)
