"""Several ``vacant serve`` instances of two pools on one PostgreSQL database: registration and
health, configuration changes applied everywhere within a second (LISTEN/NOTIFY), automatic
failover and failback; and the disaster-recovery commands killed halfway and run again."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.peers import LOCALHOST, VacantServer, cli, start_server
from tests.media.audio import wav
from vacant.routing.model import Announcement, Pool
from vacant.store import access, instances
from vacant.store import repository as repo
from vacant.store.engine import make_engine, session_scope
from vacant.store.models import FailoverRangeRow

A, B = "a.example.com", "b.example.com"
NUMBER = "+14255550001"
#: What pool A's announcement answers (a 302 redirect, or a 2xx when it answers first).
#: Automatic failover of pool A, shortened for the test.
DOWN_AFTER, FAILBACK_AFTER, HEARTBEAT = 2.0, 2.0, 0.5


def _two_pools(db: str) -> None:
    """Pool A (automatic failover to B) answers +1425555xxxx with an announcement that redirects
    the caller (302: an answer that needs no media)."""
    cli(db, "pool", "add", B)
    cli(db, "pool", "add", A, "--backup", B, "--auto-failover",
         "--down-after", str(DOWN_AFTER), "--failback-after", str(FAILBACK_AFTER))  # fmt: skip
    cli(db, "announcement", "add", "Moved", "--pool", A, "--target", "sip:op@example.com",
         "--redirect-without-answer")  # fmt: skip
    cli(db, "range", "add", "R", "--start", "+14255550000", "--end", "+14255550999",
         "--announcement", "Moved", "--pool", A)  # fmt: skip


def _serve(db: str, tmp: Path, pool: str) -> VacantServer:
    return start_server(db, tmp, "--pool", pool, "--heartbeat-interval", str(HEARTBEAT))


# --- a minimal SIP UAC over UDP: INVITE, final response, ACK (and BYE after a 2xx) -----------

SDP = (
    "v=0\r\no=test 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _header(response: str, name: str) -> str:
    return next(
        line.split(":", 1)[1].strip()
        for line in response.split("\r\n")
        if line.lower().startswith(name.lower() + ":")
    )


def invite(port: int, number: str = NUMBER, timeout: float = 2.0) -> tuple[int, str]:
    """The final status of an INVITE to ``number`` at 127.0.0.1:port, and the response. A call
    answered (2xx) is hung up at once."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
    ):
        sock.bind((LOCALHOST, 0))
        rtp.bind((LOCALHOST, 0))
        sock.settimeout(timeout)
        local = sock.getsockname()[1]
        tag, call_id = secrets.token_hex(4), secrets.token_hex(8)
        uri = f"sip:{number}@{LOCALHOST}:{port}"

        def request(method: str, cseq: int, to: str, branch: str, body: str = "") -> None:
            kind = "Content-Type: application/sdp\r\n" if body else ""
            sock.sendto(
                (
                    f"{method} {uri} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {LOCALHOST}:{local};branch={branch}\r\n"
                    f"From: <sip:test@{LOCALHOST}>;tag={tag}\r\nTo: {to}\r\n"
                    f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n"
                    f"Contact: <sip:test@{LOCALHOST}:{local}>\r\nMax-Forwards: 70\r\n"
                    f"{kind}Content-Length: {len(body)}\r\n\r\n{body}"
                ).encode(),
                (LOCALHOST, port),
            )

        branch = f"z9hG4bK{secrets.token_hex(6)}"
        request("INVITE", 1, f"<{uri}>", branch, SDP.format(port=rtp.getsockname()[1]))
        while True:
            data = sock.recv(65535).decode(errors="replace")
            status = int(data.split(" ", 2)[1])
            if status >= 200 and "INVITE" in _header(data, "CSeq"):
                break
        to = _header(data, "To")
        if status >= 300:
            request("ACK", 1, to, branch)  # RFC 3261 §17.1.1.3: the INVITE's branch
            return status, data
        request("ACK", 1, to, f"z9hG4bK{secrets.token_hex(6)}")  # §13.2.2.4: a new transaction
        request("BYE", 2, to, f"z9hG4bK{secrets.token_hex(6)}")
        while True:  # the answer to the BYE (the server may send a BYE or REFER of its own)
            reply = sock.recv(65535).decode(errors="replace")
            if reply.startswith("SIP/2.0") and "BYE" in _header(reply, "CSeq"):
                return status, data


