"""The detection-rate grid: sweep jitter, sleep and loss one at a time.

Each sweep moves one knob with the other two at the defaults (sleep 60 s,
jitter 20%, loss 0; the jitter sweep at loss 0, the loss sweep at jitter 20%):

=======  ===========================================  =========================
sweep    full grid                                    ``quick``
=======  ===========================================  =========================
jitter   0, 10, 30, 50, 70, 90%                       0, 50, 90%
sleep    1 s, 10 s, 1 min, 5 min, 30 min, 1 h, 4 h    10 s, 5 min, 1 h
loss     0, 10, 20, 30, 40%                           0, 20, 40%
=======  ===========================================  =========================

Every grid point generates one scenario per seed in which every implant is
forced to the point's sleep, jitter and loss (Meterpreter has no jitter knob
and stays at 5%), with the context files and Sysmon, and hunts it. The capture
lasts ``clamp(40 × sleep, 6 h, 3 days)`` so a long sleep still gets enough
check-ins, and starts at 08:00 on a Tuesday so a short capture sees office
hours (Havoc is silent and laptops sleep outside them).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from beaconhunt.lab.breakdown import FAMILY_ORDER, Group, breakdown
from beaconhunt.lab.labels import Outcome
from beaconhunt.lab.run import Hunter, evaluate_folder
from beaconhunt.synth import DEFAULT_START, ImplantMix, Scenario, generate

__all__ = [
    "BASE",
    "FULL_GRID",
    "GRID_MIX",
    "QUICK_GRID",
    "GridPoint",
    "GridResult",
    "PointResult",
    "Sweep",
    "capture_days",
    "grid_points",
    "point_scenario",
    "run_grid",
]

#: Sleep (s), jitter and loss that stay fixed while another knob is swept.
BASE = {"sleep": 60.0, "jitter": 0.2, "loss": 0.0}
#: Implants per family in each grid scenario (the Mythic campaign adds 2 hosts).
GRID_MIX = ImplantMix(2, 2, 2, 2, 2)
_CHECKINS = 40.0
_MIN_DAYS, _MAX_DAYS = 0.25, 3.0
_START = DEFAULT_START + 8 * 3600.0


@dataclass(frozen=True, slots=True)
class Sweep:
    """One knob (``jitter``, ``sleep`` or ``loss``) and the values it takes."""

    knob: str
    values: tuple[float, ...]


FULL_GRID = (
    Sweep("jitter", (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)),
    Sweep("sleep", (1.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 14400.0)),
    Sweep("loss", (0.0, 0.1, 0.2, 0.3, 0.4)),
)
QUICK_GRID = (
    Sweep("jitter", (0.0, 0.5, 0.9)),
    Sweep("sleep", (10.0, 300.0, 3600.0)),
    Sweep("loss", (0.0, 0.2, 0.4)),
)


def capture_days(sleep: float) -> float:
    """Days of capture for a sleep: ``clamp(40 × sleep / 86400, 0.25, 3)``
    (40 check-ins, at least 6 hours, at most 3 days)."""
    return min(_MAX_DAYS, max(_MIN_DAYS, _CHECKINS * sleep / 86400.0))


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One point of one sweep: the knob's value and the three settings it implies."""

    knob: str
    value: float
    sleep: float
    jitter: float
    loss: float

    @property
    def days(self) -> float:
        return capture_days(self.sleep)


def grid_points(grid: Sequence[Sweep] = FULL_GRID) -> list[GridPoint]:
    """Every point of every sweep, in order."""
    out = []
    for sweep in grid:
        for v in sweep.values:
            knobs = BASE | {sweep.knob: v}
            out.append(GridPoint(sweep.knob, v, knobs["sleep"], knobs["jitter"], knobs["loss"]))
    return out


