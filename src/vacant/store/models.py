"""The tables of the store, as typed SQLAlchemy 2 declarative models.

Portable types only (the same models run on SQLite and PostgreSQL); timestamps are UTC-aware on
both. Constraint and index names come from one naming convention so that Alembic migrations name
them the same way on every database. These classes never leave :mod:`vacant.store`: the
repository functions return the values of :mod:`vacant.routing.model`.

Range lookup keys (see ``docs/store.md``): a numeric range stores its bounds as ``tel:`` URIs and,
for the indexed "which ranges cover this number" query, a ``family`` (``+`` for a global number,
then ``;ext=`` and the extension when there is one) and two order keys, the number of digits as
two zero-padded digits followed by the digits (``"11" + "14255550100"``). Within one family,
comparing those keys as strings is comparing the numbers as numbers (:func:`order_key`), so the
covering ranges of ``n`` are ``family = f(n) AND start_key <= k(n) AND end_key >= k(n)``, served by
the index on ``(family, start_key, end_key)``. Pattern ranges have a NULL family and keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vacant.store.timestamps import sqlite_utc, to_utc

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Column widths, from the rules of :mod:`vacant.routing.model` and :mod:`vacant.routing.numbers`.
POOL_NAME_LEN = 253
NAME_LEN = 256
FILE_NAME_LEN = 255
URI_LEN = 256
#: ``tel:`` + ``+`` + 18 digits + ``;ext=`` + 10 digits.
TEL_URI_LEN = 40
#: ``+`` + ``;ext=`` + 10 digits.
FAMILY_LEN = 16
#: Two digits of length + up to 18 digits.
KEY_LEN = 20
PATTERN_LEN = 512
UUID_LEN = 36
#: A call record's outcome ("transfer-rejected", "caller-hung-up", ...).
OUTCOME_LEN = 32


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone: it is added back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _as_utc(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name == "sqlite":
            return sqlite_utc
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PoolRow(Base):
    __tablename__ = "pools"

    name: Mapped[str] = mapped_column(String(POOL_NAME_LEN), primary_key=True)
    backup: Mapped[str | None] = mapped_column(String(POOL_NAME_LEN), ForeignKey("pools.name"))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Automatic failover to the backup pool (docs/pools.md): off unless asked for.
    auto_failover: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    down_after: Mapped[float] = mapped_column(Float, default=10.0, server_default="10")
    failback_after: Mapped[float] = mapped_column(Float, default=30.0, server_default="30")


class AnnouncementFileRow(Base):
    __tablename__ = "announcement_files"
    __table_args__ = (UniqueConstraint("pool", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN), ForeignKey("pools.name"))
    name: Mapped[str] = mapped_column(String(FILE_NAME_LEN))
    media_type: Mapped[str] = mapped_column(String(NAME_LEN))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Blobs are deferred: listing files or building a routing snapshot never loads them.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    # The decoded prompt: mono s16le at 16 kHz (NULL for files imported before migration 0004:
    # vacant.store.prompts decodes those on demand).
    pcm: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    pcm_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_dbfs: Mapped[float | None] = mapped_column(Float, nullable=True)


class AnnouncementRow(Base):
    __tablename__ = "announcements"
    __table_args__ = (
        UniqueConstraint("pool", "name"),
        # The audio file must be one imported into the announcement's pool (NULL: no file).
        ForeignKeyConstraint(
            ["pool", "audio_file"], ["announcement_files.pool", "announcement_files.name"]
        ),
    )

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN), ForeignKey("pools.name"))
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    audio_file: Mapped[str | None] = mapped_column(String(FILE_NAME_LEN))
    tts_text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(URI_LEN))
    repeat: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    early_media: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    early_status: Mapped[int] = mapped_column(Integer, default=404, server_default="404")
    redirect_without_answer: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    sit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The rendered text-to-speech prompt: mono s16le at 16 kHz (NULL without TTS, or for an
    # announcement made before migration 0004: vacant.store.prompts renders it on demand).
    tts_pcm: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    tts_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RangeRow(Base):
    __tablename__ = "ranges"
    __table_args__ = (
        CheckConstraint(
            "(pattern IS NULL AND start_number IS NOT NULL AND end_number IS NOT NULL"
            " AND family IS NOT NULL AND start_key IS NOT NULL AND end_key IS NOT NULL)"
            " OR (pattern IS NOT NULL AND start_number IS NULL AND end_number IS NULL"
            " AND family IS NULL AND start_key IS NULL AND end_key IS NULL)",
            name="numbers_or_pattern",
        ),
        CheckConstraint("(announcement_id IS NULL) <> (auto_attendant IS NULL)", name="one_target"),
        CheckConstraint("priority >= 0", name="priority"),
        Index(None, "family", "start_key", "end_key"),
        Index(None, "priority", "position"),
        Index(None, "announcement_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    start_number: Mapped[str | None] = mapped_column(String(TEL_URI_LEN))
    end_number: Mapped[str | None] = mapped_column(String(TEL_URI_LEN))
    family: Mapped[str | None] = mapped_column(String(FAMILY_LEN))
    start_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    end_key: Mapped[str | None] = mapped_column(String(KEY_LEN))
    pattern: Mapped[str | None] = mapped_column(String(PATTERN_LEN))
    # Not a foreign key: removing an announcement leaves the id dangling (calls get busy), as Lync.
    announcement_id: Mapped[str | None] = mapped_column(String(UUID_LEN))
    auto_attendant: Mapped[str | None] = mapped_column(String(TEL_URI_LEN))
    priority: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignedNumberRow(Base):
    __tablename__ = "assigned_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(TEL_URI_LEN), unique=True)
    uri: Mapped[str] = mapped_column(String(URI_LEN))
    owner: Mapped[str] = mapped_column(String(NAME_LEN), default="")


class NormalisationRuleRow(Base):
    __tablename__ = "normalisation_rules"
    __table_args__ = (Index(None, "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    pattern: Mapped[str] = mapped_column(String(PATTERN_LEN))
    translation: Mapped[str] = mapped_column(String(PATTERN_LEN))
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")


class ConfigVersionRow(Base):
    """One row: a counter every configuration write bumps (the SIP server polls it to reload)."""

    __tablename__ = "config_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class CallRow(Base):
    """A call record (CDR): one row per INVITE vacant answered."""

    __tablename__ = "calls"
    # ``started`` alone: ``list_calls`` walks it newest first, whatever it filters on (an index
    # on ``dialled`` cost every insert a random B-tree write and served no query: migration 0006).
    __table_args__ = (Index(None, "started"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime())
    call_id: Mapped[str] = mapped_column(String(NAME_LEN))
    caller: Mapped[str] = mapped_column(String(URI_LEN))
    dialled: Mapped[str] = mapped_column(String(URI_LEN))
    normalised: Mapped[str | None] = mapped_column(String(URI_LEN), nullable=True)
    decision: Mapped[str] = mapped_column(String(32))
    range_name: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    duration: Mapped[float] = mapped_column(Float)
    pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN))
    # Announcement calls (migration 0004): seconds of prompt played, transfer target, outcome.
    prompt_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    transfer_target: Mapped[str | None] = mapped_column(String(URI_LEN), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(OUTCOME_LEN), nullable=True)


# --- access control and audit (REST API, web console, CLI) -----------------------------------

#: Token and user names: letters, digits and ``._@-`` (see :mod:`vacant.store.access`).
ACCOUNT_NAME_LEN = 64
ROLE_LEN = 16
#: Hex SHA-256 of a secret with full entropy (API tokens, session cookies).
SHA256_HEX_LEN = 64
#: ``$scrypt$ln=15,r=8,p=1$<salt>$<hash>`` (PHC string format).
PASSWORD_HASH_LEN = 256
#: ``token:NAME``, ``user:NAME``, ``cli:OSUSER``.
ACTOR_LEN = 80
ACTION_LEN = 64
OBJECT_LEN = 512
_ROLES_CHECK = "role IN ('admin', 'voice-admin', 'view-only')"


class ApiTokenRow(Base):
    """An API token: only the SHA-256 of its secret is kept (the secret is shown once)."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_ROLES_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(ACCOUNT_NAME_LEN), unique=True)
    role: Mapped[str] = mapped_column(String(ROLE_LEN))
    #: The first characters of the secret, to recognise it in lists.
    prefix: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LEN), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserRow(Base):
    """A console user: the password is kept as an scrypt hash with its own salt."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLES_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(ACCOUNT_NAME_LEN), unique=True)
    role: Mapped[str] = mapped_column(String(ROLE_LEN))
    password_hash: Mapped[str] = mapped_column(String(PASSWORD_HASH_LEN))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginSessionRow(Base):
    """A console session (a user's, or a token's used to log in): only the SHA-256 of the
    cookie's secret is kept. Removing the user or revoking the token ends it."""

    __tablename__ = "login_sessions"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (token_id IS NULL)", name="one_principal"),
        Index(None, "expires"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(SHA256_HEX_LEN), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    token_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("api_tokens.id", ondelete="CASCADE"), nullable=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    """One configuration change: who, when, what, and the object before and after (JSON)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "time"), Index(None, "actor"), Index(None, "action"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(ACTOR_LEN))
    action: Mapped[str] = mapped_column(String(ACTION_LEN))
    object: Mapped[str] = mapped_column(String(OBJECT_LEN))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- pools at run time: instances, automatic failover, manual failover records ----------------

HOST_LEN = 253
LISTEN_LEN = 1024
STATE_LEN = 16


class InstanceRow(Base):
    """A running (or stopped) ``vacant serve``: registered at start, heartbeating while it runs.

    Not configuration: heartbeats never bump the configuration version."""

    __tablename__ = "instances"
    __table_args__ = (Index(None, "pool"),)

    id: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    #: Not a foreign key: an instance may name a pool the configuration does not have yet.
    pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN))
    host: Mapped[str] = mapped_column(String(HOST_LEN))
    sip: Mapped[str] = mapped_column(String(LISTEN_LEN))
    http: Mapped[str] = mapped_column(String(LISTEN_LEN))
    version: Mapped[str] = mapped_column(String(64))
    started: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Start of its current unbroken run of heartbeats (failback waits on it).
    healthy_since: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PoolStateRow(Base):
    """The automatic-failover state of a pool, kept by the instances (compare-and-set)."""

    __tablename__ = "pool_states"
    __table_args__ = (CheckConstraint("state IN ('up', 'down')", name="state"),)

    pool: Mapped[str] = mapped_column(
        String(POOL_NAME_LEN), ForeignKey("pools.name", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(STATE_LEN))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The backup pool serving its ranges while it is down.
    covered_by: Mapped[str | None] = mapped_column(String(POOL_NAME_LEN), nullable=True)
    transitions: Mapped[int] = mapped_column(Integer, default=0)


class FailoverRangeRow(Base):
    """A range ``vacant pool failover`` re-pointed from PRIMARY's announcement to its copy in
    the backup pool: what ``vacant pool failback`` re-points back."""

    __tablename__ = "failover_ranges"
    __table_args__ = (UniqueConstraint("primary_pool", "range_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    primary_pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN))
    backup_pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN))
    range_name: Mapped[str] = mapped_column(String(NAME_LEN))
    announcement: Mapped[str] = mapped_column(String(NAME_LEN))
    primary_id: Mapped[str] = mapped_column(String(UUID_LEN))
    backup_id: Mapped[str] = mapped_column(String(UUID_LEN))
    created: Mapped[datetime] = mapped_column(UTCDateTime)


class FailoverCopyRow(Base):
    """An audio file or announcement ``vacant pool failover`` created in the backup pool (one
    already there and identical is not a copy): what ``failback --cleanup`` may remove."""

    __tablename__ = "failover_copies"
    __table_args__ = (
        UniqueConstraint("primary_pool", "kind", "name"),
        CheckConstraint("kind IN ('file', 'announcement')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    primary_pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN))
    backup_pool: Mapped[str] = mapped_column(String(POOL_NAME_LEN))
    kind: Mapped[str] = mapped_column(String(STATE_LEN))
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
