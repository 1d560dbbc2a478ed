"""Recall of the implant pairs broken down by family, jitter, sleep and loss.

Jitter, sleep and loss come from ``labels.csv`` and are binned on the grid's
own values, each bin closed on the left (``[low, high)``):

* jitter (fraction of the sleep): <10%, 10-30%, 30-50%, 50-70%, 70-90%, 90%+
* sleep: <10 s, 10 s-1 min, 1-5 min, 5-30 min, 30 min-1 h, 1-4 h, 4 h+
* loss (missed check-ins): <5%, 5-15%, 15-25%, 25-35%, 35%+

A label without the value (a file that does not say) lands in ``unknown``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from beaconhunt.lab.labels import Outcome
from beaconhunt.model import Decision

__all__ = ["BREAKDOWNS", "FAMILY_ORDER", "Bins", "Group", "breakdown", "breakdowns"]

#: Families in the order tables list them.
FAMILY_ORDER = ("cobalt_strike", "sliver", "havoc", "mythic", "meterpreter")


@dataclass(frozen=True, slots=True)
class Bins:
    """Named half-open bins ``[edges[i-1], edges[i])``; ``len(names) == len(edges) + 1``."""

    edges: tuple[float, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.edges) + 1 or list(self.edges) != sorted(self.edges):
            raise ValueError("bins need ascending edges and one more name than edges")

    def of(self, x: float | None) -> str:
        """The name of the bin holding ``x`` (``unknown`` for None or NaN)."""
        if x is None or math.isnan(x):
            return "unknown"
        return self.names[bisect.bisect_right(self.edges, x)]


JITTER_BINS = Bins(
    (0.1, 0.3, 0.5, 0.7, 0.9), ("<10%", "10-30%", "30-50%", "50-70%", "70-90%", "90%+")
)
SLEEP_BINS = Bins(
    (10.0, 60.0, 300.0, 1800.0, 3600.0, 14400.0),
    ("<10 s", "10 s-1 min", "1-5 min", "5-30 min", "30 min-1 h", "1-4 h", "4 h+"),
)
LOSS_BINS = Bins((0.05, 0.15, 0.25, 0.35), ("<5%", "5-15%", "15-25%", "25-35%", "35%+"))


@dataclass(frozen=True, slots=True)
class Group:
    """Implant pairs of one bin and what became of them."""

    value: str
    implant_pairs: int
    escalated: int
    found: int
    attributed: int
    attributed_correctly: int

    @property
    def recall_escalated(self) -> float:
        return self.escalated / self.implant_pairs if self.implant_pairs else math.nan

    @property
    def recall_found(self) -> float:
        return self.found / self.implant_pairs if self.implant_pairs else math.nan


#: Breakdown name -> how an implant label is binned, and the order of the bins.
BREAKDOWNS: dict[str, tuple[Callable[[Outcome], str], tuple[str, ...]]] = {
    "family": (lambda o: o.label.kind, FAMILY_ORDER),
    "jitter": (lambda o: JITTER_BINS.of(o.label.jitter), JITTER_BINS.names),
    "sleep": (lambda o: SLEEP_BINS.of(o.label.sleep), SLEEP_BINS.names),
    "loss": (lambda o: LOSS_BINS.of(o.label.loss), LOSS_BINS.names),
}


def breakdown(
    outcomes: Iterable[Outcome], key: Callable[[Outcome], str], order: Sequence[str] = ()
) -> list[Group]:
    """One :class:`Group` per value of ``key`` that occurs, in ``order`` then by name."""
    rows: dict[str, list[int]] = {}
    for o in outcomes:
        f = o.finding
        row = rows.setdefault(key(o), [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += f is not None and f.decision is Decision.ESCALATE
        row[2] += f is not None
        if f is not None and f.process_image and o.label.process:
            row[3] += 1
            row[4] += f.process_image.casefold() == o.label.process.casefold()
    rank = {v: i for i, v in enumerate(order)}
    names = sorted(rows, key=lambda v: (rank.get(v, len(rank)), v))
    return [Group(v, *rows[v]) for v in names]


def breakdowns(implants: Sequence[Outcome]) -> dict[str, list[Group]]:
    """Every breakdown of :data:`BREAKDOWNS` over the implant outcomes."""
    return {name: breakdown(implants, key, order) for name, (key, order) in BREAKDOWNS.items()}
