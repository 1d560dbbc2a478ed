"""The decide stage: evidence in, Escalate / Monitor / Close out, with the rule that decided."""

from __future__ import annotations

from beaconhunt.decide.policy import AllowlistRule, Candidate, Policy, Rule, ScoreRule

__all__ = ["AllowlistRule", "Candidate", "Policy", "Rule", "ScoreRule"]
