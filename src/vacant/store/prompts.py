"""The prompts announcements play: decoded audio files and rendered text-to-speech.

An audio file is decoded when it is imported (:func:`decode_file`, called by ``add_file``) and a
text-to-speech prompt is rendered when its announcement is created or its text or language
changes (:func:`render_tts`, called by the announcement writes and the configuration import):
both are stored as mono s16le PCM at 16 kHz with their SHA-256, so a call never decodes or
renders anything. :func:`prompt_audio` and :func:`prompts_for_pools` load them for the server.

Files imported, and announcements made, before migration 0004 have no stored PCM: they are
decoded or rendered here on demand, the result is written to their row (in the caller's
transaction) and a warning says so. An audio file that cannot be decoded falls back to the
announcement's text-to-speech prompt, if it has one; otherwise the announcement has no prompt.

The media modules (PyAV, numpy, espeak-ng) are imported when first needed, so the commands and
the server paths that never decode or render do not pay for loading them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
import wave
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from vacant.errors import MediaError, NotFound, ValidationError
from vacant.routing.model import DEFAULT_MAX_DURATION, Announcement
from vacant.store.models import AnnouncementFileRow, AnnouncementRow

if TYPE_CHECKING:
    from vacant.media.prompts import DecodedPrompt

log = logging.getLogger(__name__)

#: The prompts' PCM: mono s16le at this rate (as :data:`vacant.media.prompts.SAMPLE_RATE`).
SAMPLE_RATE = 16000
_BYTES_PER_SECOND = 2 * SAMPLE_RATE


@dataclass(frozen=True)
class PromptAudio:
    """A prompt as callers hear it: mono s16le PCM at 16 kHz. ``version`` is the SHA-256 (hex)
    of ``pcm``: equal versions, equal audio (the server's frame cache is keyed by it)."""

    version: str
    pcm: bytes
    duration: float

    @classmethod
    def of(cls, pcm: bytes, version: str | None = None) -> PromptAudio:
        digest = version if version is not None else hashlib.sha256(pcm).hexdigest()
        return cls(digest, pcm, len(pcm) / _BYTES_PER_SECOND)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered text-to-speech prompt, as stored with its announcement."""

    pcm: bytes
    sha256: str


def decode_file(content: bytes, *, max_duration: float = DEFAULT_MAX_DURATION) -> DecodedPrompt:
    """Decode an audio file being imported (ValidationError ``file`` when it cannot be a
    prompt: see :func:`vacant.media.prompts.decode`)."""
    from vacant.media import prompts as media_prompts  # PyAV: loaded only to decode

    return media_prompts.decode(content, max_duration=max_duration)


def render_tts(value: Announcement) -> Rendered | None:
    """Render ``value``'s text-to-speech prompt (None when it has none). A locale without a
    voice, or a text that speaks too long or says nothing, is a ValidationError."""
    if value.tts_text is None or value.language is None:
        return None
    from vacant.media import tts  # espeak-ng and PyAV: loaded only to render

    speech = tts.render(value.tts_text, value.language)
    return Rendered(speech.pcm, hashlib.sha256(speech.pcm).hexdigest())


def tts_needs_render(
    before: Announcement | None, after: Announcement, stored: bytes | None = None
) -> bool:
    """Whether a write of ``after`` (over ``before``) must render its text-to-speech prompt:
    it has one, and it is new, its text or language changed, or none is stored yet."""
    if after.tts_text is None:
        return False
    if before is None or stored is None:
        return True
    return (before.tts_text, before.language) != (after.tts_text, after.language)


# --- what a caller hears ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Playout:
    """What a caller of an announcement hears: ``repeat`` times the SIT (when set; empty
    otherwise) followed by the prompt. The server plays it so: the SIT is part of the prompt it
    caches and repeats (``vacant.service.prompt_cache``), as intercept announcements repeat the
    tone with each cycle."""

    sit: bytes
    prompt: PromptAudio
    repeat: int

    @property
    def duration(self) -> float:
        return (len(self.sit) + len(self.prompt.pcm)) * self.repeat / _BYTES_PER_SECOND

    def chunks(self) -> Iterator[bytes]:
        """The PCM in pieces (a long prompt repeated is never joined in memory)."""
        for _ in range(self.repeat):
            if self.sit:
                yield self.sit
            yield self.prompt.pcm


def playout(s: Session, ann: Announcement) -> Playout:
    """What a caller of ``ann`` hears. NotFound when it has no prompt (nothing to hear)."""
    audio = prompt_audio(s, ann.id)
    if audio is None:
        raise NotFound(
            f"announcement {ann.pool}/{ann.name} has no prompt (no audio file that plays and no"
            " text-to-speech): callers hear nothing before they are transferred or hung up"
        )
    from vacant.media.tones import sit_vacant_code

    return Playout(sit_vacant_code(SAMPLE_RATE) if ann.sit else b"", audio, ann.repeat)


def to_wav(pcm: bytes) -> bytes:
    """Prompt PCM as a WAV file (RIFF, 16-bit PCM, mono, 16 kHz)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


# --- loading -------------------------------------------------------------------------------


def prompt_audio(s: Session, announcement_id: uuid.UUID) -> PromptAudio | None:
    """The prompt of an announcement: its audio file's decoded PCM, else its rendered
    text-to-speech; None when it has no prompt. NotFound when there is no such announcement."""
    row = s.get(AnnouncementRow, str(announcement_id))
    if row is None:
        raise NotFound(f"no announcement has the id {announcement_id}")
    files: dict[tuple[str, str], AnnouncementFileRow] = {}
    if row.audio_file is not None:
        file_row = s.scalar(
            select(AnnouncementFileRow)
            .options(defer(AnnouncementFileRow.content))
            .where(AnnouncementFileRow.pool == row.pool, AnnouncementFileRow.name == row.audio_file)
        )
        if file_row is not None:
            files[(row.pool, row.audio_file)] = file_row
    return _prompt_of(row, files, {})


def prompts_for_pools(
    s: Session, pools: Collection[str], *, only: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, PromptAudio]:
    """The prompts of every announcement of ``pools`` that has one, by announcement id (two
    announcements playing the same file share one PromptAudio); only those of the announcements
    ``only`` names when given (the others' audio is not read)."""
    names = sorted({p.strip().lower() for p in pools})
    if not names or (only is not None and not only):
        return {}
    announcements = select(AnnouncementRow).where(AnnouncementRow.pool.in_(names))
    if only is not None:
        announcements = announcements.where(AnnouncementRow.id.in_(sorted(str(i) for i in only)))
    rows = list(s.scalars(announcements))
    wanted = {(r.pool, r.audio_file) for r in rows if r.audio_file is not None}
    files: dict[tuple[str, str], AnnouncementFileRow] = {}
    if wanted:
        t = AnnouncementFileRow
        query = select(t).options(defer(t.content)).where(t.pool.in_(names))
        for file_row in s.scalars(query):
            if (file_row.pool, file_row.name) in wanted:
                files[(file_row.pool, file_row.name)] = file_row
    shared: dict[tuple[str, str], PromptAudio | None] = {}
    found = {}
    for row in rows:
        audio = _prompt_of(row, files, shared)
        if audio is not None:
            found[uuid.UUID(row.id)] = audio
    return found


def prompt_versions(s: Session, pools: Collection[str]) -> dict[uuid.UUID, str | None]:
    """The version (PCM SHA-256) of each prompt of ``pools`` without loading any audio: a cheap
    check of what changed. None for a prompt not decoded or rendered yet (made before
    migration 0004: load it with :func:`prompts_for_pools`)."""
    names = sorted({p.strip().lower() for p in pools})
    a, f = AnnouncementRow, AnnouncementFileRow
    rows = s.execute(
        select(a.id, a.tts_text, a.tts_sha256, f.pcm_sha256, f.id)
        .outerjoin(f, (f.pool == a.pool) & (f.name == a.audio_file))
        .where(a.pool.in_(names))
    )
    versions: dict[uuid.UUID, str | None] = {}
    for ann_id, tts_text, tts_sha, file_sha, file_id in rows:
        if file_id is not None:
            versions[uuid.UUID(ann_id)] = file_sha
        elif tts_text is not None:
            versions[uuid.UUID(ann_id)] = tts_sha
    return versions


def _prompt_of(
    row: AnnouncementRow,
    files: dict[tuple[str, str], AnnouncementFileRow],
    shared: dict[tuple[str, str], PromptAudio | None],
) -> PromptAudio | None:
    if row.audio_file is not None:
        key = (row.pool, row.audio_file)
        if key not in shared:
            file_row = files.get(key)
            shared[key] = None if file_row is None else _file_audio(file_row)
        audio = shared[key]
        if audio is not None:
            return audio
    if row.tts_text is not None:
        return _tts_audio(row)
    return None


def _file_audio(row: AnnouncementFileRow) -> PromptAudio | None:
    if row.pcm is not None:
        return PromptAudio.of(row.pcm, row.pcm_sha256)
    log.warning(
        "audio file %s/%s was imported before prompts were decoded at import: decoding it now",
        row.pool,
        row.name,
    )
    from vacant.media import prompts as media_prompts

    try:
        decoded = media_prompts.decode(row.content)
    except (ValidationError, MediaError) as exc:
        log.warning("audio file %s/%s cannot be played: %s", row.pool, row.name, exc)
        return None
    audio = PromptAudio.of(decoded.pcm)
    row.pcm, row.pcm_sha256 = decoded.pcm, audio.version
    row.duration, row.peak_dbfs = decoded.duration, decoded.peak_dbfs
    return audio


def _tts_audio(row: AnnouncementRow) -> PromptAudio | None:
    if row.tts_pcm is not None:
        return PromptAudio.of(row.tts_pcm, row.tts_sha256)
    log.warning(
        "announcement %s/%s was made before text-to-speech was rendered at configuration:"
        " rendering it now",
        row.pool,
        row.name,
    )
    from vacant.media import tts

    try:
        speech = tts.render(row.tts_text or "", row.language or "")
    except (ValidationError, MediaError) as exc:
        log.warning("announcement %s/%s: text-to-speech failed: %s", row.pool, row.name, exc)
        return None
    audio = PromptAudio.of(speech.pcm)
    row.tts_pcm, row.tts_sha256 = speech.pcm, audio.version
    return audio
