"""Plots as inline SVG: the interval histogram, a pair's connections with their bytes,
and the findings of a run on a timeline.

Each function returns :class:`markupsafe.Markup` built from numbers and beaconhunt's
own labels (every label goes through :func:`markupsafe.escape` anyway), so the HTML
report needs no plotting library, no script and no network to show them. Many
marks are drawn as one ``<path>`` per series, which keeps a 20,000-connection pair
a few kilobytes of path data and fast to open.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

from beaconhunt.app.case import HistogramBin
from beaconhunt.detect.reasons import duration
from beaconhunt.util.timefmt import iso_utc

__all__ = ["findings_timeline_svg", "histogram_svg", "series_svg"]

_W, _H = 640, 160
_PAD_L, _PAD_B, _PAD_T = 48, 28, 10


def _svg(body: str, label: str, height: int = _H) -> Markup:
    return Markup(
        f'<svg class="plot" viewBox="0 0 {_W} {height}" role="img"'
        f' aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )


def _text(x: float, y: float, s: str, anchor: str = "middle", cls: str = "tick") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">{escape(s)}</text>'


def histogram_svg(bins: Sequence[HistogramBin]) -> Markup:
    """Bars of the interval histogram, labelled by bin range and count."""
    if not bins:
        return Markup("")
    top = max(b.count for b in bins) or 1
    plot_w, plot_h = _W - _PAD_L - 8, _H - _PAD_B - _PAD_T
    bar_w = plot_w / len(bins)
    parts = [f'<line x1="{_PAD_L}" y1="{_H - _PAD_B}" x2="{_W - 8}" y2="{_H - _PAD_B}"'
             ' class="axis"/>', _text(_PAD_L - 4, _PAD_T + 8, f"{top:,}", "end")]  # fmt: skip
    for i, b in enumerate(bins):
        h = plot_h * b.count / top
        x = _PAD_L + i * bar_w
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{_H - _PAD_B - h:.1f}" width="{max(bar_w - 2, 1):.1f}"'
            f' height="{h:.1f}" class="bar"><title>{escape(duration(b.low))} to'
            f" {escape(duration(b.high))}: {b.count:,}</title></rect>"
        )
    for i in (0, len(bins) // 2, len(bins)):
        edge = bins[min(i, len(bins) - 1)]
        value = edge.high if i == len(bins) else edge.low
        parts.append(_text(_PAD_L + i * bar_w, _H - _PAD_B + 16, duration(value)))
    return _svg("".join(parts), "histogram of the intervals between connections")


def _time_axis(lo: float, hi: float, y: float) -> list[str]:
    span = max(hi - lo, 1e-9)
    plot_w = _W - _PAD_L - 8
    out = [f'<line x1="{_PAD_L}" y1="{y}" x2="{_W - 8}" y2="{y}" class="axis"/>']
    for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        out.append(_text(_PAD_L + frac * plot_w, y + 16, iso_utc(lo + frac * span)[:16], anchor))
    return out


def series_svg(ts: np.ndarray, bytes_out: np.ndarray, bytes_in: np.ndarray) -> Markup:
    """Each connection as a stem at its start time, as tall as its bytes sent (up) and
    received (down) on a log scale; ticks on the axis when bytes are unknown."""
    t = np.asarray(ts, dtype=np.float64)
    if t.size == 0:
        return Markup("")
    lo, hi = float(t.min()), float(t.max())
    span = max(hi - lo, 1e-9)
    plot_w = _W - _PAD_L - 8
    mid = (_H - _PAD_B + _PAD_T) / 2
    half = mid - _PAD_T
    x = _PAD_L + (t - lo) / span * plot_w
    out_b = np.log10(1 + np.nan_to_num(np.asarray(bytes_out, dtype=np.float64), nan=0.0))
    in_b = np.log10(1 + np.nan_to_num(np.asarray(bytes_in, dtype=np.float64), nan=0.0))
    top = max(float(out_b.max(initial=0)), float(in_b.max(initial=0)), 1.0)
    up = mid - np.maximum(out_b / top * half, 1.5)
    down = mid + np.maximum(in_b / top * half, 1.5)
    sent = "".join(f"M{a:.1f} {mid:.1f}V{b:.1f}" for a, b in zip(x, up, strict=True))
    got = "".join(f"M{a:.1f} {mid:.1f}V{b:.1f}" for a, b in zip(x, down, strict=True))
    peak = 10**top - 1
    parts = [
        f'<path d="{sent}" class="sent"/>', f'<path d="{got}" class="received"/>',
        _text(_PAD_L - 4, _PAD_T + 8, f"{peak:,.0f} B out", "end"),
        _text(_PAD_L - 4, _H - _PAD_B - 2, "in", "end"),
        *_time_axis(lo, hi, _H - _PAD_B),
    ]  # fmt: skip
    return _svg("".join(parts), f"{t.size:,} connections with bytes sent and received")


_LANES = ("escalate", "monitor", "close")


def findings_timeline_svg(
    spans: Sequence[tuple[str, float, float]], window: tuple[float, float] | None
) -> Markup:
    """One lane per decision; each finding a bar from its first to its last event.
    ``spans``: (decision, first, last)."""
    if not spans:
        return Markup("")
    lo = window[0] if window else min(a for _, a, _ in spans)
    hi = window[1] if window else max(b for _, _, b in spans)
    span = max(hi - lo, 1e-9)
    plot_w = _W - _PAD_L - 8
    lane_h = 34
    height = _PAD_T + lane_h * len(_LANES) + _PAD_B
    paths: dict[str, list[str]] = {d: [] for d in _LANES}
    rows: dict[str, int] = {d: 0 for d in _LANES}
    for decision, a, b in spans:
        if decision not in paths:
            continue
        y = _PAD_T + _LANES.index(decision) * lane_h + 4 + (rows[decision] % 12) * 2.2
        rows[decision] += 1
        x0 = _PAD_L + (max(a, lo) - lo) / span * plot_w
        x1 = max(_PAD_L + (min(b, hi) - lo) / span * plot_w, x0 + 1.5)
        paths[decision].append(f"M{x0:.1f} {y:.1f}H{x1:.1f}")
    parts = []
    for i, d in enumerate(_LANES):
        parts.append(_text(_PAD_L - 4, _PAD_T + i * lane_h + 18, d, "end", "lane"))
        if paths[d]:
            parts.append(f'<path d="{"".join(paths[d])}" class="lane-{d}"/>')
    parts += _time_axis(lo, hi, height - _PAD_B)
    return _svg("".join(parts), "findings on a timeline, by decision", height)
