"""The decision policy: an ordered list of rules, written as data in TOML.

Each rule names the evidence codes it needs (``when``), the codes that stop it
(``unless``) and optionally a beacon-score band; the first rule that matches a
finding decides Escalate / Monitor / Close and says why. The default policy is
:file:`default_policy.toml` next to this module (the "Decision Logic" of the
case write-up); a team's ``[policy]`` table adds rules before it, drops some of
its rules, or replaces it (see ``docs/policy.md``).

Patterns are ``fnmatch`` globs on the code, case-sensitive, and every pattern
must match at least one code in :data:`~beaconhunt.decide.codes.EVIDENCE_CODES`,
so a typo is a :class:`~beaconhunt.errors.ConfigError`, not a rule that never fires.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from beaconhunt.decide.classes import CodeClass, class_of
from beaconhunt.decide.codes import EVIDENCE_CODES, matching_codes
from beaconhunt.errors import ConfigError
from beaconhunt.model import Decision, Evidence, Verdict

__all__ = [
    "DEFAULT_SOURCE",
    "NO_RULE_MATCHED",
    "Policy",
    "PolicyRule",
    "default_policy_text",
    "load_policy",
]

DEFAULT_SOURCE = "default policy"
"""The ``source`` of the packaged default rules."""
NO_RULE_MATCHED = "no-rule-matched"
"""The rule name of the MONITOR verdict given when no rule matches."""
MODES = ("prepend", "replace")
"""``[policy] mode``: your rules before the default policy, or instead of it."""

_POLICY_KEYS = ("mode", "disable", "rules")
_RULE_KEYS = (
    "name", "decision", "when", "unless", "min_score", "max_score", "kinds", "reason",
)  # fmt: skip
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_GLOB = re.compile(r"[a-z0-9_.*?]+")
_PATTERN_CHARS = re.compile(r"[^a-z0-9_.*?| ]")


def _first_match(globs: Sequence[str], codes: Collection[str]) -> str | None:
    """The first code matching a glob, trying the globs in order."""
    for glob in globs:
        for code in codes:
            if _glob_matches(code, glob):
                return code
    return None


@lru_cache(maxsize=1 << 16)
def _glob_matches(code: str, glob: str) -> bool:
    """``fnmatchcase``, remembered: a hunt decides thousands of findings against the
    same few hundred (code, glob) pairs."""
    return fnmatchcase(code, glob)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One decision rule: if every ``when`` item holds, no ``unless`` glob matches and
    ``min_score <= score < max_score`` (``max_score`` 1.0: no upper bound), decide.

    ``when`` holds one tuple of alternative globs per item; ``unless`` is flat.
    ``kinds`` limits the rule to findings of those detector kinds (``beacon``,
    ``dns``, ``long_session``; empty: every kind). ``source`` names the file the
    rule came from.
    """

    name: str
    decision: Decision
    when: tuple[tuple[str, ...], ...]
    unless: tuple[str, ...]
    reason: str
    min_score: float = 0.0
    max_score: float = 1.0
    source: str = DEFAULT_SOURCE
    kinds: tuple[str, ...] = ()

    def matches(
        self, codes: Collection[str], score: float, kind: str = "beacon"
    ) -> tuple[str, ...] | None:
        """The codes that satisfied `when` (first match per item, in item order,
        deduplicated), or None when the rule does not apply."""
        if self.kinds and kind not in self.kinds:
            return None
        if score < self.min_score or (self.max_score < 1.0 and score >= self.max_score):
            return None
        if _first_match(self.unless, codes) is not None:
            return None
        found: list[str] = []
        for item in self.when:
            hit = _first_match(item, codes)
            if hit is None:
                return None
            found.append(hit)
        return tuple(dict.fromkeys(found))

    def needs_indicator(self) -> bool:
        """True when the rule can only match with a malicious indicator: one of its
        ``when`` items matches nothing but codes of class ``indicator``
        (:mod:`beaconhunt.decide.classes`)."""
        for item in self.when:
            codes = matching_codes(" | ".join(item))
            if codes and all(class_of(c) == CodeClass.INDICATOR for c in codes):
                return True
        return False

    def explain(self, matched: Sequence[str], score: float) -> str:
        """The one-line sentence a verdict by this rule shows."""
        why = [f"matched: {', '.join(matched)}"] if matched else []
        if self.min_score > 0.0:
            why.append(f"score {score:.2f} >= {self.min_score:.2f}")
        if self.max_score < 1.0:
            why.append(f"score {score:.2f} < {self.max_score:.2f}")
        tail = f" ({'; '.join(why)})" if why else (" (catch-all)" if not self.when else "")
        return f"{self.decision} by rule {self.name}: {self.reason}{tail}"


