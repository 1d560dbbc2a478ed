"""Where a hunt spends its time: named stages, in seconds.

A :class:`StageClock` is a dict of stage name -> seconds that ``with
clock.stage(name):`` adds to (a stage entered twice adds up). The hunt keeps one
per run (:attr:`beaconhunt.pipeline.HuntResult.seconds`); ``beaconhunt hunt
--timings`` prints it and ``benchmarks/bench_hunt.py`` shows it beside the
totals, so a change to a hot path says which stage it moved.

Stage names are dotted: ``load``, ``load.finish``, ``group``, ``detect.beacon``,
``detect.beacon.series``... A parent's time includes its children's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["StageClock", "format_stages"]


class StageClock(dict[str, float]):
    """Seconds per named stage (see the module docstring)."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.setdefault(name, 0.0)  # entered order: a parent prints before its children
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - t0


def format_stages(seconds: dict[str, float]) -> list[str]:
    """One line per stage, indented by depth, with its share of ``total``.

    Stages print in the order they were first entered (a parent before its
    children, since it is entered first), ``total`` last.
    """
    total = seconds.get("total") or sum(v for k, v in seconds.items() if "." not in k) or 1.0
    width = max((len(k) + 2 * k.count(".") for k in seconds), default=0)
    lines = []
    ordered = [k for k in seconds if k != "total"] + (["total"] if "total" in seconds else [])
    for name in ordered:
        s = seconds[name]
        label = "  " * name.count(".") + name
        lines.append(f"{label:<{width}}  {s:8.2f} s  {100 * s / total:5.1f}%")
    return lines
