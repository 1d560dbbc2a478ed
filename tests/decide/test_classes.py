"""Every evidence code has a class, and the default policy never escalates without an indicator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beaconhunt.decide import EVIDENCE_CODES, CodeClass, Policy, class_of, register_class
from beaconhunt.decide.classes import CLASS_OF
from beaconhunt.model import Decision, Evidence

NOT_INDICATORS = sorted(c for c in EVIDENCE_CODES if class_of(c) != CodeClass.INDICATOR)
INDICATORS = sorted(c for c in EVIDENCE_CODES if class_of(c) == CodeClass.INDICATOR)


def test_every_code_has_a_class() -> None:
    missing = [c for c in EVIDENCE_CODES if class_of(c) is None]
    assert missing == []


def test_every_class_entry_names_a_known_code() -> None:
    # a typo in CLASS_OF would silently classify nothing
    for pattern in CLASS_OF:
        hits = [
            c
            for c in EVIDENCE_CODES
            if class_of(c) is not None
            and (c == pattern or ("*" in pattern and c.startswith(pattern.rstrip("*"))))
        ]
        assert hits, pattern


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        # the case write-up's escalation evidence
        ("process.powershell_encoded", CodeClass.INDICATOR),
        ("persistence.run_key", CodeClass.INDICATOR),
        ("host.persistence", CodeClass.INDICATOR),
        ("dest.young_domain", CodeClass.INDICATOR),
        ("intel.match", CodeClass.INDICATOR),
        ("service.mismatch", CodeClass.INDICATOR),
        # what the issue found escalating benign traffic: urgency only
        ("host.server", CodeClass.URGENCY),
        ("host.critical", CodeClass.URGENCY),
        ("dest.rare", CodeClass.URGENCY),
        ("dest.no_dns", CodeClass.URGENCY),
        ("process.user_writable_path", CodeClass.URGENCY),
        ("timing.off_hours", CodeClass.URGENCY),
        # explanations
        ("service.ntp", CodeClass.EXPLANATION),
        ("service.dns", CodeClass.EXPLANATION),
        ("process.known_install", CodeClass.EXPLANATION),
        ("allowlist.match", CodeClass.EXPLANATION),
    ],
)
def test_classes_follow_the_case_write_up(code: str, cls: CodeClass) -> None:
    assert class_of(code) == cls


def test_default_escalate_rules_all_need_an_indicator() -> None:
    assert Policy.default().escalating_without_indicator() == []


def test_a_rule_on_urgency_alone_is_reported() -> None:
    from beaconhunt.decide import load_policy

    policy = load_policy(
        {"rules": [{"name": "critical-new", "decision": "escalate", "reason": "x",
                    "when": ["host.critical", "dest.new"]}]},
        "team.toml",
    )  # fmt: skip
    assert policy.escalating_without_indicator() == ["critical-new"]


@settings(max_examples=400, deadline=None)
@given(
    codes=st.lists(st.sampled_from(NOT_INDICATORS), max_size=25, unique=True),
    score=st.floats(0.0, 1.0),
)
def test_default_policy_never_escalates_without_an_indicator(
    codes: list[str], score: float
) -> None:
    verdict = Policy.default().decide([Evidence(c, c) for c in codes], score)
    assert verdict.decision != Decision.ESCALATE, (codes, score, verdict.rule)


@settings(max_examples=200, deadline=None)
@given(
    codes=st.lists(st.sampled_from(NOT_INDICATORS), max_size=12, unique=True),
    # dns.* indicators are about lookups: a beacon never carries them
    indicator=st.sampled_from([c for c in INDICATORS if not c.startswith(("host.", "dns."))]),
)
def test_a_regular_beacon_with_an_indicator_is_not_closed_silently(
    codes: list[str], indicator: str
) -> None:
    # a regular, rare beacon plus a malicious indicator about its own process or
    # destination is never *closed* by a protocol or baseline explanation (approvals
    # by an analyst or the inventory aside). Host-wide evidence (another process
    # on the host) does not stop closing the host's NTP or its common destinations.
    explained = {"allowlist.match", "process.approved", "history.closed"}
    if explained & set(codes) or (
        indicator == "service.mismatch" and any(c.startswith("service.") for c in codes)
    ):
        return
    ev = [Evidence(c, c) for c in ("beacon.regular", "dest.rare", indicator, *codes)]
    verdict = Policy.default().decide(ev, 0.9)
    assert verdict.decision != Decision.CLOSE, (codes, indicator, verdict.rule)


def test_register_class_refuses_a_change() -> None:
    register_class("plugin.test_code", CodeClass.URGENCY)
    assert class_of("plugin.test_code") == CodeClass.URGENCY
    with pytest.raises(ValueError, match="already of class"):
        register_class("plugin.test_code", CodeClass.INDICATOR)
    del CLASS_OF["plugin.test_code"]
