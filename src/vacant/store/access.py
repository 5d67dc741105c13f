"""Who may change the configuration: API tokens, console users and their login sessions.

Secrets are never stored. An API token is ``vacant_`` followed by 32 random bytes (base64url);
having full entropy, it is kept as its SHA-256 (a slow hash would add nothing), with its first
characters (``prefix``) to recognise it in lists. A session cookie's secret is the same kind
of value, kept the same way. A password is kept as an scrypt hash (RFC 7914) with a 16-byte
salt of its own, in the PHC string format ``$scrypt$ln=15,r=8,p=1$<salt>$<hash>``: N = 2^15,
r = 8, p = 1 takes 32 MiB and some 50 ms per check, OWASP's recommended floor for scrypt; the
parameters are read back from each hash, so raising them later keeps old hashes valid.

These writes do not bump the configuration version (the SIP server has nothing to reload);
each runs in a SAVEPOINT, and the caller owns the transaction.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vacant.errors import Conflict, NotFound, ValidationError
from vacant.store.models import (
    ACCOUNT_NAME_LEN,
    ApiTokenRow,
    LoginSessionRow,
    UserRow,
    utc_now,
)


class Role(StrEnum):
    """Lync's RBAC roles, reduced to three."""

    #: Everything, including tokens and users.
    ADMIN = "admin"
    #: Numbers, ranges, announcements, audio files, normalisation rules.
    VOICE_ADMIN = "voice-admin"
    #: Read everything but tokens and users.
    VIEW_ONLY = "view-only"


_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
TOKEN_MARK = "vacant_"
PREFIX_LEN = len(TOKEN_MARK) + 6
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MIN_DISTINCT = 5

#: scrypt cost: N = 2**SCRYPT_LOG_N, r, p (see the module docstring).
SCRYPT_LOG_N = 15
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32


def parse_role(value: str, field_name: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationError(
            field_name, f"{value[:20]!r} is not one of {', '.join(r.value for r in Role)}"
        ) from None


def validate_account_name(value: str, field_name: str = "name") -> str:
    """A token or user name: 1 to 64 letters, digits and ``._@-``, starting with a letter or
    digit (it appears in the audit log as ``token:NAME`` / ``user:NAME``)."""
    if not _ACCOUNT_NAME.fullmatch(value):
        raise ValidationError(
            field_name,
            "must be 1 to 64 letters, digits and . _ @ -, starting with a letter or digit",
        )
    return value


def validate_password(password: str, user: str = "") -> str:
    """Refuse empty and weak passwords: at least 12 characters, 5 of them different, and not the
    user name (NIST SP 800-63B: length over composition rules)."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValidationError("password", f"must be at most {MAX_PASSWORD} characters")
    if len(set(password)) < MIN_DISTINCT:
        raise ValidationError("password", f"must use at least {MIN_DISTINCT} different characters")
    if user and user.lower() in password.lower():
        raise ValidationError("password", "must not contain the user name")
    return password


# --- secrets -------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh secret: ``vacant_`` and 32 random bytes, base64url (43 characters)."""
    return TOKEN_MARK + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    n = 1 << log_n
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=2 * 128 * n * r * p,
        dklen=_HASH_BYTES,
    )


def hash_password(password: str) -> str:
    """The PHC string of ``password`` with a new salt and the current parameters."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    return f"$scrypt$ln={SCRYPT_LOG_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the PHC string ``encoded`` (compared in constant time)."""
    try:
        _, scheme, params, salt, digest = encoded.split("$")
        values = dict(item.split("=", 1) for item in params.split(","))
        log_n, r, p = int(values["ln"]), int(values["r"]), int(values["p"])
        if scheme != "scrypt" or not (1 <= log_n <= 20):
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), log_n, r, p)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that the time taken tells nothing."""
    return hash_password(secrets.token_urlsafe(16))


@contextmanager
def _saving(s: Session, what: str) -> Iterator[None]:
    """One write in a SAVEPOINT; a uniqueness rule the database enforces becomes Conflict."""
    try:
        with s.begin_nested():
            yield
            s.flush()
    except IntegrityError as exc:
        raise Conflict(f"{what}: the database refused the change: {exc.orig}") from None


# --- API tokens ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiToken:
    name: str
    role: Role
    prefix: str
    created: datetime
    last_used: datetime | None = None
    revoked: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created, with its secret: shown once, never stored."""

    token: ApiToken
    secret: str


