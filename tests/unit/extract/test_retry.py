"""The retry policy as a value: what to wait after failure n of a kind, when to give up."""

from __future__ import annotations

import pytest

from extract.errors import BadPayload, NetworkError, RateLimited, RetryableError, ServerError
from extract.http.retry import MAX_RETRY_AFTER_S, QUOTA_PROBE_S, RetryPolicy, failure_kind
from extract.settings import ThrottleSettings

POLICY = RetryPolicy(page_retries=3, transport_retries=5, backoff_base_s=1.0, backoff_max_s=10.0)


def low() -> float:
    return 0.0


def high() -> float:
    return 0.999999


@pytest.mark.parametrize(
    ("err", "kind"),
    [
        (ServerError("boom", status=500), "page"),
        (BadPayload("truncated"), "page"),
        (RateLimited("slow down", status=429, retry_after=3.0), "transport"),
        (RateLimited("slow down", status=429), "quota"),
        (NetworkError("reset"), "transport"),
    ],
)
def test_failures_are_counted_by_kind(err: RetryableError, kind: str) -> None:
    assert failure_kind(err) == kind


@pytest.mark.parametrize(
    ("failures", "lowest", "highest"),
    [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (4, 4.0, 8.0), (5, 5.0, 10.0)],
)
def test_backoff_doubles_with_equal_jitter_up_to_the_cap(
    failures: int, lowest: float, highest: float
) -> None:
    err = NetworkError("reset")
    assert POLICY.wait(err, failures, low) == pytest.approx(lowest)
    assert POLICY.wait(err, failures, high) == pytest.approx(highest, rel=1e-5)


def test_each_kind_gives_up_after_its_own_retries() -> None:
    server = ServerError("boom", status=503)
    assert POLICY.wait(server, 3, low) is not None
    assert POLICY.wait(server, 4, low) is None  # the 4th 5xx: 3 retries used up
    network = NetworkError("reset")
    assert POLICY.wait(network, 5, low) is not None
    assert POLICY.wait(network, 6, low) is None


def test_retry_after_of_a_429_is_waited_out_as_given() -> None:
    err = RateLimited("slow down", status=429, retry_after=7.0)
    assert POLICY.wait(err, 1, high) == 7.0
    assert POLICY.wait(err, 5, high) == 7.0  # not stretched by the backoff


def test_a_retry_after_longer_than_the_longest_wait_gives_up() -> None:
    too_long = RateLimited("slow down", status=429, retry_after=MAX_RETRY_AFTER_S + 1)
    assert POLICY.wait(too_long, 1, low) is None
    busy = ServerError("maintenance", status=503, retry_after=MAX_RETRY_AFTER_S + 1)
    assert POLICY.wait(busy, 1, low) is None


def test_a_5xx_retry_after_does_not_replace_the_backoff() -> None:
    err = ServerError("busy", status=503, retry_after=30.0)
    assert POLICY.wait(err, 1, low) == pytest.approx(0.5)


def test_shrinking_lowers_only_the_page_retries() -> None:
    shrinking = POLICY.for_shrinking()
    assert (shrinking.page_retries, shrinking.transport_retries) == (1, 5)
    assert RetryPolicy(page_retries=0).for_shrinking().page_retries == 0


def test_from_settings() -> None:
    policy = RetryPolicy.from_settings(
        ThrottleSettings(max_retries=2, backoff_base_s=0.25, backoff_max_s=4.0)
    )
    assert policy == RetryPolicy(2, 2, 0.25, 4.0)


def test_the_jitter_draw_is_taken_only_for_a_backoff() -> None:
    draws: list[float] = []

    def draw() -> float:
        draws.append(0.5)
        return 0.5

    POLICY.wait(RateLimited("slow", status=429, retry_after=1.0), 1, draw)
    POLICY.wait(ServerError("x", status=500), 9, draw)  # gives up
    assert draws == []
    POLICY.wait(ServerError("x", status=500), 1, draw)
    assert draws == [0.5]


QUOTA = RetryPolicy(
    page_retries=3,
    transport_retries=2,
    backoff_base_s=0.5,
    backoff_max_s=60.0,
    rate_limit_patience_s=100.0,
)


def test_a_429_without_retry_after_is_bounded_by_time_not_by_count() -> None:
    err = RateLimited("quota", status=429)  # no Retry-After: a per-minute quota window
    assert QUOTA.limit("quota") is None
    # far more retries than transport_retries, as long as patience is left
    assert QUOTA.wait(err, 40, high, waited_s=50.0) is not None
    assert QUOTA.wait(err, 40, high, waited_s=100.0) is None
    # the last wait is cut to the patience left
    assert QUOTA.wait(err, 40, high, waited_s=95.0) == pytest.approx(5.0)


def test_quota_waits_back_off_up_to_the_probe_interval() -> None:
    err = RateLimited("quota", status=429)
    waits = [QUOTA.wait(err, n, high) for n in range(1, 10)]
    assert waits[:5] == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0], rel=1e-5)
    assert all(w == pytest.approx(QUOTA_PROBE_S, rel=1e-5) for w in waits[5:])


def test_quota_waits_outlast_a_sixty_second_window() -> None:
    """Waiting until the patience is used up reaches well past one 60 s window, unlike
    six exponential retries (0.5 + 1 + ... + 16 = 31.5 s at most)."""
    err = RateLimited("quota", status=429)
    policy = RetryPolicy.from_settings(ThrottleSettings())  # the defaults a user runs with
    waited, n = 0.0, 0
    while (delay := policy.wait(err, n + 1, high, waited_s=waited)) is not None:
        waited, n = waited + delay, n + 1
    assert waited == pytest.approx(policy.rate_limit_patience_s)
    assert waited > 60.0
    assert n > policy.transport_retries
