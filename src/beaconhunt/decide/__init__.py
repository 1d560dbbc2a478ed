"""The decide stage: evidence in, Escalate / Monitor / Close out, with the rule that decided.

The policy is data: an ordered list of :class:`PolicyRule` read from TOML (the
packaged default, plus a team's ``[policy]`` table), each naming the evidence
codes of :data:`EVIDENCE_CODES` it needs.
"""

from __future__ import annotations

from beaconhunt.decide.classes import CodeClass, class_of, register_class
from beaconhunt.decide.codes import EVIDENCE_CODES, matching_codes, register_code
from beaconhunt.decide.policy import (
    DEFAULT_SOURCE,
    NO_RULE_MATCHED,
    Policy,
    PolicyRule,
    default_policy_text,
    load_policy,
)

__all__ = [
    "DEFAULT_SOURCE",
    "EVIDENCE_CODES",
    "NO_RULE_MATCHED",
    "CodeClass",
    "Policy",
    "PolicyRule",
    "class_of",
    "default_policy_text",
    "load_policy",
    "matching_codes",
    "register_class",
    "register_code",
]