def _to_token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(row.name, Role(row.role), row.prefix, row.created, row.last_used, row.revoked)


def _token_row(s: Session, name: str) -> ApiTokenRow:
    row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
    if row is None:
        raise NotFound(f"token {name!r} does not exist")
    return row


def create_token(s: Session, name: str, role: str) -> NewToken:
    """A new token. Names are unique, revoked tokens' included (the audit log names them)."""
    token_name = validate_account_name(name)
    token_role = parse_role(role)
    secret = new_secret()
    with _saving(s, f"token {token_name!r}"):
        existing = s.execute(
            select(ApiTokenRow.id, ApiTokenRow.revoked).where(ApiTokenRow.name == token_name)
        ).first()
        if existing is not None:
            state = " (revoked)" if existing.revoked is not None else ""
            raise Conflict(f"token {token_name!r} already exists{state}: choose another name")
        row = ApiTokenRow(
            name=token_name,
            role=token_role.value,
            prefix=secret[:PREFIX_LEN],
            secret_sha256=secret_digest(secret),
            created=utc_now(),
        )
        s.add(row)
    return NewToken(_to_token(row), secret)


def list_tokens(s: Session) -> list[ApiToken]:
    return [_to_token(r) for r in s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))]


def get_token(s: Session, name: str) -> ApiToken:
    return _to_token(_token_row(s, name))


def revoke_token(s: Session, name: str) -> ApiToken:
    """Revoke a token (and end the console sessions opened with it). Conflict if revoked."""
    row = _token_row(s, name)
    if row.revoked is not None:
        raise Conflict(f"token {name!r} is already revoked")
    with _saving(s, f"token {name!r}"):
        row.revoked = utc_now()
        s.execute(delete(LoginSessionRow).where(LoginSessionRow.token_id == row.id))
    return _to_token(row)


def token_for_secret(
    s: Session, secret: str, *, now: datetime, touch_every: float = 60.0
) -> ApiToken | None:
    """The active token with this secret, or None. Its ``last_used`` is updated when older
    than ``touch_every`` seconds (not on every request: that would make every read a write)."""
    if not secret.startswith(TOKEN_MARK) or len(secret) > 128:
        return None
    row = s.scalar(select(ApiTokenRow).where(ApiTokenRow.secret_sha256 == secret_digest(secret)))
    if row is None or row.revoked is not None:
        return None
    if row.last_used is None or (now - row.last_used).total_seconds() >= touch_every:
        s.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == row.id)
            .values(last_used=now)
            .execution_options(synchronize_session=False)
        )
    return _to_token(row)


# --- users ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    created: datetime
    password_changed: datetime


def _to_user(row: UserRow) -> User:
    return User(row.name, Role(row.role), row.created, row.password_changed)


def _user_row(s: Session, name: str) -> UserRow:
    row = s.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise NotFound(f"user {name!r} does not exist")
    return row


def create_user(s: Session, name: str, role: str, password: str) -> User:
    user_name = validate_account_name(name)
    user_role = parse_role(role)
    validate_password(password, user_name)
    if s.scalar(select(UserRow.id).where(UserRow.name == user_name)) is not None:
        raise Conflict(f"user {user_name!r} already exists")
    encoded = hash_password(password)
    now = utc_now()
    row = UserRow(
        name=user_name,
        role=user_role.value,
        password_hash=encoded,
        created=now,
        password_changed=now,
    )
    with _saving(s, f"user {user_name!r}"):
        s.add(row)
    return _to_user(row)


def list_users(s: Session) -> list[User]:
    return [_to_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]


def get_user(s: Session, name: str) -> User:
    return _to_user(_user_row(s, name))


