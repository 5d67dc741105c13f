"""vacant serve answering Debian's SIPp over real sockets (issue: the SIP application server).

Each test starts ``vacant serve`` as a subprocess on loopback with the demo configuration plus a
few objects, and drives it with SIPp scenarios built in :mod:`tests.integration.peers`.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.peers import (
    LOCALHOST,
    VacantServer,
    invite_scenario,
    options_scenario,
    run_sipp,
    start_server,
)
from vacant.cli.main import main
from vacant.store import access
from vacant.store.engine import make_engine, session_scope

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.yaml"
POOL = "pool1.example.com"


def _configure(db_url: str) -> None:
    assert main(["--db", db_url, "config", "import", str(DEMO)]) == 0
    assert main(["--db", db_url, "announcement", "add", "Silent", "--pool", POOL]) == 0
    assert (
        main(
            [
                "--db",
                db_url,
                "range",
                "add",
                "Closed",
                "--start",
                "+14255552000",
                "--end",
                "+14255552999",
                "--announcement",
                "Silent",
                "--pool",
                POOL,
            ]
        )
        == 0
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'vacant.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    _configure(url)
    return url


@pytest.fixture
def server(sqlite_url: str, tmp_path: Path) -> Iterator[VacantServer]:
    running = start_server(sqlite_url, tmp_path, "--domain", "example.com")
    yield running
    assert running.stop() == 0, running.output()


@functools.cache
def _metrics_token(db_url: str) -> str:
    """A view-only API token in the server's database: /metrics needs one."""
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            return access.create_token(s, "metrics", "view-only").secret
    finally:
        engine.dispose()


