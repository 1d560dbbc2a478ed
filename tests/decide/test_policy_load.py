"""load_policy: a team's [policy] table, its modes and every validation error."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from beaconhunt.decide import Policy, load_policy
from beaconhunt.errors import ConfigError
from beaconhunt.model import Decision, Evidence

DEFAULT_NAMES = [r.name for r in Policy.default().rules]

TEAM = """
[policy]
disable = ["widespread-baseline"]

[[policy.rules]]
name = "backup-agent-on-servers"
decision = "close"
when = ["host.server", "process.approved | allowlist.match"]
unless = ["intel.match", "persistence.*"]
reason = "the backup agent checks in with the vault every 15 minutes (CHG-1234)"

[[policy.rules]]
name = "critical-host-new-destination"
decision = "escalate"
when = ["host.critical", "dest.new"]
reason = "a critical host beacons to a destination never seen before"
"""


def section(text: str) -> dict[str, Any]:
    policy: dict[str, Any] = tomllib.loads(text)["policy"]
    return policy


def one_rule(**fields: Any) -> dict[str, Any]:
    """A [policy] table with one rule: a valid rule, with ``fields`` changed (None: removed)."""
    base: dict[str, Any] = {
        "name": "my-rule", "decision": "close", "when": ["dest.rare"], "reason": "because",
    }  # fmt: skip
    base.update(fields)
    return {"mode": "replace", "rules": [{k: v for k, v in base.items() if v is not None}]}


def ev(*codes: str) -> list[Evidence]:
    return [Evidence(c, c) for c in codes]


# --------------------------------------------------------------------------- modes


def test_no_policy_section_is_the_default_policy() -> None:
    assert [r.name for r in load_policy(None, "cfg.toml").rules] == DEFAULT_NAMES


def test_empty_policy_section_is_the_default_policy() -> None:
    assert [r.name for r in load_policy({}, "cfg.toml").rules] == DEFAULT_NAMES


def test_prepend_puts_team_rules_first_and_disable_drops_defaults() -> None:
    policy = load_policy(section(TEAM), "cfg.toml")
    names = [r.name for r in policy.rules]
    assert names[:2] == ["backup-agent-on-servers", "critical-host-new-destination"]
    assert names[2:] == [n for n in DEFAULT_NAMES if n != "widespread-baseline"]
    team = policy.rules[0]
    assert team.source == "cfg.toml"
    assert team.when == (("host.server",), ("process.approved", "allowlist.match"))
    assert team.unless == ("intel.match", "persistence.*")
    assert policy.rules[2].source == "default policy"


def test_team_rules_decide_before_the_defaults() -> None:
    policy = load_policy(section(TEAM), "cfg.toml")
    # backup agent on a server, regular and rare: the default would say not-understood
    v = policy.decide(ev("beacon.regular", "dest.rare", "host.server", "allowlist.match"), 0.95)
    assert (v.decision, v.rule) == (Decision.CLOSE, "backup-agent-on-servers")
    # ...but not when intel knows the destination: the defaults escalate it
    v = policy.decide(ev("beacon.regular", "host.server", "allowlist.match", "intel.match"), 0.95)
    assert (v.decision, v.rule) == (Decision.ESCALATE, "c2-indicators")
    # a critical host to a new destination escalates even with irregular timing
    v = policy.decide(ev("beacon.weak", "host.critical", "dest.new"), 0.3)
    assert (v.decision, v.rule) == (Decision.ESCALATE, "critical-host-new-destination")


def test_disabled_default_rule_no_longer_decides() -> None:
    baseline = ev("beacon.regular", "dest.common", "dest.known")
    assert Policy.default().decide(baseline, 0.8).rule == "widespread-baseline"
    policy = load_policy(section(TEAM), "cfg.toml")
    assert policy.decide(baseline, 0.8).rule == "not-understood"


def test_replace_uses_only_the_team_rules() -> None:
    policy = load_policy(one_rule(), "cfg.toml")
    assert [r.name for r in policy.rules] == ["my-rule"]
    v = policy.decide(ev("beacon.regular", "intel.match"), 0.99)
    assert (v.decision, v.rule) == (Decision.MONITOR, "no-rule-matched")


def test_a_disabled_default_name_may_be_reused() -> None:
    table = one_rule(name="irregular", when=[])
    table.update(mode="prepend", disable=["irregular"])
    names = [r.name for r in load_policy(table, "cfg.toml").rules]
    assert names[0] == "irregular" and names.count("irregular") == 1


# --------------------------------------------------------------------------- errors


def error(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        load_policy(table, "cfg.toml")
    return str(info.value)


R1 = "cfg.toml [[policy.rules]] #1 (my-rule): "


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"whenn": ["dest.rare"]}, R1 + "unknown key(s) whenn; allowed: name, decision"),
        ({"reason": None}, R1 + "missing reason"),
        ({"reason": "  "}, R1 + "reason must be a non-empty string"),
        ({"decision": None}, R1 + "missing decision"),
        ({"decision": "ignore"}, R1 + "decision 'ignore' is not one of escalate, monitor, close"),
        ({"decision": "Close"}, R1 + "decision 'Close' is not one of"),
        ({"when": "dest.rare"}, R1[:-2] + " when: must be a list of strings"),
        ({"unless": [1]}, R1[:-2] + " unless: must be a list of strings"),
        ({"when": ["Dest.rare"]}, R1 + "when pattern 'Dest.rare' has character(s) 'D'"),
        ({"when": ["dest.[rn]*"]}, R1 + "when pattern 'dest.[rn]*' has character(s) '[]'"),
        ({"unless": ["dest.rare ||"]}, R1 + "unless pattern 'dest.rare ||' has an empty"),
        ({"when": [""]}, R1 + "when pattern '' has an empty alternative"),
        ({"when": ["dest. rare"]}, R1 + "when pattern 'dest. rare' has an empty alternative or"
                                        " a space inside a code"),
        ({"min_score": 1.5}, R1 + "min_score 1.5 is outside [0, 1]"),
        ({"max_score": -0.1}, R1 + "max_score -0.1 is outside [0, 1]"),
        ({"min_score": "high"}, R1 + "min_score must be a number in [0, 1], not 'high'"),
        ({"min_score": True}, R1 + "min_score must be a number"),
        ({"min_score": 0.8, "max_score": 0.5}, R1 + "min_score 0.8 must be below max_score 0.5"),
        ({"min_score": 0.5, "max_score": 0.5}, R1 + "min_score 0.5 must be below max_score 0.5"),
    ],
)  # fmt: skip
def test_rule_errors_name_the_source_and_the_rule(fields: dict[str, Any], message: str) -> None:
    assert error(one_rule(**fields)).startswith(message)


def test_missing_name_names_the_rule_number() -> None:
    table = one_rule(name=None)
    table["rules"].insert(0, one_rule(name="first")["rules"][0])
    assert error(table) == "cfg.toml [[policy.rules]] #2: missing name"


@pytest.mark.parametrize("name", ["Backup", "-rule", "my rule", "r.1", "", 7])
def test_bad_rule_name(name: object) -> None:
    assert "must match [a-z0-9][a-z0-9_-]*" in error(one_rule(name=name))


def test_duplicate_name() -> None:
    table = one_rule()
    table["rules"] += [one_rule(name="other")["rules"][0], one_rule()["rules"][0]]
    assert error(table) == (
        "cfg.toml [[policy.rules]] #3 (my-rule): duplicate name, rule #1 has it already"
    )


def test_a_default_rule_name_needs_disable_first() -> None:
    table = one_rule(name="irregular")
    table["mode"] = "prepend"
    assert error(table).startswith(
        "cfg.toml [[policy.rules]] #1 (irregular): name is a default rule's"
    )


@pytest.mark.parametrize(
    ("pattern", "closest"),
    [
        ("dest.yung_domain", "dest.young_domain"),
        ("proces.powershell_encoded", "process.powershell_encoded"),
        ("beacon.regualr", "beacon.regular"),
        ("persistance.*", "persistence.*"),
        ("dest.rare | dest.neww", "dest.new"),
    ],
)
def test_typo_check_names_the_closest_known_codes(pattern: str, closest: str) -> None:
    msg = error(one_rule(when=["beacon.regular", pattern]))
    assert msg.startswith(R1 + "when pattern ")
    assert "matches no known evidence code; closest: " in msg
    assert closest in msg.split("closest: ", 1)[1]


def test_typo_check_covers_unless() -> None:
    msg = error(one_rule(unless=["intel.matches"]))
    assert msg.startswith(R1 + "unless pattern 'intel.matches' matches no known evidence code")
    assert "intel.match" in msg


def test_unknown_prefix_still_suggests_something() -> None:
    msg = error(one_rule(when=["zzz.*"]))
    assert "matches no known evidence code; closest: " in msg
    assert msg.split("closest: ", 1)[1].split(" (")[0]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"mode": "append"}, "cfg.toml [policy] mode: 'append' is not one of prepend, replace"),
        ({"rule": []}, "cfg.toml [policy]: unknown key(s) rule; allowed: mode, disable, rules"),
        ({"disable": "irregular"}, "cfg.toml [policy] disable: must be a list of strings"),
        ({"disable": ["irregullar"]},
         "cfg.toml [policy] disable: no default rule named irregullar; default rules:"
         " analyst-closed, "),
        ({"rules": {"name": "x"}}, "cfg.toml [policy]: rules must be [[policy.rules]] tables"),
        ({"rules": ["x"]}, "cfg.toml [policy]: rules must be [[policy.rules]] tables"),
        ({"mode": "replace"}, "cfg.toml [policy]: mode = 'replace' needs [[policy.rules]]"),
        ({**one_rule(), "disable": ["irregular"]},
         "cfg.toml [policy]: disable only applies with mode = 'prepend'"),
    ],
)  # fmt: skip
def test_policy_section_errors(table: dict[str, Any], message: str) -> None:
    assert error(table).startswith(message)


def test_policy_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"^cfg.toml \[policy\]: must be a table$"):
        load_policy(["x"], "cfg.toml")  # type: ignore[arg-type]


def test_reason_whitespace_is_folded_to_one_line() -> None:
    policy = load_policy(one_rule(reason="line one\n  line two\t end"), "cfg.toml")
    assert policy.rules[0].reason == "line one line two end"
    text = policy.decide(ev("dest.rare"), 0.5).reasons[0].text
    assert "\n" not in text and text.endswith("line one line two end (matched: dest.rare)")


def test_integer_scores_are_accepted() -> None:
    r = load_policy(one_rule(min_score=0, max_score=1), "cfg.toml").rules[0]
    assert (r.min_score, r.max_score) == (0.0, 1.0)
    assert isinstance(r.min_score, float)
