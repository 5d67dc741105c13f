"""A pool's automatic-failover settings: validated as a whole, naming the field and the rule."""

from __future__ import annotations

import pytest

from vacant.errors import ValidationError
from vacant.routing.model import (
    DEFAULT_DOWN_AFTER,
    DEFAULT_FAILBACK_AFTER,
    MAX_DOWN_AFTER,
    MAX_FAILBACK_AFTER,
    MIN_DOWN_AFTER,
    Pool,
)


def test_automatic_failover_is_off_by_default_with_10_s_detection() -> None:
    pool = Pool.create("a.example.com", "b.example.com")
    assert (pool.auto_failover, pool.down_after, pool.failback_after) == (
        False,
        DEFAULT_DOWN_AFTER,
        DEFAULT_FAILBACK_AFTER,
    )
    assert DEFAULT_DOWN_AFTER == 10.0


def test_automatic_failover_keeps_its_times_as_float_seconds() -> None:
    pool = Pool.create(
        "a.example.com", "b.example.com", auto_failover=True, down_after=3, failback_after=0
    )
    assert (pool.auto_failover, pool.down_after, pool.failback_after) == (True, 3.0, 0.0)
    assert isinstance(pool.down_after, float)


def test_automatic_failover_needs_a_backup_pool() -> None:
    with pytest.raises(ValidationError, match=r"auto-failover: needs a backup pool"):
        Pool.create("a.example.com", auto_failover=True)


def test_automatic_failover_flag_must_be_a_boolean() -> None:
    with pytest.raises(ValidationError, match=r"auto-failover: must be true or false"):
        Pool.create("a.example.com", "b.example.com", auto_failover="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [MIN_DOWN_AFTER - 0.5, MAX_DOWN_AFTER + 1, True, "10", float("nan")]
)
def test_down_after_outside_its_bounds_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match=r"down-after: must be a number of seconds from 1"):
        Pool.create("a.example.com", down_after=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, MAX_FAILBACK_AFTER + 1, None])
def test_failback_after_outside_its_bounds_is_refused(value: object) -> None:
    with pytest.raises(
        ValidationError, match=r"failback-after: must be a number of seconds from 0"
    ):
        Pool.create("a.example.com", failback_after=value)  # type: ignore[arg-type]
