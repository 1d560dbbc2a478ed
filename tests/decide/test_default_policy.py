"""The packaged default policy: every rule fires on a realistic finding, its unless
clauses stop it, and the four outcomes of the case write-up come out right."""

from __future__ import annotations

import tomllib

import pytest

from beaconhunt.decide import EVIDENCE_CODES, Policy, default_policy_text, matching_codes
from beaconhunt.model import Decision, Evidence

POLICY = Policy.default()
SUSPICIOUS = [
    "process.powershell_encoded", "process.powershell_hidden", "process.download_cradle",
    "process.office_child", "process.lolbin_network", "process.masquerading",
    "process.suspicious_path", "process.renamed", "persistence.run_key",
    "persistence.startup_folder", "persistence.scheduled_task", "persistence.service",
]  # fmt: skip


def decide(codes: list[str], score: float) -> tuple[Decision, str]:
    v = POLICY.decide([Evidence(c, f"text of {c}") for c in codes], score)
    return v.decision, v.rule


# --------------------------------------------------------------------------- the file


def test_default_policy_text_is_commented_toml() -> None:
    text = default_policy_text()
    data = tomllib.loads(text)
    assert data["policy"]["mode"] == "replace"
    assert len(data["policy"]["rules"]) == len(POLICY.rules) == 19
    # every rule is explained by a comment right above it
    chunks = text.split("[[policy.rules]]")
    assert all(chunk.rstrip().splitlines()[-1].startswith("#") for chunk in chunks[:-1])


def test_default_rule_order() -> None:
    assert [r.name for r in POLICY.rules] == [
        "analyst-closed", "analyst-escalated", "known-application", "approved-infrastructure",
        "known-protocol", "dns-known-service", "c2-indicators", "rare-and-correlated",
        "jittered-with-indicators", "dns-c2-indicators", "long-session-indicators",
        "widespread-baseline", "dga-not-understood", "dns-not-understood",
        "long-session-not-understood", "dns-ordinary", "long-session-ordinary",
        "not-understood", "irregular",
    ]  # fmt: skip


def test_every_default_pattern_matches_a_known_code() -> None:
    for r in POLICY.rules:
        globs = [g for item in r.when for g in item] + list(r.unless)
        for glob in globs:
            assert matching_codes(glob), f"{r.name}: {glob}"
            assert set(matching_codes(glob)) <= set(EVIDENCE_CODES)


def test_suspicious_process_set_is_spelled_out_the_same_everywhere() -> None:
    def susp(globs: tuple[str, ...]) -> set[str]:
        return {c for g in globs for c in matching_codes(g) if c in SUSPICIOUS}

    by_name = {r.name: r for r in POLICY.rules}
    for name in ("analyst-closed", "known-application", "approved-infrastructure",
                 "known-protocol", "widespread-baseline"):  # fmt: skip
        assert susp(by_name[name].unless) == set(SUSPICIOUS), name
    for name in ("c2-indicators", "jittered-with-indicators"):
        indicator = next(i for i in by_name[name].when if "dest.young_domain" in i)
        assert susp(indicator) == set(SUSPICIOUS), name
        assert "intel.match" in indicator, name
    # user_writable_path is urgency, not proof: it is not in the suspicious set
    assert "process.user_writable_path" not in SUSPICIOUS
    assert "process.known_install" not in SUSPICIOUS


def test_every_default_rule_has_a_single_line_reason() -> None:
    for r in POLICY.rules:
        assert r.reason and "\n" not in r.reason and r.source == "default policy"


# --------------------------------------------------------------------------- the four outcomes


def test_outcome_1_true_positive_escalates() -> None:
    # a workstation calls a newly registered domain every 90 s from a PowerShell process
    # flagged in an earlier case
    codes = ["beacon.regular", "beacon.strong", "volume.low", "dest.rare", "dest.new",
             "dest.young_domain", "process.attributed", "process.powershell_encoded",
             "host.workstation", "history.process_flagged"]  # fmt: skip
    assert decide(codes, 0.93) == (Decision.ESCALATE, "analyst-escalated")
    # without the earlier case, the evidence alone escalates it
    codes.remove("history.process_flagged")
    v = POLICY.decide([Evidence(c, c) for c in codes], 0.93)
    assert (v.decision, v.rule) == (Decision.ESCALATE, "c2-indicators")
    assert v.matched == ("beacon.regular", "process.powershell_encoded")