def point_scenario(p: GridPoint, seed: int, hosts: int, mix: ImplantMix) -> Scenario:
    """The scenario of one grid point and seed."""
    return Scenario(
        hosts=hosts,
        days=p.days,
        start=_START,
        seed=seed,
        implants=mix,
        sleep=p.sleep,
        jitter=p.jitter,
        loss=p.loss,
    )


@dataclass(frozen=True, slots=True)
class PointResult:
    """A grid point measured over all seeds: implant groups per family and overall,
    the false escalations over the host-days observed, and the mean average precision."""

    point: GridPoint
    families: tuple[Group, ...]
    overall: Group
    escalated: int
    false_escalations: int
    host_days: float
    average_precision: float
    seconds: float

    @property
    def false_per_1000_host_days(self) -> float:
        return self.false_escalations * 1000.0 / self.host_days if self.host_days else math.nan

    @property
    def precision(self) -> float:
        true = self.escalated - self.false_escalations
        return true / self.escalated if self.escalated else math.nan


@dataclass(frozen=True, slots=True)
class GridResult:
    """Every point's result and how the grid was run."""

    points: tuple[PointResult, ...]
    seeds: tuple[int, ...]
    hosts: int
    mix: ImplantMix
    sysmon: bool
    seconds: float

    @property
    def knobs(self) -> list[str]:
        """The swept knobs, in grid order."""
        return list(dict.fromkeys(r.point.knob for r in self.points))

    def sweep(self, knob: str) -> list[PointResult]:
        return [r for r in self.points if r.point.knob == knob]


#: Called before each (point, seed) run: (index from 1, total runs, point, seed).
GridProgress = Callable[[int, int, GridPoint, int], None]


def run_grid(
    hunter: Hunter,
    grid: Sequence[Sweep] = FULL_GRID,
    *,
    seeds: Sequence[int] = (7,),
    hosts: int = 40,
    mix: ImplantMix = GRID_MIX,
    sysmon: bool = True,
    progress: GridProgress | None = None,
) -> GridResult:
    """Generate and hunt every point of ``grid`` once per seed; measure each point."""
    started = time.perf_counter()
    points = grid_points(grid)
    results = []
    for i, p in enumerate(points):
        runs = [(i * len(seeds) + k + 1, seed) for k, seed in enumerate(seeds)]
        results.append(_run_point(hunter, p, runs, len(points) * len(seeds), hosts, mix,
                                  sysmon, progress))  # fmt: skip
    return GridResult(tuple(results), tuple(seeds), hosts, mix, sysmon,
                      time.perf_counter() - started)  # fmt: skip


def _run_point(
    hunter: Hunter,
    p: GridPoint,
    runs: Sequence[tuple[int, int]],
    total: int,
    hosts: int,
    mix: ImplantMix,
    sysmon: bool,
    progress: GridProgress | None,
) -> PointResult:
    """One grid point over its ``(run number, seed)`` runs, outcomes pooled over seeds."""
    t0 = time.perf_counter()
    implants: list[Outcome] = []
    escalated = false = 0
    host_days = ap_sum = 0.0
    for n, seed in runs:
        if progress is not None:
            progress(n, total, p, seed)
        with tempfile.TemporaryDirectory(prefix="beaconhunt-grid-") as tmp:
            generate(Path(tmp), point_scenario(p, seed, hosts, mix), sysmon=sysmon)
            ev = evaluate_folder(Path(tmp), hunter)
        m = ev.metrics
        implants += [o for o in ev.outcomes if o.label.implant]
        escalated += m.escalated
        false += m.false_escalations
        host_days += m.hosts * m.days
        ap_sum += 0.0 if math.isnan(m.average_precision) else m.average_precision
    families = breakdown(implants, lambda o: o.label.kind, FAMILY_ORDER)
    overall = breakdown(implants, lambda o: "all") or [Group("all", 0, 0, 0, 0, 0)]
    return PointResult(p, tuple(families), overall[0], escalated, false, host_days,
                       ap_sum / max(1, len(runs)), time.perf_counter() - t0)  # fmt: skip
