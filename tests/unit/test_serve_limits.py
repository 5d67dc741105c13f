"""``vacant serve`` raises its open files limit: each call with media holds two sockets."""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator

import pytest

from vacant.cli.commands import serve
from vacant.cli.commands.serve import SPARE_FILES, _raise_open_files_limit


@pytest.fixture
def nofile() -> Iterator[tuple[int, int]]:
    """The process's RLIMIT_NOFILE, restored after the test."""
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limits
    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def test_soft_limit_is_raised_to_the_hard_limit_and_logged(
    nofile: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, hard = nofile
    assert hard > 512, "the test lowers the soft limit to 512"
    resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
    with caplog.at_level(logging.INFO, logger=serve.__name__):
        assert _raise_open_files_limit((20000, 20001)) == (512, hard)
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    assert f"open files limit raised from 512 to {hard}" in caplog.text


def _fake_limits(
    monkeypatch: pytest.MonkeyPatch, soft: int, hard: int, *, refuse: bool = False
) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []

    def setrlimit(kind: int, limits: tuple[int, int]) -> None:
        assert kind == resource.RLIMIT_NOFILE
        if refuse:
            raise ValueError("not allowed to raise maximum limit")
        calls.append(limits)

    monkeypatch.setattr(serve.resource, "getrlimit", lambda kind: (soft, hard))
    monkeypatch.setattr(serve.resource, "setrlimit", setrlimit)
    return calls


def test_limit_already_at_the_hard_limit_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = _fake_limits(monkeypatch, 100_000, 100_000)
    with caplog.at_level(logging.INFO, logger=serve.__name__):
        assert _raise_open_files_limit((20000, 29999)) == (100_000, 100_000)
    assert calls == []
    assert caplog.records == []


def test_unlimited_soft_limit_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = _fake_limits(monkeypatch, resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    with caplog.at_level(logging.INFO, logger=serve.__name__):
        assert _raise_open_files_limit((1024, 65535)) == (-1, -1)
    assert calls == []
    assert caplog.records == []


def test_hard_limit_below_the_rtp_range_warns_how_many_calls_get_media(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = _fake_limits(monkeypatch, 1_024, 4_096)
    with caplog.at_level(logging.INFO, logger=serve.__name__):
        assert _raise_open_files_limit((20000, 29999)) == (1_024, 4_096)
    assert calls == [(4_096, 4_096)]
    warning = caplog.records[-1]
    assert warning.levelno == logging.WARNING
    calls_with_media = (4_096 - SPARE_FILES) // 2
    assert warning.getMessage() == (
        f"open files limit 4096: media for about {calls_with_media} calls"
        " (the RTP range has 5000 port pairs)"
    )


def test_refused_raise_keeps_the_soft_limit_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_limits(monkeypatch, 1_024, 65_536, refuse=True)
    with caplog.at_level(logging.INFO, logger=serve.__name__):
        assert _raise_open_files_limit((20000, 20099)) == (1_024, 1_024)
    refused, few = caplog.records
    assert refused.getMessage().startswith("open files limit: cannot raise 1024 to 65536: ")
    assert few.getMessage() == (
        "open files limit 1024: media for about 0 calls (the RTP range has 50 port pairs)"
    )
