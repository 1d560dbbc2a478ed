"""Segment (ragged-array) kernels for the batch scorer.

A ragged batch is a flat array plus ``offsets`` (``int64``, length ``m + 1``):
segment ``i`` is ``values[offsets[i]:offsets[i + 1]]``. Every function here works
on all segments at once with numpy; none loops over segments in Python. They
reproduce the scalar statistics of :mod:`beaconhunt.detect.stats` exactly (same
order statistics, same interpolation arithmetic).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def lengths(offsets: IntArray) -> IntArray:
    """Segment lengths ``offsets[i+1] - offsets[i]``."""
    return np.diff(offsets)


def expand(per_segment: FloatArray, offsets: IntArray) -> FloatArray:
    """Each segment's value repeated on each of its elements."""
    return np.repeat(per_segment, lengths(offsets))


def count_true(mask: BoolArray, offsets: IntArray) -> IntArray:
    """Per-segment number of ``True`` in ``mask`` (exact, empty segments give 0)."""
    n = lengths(offsets)
    out = np.zeros(n.size, dtype=np.int64)
    nz = n > 0
    if mask.size and np.any(nz):
        out[nz] = np.add.reduceat(mask.view(np.uint8), offsets[:-1][nz], dtype=np.int64)
    return out


def segment_sum(values: FloatArray, offsets: IntArray) -> FloatArray:
    """Per-segment sum (``0.0`` for empty segments)."""
    n = lengths(offsets)
    out = np.zeros(n.size, dtype=np.float64)
    nz = n > 0
    if values.size and np.any(nz):
        out[nz] = np.add.reduceat(values, offsets[:-1][nz])
    return out


def search_sorted(
    sorted_values: FloatArray, starts: IntArray, n: IntArray, value: FloatArray
) -> IntArray:
    """Per segment, how many of its first ``n`` sorted values are ``< value`` (bisection).

    Each pass only touches the segments still searching, so the cost is about
    ``sum(log2 n)`` element operations, not a pass over the flat values.
    """
    lo = np.zeros(n.size, dtype=np.int64)
    hi = n.astype(np.int64)
    todo = np.flatnonzero(lo < hi)
    while todo.size:
        a, b = lo[todo], hi[todo]
        mid = (a + b) // 2
        below = sorted_values[starts[todo] + mid] < value[todo]
        lo[todo] = np.where(below, mid + 1, a)
        hi[todo] = np.where(below, b, mid)
        todo = todo[lo[todo] < hi[todo]]
    return lo


class SegmentSorter:
    """Sorts columns that share ``offsets`` within each segment, exactly, NaN last.

    Segments are grouped by length class (``ceil(log2(n))``) and laid out in a
    scratch array where each class is a matrix padded with NaN to its widest
    segment (at most twice the data); each matrix is sorted row-wise. That is
    about 20 numpy sorts per column whatever the number of segments, and much
    faster than one global sort on a (segment, value) key because rows are
    short. Within each segment the result equals ``np.sort`` of it. The layout
    is computed once and reused for every column.
    """

    def __init__(self, offsets: IntArray) -> None:
        n = lengths(offsets)
        width = np.ones(n.size, dtype=np.int64)
        big = n > 1
        width[big] = 2 ** np.ceil(np.log2(n[big])).astype(np.int64)
        order = np.argsort(width, kind="stable")
        base = np.zeros(n.size, dtype=np.int64)
        base[order] = np.cumsum(width[order]) - width[order]
        self._pos = _ragged_positions(base, offsets)
        self._width, self._base = width[order], base[order]
        self._size = int(width.sum()) if n.size else 0

    def sort(self, column: FloatArray) -> FloatArray:
        """``column`` sorted within each segment (a new array)."""
        if column.size == 0:
            return column.copy()
        scratch = np.full(self._size, np.nan)
        scratch[self._pos] = column
        _sort_blocks(scratch, self._width, self._base)
        return scratch[self._pos]


def segment_sort(columns: list[FloatArray], offsets: IntArray) -> list[FloatArray]:
    """Each column sorted within each segment, NaN last (see :class:`SegmentSorter`)."""
    sorter = SegmentSorter(offsets)
    return [sorter.sort(c) for c in columns]


def _ragged_positions(base: IntArray, offsets: IntArray) -> IntArray:
    """``base[i] + (j - offsets[i])`` for every row ``j`` of segment ``i``, in one array.

    Built as a running sum of ones with a jump at each segment start, so it
    allocates only the result.
    """
    nonempty = np.flatnonzero(lengths(offsets) > 0)
    first = offsets[:-1][nonempty]
    prev_end = base[nonempty] + lengths(offsets)[nonempty] - 1
    pos = np.ones(int(offsets[-1]), dtype=np.int64)
    pos[first] = base[nonempty] - np.concatenate(([0], prev_end[:-1]))
    return np.cumsum(pos, out=pos)


