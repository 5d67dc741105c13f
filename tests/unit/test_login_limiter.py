"""Failed-login limits (vacant.service.access.LoginLimiter): per name, per source, bounded."""

from __future__ import annotations

import pytest

from vacant.errors import RateLimited
from vacant.service.access import LoginLimiter


def fail(limiter: LoginLimiter, name: str, source: str, now: float, times: int = 1) -> None:
    for _ in range(times):
        limiter.check(name, source, now)
        limiter.failed(name, source, now)


def test_a_name_is_refused_after_its_failures_until_the_window_passes() -> None:
    limiter = LoginLimiter(per_name=3, per_source=100, window=60.0)
    fail(limiter, "alice", "10.0.0.1", now=0.0, times=3)
    with pytest.raises(RateLimited) as refused:
        limiter.check("alice", "10.0.0.2", 10.0)
    assert refused.value.retry_after == pytest.approx(50.0)
    limiter.check("bob", "10.0.0.1", 10.0)
    limiter.check("alice", "10.0.0.1", 60.0)


def test_a_source_is_refused_whatever_the_name() -> None:
    limiter = LoginLimiter(per_name=100, per_source=4, window=60.0)
    for n in range(4):
        fail(limiter, f"user{n}", "10.0.0.9", now=float(n))
    with pytest.raises(RateLimited):
        limiter.check("anyone", "10.0.0.9", 5.0)
    limiter.check("anyone", "10.0.0.8", 5.0)


def test_a_success_clears_the_names_failures() -> None:
    limiter = LoginLimiter(per_name=3, per_source=100, window=60.0)
    fail(limiter, "alice", "10.0.0.1", now=0.0, times=2)
    limiter.succeeded("alice")
    fail(limiter, "alice", "10.0.0.1", now=1.0, times=2)
    limiter.check("alice", "10.0.0.1", 2.0)


def test_memory_is_bounded_whatever_is_tried() -> None:
    limiter = LoginLimiter(per_name=5, per_source=5, window=60.0, max_keys=100)
    for n in range(10_000):
        limiter.failed(f"user{n}", f"10.0.{n // 256}.{n % 256}", float(n) / 1000)
    assert len(limiter.names) == 100
    assert len(limiter.sources) == 100
    fail(limiter, "mallory", "10.9.9.9", now=20.0, times=5)
    assert all(len(times) <= 5 for times in limiter.names._times.values())
