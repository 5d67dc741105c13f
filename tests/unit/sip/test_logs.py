"""``LevelWatch``: a logger's level asked at most once a second of the caller's clock."""

import logging

import pytest

from vacant.sip.logs import RECHECK, LevelWatch


class CountingLogger(logging.Logger):
    """A logger that counts how often it is asked (unregistered: it keeps no cache)."""

    def __init__(self) -> None:
        super().__init__("counting", logging.WARNING)
        self.asked = 0

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 (logging's name)
        self.asked += 1
        return level >= self.getEffectiveLevel()


@pytest.fixture
def logger() -> CountingLogger:
    return CountingLogger()


def test_the_logger_is_asked_once_in_a_second_of_the_callers_clock(logger: CountingLogger) -> None:
    watch = LevelWatch(logger, logging.DEBUG)
    assert [watch.enabled(now) for now in (10.0, 10.5, 10.0 + RECHECK / 2)] == [False] * 3
    assert logger.asked == 1


def test_a_level_changed_is_seen_once_the_second_has_passed(logger: CountingLogger) -> None:
    watch = LevelWatch(logger, logging.DEBUG)
    assert not watch.enabled(10.0)
    logger.setLevel(logging.DEBUG)
    assert not watch.enabled(10.0 + RECHECK * 0.99)  # the kept answer
    assert watch.enabled(10.0 + RECHECK)
    assert logger.asked == 2


def test_a_clock_gone_back_asks_again(logger: CountingLogger) -> None:
    # Another clock (a new endpoint's, a test's) must not inherit the answer for a whole second.
    watch = LevelWatch(logger, logging.INFO)
    assert not watch.enabled(100.0)
    logger.setLevel(logging.INFO)
    assert watch.enabled(0.0)
    assert logger.asked == 2
