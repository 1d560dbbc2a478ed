"""Accuracy of a hunt against ground truth: each metric a pure function.

The unit is a labelled pair (source IP, destination, port). An *implant pair*
is a label whose kind is an implant family; everything else, and every finding
that matches no label, is benign. With ``N`` implant pairs:

==============================  ==============================================================
metric                          definition
==============================  ==============================================================
recall (escalated)              implant pairs escalated / ``N``
recall (found)                  implant pairs reported at any decision / ``N``
false escalations per 1,000     benign pairs escalated × 1000 / (hosts × days)
host-days
precision                       escalated implant pairs / all escalated pairs
attribution accuracy            among found implant pairs whose process is known, the share
                                whose image equals the label's (case-insensitive)
average precision               over the ranking escalate > monitor > close, then score
                                (ties averaged over their orders); unreported implants
                                count as never retrieved
==============================  ==============================================================

A ratio with a zero denominator is NaN ("not measurable"), never 0 or 1: no
implant means no recall, no escalation means no precision.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from beaconhunt.lab.breakdown import Group, breakdowns
from beaconhunt.lab.labels import Label, LabelIndex, Outcome, finding_key, outcomes_by_kind
from beaconhunt.model import Decision, Finding

__all__ = [
    "Evaluation",
    "Metrics",
    "attribution_accuracy",
    "average_precision",
    "false_escalation_rate",
    "measure",
    "precision",
    "rank_groups",
    "ratio",
    "recall",
]


def ratio(num: float, den: float) -> float:
    """``num / den``; NaN when ``den`` is 0 (nothing to measure)."""
    return num / den if den else math.nan


def recall(hits: int, implant_pairs: int) -> float:
    """``hits / implant_pairs`` in [0, 1]; NaN without implant pairs."""
    return ratio(hits, implant_pairs)


def precision(true_escalated: int, escalated: int) -> float:
    """``true_escalated / escalated`` in [0, 1]; NaN when nothing was escalated."""
    return ratio(true_escalated, escalated)


def false_escalation_rate(false_escalations: int, hosts: int, days: float) -> float:
    """Benign escalations per 1,000 host-days: ``n × 1000 / (hosts × days)``, >= 0.

    One false escalation a day on a 40-host network is 25. NaN when ``hosts ×
    days`` is 0 (no observation time).
    """
    return ratio(false_escalations * 1000.0, hosts * days)


def attribution_accuracy(pairs: Iterable[tuple[str | None, str]]) -> tuple[float, int, int]:
    """``(share, correct, known)`` over ``(finding image, label image)`` pairs.

    Pairs where either image is unknown (None or "") are left out: this
    measures whether the process named is right, not how often one is named.
    Comparison is case-insensitive (Windows paths). ``share`` is NaN when no
    pair has both images.
    """
    known = correct = 0
    for found, truth in pairs:
        if not found or not truth:
            continue
        known += 1
        correct += found.casefold() == truth.casefold()
    return ratio(correct, known), correct, known


def average_precision(groups: Sequence[tuple[int, int]], n_relevant: int) -> float:
    """Average precision of a ranking given as tie groups, in [0, 1].

    ``groups`` lists, best first, ``(size g, relevant r)`` for each set of
    items ranked equal. With ``R`` relevant items and ``p`` items before a group,
    the item at position ``i`` (1-based, ``p < i <= p + g``) is relevant with
    probability ``r/g``, and then has on average ``(i-p-1)(r-1)/(g-1)`` relevant
    items before it inside the group, so (McSherry & Najork, 2008)::

        AP = 1/N × Σ_groups Σ_i (r/g) × (R + 1 + (i-p-1)(r-1)/(g-1)) / i

    the expected AP over every order of the ties (without ties: the usual
    ``1/N × Σ precision@rank of each relevant item``). ``N = n_relevant``
    includes relevant items never ranked (they add 0). NaN when ``N`` is 0.
    Raises ValueError when a group has ``r > g`` or more relevant items are
    ranked than ``N``.
    """
    if n_relevant <= 0:
        return math.nan
    total, before, seen = 0.0, 0, 0
    for g, r in groups:
        if not 0 <= r <= g:
            raise ValueError(f"a tie group of {g} cannot hold {r} relevant items")
        for i in range(before + 1, before + g + 1):
            inside = (i - before - 1) * (r - 1) / (g - 1) if g > 1 else 0.0
            total += (r / g) * (seen + 1 + inside) / i
        before, seen = before + g, seen + r
    if seen > n_relevant:
        raise ValueError(f"{seen} relevant items ranked but n_relevant is {n_relevant}")
    return total / n_relevant


def rank_groups(items: Iterable[tuple[Decision, float, bool]]) -> list[tuple[int, int]]:
    """Tie groups ``(size, relevant)`` of ``(decision, score, relevant)`` items,
    ranked as reports list them: escalate, monitor, close, then by score (highest
    first). Items with the same decision and score form one group."""
    counts: dict[tuple[int, float], list[int]] = {}
    for decision, score, relevant in items:
        slot = counts.setdefault((decision.rank, -score), [0, 0])
        slot[0] += 1
        slot[1] += int(relevant)
    return [(g, r) for _, (g, r) in sorted(counts.items())]


@dataclass(frozen=True, slots=True)
class Metrics:
    """Counts and rates of one evaluation (rates NaN when not measurable)."""

    implant_pairs: int
    benign_pairs: int
    findings: int
    escalated: int
    implants_escalated: int
    implants_found: int
    false_escalations: int
    hosts: int
    days: float
    attributed: int
    attributed_correctly: int
    recall_escalated: float
    recall_found: float
    false_escalations_per_1000_host_days: float
    precision: float
    attribution_accuracy: float
    average_precision: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The overall metrics, each label's outcome, the breakdowns of the implants
    (``{"family": [...], "jitter": [...], "sleep": [...], "loss": [...]}``) and
    what the false escalations were (label kind, or ``unlabelled``)."""

    metrics: Metrics
    outcomes: tuple[Outcome, ...]
    breakdowns: dict[str, list[Group]] = field(default_factory=dict)
    false_kinds: Counter[str] = field(default_factory=Counter)

    def benign_kinds(self) -> dict[str, Counter[str]]:
        """Per benign label kind, how many of its pairs were decided each way
        (``escalate``, ``monitor``, ``close`` or ``not reported``), kinds sorted."""
        return dict(
            sorted(outcomes_by_kind(o for o in self.outcomes if not o.label.implant).items())
        )


