"""PolicyRule and Policy semantics: when / unless / '|' / globs, score bounds, order, fallback."""

from __future__ import annotations

import pytest

from beaconhunt.decide import NO_RULE_MATCHED, Policy, PolicyRule
from beaconhunt.model import Decision, Evidence, Verdict


def ev(*codes: str) -> list[Evidence]:
    return [Evidence(c, f"text of {c}") for c in codes]


def rule(
    name: str = "r",
    when: tuple[tuple[str, ...], ...] = (),
    unless: tuple[str, ...] = (),
    decision: Decision = Decision.ESCALATE,
    lo: float = 0.0,
    hi: float = 1.0,
) -> PolicyRule:
    return PolicyRule(name, decision, when, unless, f"reason of {name}", lo, hi)


# --------------------------------------------------------------------------- matches


@pytest.mark.parametrize(
    ("when", "codes", "expected"),
    [
        # every item must hold
        ((("beacon.regular",), ("dest.rare",)), ["beacon.regular", "dest.rare"],
         ("beacon.regular", "dest.rare")),
        ((("beacon.regular",), ("dest.rare",)), ["beacon.regular"], None),
        # '|' alternatives: any of them
        ((("dest.rare", "dest.new"),), ["dest.new"], ("dest.new",)),
        ((("dest.rare", "dest.new"),), ["dest.common"], None),
        # first match per item follows the pattern order, not the evidence order
        ((("dest.rare", "dest.new"),), ["dest.new", "dest.rare"], ("dest.rare",)),
        # globs: '*' and '?', case-sensitive, on the whole code
        ((("process.powershell_*",),), ["process.powershell_hidden"],
         ("process.powershell_hidden",)),
        ((("persistence.*",),), ["persistence.run_key"], ("persistence.run_key",)),
        ((("dest.ne?",),), ["dest.new"], ("dest.new",)),
        ((("dest.ne?",),), ["dest.new_thing"], None),
        ((("dest.rare",),), ["DEST.RARE"], None),
        ((("dest",),), ["dest.rare"], None),
        # the same code satisfying two items is listed once
        ((("dest.rare",), ("dest.*",)), ["dest.rare"], ("dest.rare",)),
        # no item: always (a catch-all), nothing matched
        ((), [], ()),
        ((), ["dest.rare"], ()),
    ],
)  # fmt: skip
def test_when_semantics(
    when: tuple[tuple[str, ...], ...], codes: list[str], expected: tuple[str, ...] | None
) -> None:
    assert rule(when=when).matches(codes, 0.9) == expected


def test_unless_stops_the_rule_whatever_when_says() -> None:
    r = rule(when=(("beacon.regular",),), unless=("intel.match", "process.powershell_*"))
    assert r.matches(["beacon.regular"], 0.9) == ("beacon.regular",)
    assert r.matches(["beacon.regular", "intel.match"], 0.9) is None
    assert r.matches(["beacon.regular", "process.powershell_encoded"], 0.9) is None
    # unless globs are case-sensitive and whole-code too
    assert r.matches(["beacon.regular", "intel.match_old"], 0.9) == ("beacon.regular",)


def test_unless_applies_to_a_catch_all() -> None:
    r = rule(unless=("intel.match",))
    assert r.matches([], 0.1) == ()
    assert r.matches(["intel.match"], 0.1) is None


@pytest.mark.parametrize(
    ("lo", "hi", "score", "applies"),
    [
        (0.5, 1.0, 0.49, False),
        (0.5, 1.0, 0.50, True),   # min is inclusive
        (0.5, 1.0, 1.00, True),   # max 1.0: no upper bound, 1.0 itself included
        (0.0, 0.7, 0.69, True),
        (0.0, 0.7, 0.70, False),  # max below 1.0 is exclusive
        (0.3, 0.6, 0.45, True),
        (1.0, 1.0, 1.00, True),   # exactly a perfect score
        (1.0, 1.0, 0.99, False),
    ],
)  # fmt: skip
def test_score_bounds(lo: float, hi: float, score: float, applies: bool) -> None:
    r = rule(when=(("dest.rare",),), lo=lo, hi=hi)
    assert (r.matches(["dest.rare"], score) is not None) is applies


