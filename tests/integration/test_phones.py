"""Announcements proved against real phones (issue 4, "Proved against real peers").

Debian's baresip and linphonec call a real ``vacant serve``, record what they hear, and the
recording is compared with the configured prompt (:mod:`tests.integration.audio`): a generated
multi-tone prompt by its tones, over PCMU, PCMA and G.722; a TTS prompt by its energy envelope
against ``vacant announcement preview``. With a target, the phone follows vacant's REFER
(RFC 3515) to a SIPp user agent server the test runs, and vacant's call record says so.

The first tests prove the analysis (a wrong prompt, silence and noise fail it) and the harness
(:mod:`tests.integration.phones`) without vacant: SIPp plays vacant's part, so a failure below
them is vacant's, not the phones'.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.integration.audio import (
    Audio,
    Tone,
    check_envelope,
    check_tones,
    concat,
    encode,
    noise,
    read_wav,
    silence,
    spectral_peaks,
    through_codec,
    tones,
    write_wav,
)
from tests.integration.peers import LOCALHOST, VacantServer, start_server
from tests.integration.phones import (
    PAYLOAD_TYPES,
    Baresip,
    Linphone,
    SippUas,
    announcer_scenario,
    answer_scenario,
    free_udp_ports,
)
from vacant.cli.main import main
from vacant.media import tts

CODECS = ["PCMU", "PCMA", "G722"]
#: The generated prompt: four tones inside G.711's band, none near linphonec's 440/480 Hz.
PROMPT = (Tone(600, 0.6), Tone(1100, 0.6), Tone(1700, 0.6), Tone(2500, 0.6))
SPEECH = "The number you have dialled is not in service. Please check the number and try again."
OTHER_SPEECH = "Welcome to the help desk. All our agents are busy, please call again later."
POOL = "phones.example.com"
NUMBER = "+14255552001"


def _speech(text: str) -> Audio:
    rendered = tts.render(text, "en-US")
    return Audio(np.frombuffer(rendered.pcm, dtype="<i2").astype(np.float64) / 32768.0, 16000)


def _buried(clean: Audio) -> Audio:
    """``clean`` under loud noise: its tones still dominate, its energy does not."""
    return Audio(clean.samples + noise(clean.duration, clean.rate, level=0.9).samples, clean.rate)


# --- the analysis: the right prompt passes through each codec, anything else fails -----------


@pytest.mark.parametrize("codec", CODECS)
def test_tone_check_accepts_the_prompt_through_each_codec_after_a_delay(codec: str) -> None:
    heard = through_codec(tones(PROMPT), codec)
    heard = concat(silence(0.5, heard.rate), heard, silence(1.0, heard.rate))
    assert check_tones(heard, PROMPT) == []
    assert sorted(round(p) for p in spectral_peaks(heard, 4)) == [600, 1100, 1700, 2500]


WRONG_TONES = {
    "one wrong tone": lambda: tones((Tone(600, 0.6), Tone(1300, 0.6), *PROMPT[2:])),
    "tones in another order": lambda: tones((PROMPT[1], PROMPT[0], *PROMPT[2:])),
    "cut short": lambda: tones(PROMPT[:2]),
    "played twice": lambda: tones(PROMPT + PROMPT),
    "silence": lambda: silence(2.4, 16000),
    "noise": lambda: noise(2.4, 16000),
    "the prompt buried in noise": lambda: _buried(tones(PROMPT)),
}


@pytest.mark.parametrize("name", WRONG_TONES)
def test_tone_check_rejects_a_wrong_prompt_silence_and_noise(name: str) -> None:
    heard = through_codec(WRONG_TONES[name](), "PCMU")
    assert check_tones(heard, PROMPT) != [], name


def test_tone_check_bridges_a_lost_packet_but_not_a_missing_tone() -> None:
    heard = through_codec(tones(PROMPT), "PCMU")
    lost = heard.samples.copy()
    lost[round(0.8 * 8000) : round(0.84 * 8000)] = 0.0  # 40 ms inside the second tone
    assert check_tones(Audio(lost, 8000), PROMPT) == []
    lost[round(0.62 * 8000) : round(1.18 * 8000)] = 0.0  # the whole second tone
    assert check_tones(Audio(lost, 8000), PROMPT) != []


@pytest.mark.parametrize("codec", CODECS)
def test_envelope_check_accepts_the_spoken_prompt_through_each_codec(codec: str) -> None:
    reference = _speech(SPEECH)
    heard = through_codec(reference, codec)
    heard = concat(silence(0.7, heard.rate), heard, silence(0.5, heard.rate))
    assert check_envelope(heard, reference) == []


@pytest.mark.parametrize("name", ["other words", "silence", "noise", "cut short"])
def test_envelope_check_rejects_other_speech_silence_noise_and_a_cut(name: str) -> None:
    reference = _speech(SPEECH)
    heard = {
        "other words": lambda: _speech(OTHER_SPEECH),
        "silence": lambda: silence(reference.duration, 16000),
        "noise": lambda: noise(reference.duration, 16000),
        "cut short": lambda: reference.slice(0, reference.duration / 2),
    }[name]()
    assert check_envelope(through_codec(heard, "PCMU"), reference) != [], name


# --- the harness without vacant: SIPp plays the announcement and the transfer ---------------


def _announcer(tmp_path: Path, codec: str, refer_to: str) -> SippUas:
    raw = tmp_path / f"prompt.{codec.lower()}"
    raw.write_bytes(encode(tones(PROMPT), codec))
    seconds = sum(t.seconds for t in PROMPT) + 0.3
    scenario = announcer_scenario(codec=codec, audio=raw, play_seconds=seconds, refer_to=refer_to)
    return SippUas(tmp_path, scenario, name="announcer", timeout=20)


def _assert_refer_followed(phone: Baresip, peer: int, target: str) -> None:
    """The transfer as baresip saw it (RFC 3515 §2.4): the REFER from port ``peer`` names
    ``target`` in Refer-To and has a Referred-By (RFC 3892); baresip answers 202, reports
    progress in NOTIFYs of message/sipfrag ending with 200 (§2.4.5), each answered 200; then the
    referrer's BYE ends the first call."""
    messages = phone.sip_messages(peer)
    trace = "\n".join(("<- " if m.received else "-> ") + m.first_line for m in messages)
    [refer] = [m for m in messages if m.received and m.first_line.startswith("REFER ")]
    assert target in (refer.header("Refer-To") or ""), refer.text
    assert refer.header("Referred-By"), refer.text
    after = messages[messages.index(refer) + 1 :]
    assert after[0].first_line == "SIP/2.0 202 Accepted", trace
    notifies = [m for m in after if not m.received and m.first_line.startswith("NOTIFY ")]
    assert notifies, trace
    assert all(n.header("Content-Type") == "message/sipfrag" for n in notifies), trace
    assert "SIP/2.0 200" in notifies[-1].text.split("\n\n", 1)[1], notifies[-1].text
    answers = [m for m in after if m.received and m.first_line.startswith("SIP/2.0 200")]
    answered = [m for m in answers if "NOTIFY" in str(m.header("CSeq"))]
    assert len(answered) == len(notifies), trace
    byes = [m for m in after if m.received and m.first_line.startswith("BYE ")]
    assert len(byes) == 1, trace
    assert after.index(byes[0]) > after.index(notifies[-1]), trace


