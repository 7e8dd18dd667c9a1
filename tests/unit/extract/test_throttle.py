"""The host limiter: rate and in-flight caps under many threads, penalize and recovery.

Time is a FakeClock that only moves when a thread sleeps, so the tests are deterministic.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from extract.http.throttle import RECOVER_EVERY, Throttle, ThrottleRegistry
from extract.settings import ThrottleSettings


def run_threads(n: int, fn) -> None:
    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(fn) for _ in range(n)]:
            future.result(timeout=30)


def test_rate_is_respected_across_threads(clock):
    throttle = Throttle(4.0, 8, clock=clock, sleep=clock.sleep)
    grants: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            with throttle.slot(), lock:
                grants.append(clock())

    run_threads(8, worker)
    assert len(grants) == 40
    grants.sort()
    gaps = [b - a for a, b in itertools.pairwise(grants)]
    # Evenly spaced at 1/max_rps or more: never two requests inside one interval.
    assert min(gaps) >= 0.25 - 1e-9
    assert throttle.granted == 40


def test_burst_allows_back_to_back_then_spaces(clock):
    throttle = Throttle(2.0, 4, burst=3, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(5):
        with throttle.slot():
            times.append(clock())
    start = times[0]
    assert [t - start for t in times] == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_inflight_cap_under_many_threads(clock):
    throttle = Throttle(1e6, 3, clock=clock, sleep=clock.sleep)
    # Three at a time must be able to meet inside the slot (proves 3 are allowed in);
    # a fourth would push `peak` above 3.
    barrier = threading.Barrier(3, timeout=10)
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def worker() -> None:
        with throttle.slot():
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            barrier.wait()
            with lock:
                state["now"] -= 1

    run_threads(12, worker)
    assert state["peak"] == 3
    assert throttle.peak_inflight == 3
    assert throttle.inflight == 0


def test_penalize_pauses_every_thread_until_retry_after(clock):
    throttle = Throttle(10.0, 4, clock=clock, sleep=clock.sleep)
    with throttle.slot():
        pass
    t0 = clock()
    throttle.penalize(5.0)
    assert throttle.paused_until == t0 + 5.0
    starts = []
    lock = threading.Lock()

    def worker() -> None:
        with throttle.slot(), lock:
            starts.append(clock())

    run_threads(4, worker)
    assert min(starts) >= t0 + 5.0


def test_penalize_halves_rate_once_per_window_with_floor(clock):
    throttle = Throttle(8.0, 4, min_rps=1.5, clock=clock, sleep=clock.sleep)
    throttle.penalize(2.0)
    throttle.penalize(2.0)  # same overload seen by another thread: no second cut
    assert throttle.current_rps == 4.0
    clock.advance(2.5)
    throttle.penalize(None)  # still inside the decrease window: pause, no cut
    assert throttle.current_rps == 4.0
    clock.advance(3)
    throttle.penalize(None)
    assert throttle.current_rps == 2.0
    clock.advance(10)
    throttle.penalize(None)
    assert throttle.current_rps == 1.5  # floor
    assert throttle.penalties == 5


def test_reward_recovers_gradually_never_above_max(clock):
    throttle = Throttle(10.0, 4, min_rps=1.0, clock=clock, sleep=clock.sleep)
    throttle.penalize(None)
    assert throttle.current_rps == 5.0
    for _ in range(RECOVER_EVERY - 1):
        throttle.reward()
    assert throttle.current_rps == 5.0
    throttle.reward()
    assert throttle.current_rps == pytest.approx(6.0)  # +10% of max
    for _ in range(RECOVER_EVERY * 20):
        throttle.reward()
    assert throttle.current_rps == 10.0


def test_penalty_resets_recovery_progress(clock):
    throttle = Throttle(10.0, 4, clock=clock, sleep=clock.sleep)
    throttle.penalize(None)
    for _ in range(RECOVER_EVERY - 1):
        throttle.reward()
    clock.advance(5)
    throttle.penalize(None)
    throttle.reward()
    assert throttle.current_rps == 2.5


def test_slower_rate_spaces_requests_wider(clock):
    throttle = Throttle(4.0, 1, min_rps=0.5, clock=clock, sleep=clock.sleep)
    throttle.penalize(0.0)
    times = []
    for _ in range(3):
        with throttle.slot():
            times.append(clock())
    assert times[2] - times[1] == pytest.approx(0.5)  # 2 rps after one halving


def test_from_settings_and_validation(clock):
    throttle = Throttle.from_settings(ThrottleSettings(max_rps=3, max_inflight=2, min_rps=0.5))
    assert (throttle.max_rps, throttle.max_inflight, throttle.min_rps) == (3, 2, 0.5)
    with pytest.raises(ValueError):
        Throttle(0, 1)
    with pytest.raises(ValueError):
        Throttle(1, 0)


def test_registry_one_limiter_per_host():
    registry = ThrottleRegistry()
    limits = ThrottleSettings()
    a = registry.for_url("https://Acme.test/commerce/query/2.0/Orders", limits)
    b = registry.for_url("https://acme.test:443/identity", limits)
    c = registry.for_url("https://other.test", limits)
    d = registry.for_url("http://127.0.0.1:8001", limits)
    e = registry.for_url("http://127.0.0.1:8002", limits)
    assert a is b
    assert len({id(a), id(c), id(d), id(e)}) == 4
    registry.clear()
    assert registry.for_url("https://acme.test", limits) is not a


def test_a_steady_share_of_429s_does_not_grind_the_rate_to_the_floor(clock):
    # a busy tenant answering one request in five with 429 whatever the rate
    throttle = Throttle(20.0, 4, min_rps=0.2, clock=clock, sleep=clock.sleep)
    for i in range(1, 1001):
        clock.advance(1.0 / throttle.current_rps)
        if i % 5 == 0:
            throttle.penalize(1.0)
        else:
            throttle.reward()
    assert throttle.current_rps >= 10.0
    assert throttle.penalties == 200