def _metrics(server: VacantServer) -> str:
    request = urllib.request.Request(
        f"http://{LOCALHOST}:{server.http_port}/metrics",
        headers={"Authorization": f"Bearer {_metrics_token(server.db_url)}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def _metric(server: VacantServer, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", _metrics(server), re.MULTILINE)
    assert match, name
    return float(match.group(1))


def test_server_says_whether_its_sip_core_is_compiled(server: VacantServer) -> None:
    # `make test-compiled` runs this file on the mypyc build (VACANT_EXPECT_COMPILED=1): the
    # server it starts must then run the compiled SIP core, and say so when it starts.
    compiled = os.environ.get("VACANT_EXPECT_COMPILED") == "1"
    listening = next(line for line in server.output().splitlines() if "listening on" in line)
    assert ("(SIP core compiled)" in listening) is compiled, listening


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_unassigned_number_gets_404_with_q850_reason(
    server: VacantServer, tmp_path: Path, transport: str
) -> None:
    """RFC 3326 Reason with Q.850 cause 1 (unallocated number) on the 404."""
    scenario = invite_scenario(404, {"Reason:": r'Q\.850;cause=1;text="Unallocated'})
    result = run_sipp(
        scenario, server, tmp_path, number="+4930123456", transport=transport, calls=5
    )
    assert result.ok, result.output
    assert 'decision="not-found",status="404"} 5.0' in _metrics(server)
    # An idle server writes its records when the interval passes, never at catch-up priority.
    assert _metric(server, "vacant_cdr_catch_up_batches_total") == 0
    assert _metric(server, "vacant_cdr_pending") <= 5
    # The worker threads (two for reloads, heartbeats and checks; one call-record writer, once
    # it wrote) run in the idle class (sched(7)), below the event loop's thread.
    deadline = time.monotonic() + 10
    while _metric(server, "vacant_cdr_written_total") < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = server.process.pid
    tasks = [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    assert [os.sched_getscheduler(task) for task in tasks].count(os.SCHED_IDLE) == 3
    assert os.sched_getscheduler(pid) == os.SCHED_OTHER
    assert _metric(server, "vacant_worker_fallbacks_total") >= 0


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_assigned_number_gets_302_with_its_uri_as_contact(
    server: VacantServer, tmp_path: Path, transport: str
) -> None:
    scenario = invite_scenario(302, {"Contact:": r"<sip:alice@example\.com>"})
    result = run_sipp(scenario, server, tmp_path, number="+14255551001", transport=transport)
    assert result.ok, result.output


def test_auto_attendant_range_gets_302_to_the_attendant_in_the_domain(
    server: VacantServer, tmp_path: Path
) -> None:
    scenario = invite_scenario(302, {"Contact:": r"<sip:\+14255550100@example\.com;user=phone>"})
    result = run_sipp(scenario, server, tmp_path, number="+14255551500;ext=12")
    assert result.ok, result.output


def test_announcement_without_prompt_or_target_gets_486(
    server: VacantServer, tmp_path: Path
) -> None:
    result = run_sipp(invite_scenario(486), server, tmp_path, number="+14255552500")
    assert result.ok, result.output


def test_request_uri_without_a_number_gets_484(server: VacantServer, tmp_path: Path) -> None:
    result = run_sipp(invite_scenario(484), server, tmp_path, number="alice")
    assert result.ok, result.output


def test_normalisation_rule_applies_to_the_request_uri(
    server: VacantServer, tmp_path: Path
) -> None:
    scenario = invite_scenario(302, {"Contact:": r"<sip:bob@example\.com>"})
    result = run_sipp(scenario, server, tmp_path, number="1002")
    assert result.ok, result.output


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_options_gets_200_with_allow_accept_supported(
    server: VacantServer, tmp_path: Path, transport: str
) -> None:
    """RFC 3261 §11.2: Allow, Accept and Supported in the 200 to OPTIONS."""
    checks = {"Allow:": "INVITE", "Accept:": "application/sdp", "Supported:": ".*"}
    result = run_sipp(
        options_scenario(checks), server, tmp_path, number="ping", transport=transport
    )
    assert result.ok, result.output


_RETRANSMITTED = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="retransmitted invite">
{send}
  <recv response="100" optional="true"/>
  <recv response="404"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-r
[last_From:]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{send}
  <pause milliseconds="1000"/>
</scenario>
"""
_SAME_INVITE = """  <send><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-r
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>"""


def test_retransmitted_invite_is_absorbed_by_its_transaction(
    server: VacantServer, tmp_path: Path
) -> None:
    """RFC 3261 §17.2.3: a late copy of the INVITE (after the ACK) matches the first INVITE's
    transaction and is absorbed: one transaction and one call, not two."""
    scenario = _RETRANSMITTED.format(send=_SAME_INVITE)
    result = run_sipp(scenario, server, tmp_path, number="+4930123456")
    assert result.ok, result.output
    assert 'kind="invite_server"} 1.0' in _metrics(server)
    assert 'decision="not-found",status="404"} 1.0' in _metrics(server)


def _invite_bytes(port: int, local_port: int, branch: str) -> bytes:
    return (
        f"INVITE sip:+4930123456@{LOCALHOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {LOCALHOST}:{local_port};branch={branch}\r\n"
        f"From: <sip:load@{LOCALHOST}>;tag=f-{branch}\r\nTo: <sip:+4930123456@{LOCALHOST}>\r\n"
        f"Call-ID: {branch}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_final_response_is_retransmitted_until_the_ack(server: VacantServer) -> None:
    """RFC 3261 §17.2.1 Timer G: over UDP the 404 is resent (T1, then doubling) until the ACK
    arrives, and then no more."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOCALHOST, 0))
        sock.settimeout(3)
        local_port = sock.getsockname()[1]
        sock.sendto(
            _invite_bytes(server.sip_port, local_port, "z9hG4bK-g-1"), (LOCALHOST, server.sip_port)
        )
        first = time.monotonic()
        finals = []
        while len(finals) < 4:  # the 404, its copy for the copied INVITE, Timer G at T1, 2*T1
            data = sock.recv(65536).decode()
            if " 404 " in data.split("\r\n")[0]:
                finals.append((time.monotonic() - first, data))
                if len(finals) == 1:  # a retransmitted INVITE gets the final response again
                    sock.sendto(
                        _invite_bytes(server.sip_port, local_port, "z9hG4bK-g-1"),
                        (LOCALHOST, server.sip_port),
                    )
        assert finals[1][0] < 0.3
        assert 0.4 < finals[2][0] < 0.9
        assert 1.2 < finals[3][0] < 2.0
        assert len({d for _, d in finals}) == 1  # byte-identical retransmissions
        to = re.search(r"^To: [^\r\n]*", finals[0][1], re.MULTILINE).group(0)  # type: ignore[union-attr]
        ack = (
            f"ACK sip:+4930123456@{LOCALHOST}:{server.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOCALHOST}:{local_port};branch=z9hG4bK-g-1\r\n"
            f"From: <sip:load@{LOCALHOST}>;tag=f-z9hG4bK-g-1\r\n{to}\r\n"
            "Call-ID: z9hG4bK-g-1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(ack.encode(), (LOCALHOST, server.sip_port))
        sock.settimeout(2.5)
        assert _silent(sock)


def _silent(sock: socket.socket) -> bool:
    """No more final responses until the socket times out."""
    try:
        while True:
            if " 404 " in sock.recv(65536).decode().split("\r\n")[0]:
                return False
    except TimeoutError:
        return True


def test_configuration_change_applies_while_calls_keep_succeeding(
    server: VacantServer, sqlite_url: str, tmp_path: Path
) -> None:
    """Adding a range while SIPp keeps calling: no call fails; the new range takes effect."""
    scenario = invite_scenario(302, {"Contact:": "alice"})
    outcome: dict[str, object] = {}

    def load() -> None:
        outcome["result"] = run_sipp(
            scenario, server, tmp_path, number="+14255551001", calls=300, rate=100, timeout=30
        )

    caller = threading.Thread(target=load)
    caller.start()
    time.sleep(1.0)
    assert (
        main(
            [
                "--db",
                sqlite_url,
                "range",
                "add",
                "New",
                "--start",
                "+14255553000",
                "--end",
                "+14255553999",
                "--auto-attendant",
                "+14255550100",
            ]
        )
        == 0
    )
    caller.join(60)
    result = outcome["result"]
    assert result.ok, result.output  # type: ignore[attr-defined]
    new = invite_scenario(302, {"Contact:": r"\+14255550100@example\.com"})
    deadline = time.monotonic() + 5
    while not (run := run_sipp(new, server, tmp_path, number="+14255553123")).ok:
        assert time.monotonic() < deadline, run.output
        time.sleep(0.2)


def test_untrusted_source_gets_403_and_is_counted(sqlite_url: str, tmp_path: Path) -> None:
    server = start_server(sqlite_url, tmp_path, "--trust", "10.0.0.0/8")
    try:
        result = run_sipp(invite_scenario(403), server, tmp_path, number="+4930123456", calls=3)
        assert result.ok, result.output
        assert _metric(server, "vacant_untrusted_invites_total") == 3
    finally:
        assert server.stop() == 0


def test_overload_above_the_call_rate_gets_503_with_retry_after(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Never an unbounded queue: above --max-rate, INVITEs get 503 + Retry-After at once."""
    server = start_server(sqlite_url, tmp_path, "--max-rate", "5")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOCALHOST, 0))
            sock.settimeout(2)
            for n in range(40):
                invite = _invite_bytes(server.sip_port, sock.getsockname()[1], f"z9hG4bK-o-{n}")
                sock.sendto(invite, (LOCALHOST, server.sip_port))
            finals: dict[int, str] = {}
            while len(finals) < 40:
                data = sock.recv(65536).decode()
                status = int(data.split()[1])
                if status >= 200:
                    finals[int(re.search(r"Call-ID: z9hG4bK-o-(\d+)", data).group(1))] = data  # type: ignore[union-attr]
        statuses = sorted(int(m.split()[1]) for m in finals.values())
        assert statuses.count(404) >= 5
        assert statuses.count(503) >= 20
        assert all("Retry-After: 5" in m for m in finals.values() if " 503 " in m)
        assert _metric(server, "vacant_overload_rejections_total") == statuses.count(503)
    finally:
        assert server.stop() == 0


def test_tls_listener_answers_options(sqlite_url: str, tmp_path: Path) -> None:
    """SIP over TLS (RFC 3261 §26.2): Debian's SIPp is built without TLS, so a Python TLS
    client sends the request."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        port = probe.getsockname()[1]
    server = start_server(
        sqlite_url,
        tmp_path,
        "--sip",
        f"tls:{LOCALHOST}:{port}",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    )
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with socket.create_connection((LOCALHOST, port), timeout=5) as raw, \
                context.wrap_socket(raw) as tls:  # fmt: skip
            tls.sendall(
                f"OPTIONS sip:ping@{LOCALHOST}:{port};transport=tls SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS {LOCALHOST}:5061;branch=z9hG4bK-tls-1\r\n"
                f"From: <sip:tester@{LOCALHOST}>;tag=t1\r\nTo: <sip:ping@{LOCALHOST}>\r\n"
                "Call-ID: tls-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n".encode()
            )
            answer = tls.recv(65536).decode()
        assert answer.startswith("SIP/2.0 200 OK\r\n")
        assert "Allow: " in answer
    finally:
        assert server.stop() == 0


def test_ipv6_loopback_listener_answers_sipp(sqlite_url: str, tmp_path: Path) -> None:
    """RFC 5118: IPv6 listeners and Via sent-by references."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    server = start_server(sqlite_url, tmp_path, "--sip", f"udp:[::1]:{port}")
    server.sip_port = port
    try:
        result = run_sipp(
            invite_scenario(404), server, tmp_path, number="+4930123456", host="[::1]", local="::1"
        )
        assert result.ok, result.output
    finally:
        assert server.stop() == 0
