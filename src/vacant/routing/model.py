"""The configuration objects of the unassigned number table, validated as Lync validates them.

These are plain frozen values: the store builds them from rows and the routing snapshot reads
them. Every ``validate_*`` / ``*.create`` function checks a whole object before anything is
written, and raises :class:`~vacant.errors.ValidationError` naming the field and the rule.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from vacant.errors import InvalidNumber, ValidationError
from vacant.routing.numbers import (
    Number,
    compile_pattern,
    compile_translation,
    order_key,
    parse_bound,
)

#: The 26 text-to-speech locales of Lync Server 2013 (New-CsAnnouncement -Language).
LOCALES = frozenset(
    [
        "ca-ES",
        "da-DK",
        "de-DE",
        "en-AU",
        "en-CA",
        "en-GB",
        "en-IN",
        "en-US",
        "es-ES",
        "es-MX",
        "fi-FI",
        "fr-CA",
        "fr-FR",
        "it-IT",
        "ja-JP",
        "ko-KR",
        "nb-NO",
        "nl-NL",
        "pl-PL",
        "pt-BR",
        "pt-PT",
        "ru-RU",
        "sv-SE",
        "zh-CN",
        "zh-HK",
        "zh-TW",
    ]
)

#: A pool id is FQDN-like: dot-separated DNS labels (RFC 1035 §2.3.1, digits allowed first).
_POOL_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
#: Announcement target: sip: (or sips:) user@host with optional parameters, or a global tel: URI.
_SIP_TARGET = re.compile(r"sips?:[^@\s<>\"]+@[A-Za-z0-9.\-\[\]:]+(?:;[^\s<>\"]*)?")
_TEL_TARGET = re.compile(r"tel:\+[0-9][0-9\-.()]{0,31}(?:;[^\s<>\"]*)?")
_FILE_NAME = re.compile(r"[^/\\\x00-\x1f]{1,255}")
MAX_NAME = 256
MAX_TEXT = 4000
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024
#: The default limit of an imported prompt's length, in seconds (10 minutes).
DEFAULT_MAX_DURATION = 600.0
#: The most times an announcement's prompt may play.
MAX_REPEAT = 100


def _name(value: str, field_name: str, limit: int = MAX_NAME) -> str:
    text = value.strip()
    if not text or len(text) > limit or any(ord(c) < 32 for c in text):
        raise ValidationError(field_name, f"must be 1 to {limit} printable characters")
    return text


def validate_pool_name(value: str, field_name: str = "pool") -> str:
    """A pool id, e.g. ``pool1.example.com``."""
    if not _POOL_NAME.fullmatch(value):
        raise ValidationError(
            field_name, f"{value[:40]!r} is not an FQDN-like name (letters, digits, - and dots)"
        )
    return value.lower()


def validate_target_uri(value: str, field_name: str = "target") -> str:
    """A transfer target: ``sip:user@domain`` (``;user=phone``, ``;opaque=app:voicemail``)
    or ``tel:+...``."""
    text = value.strip()
    if len(text) > MAX_NAME or not (_SIP_TARGET.fullmatch(text) or _TEL_TARGET.fullmatch(text)):
        raise ValidationError(
            field_name,
            f"{value[:60]!r} is not sip:user@domain[;params] or tel:+number[;params]",
        )
    return text


def _int_in(value: object, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field_name, f"must be an integer from {low} to {high}")
    return value


def _flag(value: object, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field_name, "must be true or false")
    return value


def validate_file_name(value: str, field_name: str = "file") -> str:
    if not _FILE_NAME.fullmatch(value) or value in {".", ".."}:
        raise ValidationError(field_name, "must be 1 to 255 characters without / \\ or controls")
    return value


#: Automatic failover: a pool is down when none of its instances heartbeated for
#: ``down_after`` seconds; its backup stops covering once one has been healthy ``failback_after``.
DEFAULT_DOWN_AFTER = 10.0
DEFAULT_FAILBACK_AFTER = 30.0
MIN_DOWN_AFTER = 1.0
MAX_DOWN_AFTER = 3600.0
MAX_FAILBACK_AFTER = 86400.0


def _seconds(value: float, field_name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(field_name, f"must be a number of seconds from {low:g} to {high:g}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Pool:
    """A group of vacant servers that serve the same announcements (Lync's pool).

    With ``auto_failover``, the servers of the backup pool answer this pool's ranges while it
    is down (see ``docs/pools.md``)."""

    name: str
    backup: str | None = None
    description: str = ""
    auto_failover: bool = False
    down_after: float = DEFAULT_DOWN_AFTER
    failback_after: float = DEFAULT_FAILBACK_AFTER

    @classmethod
    def create(
        cls,
        name: str,
        backup: str | None = None,
        description: str = "",
        *,
        auto_failover: bool = False,
        down_after: float = DEFAULT_DOWN_AFTER,
        failback_after: float = DEFAULT_FAILBACK_AFTER,
    ) -> Pool:
        pool_name = validate_pool_name(name, "name")
        backup_name = None if backup is None else validate_pool_name(backup, "backup")
        if backup_name == pool_name:
            raise ValidationError("backup", "a pool cannot be its own backup")
        if len(description) > MAX_TEXT:
            raise ValidationError("description", f"must be at most {MAX_TEXT} characters")
        if not isinstance(auto_failover, bool):
            raise ValidationError("auto-failover", "must be true or false")
        if auto_failover and backup_name is None:
            raise ValidationError("auto-failover", "needs a backup pool (--backup)")
        return cls(
            pool_name,
            backup_name,
            description,
            auto_failover,
            _seconds(down_after, "down-after", MIN_DOWN_AFTER, MAX_DOWN_AFTER),
            _seconds(failback_after, "failback-after", 0.0, MAX_FAILBACK_AFTER),
        )


@dataclass(frozen=True, slots=True)
class Announcement:
    """What a caller hears (audio file or TTS) and where they go next (target URI).

    No prompt and no target means busy (Lync's "Busy" example). When both an audio file and a
    TTS prompt are set, the audio file wins and :meth:`warnings` says so.
    """

    id: uuid.UUID
    pool: str
    name: str
    audio_file: str | None = None
    tts_text: str | None = None
    language: str | None = None
    target: str | None = None
    #: How many times the prompt plays (1 to :data:`MAX_REPEAT`).
    repeat: int = 1
    #: Play the prompt in a 183 Session Progress and never answer (the caller is not charged).
    early_media: bool = False
    #: The final response after an early-media prompt when there is no target (4xx to 6xx).
    early_status: int = 404
    #: No prompt but a target: answer 302 to the target instead of answering and sending REFER.
    redirect_without_answer: bool = False
    #: Play the Special Information Tone "Vacant Code" before the prompt.
    sit: bool = False

    @classmethod
    def create(
        cls,
        pool: str,
        name: str,
        *,
        id: uuid.UUID | str | None = None,
        audio_file: str | None = None,
        tts_text: str | None = None,
        language: str | None = None,
        target: str | None = None,
        repeat: int = 1,
        early_media: bool = False,
        early_status: int = 404,
        redirect_without_answer: bool = False,
        sit: bool = False,
    ) -> Announcement:
        if isinstance(id, str):
            text = id
            try:
                id = uuid.UUID(text)
            except ValueError:
                raise ValidationError("id", f"{text[:40]!r} is not a UUID") from None
        if tts_text is not None:
            tts_text = tts_text.strip()
            if not tts_text or len(tts_text) > MAX_TEXT:
                raise ValidationError("tts", f"must be 1 to {MAX_TEXT} characters")
            if language is None:
                raise ValidationError("language", "is required when a text-to-speech prompt is set")
        if language is not None and language not in LOCALES:
            raise ValidationError(
                "language", f"{language[:20]!r} is not one of {', '.join(sorted(LOCALES))}"
            )
        return cls(
            id=id or uuid.uuid4(),
            pool=validate_pool_name(pool),
            name=_name(name, "name"),
            audio_file=None if audio_file is None else validate_file_name(audio_file, "audio-file"),
            tts_text=tts_text,
            language=language,
            target=None if target is None else validate_target_uri(target),
            repeat=_int_in(repeat, "repeat", 1, MAX_REPEAT),
            early_media=_flag(early_media, "early-media"),
            early_status=_int_in(early_status, "early-status", 400, 699),
            redirect_without_answer=_flag(redirect_without_answer, "redirect-without-answer"),
            sit=_flag(sit, "sit"),
        )

    def warnings(self) -> list[str]:
        found = []
        if self.audio_file and self.tts_text:
            found.append(
                "both an audio file and a text-to-speech prompt are set: the audio file wins"
            )
        if self.early_media and not (self.audio_file or self.tts_text):
            found.append(
                "early media is set but there is no prompt: callers get the final response"
            )
        return found

    @property
    def is_busy(self) -> bool:
        """No prompt and no target: the caller hears busy."""
        return not (self.audio_file or self.tts_text or self.target)


@dataclass(frozen=True, slots=True)
class AnnouncementFile:
    """An audio file imported into a pool's file store (content kept by the store)."""

    pool: str
    name: str
    media_type: str
    size: int
    sha256: str
    created: datetime
    #: The decoded prompt's length (seconds) and peak level (dBFS); None for a file imported
    #: before prompts were decoded at import (it is decoded when first played).
    duration: float | None = None
    peak_dbfs: float | None = None


@dataclass(frozen=True, slots=True)
class NumberRange:
    """One row of the unassigned number table.

    Either ``start``/``end`` (a numeric range, Lync) or ``pattern`` (a regular expression that
    must match the whole number, Teams). The target is an announcement (by id: a removed
    announcement leaves the id dangling and calls get busy) or an auto-attendant number.
    Ranges are ordered by ``(priority, position)``: the lowest priority value wins; ties go to
    the range created first (``position`` grows with creation and is swapped by moves).
    """

    name: str
    start: Number | None
    end: Number | None
    pattern: str | None
    announcement_id: uuid.UUID | None
    auto_attendant: Number | None
    priority: int
    position: int = 0
    description: str = ""

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.priority, self.position)

    @classmethod
    def create(
        cls,
        name: str,
        *,
        start: str | None = None,
        end: str | None = None,
        pattern: str | None = None,
        announcement_id: uuid.UUID | None = None,
        auto_attendant: str | None = None,
        priority: int = 0,
        position: int = 0,
        description: str = "",
    ) -> NumberRange:
        range_name = _name(name, "name")
        if pattern is not None:
            if start is not None or end is not None:
                raise ValidationError("pattern", "give either --start/--end or --pattern, not both")
            compile_pattern(pattern)
            lo = hi = None
        else:
            if start is None or end is None:
                raise ValidationError("start", "a range needs --start and --end, or --pattern")
            lo, hi = parse_bound(start, "start"), parse_bound(end, "end")
            validate_bounds(lo, hi)
        if (announcement_id is None) == (auto_attendant is None):
            raise ValidationError(
                "target", "give exactly one of an announcement or an auto-attendant number"
            )
        aa = None if auto_attendant is None else parse_bound(auto_attendant, "auto-attendant")
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
            raise ValidationError("priority", "must be an integer >= 0")
        if len(description) > MAX_TEXT:
            raise ValidationError("description", f"must be at most {MAX_TEXT} characters")
        return cls(
            range_name, lo, hi, pattern, announcement_id, aa, priority, position, description
        )


def validate_bounds(start: Number, end: Number) -> None:
    """Lync's range rules: an extension on one bound needs the identical extension on the other;
    both bounds are global (``+``) or neither; start ≤ end compared as numbers."""
    if start.ext != end.ext:
        raise InvalidNumber(
            "end", "an extension on one bound requires the identical extension on the other"
        )
    if start.is_global != end.is_global:
        raise InvalidNumber("end", "start and end must both begin with + or both not")
    if order_key(start) > order_key(end):
        raise InvalidNumber("end", f"{end} is less than the start {start} (compared as numbers)")


@dataclass(frozen=True, slots=True)
class AssignedNumber:
    """A number assigned to someone: calls to it are redirected to ``uri`` (always wins)."""

    number: Number
    uri: str
    owner: str = ""

    @classmethod
    def create(cls, number: str, uri: str, owner: str = "") -> AssignedNumber:
        if len(owner) > MAX_NAME:
            raise ValidationError("owner", f"must be at most {MAX_NAME} characters")
        return cls(parse_bound(number, "number"), validate_target_uri(uri, "uri"), owner.strip())


@dataclass(frozen=True, slots=True)
class NormalisationRule:
    """One inbound dial-plan rule: a number matching ``pattern`` (whole number) becomes
    ``translation`` (``$1``… refer to the pattern's groups). Rules apply in ``position`` order;
    the first match wins."""

    name: str
    pattern: str
    translation: str
    position: int = 0
    description: str = ""

    @classmethod
    def create(
        cls, name: str, pattern: str, translation: str, position: int = 0, description: str = ""
    ) -> NormalisationRule:
        compile_translation(compile_pattern(pattern), translation)
        if len(description) > MAX_TEXT:
            raise ValidationError("description", f"must be at most {MAX_TEXT} characters")
        return cls(_name(name, "name"), pattern, translation, position, description)


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """Everything the routing snapshot is built from (all of it, or the rows relevant to one
    number, as ``vacant route`` loads them)."""

    ranges: list[NumberRange] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    assigned: list[AssignedNumber] = field(default_factory=list)
    rules: list[NormalisationRule] = field(default_factory=list)
    version: int = 0