def test_outcome_2_false_positive_management_agent_closes() -> None:
    codes = ["beacon.regular", "beacon.strong", "volume.low", "dest.common", "dest.known",
             "dest.established_domain", "process.attributed", "process.approved",
             "host.workstation", "timing.off_hours"]  # fmt: skip
    assert decide(codes, 0.97) == (Decision.CLOSE, "known-application")


def test_outcome_3_true_negative_browsing_closes() -> None:
    # irregular browsing to a popular site
    common = ["beacon.weak", "timing.irregular", "size.variable", "dest.common",
              "dest.established_domain", "process.attributed"]  # fmt: skip
    assert decide(common, 0.21) == (Decision.CLOSE, "widespread-baseline")
    # irregular traffic to a site only this host visits
    rare = ["beacon.weak", "timing.irregular", "size.variable", "dest.rare"]
    assert decide(rare, 0.3) == (Decision.CLOSE, "irregular")


def test_outcome_4_jittered_beacon_with_indicators_escalates() -> None:
    codes = ["beacon.weak", "timing.jitter_tolerant", "volume.low", "dest.rare",
             "dest.young_domain", "process.attributed", "process.powershell_hidden"]  # fmt: skip
    assert decide(codes, 0.55) == (Decision.ESCALATE, "jittered-with-indicators")
    # below min_score 0.5 the timing is too weak for the rule
    assert decide(codes, 0.45) == (Decision.CLOSE, "irregular")


# --------------------------------------------------------------------------- rule by rule


@pytest.mark.parametrize(
    ("rule", "decision", "codes", "score"),
    [
        ("analyst-closed", Decision.CLOSE,
         ["beacon.regular", "dest.rare", "process.unknown", "history.closed"], 0.9),
        ("analyst-escalated", Decision.ESCALATE,
         ["beacon.weak", "dest.known", "history.escalated"], 0.4),
        ("known-application", Decision.CLOSE,
         ["beacon.regular", "dest.rare", "dest.new", "process.approved"], 0.95),
        ("approved-infrastructure", Decision.CLOSE,
         ["beacon.regular", "dest.rare", "allowlist.match", "process.unknown"], 0.9),
        ("c2-indicators", Decision.ESCALATE,
         ["beacon.regular", "dest.common", "dest.known", "intel.match"], 0.8),
        ("c2-indicators", Decision.ESCALATE,
         ["beacon.regular", "dest.young_domain", "process.unknown"], 0.75),
        ("c2-indicators", Decision.ESCALATE,
         ["beacon.regular", "dest.common", "persistence.scheduled_task"], 0.75),
        ("rare-and-correlated", Decision.ESCALATE,
         ["beacon.regular", "dest.new", "host.persistence", "process.unknown"], 0.8),
        ("rare-and-correlated", Decision.ESCALATE,
         ["beacon.regular", "dest.rare", "lateral.same_process", "host.suspicious_execution"],
         0.8),
        # the host's other processes do not implicate a known, clean process
        ("not-understood", Decision.MONITOR,
         ["beacon.regular", "dest.rare", "host.persistence", "process.attributed"], 0.8),
        # urgency without an indicator is monitored: a hard-coded vendor address,
        # a per-user program, the same agent on other hosts, a critical server
        ("not-understood", Decision.MONITOR,
         ["beacon.regular", "dest.rare", "dest.direct_ip", "dest.no_dns", "host.server",
          "host.critical"], 0.8),
        ("not-understood", Decision.MONITOR,
         ["beacon.regular", "dest.rare", "process.user_writable_path"], 0.8),
        ("not-understood", Decision.MONITOR,
         ["beacon.regular", "dest.rare", "lateral.same_process", "lateral.same_destination"],
         0.8),
        ("c2-indicators", Decision.ESCALATE,
         ["beacon.regular", "dest.rare", "process.suspicious_path"], 0.8),
        ("c2-indicators", Decision.ESCALATE,
         ["beacon.regular", "dest.rare", "service.mismatch"], 0.8),
        ("known-protocol", Decision.CLOSE,
         ["beacon.strong", "beacon.regular", "dest.rare", "dest.direct_ip", "dest.no_dns",
          "host.server", "host.critical", "service.ntp"], 1.0),
        ("jittered-with-indicators", Decision.ESCALATE,
         ["beacon.weak", "dest.new", "intel.match"], 0.6),
        ("widespread-baseline", Decision.CLOSE,
         ["beacon.regular", "dest.common", "dest.known", "process.unknown"], 0.9),
        ("not-understood", Decision.MONITOR,
         ["beacon.regular", "dest.rare", "process.unknown", "host.workstation"], 0.85),
        ("widespread-baseline", Decision.CLOSE,
         ["beacon.regular", "dest.common", "dest.known", "dest.no_dns"], 0.85),
        ("irregular", Decision.CLOSE, [], 0.0),
    ],
)  # fmt: skip
def test_each_default_rule_fires(
    rule: str, decision: Decision, codes: list[str], score: float
) -> None:
    assert decide(codes, score) == (decision, rule)


