"""Decision rules: ordered, each may decide a candidate or pass it on.

For now the policy is what the core needs: approved destinations are closed
(and can never escalate), everything else is decided by its beacon score.
Later rules (context, process, intel) slot in before the score rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from beaconhunt.config import DecideSettings
from beaconhunt.enrich.allowlist import Allowlist
from beaconhunt.model import Decision, Evidence, Verdict

__all__ = ["AllowlistRule", "Candidate", "Policy", "Rule", "ScoreRule"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a rule may look at."""

    dst_domain: str | None
    dst_ips: tuple[str, ...]
    score: float


class Rule(ABC):
    """One decision rule; ``name`` appears in every verdict it makes."""

    name: str = "rule"

    @abstractmethod
    def decide(self, c: Candidate) -> Verdict | None:
        """A verdict, or None to let the next rule decide."""


class AllowlistRule(Rule):
    """Approved infrastructure is closed, whatever its score."""

    name = "allowlist"

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist

    def decide(self, c: Candidate) -> Verdict | None:
        hit = self.allowlist.match(c.dst_domain, c.dst_ips)
        if hit is None:
            return None
        ev = Evidence(
            "allowlist.match", f"destination is approved by allowlist entry {hit.describe()}"
        )
        return Verdict(Decision.CLOSE, self.name, (ev,))


class ScoreRule(Rule):
    """Escalate, monitor or close by beacon score alone."""

    name = "score"

    def __init__(self, settings: DecideSettings) -> None:
        self.s = settings

    def decide(self, c: Candidate) -> Verdict | None:
        if c.score >= self.s.escalate_at:
            return Verdict(Decision.ESCALATE, self.name, (Evidence(
                "decision.score_high",
                f"beacon score {c.score:.2f} >= escalate threshold {self.s.escalate_at:.2f}",
            ),))  # fmt: skip
        if c.score >= self.s.monitor_at:
            return Verdict(Decision.MONITOR, self.name, (Evidence(
                "decision.score_medium",
                f"beacon score {c.score:.2f} >= monitor threshold {self.s.monitor_at:.2f}",
            ),))  # fmt: skip
        return Verdict(Decision.CLOSE, self.name, (Evidence(
            "decision.score_low",
            f"beacon score {c.score:.2f} below monitor threshold {self.s.monitor_at:.2f}",
        ),))  # fmt: skip


class Policy:
    """Applies rules in order; the first verdict wins."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        if not rules:
            raise ValueError("a policy needs at least one rule")
        self.rules = list(rules)

    def decide(self, c: Candidate) -> Verdict:
        for rule in self.rules:
            v = rule.decide(c)
            if v is not None:
                return v
        return Verdict(Decision.MONITOR, "default", ())
