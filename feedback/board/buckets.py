"""Waits as histograms: fixed buckets in minutes, and percentiles read from bucket counts.

A bucket `i` holds waits in [BOUNDS[i - 1], BOUNDS[i]) minutes (bucket 0 from 0); the last is
open-ended. Bounds sit on the targets people set (15, 30 minutes, 1, 2, 4, 8 hours, 1 day...), so
"replied within one hour" is exact, and the percentile of a histogram is its bucket's upper bound:
the nearest-rank percentile of the raw waits lies inside that bucket (tests check it against
`statistics` on the raw rows). Pure Python.
"""

from bisect import bisect_right
from math import ceil

# Upper bounds in minutes; finer where first replies usually fall.
BOUNDS: tuple[float, ...] = (
    1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 45, 50, 60, 75, 90, 105, 120, 150, 180, 210, 240,
    300, 360, 420, 480, 600, 720, 900, 1080, 1440, 1800, 2160, 2880, 4320, 5760, 7200, 10080, 14400,
    20160, 43200, float("inf"),
)


def bucket_of(minutes: float) -> int:
    """The bucket of a wait of `minutes` (negative waits count as 0)."""
    return bisect_right(BOUNDS, max(0.0, minutes))


def bounds_of(bucket: int) -> tuple[float, float]:
    """[lower, upper) minutes of a bucket."""
    return (0.0 if bucket == 0 else BOUNDS[bucket - 1], BOUNDS[bucket])


def percentile(counts: dict[int, int], share: float) -> float | None:
    """The nearest-rank `share` percentile (0.5 median, 0.9 p90) of a histogram {bucket: count},
    as the upper bound of its bucket in minutes (the last bucket: its lower bound). None if empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, ceil(share * total))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            lower, upper = bounds_of(bucket)
            return lower if upper == float("inf") else upper
    return None  # unreachable


def share_within(counts: dict[int, int], minutes: float) -> float | None:
    """The share of waits below `minutes` (exact when `minutes` is one of BOUNDS)."""
    total = sum(counts.values())
    if total <= 0:
        return None
    return sum(n for bucket, n in counts.items() if bounds_of(bucket)[1] <= minutes) / total


def nearest_rank(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of raw values: what `percentile` approximates."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, ceil(share * len(ordered))) - 1]