@pytest.mark.parametrize("susp", SUSPICIOUS)
def test_allowlisted_destination_with_suspicious_process_escalates(susp: str) -> None:
    # the allowlist does not clear a destination a suspicious process beacons to
    codes = ["beacon.regular", "dest.common", "dest.known", "allowlist.match", susp]
    assert decide(codes, 0.9) == (Decision.ESCALATE, "c2-indicators")


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        # analyst-closed is reopened by intel or a suspicious process
        (["beacon.regular", "history.closed", "intel.match"], "c2-indicators"),
        (["beacon.regular", "history.closed", "process.office_child"], "c2-indicators"),
        # known-application: a young domain is a hijacked update channel, not known behaviour
        (["beacon.regular", "process.approved", "dest.young_domain"], "c2-indicators"),
        (["beacon.regular", "process.approved", "intel.match"], "c2-indicators"),
        (["beacon.regular", "process.approved", "process.masquerading"], "c2-indicators"),
        (["beacon.regular", "allowlist.match", "intel.match"], "c2-indicators"),
        # widespread-baseline does not hide a mismatch or a suspicious path
        (["beacon.regular", "dest.common", "dest.known", "service.mismatch"], "c2-indicators"),
        (["beacon.regular", "dest.common", "dest.established_domain",
          "process.suspicious_path"], "c2-indicators"),
        # known-protocol does not hide a suspicious process or intel
        (["beacon.regular", "service.ntp", "process.renamed"], "c2-indicators"),
        (["beacon.regular", "service.dns", "intel.match"], "c2-indicators"),
        (["beacon.weak", "dest.common", "dest.known", "process.powershell_hidden"], "irregular"),
    ],
)  # fmt: skip
def test_unless_clauses_stop_the_closing_rules(codes: list[str], expected: str) -> None:
    assert decide(codes, 0.8)[1] == expected


def test_escalate_history_beats_an_earlier_close() -> None:
    # both notes exist: the close is first in the policy, but the process was flagged since
    codes = ["beacon.regular", "history.closed", "history.process_flagged"]
    assert decide(codes, 0.8) == (Decision.CLOSE, "analyst-closed")
    codes.append("process.powershell_encoded")
    assert decide(codes, 0.8) == (Decision.ESCALATE, "analyst-escalated")


def test_rare_needs_a_correlation_to_escalate() -> None:
    assert decide(["beacon.regular", "dest.rare"], 0.8) == (Decision.MONITOR, "not-understood")
    assert decide(["beacon.regular", "dest.rare", "host.persistence"], 0.8)[0] == (
        Decision.ESCALATE
    )


def test_the_default_policy_always_decides() -> None:
    # the catch-all means no-rule-matched never comes out of the default policy
    for score in (0.0, 0.5, 1.0):
        assert decide(["dest.rare"], score)[1] != "no-rule-matched"
