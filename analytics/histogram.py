"""Log-scale duration histogram shared by ingest (to fill rollups) and the
percentile estimates over long windows.

Bucket ``b`` holds durations in ``[2**(b/4), 2**((b+1)/4))`` milliseconds, so a
bucket is 19 % wide and its geometric midpoint is within ±9 % of any value in
it: percentiles read from rollups are exact to that relative error.
Durations at or below ``2**(MIN_BUCKET/4)`` ms fall into ``MIN_BUCKET``, those
above ``2**(MAX_BUCKET/4)`` ms (about 9 hours) into ``MAX_BUCKET``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

STEPS_PER_OCTAVE = 4
MIN_BUCKET = -40  # 2**-10 ms ~ 1 microsecond
MAX_BUCKET = 100  # 2**25 ms ~ 9.3 hours
RELATIVE_ERROR = 2 ** (1 / (2 * STEPS_PER_OCTAVE)) - 1  # ~0.09


def bucket_index(ms: float) -> int:
    """Bucket of a duration in milliseconds.

    >>> bucket_index(1.0), bucket_index(1.2), bucket_index(1000.0)
    (0, 1, 39)
    """
    if not ms > 0:
        return MIN_BUCKET
    b = math.floor(math.log2(ms) * STEPS_PER_OCTAVE)
    return max(MIN_BUCKET, min(MAX_BUCKET, b))


def bucket_midpoint(b: int) -> float:
    """Geometric midpoint of bucket ``b`` in milliseconds.

    >>> round(bucket_midpoint(0), 3)
    1.091
    """
    return float(2 ** ((b + 0.5) / STEPS_PER_OCTAVE))


def percentiles_from_hist(hist: pd.DataFrame, qs: list[float]) -> dict[float, float | None]:
    """Estimate percentiles (``qs`` in 0..100) from a frame of ``bucket, count``
    rows (several rows per bucket are summed). Empty input gives ``None``s.

    >>> h = pd.DataFrame({"bucket": [0, 4, 8], "count": [50, 40, 10]})
    >>> {q: round(v, 2) for q, v in percentiles_from_hist(h, [50, 99]).items()}
    {50.0: 1.09, 99.0: 4.36}
    """
    out: dict[float, float | None] = {float(q): None for q in qs}
    if hist.empty:
        return out
    counts = hist.groupby("bucket")["count"].sum().sort_index()
    total = float(counts.sum())
    if total <= 0:
        return out
    cum = counts.cumsum()
    for q in qs:
        rank = max(1.0, math.ceil(total * float(q) / 100.0))
        b = int(cum.index[(cum >= rank).argmax()])
        out[float(q)] = bucket_midpoint(b)
    return out


def hist_percentiles(
    ids: npt.NDArray[np.int64], buckets: npt.NDArray[np.int64], counts: npt.NDArray[np.float64], groups: int, q: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per group, the ``q``-th percentile (0..100) of a duration histogram
    given as rows (group id, bucket, count), and the group's total count:
    :func:`percentiles_from_hist` for every group at once.

    >>> v, n = hist_percentiles(np.array([0, 0, 0]), np.array([0, 4, 8]), np.array([50.0, 40.0, 10.0]), 1, 99)
    >>> round(float(v[0]), 2), float(n[0])
    (4.36, 100.0)
    """
    width = MAX_BUCKET - MIN_BUCKET + 1
    cells = np.bincount(ids * width + (buckets - MIN_BUCKET), weights=counts, minlength=groups * width).reshape(
        groups, width
    )
    cum = cells.cumsum(axis=1)
    total = cum[:, -1] if groups else np.zeros(0)
    rank = np.maximum(1.0, np.ceil(total * q / 100.0))
    at = (cum >= rank[:, None]).argmax(axis=1)
    mids = np.array([bucket_midpoint(b) for b in range(MIN_BUCKET, MAX_BUCKET + 1)])
    values = np.where(total > 0, mids[at], np.nan)
    return values, total