# --------------------------------------------------------------------------- Policy.decide


def test_first_matching_rule_wins() -> None:
    policy = Policy([
        rule("close-approved", (("process.approved",),), decision=Decision.CLOSE),
        rule("escalate-rare", (("dest.rare",),), decision=Decision.ESCALATE),
        rule("monitor-all", decision=Decision.MONITOR),
    ])  # fmt: skip
    both = policy.decide(ev("dest.rare", "process.approved"), 0.9)
    assert (both.decision, both.rule) == (Decision.CLOSE, "close-approved")
    rare = policy.decide(ev("dest.rare"), 0.9)
    assert (rare.decision, rare.rule) == (Decision.ESCALATE, "escalate-rare")
    other = policy.decide(ev("dest.common"), 0.9)
    assert (other.decision, other.rule, other.matched) == (Decision.MONITOR, "monitor-all", ())


def test_verdict_carries_rule_sentence_and_matched_codes() -> None:
    r = PolicyRule(
        "c2-indicators", Decision.ESCALATE, (("beacon.regular",), ("dest.young_domain",)), (),
        "regular beacon with a malicious indicator",
    )  # fmt: skip
    v = Policy([r]).decide(ev("dest.rare", "beacon.regular", "dest.young_domain"), 0.91)
    assert v == Verdict(
        Decision.ESCALATE,
        "c2-indicators",
        (Evidence(
            "decision.rule",
            "escalate by rule c2-indicators: regular beacon with a malicious indicator"
            " (matched: beacon.regular, dest.young_domain)",
        ),),
        ("beacon.regular", "dest.young_domain"),
    )  # fmt: skip


def test_sentence_names_score_bounds_and_catch_all() -> None:
    banded = rule("band", (("dest.rare",),), lo=0.5, hi=0.8)
    text = Policy([banded]).decide(ev("dest.rare"), 0.55).reasons[0].text
    assert text == (
        "escalate by rule band: reason of band (matched: dest.rare; score 0.55 >= 0.50;"
        " score 0.55 < 0.80)"
    )
    catch_all = rule("rest", decision=Decision.CLOSE)
    text = Policy([catch_all]).decide(ev("dest.rare"), 0.1).reasons[0].text
    assert text == "close by rule rest: reason of rest (catch-all)"
    assert "\n" not in text


def test_no_rule_matched_falls_back_to_monitor() -> None:
    policy = Policy([rule("only-rare", (("dest.rare",),))])
    v = policy.decide(ev("dest.common", "beacon.weak", "dest.common"), 0.2)
    assert (v.decision, v.rule, v.matched) == (Decision.MONITOR, NO_RULE_MATCHED, ())
    assert v.reasons == (Evidence(
        "decision.rule",
        "monitor by rule no-rule-matched: no policy rule matched"
        " (evidence: dest.common, beacon.weak)",
    ),)  # fmt: skip


def test_empty_policy_monitors_everything() -> None:
    v = Policy([]).decide([], 0.0)
    assert (v.decision, v.rule) == (Decision.MONITOR, NO_RULE_MATCHED)
    assert "evidence: none" in v.reasons[0].text


def test_policy_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="duplicate policy rule name"):
        Policy([rule("a"), rule("b"), rule("a")])


def test_evidence_order_does_not_change_the_verdict() -> None:
    policy = Policy.default()
    codes = ["beacon.regular", "dest.rare", "host.persistence", "volume.low"]
    verdicts = {policy.decide(ev(*order), 0.8) for order in (codes, codes[::-1])}
    assert len(verdicts) == 1