class Policy:
    """Rules tried in order; the first that matches decides (MONITOR when none does)."""

    def __init__(self, rules: Sequence[PolicyRule]) -> None:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate policy rule name(s): {', '.join(dupes)}")
        self.rules: list[PolicyRule] = list(rules)

    def __repr__(self) -> str:
        return f"Policy([{', '.join(r.name for r in self.rules)}])"

    def escalating_without_indicator(self) -> list[str]:
        """Names of the escalate rules that could fire without a malicious indicator
        (none in the default policy; a team's own rules may choose to)."""
        return [r.name for r in self.rules
                if r.decision == Decision.ESCALATE and not r.needs_indicator()]  # fmt: skip

    @classmethod
    def default(cls) -> Policy:
        """The packaged default policy (:func:`default_policy_text`)."""
        return cls(_default_rules())

    def decide(self, evidence: Sequence[Evidence], score: float, kind: str = "beacon") -> Verdict:
        """The verdict of the first rule matching the evidence codes, the ``score`` and
        the finding's detector ``kind``."""
        codes = tuple(dict.fromkeys(e.code for e in evidence))
        for rule in self.rules:
            matched = rule.matches(codes, score, kind)
            if matched is not None:
                text = rule.explain(matched, score)
                return Verdict(
                    rule.decision, rule.name, (Evidence("decision.rule", text),), matched
                )
        seen = ", ".join(codes) if codes else "none"
        text = f"monitor by rule {NO_RULE_MATCHED}: no policy rule matched (evidence: {seen})"
        return Verdict(Decision.MONITOR, NO_RULE_MATCHED, (Evidence("decision.rule", text),))


def default_policy_text() -> str:
    """The packaged default policy TOML, comments included (``beaconhunt config --default``)."""
    return resources.files("beaconhunt.decide").joinpath("default_policy.toml").read_text("utf-8")


@cache
def _default_rules() -> tuple[PolicyRule, ...]:
    section = tomllib.loads(default_policy_text())["policy"]
    return tuple(_parse_section(section, DEFAULT_SOURCE)[2])


def load_policy(section: Mapping[str, Any] | None, source: str) -> Policy:
    """The policy a config file's parsed ``[policy]`` table describes (None: the default).

    ``source`` (usually the file name) starts every error message. Raises
    :class:`~beaconhunt.errors.ConfigError` for anything invalid.
    """
    if section is None:
        return Policy.default()
    mode, disable, rules = _parse_section(section, source)
    if mode == "replace":
        if disable:
            raise ConfigError(f"{source} [policy]: disable only applies with mode = 'prepend'")
        if not rules:
            raise ConfigError(f"{source} [policy]: mode = 'replace' needs [[policy.rules]]")
        return Policy(rules)
    defaults = _default_rules()
    default_names = [r.name for r in defaults]
    unknown = [n for n in disable if n not in default_names]
    if unknown:
        raise ConfigError(
            f"{source} [policy] disable: no default rule named {', '.join(unknown)};"
            f" default rules: {', '.join(default_names)}"
        )
    kept = [r for r in defaults if r.name not in disable]
    for i, rule in enumerate(rules, 1):
        if rule.name in default_names and rule.name not in disable:
            raise ConfigError(
                f"{source} [[policy.rules]] #{i} ({rule.name}): name is a default rule's;"
                " pick another name, or disable the default rule"
            )
    return Policy([*rules, *kept])


def _parse_section(section: Any, source: str) -> tuple[str, list[str], list[PolicyRule]]:
    """Mode, disabled default rule names and rules of a ``[policy]`` table."""
    where = f"{source} [policy]"
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _check_keys(section, _POLICY_KEYS, where)
    mode = section.get("mode", "prepend")
    if mode not in MODES:
        raise ConfigError(f"{where} mode: {mode!r} is not one of {', '.join(MODES)}")
    disable = _strings(section.get("disable", []), f"{where} disable")
    raw = section.get("rules", [])
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise ConfigError(f"{where}: rules must be [[policy.rules]] tables")
    rules: list[PolicyRule] = []
    for i, table in enumerate(raw, 1):
        rule = _parse_rule(table, source, f"{source} [[policy.rules]] #{i}")
        first = next((j for j, r in enumerate(rules, 1) if r.name == rule.name), None)
        if first is not None:
            raise ConfigError(
                f"{source} [[policy.rules]] #{i} ({rule.name}): duplicate name, rule #{first}"
                " has it already"
            )
        rules.append(rule)
    return mode, disable, rules