def remove_user(s: Session, name: str) -> None:
    """Remove a user and end their sessions."""
    row = _user_row(s, name)
    with _saving(s, f"user {name!r}"):
        s.execute(delete(LoginSessionRow).where(LoginSessionRow.user_id == row.id))
        s.delete(row)


def set_password(s: Session, name: str, password: str) -> User:
    """Change a user's password; their sessions end."""
    row = _user_row(s, name)
    validate_password(password, row.name)
    encoded = hash_password(password)
    with _saving(s, f"user {name!r}"):
        row.password_hash, row.password_changed = encoded, utc_now()
        s.execute(delete(LoginSessionRow).where(LoginSessionRow.user_id == row.id))
    return _to_user(row)


def set_role(s: Session, name: str, role: str) -> User:
    """Change a user's role (it applies to their sessions at their next request)."""
    row = _user_row(s, name)
    user_role = parse_role(role)
    with _saving(s, f"user {name!r}"):
        row.role = user_role.value
    return _to_user(row)


def check_password(s: Session, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else None (the same work either way)."""
    row = None
    if len(name) <= ACCOUNT_NAME_LEN and len(password) <= MAX_PASSWORD:
        row = s.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        password = password[:MAX_PASSWORD]
        verify_password(password, _dummy_hash())
        return None
    return _to_user(row) if verify_password(password, row.password_hash) else None


# --- console sessions ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginSession:
    """Who a session cookie stands for: ``kind`` is ``user`` or ``token``."""

    kind: str
    name: str
    role: Role
    expires: datetime


def create_session(
    s: Session,
    *,
    user: str | None = None,
    token: str | None = None,
    lifetime: timedelta,
    now: datetime,
) -> tuple[str, LoginSession]:
    """Open a session for a user or a token (exactly one); returns the cookie's secret. Expired
    sessions are deleted on the way, so the table does not grow."""
    if (user is None) == (token is None):
        raise ValidationError("session", "give exactly one of a user or a token")
    secret = new_secret()
    expires = now + lifetime
    with _saving(s, "session"):
        s.execute(
            delete(LoginSessionRow)
            .where(LoginSessionRow.expires <= now)
            .execution_options(synchronize_session=False)
        )
        if user is not None:
            row = _user_row(s, user)
            found = LoginSession("user", row.name, Role(row.role), expires)
            s.add(
                LoginSessionRow(
                    secret_sha256=secret_digest(secret),
                    user_id=row.id,
                    created=now,
                    expires=expires,
                )
            )
        else:
            assert token is not None
            token_row = _token_row(s, token)
            found = LoginSession("token", token_row.name, Role(token_row.role), expires)
            s.add(
                LoginSessionRow(
                    secret_sha256=secret_digest(secret),
                    token_id=token_row.id,
                    created=now,
                    expires=expires,
                )
            )
    return secret, found


def session_for_secret(s: Session, secret: str, *, now: datetime) -> LoginSession | None:
    """The live session of this cookie secret (its user's or token's current role), or None."""
    if not secret.startswith(TOKEN_MARK) or len(secret) > 128:
        return None
    t = LoginSessionRow
    row = s.execute(
        select(t.expires, UserRow.name, UserRow.role, ApiTokenRow.name, ApiTokenRow.role)
        .outerjoin(UserRow, UserRow.id == t.user_id)
        .outerjoin(ApiTokenRow, (ApiTokenRow.id == t.token_id) & ApiTokenRow.revoked.is_(None))
        .where(t.secret_sha256 == secret_digest(secret))
    ).first()
    if row is None:
        return None
    expires, user_name, user_role, token_name, token_role = row
    if expires <= now:
        return None
    if user_name is not None:
        return LoginSession("user", user_name, Role(user_role), expires)
    if token_name is not None:
        return LoginSession("token", token_name, Role(token_role), expires)
    return None


def end_session(s: Session, secret: str) -> None:
    """Log out: forget the session (nothing happens if it is unknown)."""
    with _saving(s, "session"):
        s.execute(
            delete(LoginSessionRow)
            .where(LoginSessionRow.secret_sha256 == secret_digest(secret))
            .execution_options(synchronize_session=False)
        )