def _sort_blocks(scratch: FloatArray, width: IntArray, base: IntArray) -> None:
    """Sort ``scratch`` in place as consecutive matrices, one per width (``width`` ascending)."""
    cuts = np.flatnonzero(np.diff(width)) + 1
    for first, last in zip(np.r_[0, cuts], np.r_[cuts, width.size], strict=True):
        w = int(width[first])
        if w > 1:
            a = int(base[first])
            block = scratch[a : a + (last - first) * w].reshape(-1, w)
            block.sort(axis=1)


def quantile(sorted_values: FloatArray, starts: IntArray, n: IntArray, q: float) -> FloatArray:
    """Type-7 quantile of each sorted segment ``sorted_values[starts : starts + n]``.

    Same arithmetic as :func:`beaconhunt.detect.stats.quantile`; ``nan`` where ``n == 0``.
    """
    out = np.full(n.size, np.nan)
    ok = n > 0
    if not np.any(ok):
        return out
    s, m = starts[ok], n[ok]
    pos = q * (m - 1).astype(np.float64)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, m - 1)
    a, b = sorted_values[s + lo], sorted_values[s + hi]
    out[ok] = a + (pos - lo) * (b - a)
    return out


def mad(sorted_values: FloatArray, starts: IntArray, n: IntArray, med: FloatArray) -> FloatArray:
    """Median absolute deviation of each sorted segment about its median ``med``.

    ``|x - med|`` of a sorted segment is two ascending runs: left of the median
    (``med - x``, read backwards) and right of it (``x - med``). The two order
    statistics the median needs are found by one vectorized bisection over the
    merge of the two runs, so no second sort is needed. Same values and
    arithmetic as :func:`beaconhunt.detect.stats.mad`.
    """
    out = np.full(n.size, np.nan)
    ok = n > 0
    if not np.any(ok):
        return out
    runs = _Runs(sorted_values, starts[ok], n[ok], med[ok])
    pos = 0.5 * (runs.n - 1).astype(np.float64)
    k = np.floor(pos).astype(np.int64)
    y_lo, y_next = runs.kth_and_next(k)
    y_hi = np.where(k + 1 <= runs.n - 1, y_next, y_lo)
    out[ok] = y_lo + (pos - k) * (y_hi - y_lo)
    return out


class _Runs:
    """The two ascending runs of ``|x - med|`` in each sorted segment (see :func:`mad`).

    Left run ``L[j] = med - x[s + i0 - 1 - j]`` for ``j < i0``; right run
    ``R[j] = x[s + i0 + j] - med`` for ``j < n - i0``; ``i0`` = values ``< med``.
    """

    def __init__(self, xs: FloatArray, s: IntArray, n: IntArray, med: FloatArray) -> None:
        self.xs, self.s, self.n, self.med = xs, s, n, med
        self.i0 = search_sorted(xs, s, n, med)

    def left(self, j: IntArray, sel: IntArray | slice = slice(None)) -> FloatArray:
        """``L[j]`` for the segments ``sel`` (``+inf`` outside the run)."""
        i0 = self.i0[sel]
        inside = (j >= 0) & (j < i0)
        idx = np.where(inside, self.s[sel] + i0 - 1 - j, 0)
        return np.where(inside, self.med[sel] - self.xs[idx], np.inf)

    def right(self, j: IntArray, sel: IntArray | slice = slice(None)) -> FloatArray:
        """``R[j]`` for the segments ``sel`` (``+inf`` outside the run)."""
        i0 = self.i0[sel]
        inside = (j >= 0) & (j < self.n[sel] - i0)
        idx = np.where(inside, self.s[sel] + i0 + j, 0)
        return np.where(inside, self.xs[idx] - self.med[sel], np.inf)

    def kth_and_next(self, k: IntArray) -> tuple[FloatArray, FloatArray]:
        """The ``k``-th and ``(k+1)``-th smallest (0-based) of the merged runs."""
        a = self._taken_from_left(k)
        last_left = np.where(a > 0, self.left(a - 1), -np.inf)
        last_right = np.where(k - a >= 0, self.right(k - a), -np.inf)
        kth = np.maximum(last_left, last_right)
        return kth, np.minimum(self.left(a), self.right(k + 1 - a))

    def _taken_from_left(self, k: IntArray) -> IntArray:
        """How many left-run values are among the ``k + 1`` smallest (bisection)."""
        lo = np.maximum(0, k + 1 - (self.n - self.i0))
        hi = np.minimum(k + 1, self.i0)
        todo = np.flatnonzero(lo < hi)
        while todo.size:
            a, b, kk = lo[todo], hi[todo], k[todo]
            mid = (a + b) // 2
            more = self.left(mid, todo) < self.right(kk - mid, todo)
            lo[todo] = np.where(more, mid + 1, a)
            hi[todo] = np.where(more, b, mid)
            todo = todo[lo[todo] < hi[todo]]
        return lo
