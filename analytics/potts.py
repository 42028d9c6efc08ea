"""Piecewise-constant fit of a series under an L1 (median) cost plus a penalty
per segment, the way asv's ``step_detect`` (airspeed velocity) does it:

1. a Potts problem - minimise ``sum |y - level| + gamma * segments`` - solved
   by dynamic programming over segments of at most :data:`MAX_WINDOW` points
   (exact for short series, O(n x MAX_WINDOW) per penalty); longer segments
   come from merging neighbours while that lowers the penalised cost;
2. ``gamma`` chosen on a log grid by minimising the information criterion
   ``beta * segments + log(noise_floor + mean |residual|)`` with
   ``beta = 4 ln(n) / n`` (asv's default);
3. boundaries moved to their exact best position between neighbours
   (prefix L1 costs with two heaps, O(n log n));
4. steps kept only when significant: ``|after - before|`` larger than both
   segments' mean absolute deviation and ``min_relative_size`` of the level
   before; the least significant step is merged away first, repeatedly.

Segments are at least ``min_size`` points long, so one outlier (or, with the
default 4, two in a row) cannot form a segment of its own.
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt

MAX_WINDOW = 32
GAMMA_GRID = 12
BETA = 4.0
NOISE_FLOOR = 1e-3  # relative to median |y|: perfect fits must not score -inf

FloatArray = npt.NDArray[np.float64]


def _window_costs(y: FloatArray, max_len: int) -> FloatArray:
    """``cost[r, L]``: L1 cost around the median of the ``L`` points ending at ``r``."""
    n = y.size
    cost = np.full((n, max_len + 1), np.inf)
    for length in range(1, max_len + 1):
        s = np.sort(np.lib.stride_tricks.sliding_window_view(y, length), axis=1)
        # Sorted: the cost around the median is sum(upper half) - sum(lower half).
        half = length // 2
        cost[length - 1 :, length] = s[:, length - half :].sum(axis=1) - s[:, :half].sum(axis=1)
    return cost


class _Cost:
    """L1 cost of ``y[a:b]`` around its median, memoised."""

    def __init__(self, y: FloatArray, table: FloatArray) -> None:
        self.y, self.table, self.memo = y, table, dict[tuple[int, int], float]()

    def __call__(self, a: int, b: int) -> float:
        if b - a < self.table.shape[1]:
            return float(self.table[b - 1, b - a])
        key = (a, b)
        if key not in self.memo:
            s = np.sort(self.y[a:b])
            half = (b - a) // 2
            self.memo[key] = float(s[b - a - half :].sum() - s[:half].sum())
        return self.memo[key]


def _potts(table: FloatArray, gammas: FloatArray, min_size: int) -> list[list[int]]:
    """Right edges (exclusive) of the optimal segmentation for each penalty in
    ``gammas``, with segments of ``min_size`` to ``table.shape[1] - 1`` points.
    All penalties share one pass: the DP is sequential in ``r``, not in gamma."""
    n, width = table.shape[0], table.shape[1] - 1
    g = gammas[:, None]
    best = np.full((gammas.size, n + 1), np.inf)
    best[:, 0] = 0.0
    prev = np.zeros((gammas.size, n + 1), dtype=np.int64)
    rows = np.arange(gammas.size)
    for r in range(min_size - 1, n):
        lo = max(0, r + 1 - width)
        hi = r + 2 - min_size
        # Starts lo..hi-1 give lengths r+1-lo down to min_size.
        cand = best[:, lo:hi] + table[r, r + 1 - lo : min_size - 1 : -1]
        j = cand.argmin(axis=1)
        best[:, r + 1] = cand[rows, j] + g[:, 0]
        prev[:, r + 1] = lo + j
    out = []
    for k in range(gammas.size):
        if not np.isfinite(best[k, n]):
            out.append([n])
            continue
        edges, r = [], n
        while r > 0:
            edges.append(r)
            r = int(prev[k, r])
        out.append(edges[::-1])
    return out


def _merge(edges: list[int], cost: _Cost, gamma: float) -> list[int]:
    """Merge neighbours while it lowers ``cost + gamma * segments`` (asv),
    best merge first; only the changes next to a merge are recomputed."""
    edges = list(edges)

    def change(j: int) -> float:
        a = edges[j - 1] if j else 0
        return cost(a, edges[j + 1]) - cost(a, edges[j]) - cost(edges[j], edges[j + 1]) - gamma

    changes = [change(j) for j in range(len(edges) - 1)]
    while changes:
        j = min(range(len(changes)), key=changes.__getitem__)
        if changes[j] >= 0:
            break
        del edges[j]
        del changes[j]
        for k in (j - 1, j):
            if 0 <= k < len(changes):
                changes[k] = change(k)
    return edges


def _prefix_l1(y: FloatArray) -> FloatArray:
    """``out[j]``: L1 cost of ``y[:j]`` around its median, for every ``j``, in
    O(n log n) with two heaps (the lower half negated in a max-heap)."""
    out = np.zeros(y.size + 1)
    low: list[float] = []
    high: list[float] = []
    sum_low = sum_high = 0.0
    for j, v in enumerate(y.tolist(), start=1):
        if low and v > -low[0]:
            heapq.heappush(high, v)
            sum_high += v
        else:
            heapq.heappush(low, -v)
            sum_low += v
        if len(low) > len(high) + 1:
            moved = -heapq.heappop(low)
            sum_low -= moved
            heapq.heappush(high, moved)
            sum_high += moved
        elif len(high) > len(low):
            moved = heapq.heappop(high)
            sum_high -= moved
            heapq.heappush(low, -moved)
            sum_low += moved
        # Around the median m: (sum_high - |high| m) + (|low| m - sum_low).
        out[j] = sum_high - sum_low + (-low[0]) * (len(low) - len(high))
    return out


def _refine(edges: list[int], y: FloatArray, min_size: int) -> list[int]:
    """Move each boundary to its exact best position between its neighbours."""
    edges = list(edges)
    for j in range(len(edges) - 1):
        a, b = (edges[j - 1] if j else 0), edges[j + 1]
        if b - a < 2 * min_size + 1:
            continue
        seg = y[a:b]
        left, right = _prefix_l1(seg), _prefix_l1(seg[::-1])
        splits = np.arange(min_size, b - a - min_size + 1)
        total = left[splits] + right[b - a - splits]
        edges[j] = a + int(splits[int(np.argmin(total))])
    return edges


def _significant(edges: list[int], y: FloatArray, min_relative_size: float) -> list[int]:
    """Drop the least significant step until every step is significant."""
    edges = list(edges)
    while len(edges) > 1:
        starts = [0] + edges[:-1]
        levels = [float(np.median(y[a:b])) for a, b in zip(starts, edges)]
        errs = [float(np.mean(np.abs(y[a:b] - lv))) for a, b, lv in zip(starts, edges, levels)]
        ratios = []
        for j in range(len(edges) - 1):
            need = max(errs[j], errs[j + 1], min_relative_size * abs(levels[j]))
            size = abs(levels[j + 1] - levels[j])
            ratios.append(size / need if need > 0 else (np.inf if size > 0 else 0.0))
        j = int(np.argmin(ratios))
        if ratios[j] > 1.0:
            break
        del edges[j]
    return edges


def fit_segments(values: npt.ArrayLike, *, min_size: int = 4, min_relative_size: float = 0.05) -> list[int]:
    """Right edges (exclusive) of the piecewise-constant fit of ``values``
    (finite floats, in run order); ``[n]`` means no step.

    >>> fit_segments([1.0] * 10 + [2.0] * 10)
    [10, 20]
    """
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    if min_size < 1:
        raise ValueError("min_size must be >= 1")
    if not np.isfinite(y).all():
        raise ValueError("fit_segments: values must be finite (drop missing runs first)")
    if n < 2 * min_size:
        return [n] if n else []
    table = _window_costs(y, min(MAX_WINDOW, n))
    cost = _Cost(y, table)
    total = cost(0, n)
    if total == 0:
        return [n]
    floor = NOISE_FLOOR * float(np.median(np.abs(y))) + 1e-12
    beta = BETA * np.log(n) / n
    best_obj, best_edges = np.inf, [n]
    gammas = total * np.exp(np.linspace(0.0, np.log(0.1 / n), GAMMA_GRID))
    for gamma, raw in zip(gammas.tolist(), _potts(table, gammas, min_size)):
        edges = _merge(raw, cost, gamma)
        starts = [0] + edges[:-1]
        resid = sum(cost(a, b) for a, b in zip(starts, edges))
        obj = beta * len(edges) + float(np.log(floor + resid / n))
        if obj < best_obj - 1e-12:
            best_obj, best_edges = obj, edges
    edges = _refine(best_edges, y, min_size)
    return _significant(edges, y, min_relative_size)
