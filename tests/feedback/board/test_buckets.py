"""Histogram percentiles against the raw nearest-rank percentile."""

import random

from hypothesis import given
from hypothesis import strategies as st

from feedback.board import buckets
from feedback.board.selectors import response_target_minutes


@given(st.lists(st.floats(min_value=0, max_value=60_000, allow_nan=False), min_size=1, max_size=200),
       st.sampled_from([0.5, 0.9]))
def test_the_histogram_percentile_is_the_bucket_of_the_raw_percentile(values, share):
    histogram = {}
    for value in values:
        bucket = buckets.bucket_of(value)
        histogram[bucket] = histogram.get(bucket, 0) + 1
    raw = buckets.nearest_rank(values, share)
    lower, upper = buckets.bounds_of(buckets.bucket_of(raw))
    assert lower <= raw < upper
    assert buckets.percentile(histogram, share) == (upper if upper != float("inf") else lower)


def test_share_within_a_bound_is_exact():
    rng = random.Random(3)
    values = [rng.uniform(0, 300) for _ in range(500)]
    histogram = {}
    for value in values:
        histogram[buckets.bucket_of(value)] = histogram.get(buckets.bucket_of(value), 0) + 1
    assert buckets.share_within(histogram, 60) == sum(v < 60 for v in values) / len(values)
    assert buckets.percentile({}, 0.5) is None


def test_response_targets_are_read_from_the_promise():
    assert response_target_minutes("First reply within one hour on social media") == 60
    assert response_target_minutes("We reply within 15 minutes") == 15
    assert response_target_minutes("Responses within 2 business days") == 2880
    assert response_target_minutes("85% of flights arrive within 15 minutes of schedule") is None