@pytest.mark.parametrize("codec", CODECS)
def test_harness_baresip_records_the_prompt_and_follows_a_refer(codec: str, tmp_path: Path) -> None:
    with (
        SippUas(tmp_path, answer_scenario(), name="operator", timeout=20) as target,
        _announcer(tmp_path, codec, target.uri("operator")) as announcer,
        Baresip(tmp_path, codec=codec, far_end=announcer.errors) as phone,
    ):
        phone.dial(announcer.uri(NUMBER), seconds=15)
        phone.wait_for(r"Call established: sip:operator@", 10)
        assert announcer.wait(10) == 0, announcer.errors()
        phone.hang_up()
        assert target.wait(10) == 0, target.errors()
    assert f"Set audio decoder: {codec}" in phone.output
    offer = announcer.received("INVITE")[0].text
    assert re.search(rf"^m=audio \d+ RTP/AVP {PAYLOAD_TYPES[codec]}( 10[01])?$", offer, re.M), offer
    first, second = phone.recordings()
    assert check_tones(read_wav(first), PROMPT) == []
    _assert_refer_followed(phone, announcer.sip_port, target.uri("operator"))
    assert len(target.received("INVITE")) == 1
    assert second.exists()  # the call to the target has its own recording


def test_harness_linphone_holds_records_the_prompt_and_follows_a_refer(tmp_path: Path) -> None:
    with (
        SippUas(tmp_path, answer_scenario(), name="operator", timeout=20) as target,
        _announcer(tmp_path, "PCMU", target.uri("operator")) as announcer,
        Linphone(tmp_path, far_end=announcer.errors) as phone,
    ):
        phone.dial(announcer.uri(NUMBER))
        phone.wait_for(r"Call \d+ with sip:operator@\S* connected", 10)
        assert announcer.wait(10) == 0, announcer.errors()
        phone.terminate_all()
        assert target.wait(10) == 0, target.errors()
    holds = [m for m in announcer.received("INVITE")[1:] if "a=sendonly" in m.text]
    assert len(holds) == 1, "linphonec puts the call on hold before it follows the REFER"
    assert check_tones(read_wav(phone.recording), PROMPT) == []


