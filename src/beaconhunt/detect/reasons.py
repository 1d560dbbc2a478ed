"""Evidence for one scored pair: stable dotted codes and sentences with numbers.

Only :func:`beaconhunt.detect.score.score_series` produces reasons (it is
called for the top findings); the batch scorer does not. Codes are a public
contract (reports and decision rules match on them): add codes, never rename.

=========================  ==========================================================
code                       when
=========================  ==========================================================
``timing.regular``         relative MAD <= 0.10 and periodicity >= 0.5
``timing.jitter_tolerant`` relative MAD > 0.10 but dispersion or periodicity >= 0.5
``timing.missed_checkins`` >= 2% of intervals sit near 2×, 3×... the period
``timing.irregular``       dispersion and periodicity both < 0.5
``timing.skewed``          skew sub-score < 0.5 (lopsided core intervals)
``timing.none``            no interval to measure (< 2 distinct times, or all gaps dropped)
``timing.bursts``          scored on check-in sessions (bursts within ``burst_gap_s`` folded)
``size.consistent``        size sub-score >= 0.8
``size.variable``          size sub-score < 0.3
``size.unknown``           no bytes_out and no bytes_in value known
``timing.long_lived``      coverage >= 0.8
``timing.short_lived``     coverage < 0.4
``count.few``              fewer intervals than ``count_full``
=========================  ==========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from beaconhunt.detect.periodicity import fold
from beaconhunt.model import Evidence

if TYPE_CHECKING:
    from beaconhunt.detect.score import PairScore, ScoreSettings

__all__ = ["REASON_CODES", "explain"]

REASON_CODES = (
    "timing.regular",
    "timing.jitter_tolerant",
    "timing.missed_checkins",
    "timing.irregular",
    "timing.skewed",
    "timing.none",
    "timing.bursts",
    "size.consistent",
    "size.variable",
    "size.unknown",
    "timing.long_lived",
    "timing.short_lived",
    "count.few",
)
"""Every code :func:`explain` can emit."""

REGULAR_REL_MAD = 0.10
"""Relative MAD of the intervals up to which timing reads as plainly regular."""
GOOD = 0.5
"""A timing sub-score at or above this supports beaconing."""
MISSED_MIN_FRACTION = 0.02
"""Share of intervals near a multiple k >= 2 from which missed check-ins are reported."""
SIZE_CONSISTENT, SIZE_VARIABLE = 0.8, 0.3
"""Size sub-score bounds for ``size.consistent`` / ``size.variable``."""
LONG, SHORT = 0.8, 0.4
"""Coverage sub-score bounds for ``timing.long_lived`` / ``timing.short_lived``."""

FloatArray = NDArray[np.float64]


def explain(p: PairScore, d: FloatArray, span: float, s: ScoreSettings) -> tuple[Evidence, ...]:
    """All reasons for pair score ``p`` (intervals ``d``, dataset span ``span`` seconds)."""
    if p.n_intervals == 0:
        text = (
            f"{p.n_connections} connection(s) and no interval to measure "
            "(fewer than two distinct times, or every gap under min_interval_s)"
        )
        return (Evidence("timing.none", text),)
    found = [*_timing(p, d, s), *_size(p), *_persistence(p, span), *_count(p, s)]
    return tuple(found)


def _timing(p: PairScore, d: FloatArray, s: ScoreSettings) -> list[Evidence]:
    """Regular / jitter-tolerant / irregular, plus missed check-ins and skew."""
    c, tol = p.components, f"±{s.near_tolerance:.0%}"
    near = f"{p.near_fraction:.0%} of intervals within {tol} of the {duration(p.period)} period"
    head = f"median interval {duration(p.median_interval)}, relative MAD {p.rel_mad:.2f}"
    out: list[Evidence] = []
    if p.rel_mad <= REGULAR_REL_MAD and c.periodicity >= GOOD:
        out.append(Evidence("timing.regular", f"{head}: {near}"))
    elif c.dispersion >= GOOD or c.periodicity >= GOOD:
        bounded = (
            f"; {p.tail_fraction:.0%} of intervals under 0.05x or over 2.5x the median"
            " (random gaps: 21%)"
            if p.tail_fraction == p.tail_fraction  # not NaN
            else ""
        )
        text = f"{head}: {near} (jitter tolerated){bounded}"
        out.append(Evidence("timing.jitter_tolerant", text))
    else:
        out.append(Evidence("timing.irregular", f"intervals vary widely: {head}; only {near}"))
    if p.multiple_fraction >= MISSED_MIN_FRACTION and c.periodicity >= GOOD:
        out.append(_missed(p, d, s))
    if c.skew < GOOD:
        text = f"core intervals are lopsided (Bowley skew {p.skew:+.2f})"
        out.append(Evidence("timing.skewed", text))
    return out


def _missed(p: PairScore, d: FloatArray, s: ScoreSettings) -> Evidence:
    """``timing.missed_checkins`` with the range of multiples seen."""
    k, r = fold(d, p.period)
    ks = k[(r <= s.near_tolerance) & (k >= 2)]
    lo, hi = int(ks.min()), int(ks.max())
    mult = f"{lo}×" if lo == hi else f"{lo}–{hi}×"
    text = (
        f"{p.multiple_fraction:.0%} of intervals are {mult} the {duration(p.period)} period "
        "(missed check-ins, counted as regular)"
    )
    return Evidence("timing.missed_checkins", text)


def _size(p: PairScore) -> list[Evidence]:
    """Size consistency of bytes_out, or of bytes_in when only that is known."""
    if not np.isnan(p.bytes_out_median):
        body = (
            f"bytes out median {p.bytes_out_median:,.0f} B, relative MAD {p.bytes_out_rel_mad:.2f}"
        )
        what = "request sizes"
    elif not np.isnan(p.bytes_in_median):
        body = (
            f"request sizes not logged; bytes in median {p.bytes_in_median:,.0f} B,"
            f" relative MAD {p.bytes_in_rel_mad:.2f}"
        )
        what = "reply sizes"
    else:
        return [Evidence("size.unknown", "no byte counts for this pair (size scored neutral)")]
    if p.components.size >= SIZE_CONSISTENT:
        return [Evidence("size.consistent", f"{body} (occasional large transfers ignored)")]
    if p.components.size < SIZE_VARIABLE:
        return [Evidence("size.variable", f"{what} vary: {body}")]
    return []


def _persistence(p: PairScore, span: float) -> list[Evidence]:
    """Long-lived or short-lived activity within the dataset span."""
    active = p.last_seen - p.first_seen
    of = f"{duration(active)} of the {duration(span)} observed"
    if p.components.coverage >= LONG:
        return [Evidence("timing.long_lived", f"active {of}")]
    if p.components.coverage < SHORT:
        return [Evidence("timing.short_lived", f"active only {of}")]
    return []


def _count(p: PairScore, s: ScoreSettings) -> list[Evidence]:
    """Few intervals lower the confidence."""
    if p.n_intervals >= s.count_full:
        return []
    text = (
        f"only {p.n_intervals} intervals ({p.n_connections} connections); "
        f"{s.count_full:.0f} give full confidence"
    )
    return [Evidence("count.few", text)]


def duration(seconds: float) -> str:
    """A human duration: ``'62.0 s'``, ``'15.0 min'``, ``'23.9 h'``, ``'2.1 d'``."""
    if not np.isfinite(seconds):
        return "n/a"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