def _answered(port: int) -> bool:
    """Pool A's announcement answered the call (a redirect, or answered then hung up)."""
    return invite(port)[0] in (200, 302)


def _metrics(server: VacantServer) -> str:
    """``/metrics`` of a server, read with a view-only token made in its database."""
    engine = make_engine(server.db_url)
    try:
        with session_scope(engine) as s:
            secret = access.create_token(s, f"m{secrets.token_hex(4)}", "view-only").secret
    finally:
        engine.dispose()
    request = urllib.request.Request(
        f"http://{LOCALHOST}:{server.http_port}/metrics",
        headers={"Authorization": f"Bearer {secret}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def _healthz(server: VacantServer) -> dict[str, object]:
    url = f"http://{LOCALHOST}:{server.http_port}/healthz"
    with urllib.request.urlopen(url, timeout=2) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


def _status(db: str) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "vacant", "--db", db, "pool", "status", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {p["name"]: p for p in json.loads(out.stdout)}


def _until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``check`` until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s: {what}")


# --- instances and configuration changes -------------------------------------------------------


@pytest.mark.postgres
def test_instances_register_heartbeat_and_are_marked_stopped_on_sigterm(
    pg_url: str, tmp_path: Path
) -> None:
    _two_pools(pg_url)
    a1, b1 = _serve(pg_url, tmp_path, A), _serve(pg_url, tmp_path, B)
    try:
        status = _status(pg_url)
        ia: Any = status[A]["instances"][0]  # type: ignore[index]
        assert ia["health"] == "healthy"
        assert ia["sip"] == f"udp:{LOCALHOST}:{a1.sip_port},tcp:{LOCALHOST}:{a1.sip_port}"
        assert ia["http"] == f"{LOCALHOST}:{a1.http_port}"
        assert status[A]["served_by"] == A
        assert status[A]["ranges"] == ["R"]
        assert status[B]["instances"][0]["health"] == "healthy"  # type: ignore[index]
    finally:
        assert a1.stop() == 0
        b1.stop()
    ia = _status(pg_url)[A]["instances"][0]  # type: ignore[index]
    assert ia["health"] == "stopped"
    assert ia["stopped"] is not None


@pytest.mark.postgres
def test_configuration_change_reaches_every_instance_within_a_second(
    pg_url: str, tmp_path: Path
) -> None:
    _two_pools(pg_url)
    servers = [_serve(pg_url, tmp_path, A), _serve(pg_url, tmp_path, B)]
    try:
        versions = [_healthz(s)["config_version"] for s in servers]
        engine = make_engine(pg_url)
        try:
            with session_scope(engine) as s:
                repo.add_pool(s, Pool.create("c.example.com"))
                committed = time.monotonic()
                new = repo.config_version(s)
        finally:
            engine.dispose()
        assert all(new > v for v in versions)  # type: ignore[operator]
        for server in servers:
            seen = _until(
                lambda server=server: _healthz(server)["config_version"] == new,  # type: ignore[misc]
                timeout=5,
                what="new configuration version",
                step=0.01,
            )
            assert seen - committed < 1.0
        for server in servers:  # it came by LISTEN/NOTIFY, not by the 1 s poll
            found = re.search(r"^vacant_config_notifications_total (\S+)$", _metrics(server), re.M)
            assert found
            assert float(found.group(1)) >= 2  # the catch-up at connection, then the change
    finally:
        for server in servers:
            server.stop()


# --- automatic failover ------------------------------------------------------------------------


def _last_heartbeat(db: str, pool: str) -> float:
    """The wall-clock time (epoch seconds) of the newest heartbeat of ``pool``'s instances."""
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            return max(i.heartbeat.timestamp() for i in instances.list_instances(s, pool))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_backup_answers_a_down_pools_ranges_and_stops_once_it_is_back(
    pg_url: str, tmp_path: Path
) -> None:
    _two_pools(pg_url)
    a1, b1 = _serve(pg_url, tmp_path, A), _serve(pg_url, tmp_path, B)
    a2: VacantServer | None = None
    try:
        assert _answered(a1.sip_port)  # pool A's announcement
        status, response = invite(b1.sip_port)
        assert status == 503  # not B's pool, and A is up
        assert f'Warning: 399 vacant "pool {A} is not served by this instance"' in response
        # Pool A dies without a word.
        a1.process.send_signal(signal.SIGKILL)
        a1.process.wait(5)
        last = _last_heartbeat(pg_url, A)
        _until(lambda: _answered(b1.sip_port), timeout=DOWN_AFTER + 10, what="backup answers")
        # From A's last heartbeat to the first call the backup answered (one clock: this host's).
        failover_time = time.time() - last
        print(f"automatic failover: {failover_time:.2f} s after the last heartbeat"
              f" (down after {DOWN_AFTER} s)")  # fmt: skip
        assert failover_time <= DOWN_AFTER + 2.0
        state = _status(pg_url)[A]
        assert (state["state"], state["served_by"]) == ("down", B)
        assert _status(pg_url)[B]["covering"] == [A]
        assert f"now answering the ranges of pool {A}" in b1.output()
        metrics = _metrics(b1)
        assert f'vacant_pool_transitions_total{{pool="{A}",state="down"}} 1.0' in metrics
        assert f'vacant_pool_covering{{pool="{A}"}} 1.0' in metrics
        # Pool A comes back: after failback-after, B stops answering for it.
        a2 = _serve(pg_url, tmp_path, A)
        back = time.monotonic()
        _until(lambda: invite(b1.sip_port)[0] == 503, timeout=FAILBACK_AFTER + 10, what="failback")
        assert time.monotonic() - back >= FAILBACK_AFTER - HEARTBEAT
        assert _answered(a2.sip_port)
        state = _status(pg_url)[A]
        assert (state["state"], state["served_by"], state["transitions"]) == ("up", A, 2)
        assert f"no longer answering the ranges of pool {A}" in b1.output()
        assert f"pool {A}: up -> down" in b1.output() + a2.output()
    finally:
        for server in (a1, b1, a2):
            if server is not None and server.process.poll() is None:
                server.stop()


# --- disaster recovery commands, killed halfway ----------------------------------------------


def _dr_setup(db: str) -> None:
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            repo.add_pool(s, Pool.create(B))
            repo.add_pool(s, Pool.create(A, B))
            repo.add_file(s, A, "one.wav", wav(), "audio/wav")
            repo.add_file(s, A, "two.wav", wav(frequency=500.0), "audio/wav")
            repo.add_announcement(s, Announcement.create(A, "One", audio_file="one.wav"))
            repo.add_announcement(s, Announcement.create(A, "Two", audio_file="two.wav"))
            repo.add_range(s, "R1", start="+1425", end="+1425", announcement=(A, "One"))
            repo.add_range(s, "R2", start="+1426", end="+1426", announcement=(A, "Two"))
    finally:
        engine.dispose()


def _snapshot(db: str) -> tuple[list[str], list[str], list[str], int]:
    """(files of B, announcements of B, where R1 and R2 point, failover records)."""
    engine = make_engine(db)
    try:
        with session_scope(engine) as s:
            ranges = []
            for name in ("R1", "R2"):
                aid = repo.get_range(s, name).announcement_id
                assert aid is not None
                ranges.append(repo.get_announcement_by_id(s, aid).pool)
            records = len(s.scalars(select(FailoverRangeRow)).all())
            return (
                [f.name for f in repo.list_files(s, B)],
                [a.name for a in repo.list_announcements(s, B)],
                ranges,
                records,
            )
    finally:
        engine.dispose()


def _kill_halfway(db: str, *command: str, steps: int = 3) -> None:
    """Run ``vacant COMMAND`` pausing between its steps (inside its transaction); SIGKILL it
    once ``steps`` steps are done."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vacant", "--db", db, *command],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "VACANT_TEST_STEP_DELAY": "0.3"},
    )
    try:
        assert process.stderr is not None
        done = 0
        deadline = time.monotonic() + 30
        while done < steps and time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line, f"the command ended before step {steps}"
            done += line.startswith("step done:")
        assert done == steps
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.stderr is not None
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def test_failover_killed_halfway_leaves_nothing_and_runs_again(db_url: str, tmp_path: Path) -> None:
    _dr_setup(db_url)
    before = _snapshot(db_url)
    assert before == ([], [], [A, A], 0)
    _kill_halfway(db_url, "pool", "failover", A)
    assert _snapshot(db_url) == before
    cli(db_url, "pool", "failover", A)
    assert _snapshot(db_url) == (["one.wav", "two.wav"], ["One", "Two"], [B, B], 2)
    cli(db_url, "pool", "failover", A)  # again: nothing to do
    assert _snapshot(db_url) == (["one.wav", "two.wav"], ["One", "Two"], [B, B], 2)


def test_failback_killed_halfway_leaves_nothing_and_runs_again(db_url: str, tmp_path: Path) -> None:
    _dr_setup(db_url)
    cli(db_url, "pool", "failover", A)
    failed_over = _snapshot(db_url)
    _kill_halfway(db_url, "pool", "failback", A, "--cleanup")
    assert _snapshot(db_url) == failed_over
    cli(db_url, "pool", "failback", A, "--cleanup")
    assert _snapshot(db_url) == ([], [], [A, A], 0)
    cli(db_url, "pool", "failback", A, "--cleanup")
    assert _snapshot(db_url) == ([], [], [A, A], 0)


def test_export_files_and_a_complete_backup_restored_into_an_empty_database(
    db_url: str, db_url_factory: Callable[[], str], tmp_path: Path
) -> None:
    _dr_setup(db_url)
    cli(db_url, "pool", "set", A, "--auto-failover", "--down-after", "5")
    out = tmp_path / "files"
    cli(db_url, "announcement", "export-files", "--pool", A, str(out))
    assert sorted(p.name for p in out.iterdir()) == ["one.wav", "two.wav"]
    assert (out / "one.wav").read_bytes() == wav()
    backup = tmp_path / "backup.yaml"
    cli(db_url, "config", "export", "--with-files", "--out", str(backup))
    empty = db_url_factory()
    cli(empty, "db", "upgrade")
    cli(empty, "config", "import", str(backup))
    restored = tmp_path / "restored"
    cli(empty, "announcement", "export-files", "--pool", A, str(restored))
    assert (restored / "two.wav").read_bytes() == wav(frequency=500.0)
    engine = make_engine(empty)
    try:
        with session_scope(engine) as s:
            pool = repo.get_pool(s, A)
            assert (pool.backup, pool.auto_failover, pool.down_after) == (B, True, 5.0)
            assert repo.get_announcement(s, A, "Two").audio_file == "two.wav"
    finally:
        engine.dispose()
    again = tmp_path / "again.yaml"
    cli(empty, "config", "export", "--out", str(again))
    cli(db_url, "config", "export", "--out", str(tmp_path / "first.yaml"))
    assert again.read_text() == (tmp_path / "first.yaml").read_text()