# --- vacant -----------------------------------------------------------------------------------


class Vacant:
    """A database configured with the CLI (in-process) and ``vacant serve`` on it."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path = tmp_path
        self.capsys = capsys
        self.db_url = f"sqlite:///{tmp_path / 'vacant.db'}"
        self.server: VacantServer | None = None
        self("db", "upgrade")
        self("pool", "add", POOL)

    def __call__(self, *args: str) -> str:
        self.capsys.readouterr()
        code = main(["--db", self.db_url, *args])
        captured = self.capsys.readouterr()
        assert code == 0, f"vacant {' '.join(args)}: exit {code}\n{captured.out}{captured.err}"
        return captured.out

    def announce(self, name: str, *prompt: str, target: str | None = None) -> None:
        """Announcement ``name`` (``prompt``: --audio-file F or --tts T --language L) for
        :data:`NUMBER`'s range."""
        extra = ("--target", target) if target else ()
        self("announcement", "add", name, "--pool", POOL, *prompt, *extra)
        self("range", "add", f"{name} range", "--start", NUMBER, "--end", NUMBER,
             "--announcement", name, "--pool", POOL)  # fmt: skip

    def tone_prompt(self) -> None:
        path = write_wav(self.tmp_path / "tones.wav", tones(PROMPT))
        self("announcement", "import-file", "--pool", POOL, str(path))

    def serve(self) -> VacantServer:
        """``vacant serve`` with RTP ports of its own, below the ephemeral range free ports come
        from; started again when another process took its SIP port before it could bind it."""
        for attempt in range(3):
            rtp = free_udp_ports(40, within=(30000, 32700))
            try:
                self.server = start_server(
                    self.db_url, self.tmp_path, "--pool", POOL, "--rtp-ports", f"{rtp}-{rtp + 39}"
                )
            except pytest.fail.Exception as exc:
                if "address already in use" not in str(exc) or attempt == 2:
                    raise
                continue
            return self.server
        raise AssertionError("unreachable")

    def log(self) -> str:
        return self.server.output() if self.server else ""

    def uri(self, number: str = NUMBER) -> str:
        assert self.server is not None
        return f"sip:{number}@{LOCALHOST}:{self.server.sip_port}"

    def call_record(self, timeout: float = 10.0) -> dict[str, Any]:
        """The call record of the one call to :data:`NUMBER` once it has an outcome
        (``vacant calls list --json``; records are written in batches)."""
        deadline = time.monotonic() + timeout
        while True:
            records = json.loads(self("calls", "list", "--json", "--number", NUMBER))
            if records and records[0].get("outcome"):
                assert len(records) == 1, records
                record: dict[str, Any] = records[0]
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no call record with an outcome: {records}\n{self.log()}")
            time.sleep(0.2)


@pytest.fixture
def vacant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Vacant]:
    made = Vacant(tmp_path, capsys)
    yield made
    if made.server is not None:
        assert made.server.stop() == 0, made.server.output()


def _hung_up_by_vacant(phone: Baresip) -> None:
    """Wait for the end of baresip's call to vacant (vacant's BYE; its recording is closed)."""
    phone.wait_for(rf"Call with sip:\{NUMBER}@\S+ terminated", 15)


@pytest.mark.parametrize("codec", CODECS)
def test_baresip_hears_the_tone_prompt_over_each_codec_then_vacant_hangs_up(
    codec: str, vacant: Vacant, tmp_path: Path
) -> None:
    vacant.tone_prompt()
    vacant.announce("Tones", "--audio-file", "tones.wav")
    vacant.serve()
    with Baresip(tmp_path, codec=codec, far_end=vacant.log) as phone:
        phone.dial(vacant.uri(), seconds=20)
        phone.wait_for(r"Call established", 10)
        _hung_up_by_vacant(phone)
    assert f"Set audio decoder: {codec}" in phone.output
    assert vacant.server is not None
    assert len(phone.received("BYE", vacant.server.sip_port)) == 1, "vacant hangs up"
    [recording] = phone.recordings()
    problems = check_tones(read_wav(recording), PROMPT)
    assert problems == [], f"{recording}: {problems}"
    record = vacant.call_record()
    assert record["outcome"] == "completed"
    assert record["prompt_seconds"] == pytest.approx(2.4, abs=0.1)


