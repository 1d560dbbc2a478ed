"""Detection-rate curves as PNG files (matplotlib, an optional extra).

One figure per sweep, two panels side by side: the share of implant pairs
escalated and the share found at any decision, one line per family and a
dashed line for all families together. Sleep is on a log scale. matplotlib is
imported only here and only when a plot is drawn, with the non-interactive Agg
canvas, so the rest of beaconhunt runs without it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beaconhunt.errors import ConfigError
from beaconhunt.lab.breakdown import FAMILY_ORDER, Group
from beaconhunt.lab.grid import BASE, GridResult, PointResult
from beaconhunt.lab.render import knob_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["INSTALL_HINT", "plot_name", "require_plotting", "write_plots"]

INSTALL_HINT = "pip install 'beaconhunt[lab]'"
_LABELS = {"jitter": "jitter (fraction of the sleep)", "sleep": "sleep (log scale)",
           "loss": "missed check-ins"}  # fmt: skip


_MARKERS = ("o", "s", "^", "D", "v")


def plot_name(knob: str) -> str:
    """File name of a sweep's plot: ``detection-vs-jitter.png``."""
    return f"detection-vs-{knob}.png"


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ConfigError(f"the accuracy plots need matplotlib: {INSTALL_HINT}") from exc
    return Figure


def require_plotting() -> None:
    """Raise :class:`~beaconhunt.errors.ConfigError` now, not after a long grid,
    when matplotlib is missing."""
    _figure_class()


def write_plots(result: GridResult, out_dir: Path) -> list[Path]:
    """Write one PNG per sweep of ``result`` into ``out_dir``; the paths written."""
    figure = _figure_class()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    paths = []
    for knob in result.knobs:
        fig = figure(figsize=(10, 4), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        rows = result.sweep(knob)
        for ax, what in zip(axes, ("escalated", "found"), strict=True):
            _panel(ax, knob, rows, what)
        fixed = ", ".join(f"{k} {knob_value(k, v)}" for k, v in BASE.items() if k != knob)
        fig.suptitle(f"Detection rate vs {knob} ({fixed}; {_runs(result)})")
        path = out_dir / plot_name(knob)
        try:
            fig.savefig(path, dpi=100, metadata={"Software": None})
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
        paths.append(path)
    return paths


def _runs(result: GridResult) -> str:
    n = len(result.seeds)
    return f"{result.hosts} hosts, {n} seed{'s' if n != 1 else ''} per point"


def _rate(g: Group | None, what: str) -> float:
    if g is None or not g.implant_pairs:
        return math.nan
    return g.recall_escalated if what == "escalated" else g.recall_found


def _panel(ax: Axes, knob: str, rows: list[PointResult], what: str) -> None:
    """One panel: a line per family (Meterpreter has no jitter knob) and all together."""
    xs = [r.point.value for r in rows]
    for k, family in enumerate(FAMILY_ORDER):
        ys = [_rate(next((g for g in r.families if g.value == family), None), what) for r in rows]
        if all(math.isnan(y) for y in ys):
            continue
        label = f"{family} (fixed 5%)" if family == "meterpreter" and knob == "jitter" else family
        # shrinking markers keep every family visible where the curves coincide
        ax.plot(
            xs,
            ys,
            color=f"C{k}",
            marker=_MARKERS[k],
            markersize=12 - 2 * k,
            linewidth=1.5,
            label=label,
        )
    ax.plot(xs, [_rate(r.overall, what) for r in rows], "k--", linewidth=2, label="all")
    if knob == "sleep":
        ax.set_xscale("log")
    # sleeps are close together on a log scale: slanted labels do not overlap
    ax.set_xticks(xs, [knob_value(knob, x) for x in xs], rotation=35 if knob == "sleep" else 0)
    ax.minorticks_off()
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(_LABELS[knob])
    ax.set_ylabel(f"implant pairs {what}")
    ax.set_title(f"recall ({what})")
    ax.grid(True, alpha=0.3)
    if what == "escalated":
        ax.legend(loc="lower left", fontsize="small")
