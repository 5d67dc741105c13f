"""The JSON of the REST API: request bodies (shapes only: the rules are the domain's, checked by
the same code as the CLI's) and responses (the same fields as the CLI's ``--json``).

In a ``*Patch`` body a field left out is left alone and ``null`` clears it (where it can be
cleared); ``*In`` bodies refuse unknown fields.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vacant.routing.model import (
    DEFAULT_DOWN_AFTER,
    DEFAULT_FAILBACK_AFTER,
    Announcement,
    AnnouncementFile,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    Pool,
)
from vacant.routing.numbers import Number
from vacant.service.access import Principal
from vacant.store.access import ApiToken, NewToken, User
from vacant.store.audit import AuditEntry
from vacant.store.calls import CallRecord


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _uri(number: Number | None) -> str | None:
    return None if number is None else number.uri


# --- errors --------------------------------------------------------------------------------


class Problem(BaseModel):
    """Every error: ``detail`` says what is wrong; a 422 also names the ``field`` and the
    ``rule`` it breaks (``detail`` is then ``field: rule``, as the CLI prints it)."""

    detail: str
    field: str | None = None
    rule: str | None = None


# --- pools ---------------------------------------------------------------------------------


class PoolIn(Body):
    name: str
    backup: str | None = None
    description: str = ""
    #: Automatic failover to the backup pool (docs/pools.md).
    auto_failover: bool = False
    down_after: float = DEFAULT_DOWN_AFTER
    failback_after: float = DEFAULT_FAILBACK_AFTER


class PoolPatch(Body):
    backup: str | None = None
    description: str = ""
    auto_failover: bool = False
    down_after: float = DEFAULT_DOWN_AFTER
    failback_after: float = DEFAULT_FAILBACK_AFTER


class PoolOut(BaseModel):
    name: str
    backup: str | None
    description: str
    auto_failover: bool
    down_after: float
    failback_after: float

    @classmethod
    def of(cls, pool: Pool) -> PoolOut:
        return cls(
            name=pool.name,
            backup=pool.backup,
            description=pool.description,
            auto_failover=pool.auto_failover,
            down_after=pool.down_after,
            failback_after=pool.failback_after,
        )


class InstanceOut(BaseModel):
    """A ``vacant serve`` process of a pool, with its health (docs/pools.md)."""

    id: str
    pool: str
    host: str
    sip: str
    http: str
    version: str
    started: datetime
    heartbeat: datetime
    healthy_since: datetime
    stopped: datetime | None
    health: str
    silent_for: float


class PoolStatusOut(BaseModel):
    """A pool as ``vacant pool status`` shows it."""

    name: str
    configured: bool
    backup: str | None
    auto_failover: bool | None
    state: str
    since: datetime | None
    transitions: int
    healthy: bool
    served_by: str | None
    range_count: int
    ranges: list[str]
    covering: list[str]
    failed_over_ranges: int
    instances: list[InstanceOut]


class PlanStepOut(BaseModel):
    action: str
    detail: str


class PlanOut(BaseModel):
    """What a failover or failback did (or, dry run, would do)."""

    operation: str
    primary: str
    backup: str
    dry_run: bool
    changes: int
    steps: list[PlanStepOut]


# --- audio files ---------------------------------------------------------------------------


class FileOut(BaseModel):
    pool: str
    name: str
    media_type: str
    size: int
    sha256: str
    created: datetime
    #: The decoded prompt's length in seconds and peak level in dBFS (null: imported before
    #: prompts were decoded at import).
    duration: float | None = None
    peak_dbfs: float | None = None

    @classmethod
    def of(cls, f: AnnouncementFile) -> FileOut:
        return cls(
            pool=f.pool,
            name=f.name,
            media_type=f.media_type,
            size=f.size,
            sha256=f.sha256,
            created=f.created,
            duration=f.duration,
            peak_dbfs=f.peak_dbfs,
        )


# --- announcements -------------------------------------------------------------------------


class AnnouncementIn(Body):
    pool: str
    name: str
    #: Reuse this UUID (repairs the ranges left pointing at a removed announcement).
    id: str | None = None
    audio_file: str | None = None
    tts_text: str | None = None
    language: str | None = None
    target: str | None = None
    #: Play the prompt this many times (1-100).
    repeat: int = 1
    #: Play the prompt in a 183 Session Progress, never answering.
    early_media: bool = False
    #: The final response after an early-media prompt without a target (400-699).
    early_status: int = 404
    #: No prompt but a target: 302 to the target instead of answering and REFER.
    redirect_without_answer: bool = False
    #: Play the Special Information Tone (vacant code) before the prompt.
    sit: bool = False


class AnnouncementPatch(Body):
    name: str = ""
    audio_file: str | None = None
    tts_text: str | None = None
    language: str | None = None
    target: str | None = None
    repeat: int = 1
    early_media: bool = False
    early_status: int = 404
    redirect_without_answer: bool = False
    sit: bool = False


class AnnouncementOut(BaseModel):
    id: uuid.UUID
    pool: str
    name: str
    audio_file: str | None
    tts_text: str | None
    language: str | None
    target: str | None
    repeat: int = 1
    early_media: bool = False
    early_status: int = 404
    redirect_without_answer: bool = False
    sit: bool = False
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, a: Announcement) -> AnnouncementOut:
        return cls(
            id=a.id,
            pool=a.pool,
            name=a.name,
            audio_file=a.audio_file,
            tts_text=a.tts_text,
            language=a.language,
            target=a.target,
            repeat=a.repeat,
            early_media=a.early_media,
            early_status=a.early_status,
            redirect_without_answer=a.redirect_without_answer,
            sit=a.sit,
            warnings=a.warnings(),
        )


class Removed(BaseModel):
    """A removed announcement: the ranges still pointing at its id (their callers get busy)."""

    dangling_ranges: list[str]


# --- ranges --------------------------------------------------------------------------------


class AnnouncementRef(Body):
    pool: str
    name: str


class RangeIn(Body):
    name: str
    start: str | None = None
    end: str | None = None
    pattern: str | None = None
    announcement: AnnouncementRef | None = None
    auto_attendant: str | None = None
    #: Lower wins; left out: after every other range.
    priority: int | None = None
    description: str = ""


class RangePatch(Body):
    start: str | None = None
    end: str | None = None
    pattern: str | None = None
    announcement: AnnouncementRef | None = None
    auto_attendant: str | None = None
    priority: int = 0
    description: str = ""


class RangeMove(Body):
    """Exactly one: ``up``, ``down`` (one place) or ``before`` another range."""

    up: bool = False
    down: bool = False
    before: str | None = None


class RangeOut(BaseModel):
    name: str
    start: str | None
    end: str | None
    pattern: str | None
    announcement_id: uuid.UUID | None
    auto_attendant: str | None
    priority: int
    position: int
    description: str

    @classmethod
    def of(cls, r: NumberRange) -> RangeOut:
        return cls(
            name=r.name,
            start=_uri(r.start),
            end=_uri(r.end),
            pattern=r.pattern,
            announcement_id=r.announcement_id,
            auto_attendant=_uri(r.auto_attendant),
            priority=r.priority,
            position=r.position,
            description=r.description,
        )


# --- assigned numbers and rules ------------------------------------------------------------


class NumberIn(Body):
    number: str
    uri: str
    owner: str = ""


class NumberPatch(Body):
    uri: str = ""
    owner: str = ""


class NumberOut(BaseModel):
    number: str
    uri: str
    owner: str

    @classmethod
    def of(cls, a: AssignedNumber) -> NumberOut:
        return cls(number=a.number.uri, uri=a.uri, owner=a.owner)


class Imported(BaseModel):
    imported: int


class RuleIn(Body):
    name: str
    pattern: str
    translation: str
    description: str = ""
    #: 1 is first (the rules from there on move down one); 0 or left out: last.
    position: int = 0


class RulePatch(Body):
    pattern: str = ""
    translation: str = ""
    description: str = ""


class RuleOut(BaseModel):
    name: str
    pattern: str
    translation: str
    position: int
    description: str

    @classmethod
    def of(cls, r: NormalisationRule) -> RuleOut:
        return cls(
            name=r.name,
            pattern=r.pattern,
            translation=r.translation,
            position=r.position,
            description=r.description,
        )


# --- the dry run, call records, configuration ----------------------------------------------


class RouteOut(BaseModel):
    """What happens to a call to ``number``, and why (``vacant route --json``)."""

    number: str
    normalised: str | None
    decision: str
    range: str | None
    pool: str | None
    announcement: str | None
    target: str | None
    explanation: list[str]


class CallOut(BaseModel):
    started: datetime
    call_id: str
    caller: str
    dialled: str
    normalised: str | None
    decision: str
    range_name: str | None
    status: int
    duration: float
    pool: str
    prompt_seconds: float | None = None
    transfer_target: str | None = None
    outcome: str | None = None

    @classmethod
    def of(cls, c: CallRecord) -> CallOut:
        return cls(
            started=c.started,
            call_id=c.call_id,
            caller=c.caller,
            dialled=c.dialled,
            normalised=c.normalised,
            decision=c.decision,
            range_name=c.range_name,
            status=c.status,
            duration=c.duration,
            pool=c.pool,
            prompt_seconds=c.prompt_seconds,
            transfer_target=c.transfer_target,
            outcome=c.outcome,
        )


class ConfigImported(BaseModel):
    """The changes, one line each (``+ range r1``, ``~ ...``, ``- ...``); ``applied`` is false
    for a dry run."""

    changes: list[str]
    applied: bool


# --- access --------------------------------------------------------------------------------


class TokenIn(Body):
    name: str
    role: str


class TokenOut(BaseModel):
    name: str
    role: str
    prefix: str
    created: datetime
    last_used: datetime | None
    revoked: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            name=t.name,
            role=t.role.value,
            prefix=t.prefix,
            created=t.created,
            last_used=t.last_used,
            revoked=t.revoked,
        )


class NewTokenOut(TokenOut):
    """The token just created, with its secret: shown this once, stored nowhere."""

    secret: str

    @classmethod
    def of_new(cls, new: NewToken) -> NewTokenOut:
        return cls(**TokenOut.of(new.token).model_dump(), secret=new.secret)


class UserIn(Body):
    name: str
    role: str
    password: str


class UserPatch(Body):
    role: str


class PasswordIn(Body):
    password: str


class UserOut(BaseModel):
    name: str
    role: str
    created: datetime
    password_changed: datetime

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            name=u.name, role=u.role.value, created=u.created, password_changed=u.password_changed
        )


class AuditOut(BaseModel):
    id: int
    time: datetime
    actor: str
    action: str
    object: str
    before: Any
    after: Any

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(
            id=e.id,
            time=e.time,
            actor=e.actor,
            action=e.action,
            object=e.object,
            before=e.before,
            after=e.after,
        )


class LoginIn(Body):
    """A user name and password, or an API token."""

    name: str | None = None
    password: str | None = None
    token: str | None = None


class SessionOut(BaseModel):
    """Who is logged in. ``csrf_token`` (cookie sessions only) must be sent back as the
    ``X-CSRF-Token`` header with every write."""

    actor: str
    role: str
    csrf_token: str | None = None
    expires: datetime | None = None

    @classmethod
    def of(cls, who: Principal) -> SessionOut:
        return cls(
            actor=who.actor, role=who.role.value, csrf_token=who.csrf_token, expires=who.expires
        )