def test_baresip_hears_the_prompt_over_srtp_when_it_offers_rtp_savp_rfc3711_rfc4568(
    vacant: Vacant, tmp_path: Path
) -> None:
    """An RTP/SAVP offer with SDES keys is answered RTP/SAVP with our own key, and the prompt
    reaches the phone encrypted: baresip (srtp-mand) decrypts it and records the tones."""
    vacant.tone_prompt()
    vacant.announce("Tones", "--audio-file", "tones.wav")
    vacant.serve()
    with Baresip(tmp_path, codec="PCMU", far_end=vacant.log, srtp=True) as phone:
        phone.dial(vacant.uri(), seconds=20)
        phone.wait_for(r"Call established", 10)
        _hung_up_by_vacant(phone)
    assert vacant.server is not None
    [answer] = [
        message.text
        for message in phone.received("SIP/2.0 200", vacant.server.sip_port)
        if "INVITE" in (message.header("CSeq") or "") and "m=audio" in message.text
    ]
    assert "RTP/SAVP" in answer
    assert "a=crypto:" in answer
    [recording] = phone.recordings()
    problems = check_tones(read_wav(recording), PROMPT)
    assert problems == [], f"{recording}: {problems}"
    assert vacant.call_record()["outcome"] == "completed"


def test_baresip_hears_the_tts_prompt_as_the_preview_renders_it(
    vacant: Vacant, tmp_path: Path
) -> None:
    vacant.announce("Speech", "--tts", SPEECH, "--language", "en-US")
    preview = tmp_path / "preview.wav"
    vacant("announcement", "preview", "Speech", "--pool", POOL, "--out", str(preview))
    vacant.serve()
    with Baresip(tmp_path, codec="PCMU", far_end=vacant.log) as phone:
        phone.dial(vacant.uri(), seconds=25)
        phone.wait_for(r"Call established", 10)
        _hung_up_by_vacant(phone)
    [recording] = phone.recordings()
    problems = check_envelope(read_wav(recording), read_wav(preview))
    assert problems == [], f"{recording} against {preview}: {problems}"
    assert vacant.call_record()["outcome"] == "completed"


def test_baresip_follows_the_refer_to_the_target_after_the_prompt(
    vacant: Vacant, tmp_path: Path
) -> None:
    with SippUas(tmp_path, answer_scenario(), name="operator", timeout=40) as target:
        vacant.tone_prompt()
        vacant.announce("Moved", "--audio-file", "tones.wav", target=target.uri("operator"))
        vacant.serve()
        with Baresip(tmp_path, codec="PCMU", far_end=vacant.log) as phone:
            phone.dial(vacant.uri(), seconds=25)
            # baresip answers the REFER (202, NOTIFY 100 and 200) and dials the Refer-To URI.
            phone.wait_for(r"Call established: sip:operator@", 15)
            _hung_up_by_vacant(phone)  # vacant's BYE once the NOTIFY said 200
            phone.hang_up()
        assert target.wait(10) == 0, target.errors()
    assert vacant.server is not None
    _assert_refer_followed(phone, vacant.server.sip_port, target.uri("operator"))
    [invite] = target.received("INVITE")
    assert invite.first_line.startswith(f"INVITE {target.uri('operator')}")
    first = phone.recordings()[0]
    assert check_tones(read_wav(first), PROMPT) == []
    record = vacant.call_record()
    assert record["outcome"] == "transferred"
    assert record["transfer_target"] == target.uri("operator")


def test_linphone_holds_hears_the_prompt_and_follows_the_refer(
    vacant: Vacant, tmp_path: Path
) -> None:
    with SippUas(tmp_path, answer_scenario(), name="operator", timeout=40) as target:
        vacant.tone_prompt()
        vacant.announce("Moved", "--audio-file", "tones.wav", target=target.uri("operator"))
        vacant.serve()
        with Linphone(tmp_path, far_end=vacant.log) as phone:
            phone.dial(vacant.uri())
            # linphonec puts vacant's call on hold (re-INVITE, a=sendonly) before it follows.
            phone.wait_for(rf"Call \d+ with sip:\{NUMBER}@\S* is now paused", 15)
            phone.wait_for(r"Call \d+ with sip:operator@\S* connected", 10)
            phone.wait_for(rf"Call \d+ with sip:\{NUMBER}@\S* ended", 10)
            phone.terminate_all()
        assert target.wait(10) == 0, target.errors()
    # "is now paused" needs vacant's 200 to the hold re-INVITE; the hold comes first.
    assert phone.output.index("Pausing call") < phone.output.index("to sip:operator@"), phone.output
    assert len(target.received("INVITE")) == 1
    problems = check_tones(read_wav(phone.recording), PROMPT)
    assert problems == [], f"{phone.recording}: {problems}"
    record = vacant.call_record()
    assert record["outcome"] == "transferred"
    assert record["transfer_target"] == target.uri("operator")