def _parse_rule(t: Mapping[str, Any], source: str, where: str) -> PolicyRule:
    """One ``[[policy.rules]]`` table; errors start with ``where`` and the rule's name."""
    name = t.get("name")
    label = f"{where} ({name})" if isinstance(name, str) and name else where
    _check_keys(t, _RULE_KEYS, label)
    name, decision, reason = _required(t, label)
    when = tuple(_pattern(p, label, "when") for p in _strings(t.get("when", []), f"{label} when"))
    unless = _strings(t.get("unless", []), f"{label} unless")
    flat = tuple(dict.fromkeys(g for p in unless for g in _pattern(p, label, "unless")))
    lo, hi = _score(t, "min_score", 0.0, label), _score(t, "max_score", 1.0, label)
    if lo > hi or (lo == hi and hi < 1.0):
        raise ConfigError(f"{label}: min_score {lo} must be below max_score {hi}")
    kinds = _strings(t.get("kinds", []), f"{label} kinds")
    bad = [k for k in kinds if not _NAME.fullmatch(k)]
    if bad:
        raise ConfigError(f"{label}: kinds {bad[0]!r} must match [a-z0-9][a-z0-9_-]*")
    return PolicyRule(name, decision, when, flat, reason, lo, hi, source, tuple(kinds))


def _required(t: Mapping[str, Any], label: str) -> tuple[str, Decision, str]:
    """A rule's name, decision and reason (the reason folded to one line)."""
    for key in ("name", "decision", "reason"):
        if key not in t:
            raise ConfigError(f"{label}: missing {key}")
    name, decision, reason = t["name"], t["decision"], t["reason"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"{label}: name {name!r} must match [a-z0-9][a-z0-9_-]*")
    allowed = [d.value for d in Decision]
    if decision not in allowed:
        raise ConfigError(f"{label}: decision {decision!r} is not one of {', '.join(allowed)}")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{label}: reason must be a non-empty string")
    return name, Decision(decision), " ".join(reason.split())


def _check_keys(table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: must be a list of strings, e.g. ["dest.rare"]')
    return list(value)


def _score(t: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = t.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number in [0, 1], not {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: {key} {value} is outside [0, 1]")
    return float(value)


def _pattern(text: str, where: str, key: str) -> tuple[str, ...]:
    """The globs of one ``|``-separated pattern, each checked against the known codes."""
    bad = sorted(set(_PATTERN_CHARS.findall(text)))
    if bad:
        raise ConfigError(
            f"{where}: {key} pattern {text!r} has character(s) {''.join(bad)!r};"
            " allowed: a-z 0-9 _ . * ? and '|' between alternatives"
        )
    globs = tuple(g.strip() for g in text.split("|"))
    for glob in globs:
        if not _GLOB.fullmatch(glob):
            raise ConfigError(
                f"{where}: {key} pattern {text!r} has an empty alternative or a space inside a code"
            )
        if not matching_codes(glob):
            raise ConfigError(
                f"{where}: {key} pattern {glob!r} matches no known evidence code;"
                f" closest: {', '.join(_closest(glob))} (every code: docs/policy.md)"
            )
    return globs


def _closest(glob: str) -> list[str]:
    """Known codes (or globs) that look like a pattern that matches none, for the typo message."""
    codes = list(EVIDENCE_CODES)
    prefix, dot, rest = glob.partition(".")
    prefixes = list(dict.fromkeys(c.split(".", 1)[0] for c in codes))
    if dot and prefix not in prefixes:  # 'persistance.*' -> 'persistence.*'
        fixed = [f"{p}.{rest}" for p in difflib.get_close_matches(prefix, prefixes, 2, 0.75)]
        fixed = [f for f in fixed if matching_codes(f)]
        if fixed:
            return fixed
    close = difflib.get_close_matches(glob, codes, n=3, cutoff=0.75)
    if close:
        return close
    same = [c for c in codes if c.startswith(prefix + ".")][:5]
    return same or difflib.get_close_matches(glob, codes, n=3, cutoff=0.0)
