"""The prompts of the announcements this server plays, encoded once and shared by every call.

Built with the routing snapshot (in the reload worker thread, from
``vacant.store.prompts.prompts_for_pools``): a call never reads the store. A ``Prompt`` is one
prompt version (the sha256 of its PCM) with or without the Special Information Tone in front; its
20 ms frames are encoded for every codec when the cache is built, in that worker thread, and kept:
encoding takes ~0.6 ms per second of audio per codec, so on a call's first use it would stop the
event loop, every call's media and SIP with it, for 70 ms for a 2-minute prompt. A rebuilt cache
takes over the ``Prompt`` objects whose version did not change, with their frames.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from vacant.media.offer_answer import Codec
from vacant.routing.model import Announcement
from vacant.store.prompts import PromptAudio

#: (pcm16k, codec) -> 20 ms payloads: ``vacant.media.frames.encode``.
Encoder = Callable[[bytes, Codec], tuple[bytes, ...]]


@dataclass(frozen=True, slots=True)
class PromptKey:
    version: str
    sit: bool


class Prompt:
    """One prompt's PCM (mono s16le 16 kHz, SIT included) and its frames per codec."""

    __slots__ = ("_encode", "_frames", "duration", "key", "pcm")

    def __init__(self, key: PromptKey, pcm: bytes, encode: Encoder) -> None:
        self.key = key
        self.pcm = pcm
        self.duration = len(pcm) / 32000
        self._encode = encode
        self._frames: dict[Codec, tuple[bytes, ...]] = {}

    def frames(self, codec: Codec) -> tuple[bytes, ...]:
        """The prompt's 20 ms payloads in ``codec``: encoded once, then kept."""
        frames = self._frames.get(codec)
        if frames is None:
            frames = self._frames[codec] = self._encode(self.pcm, codec)
        return frames

    @property
    def encoded(self) -> frozenset[Codec]:
        return frozenset(self._frames)


class PromptCache:
    """Announcement id → ``Prompt`` (``None``: the announcement has no prompt audio)."""

    __slots__ = ("_by_announcement", "_prompts")

    def __init__(self) -> None:
        self._by_announcement: dict[uuid.UUID, Prompt] = {}
        self._prompts: dict[PromptKey, Prompt] = {}

    def __len__(self) -> int:
        return len(self._by_announcement)

    def get(self, announcement: Announcement) -> Prompt | None:
        return self._by_announcement.get(announcement.id)

    def has(self, version: str, sit: bool) -> bool:
        """Whether the cache holds the prompt of this version (with the SIT or without)."""
        return PromptKey(version, sit) in self._prompts

    def rebuild(
        self,
        announcements: Iterable[Announcement],
        audio: Mapping[uuid.UUID, PromptAudio],
        encode: Encoder,
        sit: Callable[[], bytes],
        versions: Mapping[uuid.UUID, str | None] | None = None,
    ) -> PromptCache:
        """A new cache for ``announcements`` given their ``audio``; prompts whose version and
        SIT flag did not change are taken over with their encoded frames. An announcement with no
        ``audio`` keeps its prompt when ``versions`` gives a version this cache holds (so a reload
        reads only the audio that changed). ``sit`` gives the Special Information Tone's PCM
        (called only when an announcement wants it)."""
        cache = PromptCache()
        tone: bytes | None = None
        known = versions or {}
        for announcement in announcements:
            found = audio.get(announcement.id)
            version = found.version if found is not None else known.get(announcement.id)
            if version is None:
                continue
            key = PromptKey(version, announcement.sit)
            prompt = cache._prompts.get(key) or self._prompts.get(key)
            if prompt is None:
                if found is None:
                    continue
                pcm = found.pcm
                if announcement.sit:
                    if tone is None:
                        tone = sit()
                    pcm = tone + pcm
                prompt = Prompt(key, pcm, encode)
                for codec in Codec:  # now, in the reload thread: never on a call's first use
                    prompt.frames(codec)
            cache._prompts[key] = prompt
            cache._by_announcement[announcement.id] = prompt
        return cache