def measure(
    findings: Sequence[Finding], labels: Sequence[Label], hosts: int, days: float
) -> Evaluation:
    """Score ``findings`` against ``labels`` (one finding per pair: the best ranked)."""
    index = LabelIndex(labels)
    by_label: dict[tuple[str, str, int], Finding] = {}
    counted: list[Finding] = []
    false_kinds: Counter[str] = Counter()
    ranked: list[tuple[Decision, float, bool]] = []
    for f in _best_per_pair(findings).values():  # best ranked first
        lab = index.label_of(f)
        if lab is not None:
            if lab.key in by_label:
                continue  # a second finding for a pair already counted (by name and address)
            by_label[lab.key] = f
        is_implant = lab is not None and lab.implant
        counted.append(f)
        ranked.append((f.decision, f.score, is_implant))
        if f.decision is Decision.ESCALATE and not is_implant:
            false_kinds[lab.kind if lab is not None else "unlabelled"] += 1
    outcomes = tuple(Outcome(lab, by_label.get(lab.key)) for lab in labels)
    implants = [o for o in outcomes if o.label.implant]
    n = len(implants)
    escalated_implants = sum(_escalated(o.finding) for o in implants)
    found = sum(o.finding is not None for o in implants)
    escalated = sum(_escalated(f) for f in counted)
    false_n = sum(false_kinds.values())
    share, correct, known = attribution_accuracy(
        (o.finding.process_image, o.label.process) for o in implants if o.finding is not None
    )
    metrics = Metrics(
        implant_pairs=n,
        benign_pairs=len(outcomes) - n,
        findings=len(counted),
        escalated=escalated,
        implants_escalated=escalated_implants,
        implants_found=found,
        false_escalations=false_n,
        hosts=hosts,
        days=days,
        attributed=known,
        attributed_correctly=correct,
        recall_escalated=recall(escalated_implants, n),
        recall_found=recall(found, n),
        false_escalations_per_1000_host_days=false_escalation_rate(false_n, hosts, days),
        precision=precision(escalated - false_n, escalated),
        attribution_accuracy=share,
        average_precision=average_precision(rank_groups(ranked), n),
    )
    return Evaluation(metrics, outcomes, breakdowns(implants), false_kinds)


def _escalated(f: Finding | None) -> bool:
    return f is not None and f.decision is Decision.ESCALATE


def _best_per_pair(findings: Iterable[Finding]) -> dict[tuple[str, str, int], Finding]:
    """One finding per pair: the best ranked (escalate > monitor > close, then score)."""
    out: dict[tuple[str, str, int], Finding] = {}
    for f in sorted(findings, key=lambda f: (f.decision.rank, -f.score)):
        out.setdefault(finding_key(f), f)
    return out
