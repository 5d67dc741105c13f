"""Every configuration write, audited: the one layer the CLI, the REST API and the web console
change the configuration through.

An :class:`Admin` is bound to a session (the caller's transaction) and to an actor
(``token:NAME``, ``user:NAME``, ``cli:OSUSER``). Each method does the repository write, then
records the audit entry, with the object before and after, in the same transaction: a write that
fails leaves no entry, and an entry never outlives a rolled-back write. Validation and error
messages are the store's and the domain's, so the CLI and the API say the same thing.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from vacant.routing.model import (
    DEFAULT_MAX_DURATION,
    Announcement,
    AnnouncementFile,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    Pool,
)
from vacant.routing.numbers import Number
from vacant.store import access, audit
from vacant.store import repository as repo
from vacant.store.access import ApiToken, NewToken, User
from vacant.store.repository import UNSET, Unset

#: Change lines of a configuration import kept in its audit entry (the count is always kept).
MAX_CHANGES_AUDITED = 1000

Progress = Callable[[int], None]


def jsonable(value: Any) -> Any:
    """Domain values as JSON: numbers as tel: URIs (strings), ids and times as strings."""
    if isinstance(value, Number):
        return value.uri
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def cli_actor() -> str:
    """The audit actor of a command run by this operating-system user."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = f"uid{os.getuid()}"
    return f"cli:{name}"


class Admin:
    """Configuration writes by ``actor`` in the session ``s`` (see the module docstring)."""

    def __init__(self, s: Session, actor: str) -> None:
        self.s = s
        self.actor = actor

    def _record(self, action: str, obj: str, before: Any, after: Any) -> None:
        audit.record(
            self.s,
            actor=self.actor,
            action=action,
            object=obj,
            before=jsonable(before),
            after=jsonable(after),
        )

    # --- pools ------------------------------------------------------------------------------

    def add_pool(self, pool: Pool) -> Pool:
        created = repo.add_pool(self.s, pool)
        self._record("pool.create", created.name, None, created)
        return created

    def update_pool(
        self,
        name: str,
        *,
        backup: str | Unset | None = UNSET,
        description: str | Unset = UNSET,
        auto_failover: bool | Unset = UNSET,
        down_after: float | Unset = UNSET,
        failback_after: float | Unset = UNSET,
    ) -> Pool:
        before = repo.get_pool(self.s, name)
        after = repo.update_pool(
            self.s,
            name,
            backup=backup,
            description=description,
            auto_failover=auto_failover,
            down_after=down_after,
            failback_after=failback_after,
        )
        self._record("pool.update", after.name, before, after)
        return after

    def remove_pool(self, name: str) -> None:
        before = repo.get_pool(self.s, name)
        repo.remove_pool(self.s, name)
        self._record("pool.remove", before.name, before, None)

    # --- audio files ------------------------------------------------------------------------

    def _file(self, pool: str, name: str) -> AnnouncementFile | None:
        return next((f for f in repo.list_files(self.s, pool) if f.name == name), None)

    def add_file(
        self,
        pool: str,
        name: str,
        content: bytes,
        media_type: str,
        *,
        max_size: int,
        max_duration: float = DEFAULT_MAX_DURATION,
        replace: bool = False,
    ) -> AnnouncementFile:
        """Import an audio file: decoded and checked (readable, whole, audible, not longer than
        ``max_duration`` seconds) before anything is stored. The one implementation the CLI's
        ``import-file``, the REST API's uploads and the console call."""
        before = self._file(pool, name) if replace else None
        stored = repo.add_file(
            self.s,
            pool,
            name,
            content,
            media_type,
            max_size=max_size,
            max_duration=max_duration,
            replace=replace,
        )
        action = "file.create" if before is None else "file.update"
        self._record(action, f"{stored.pool}/{stored.name}", before, stored)
        return stored

    def remove_file(self, pool: str, name: str) -> None:
        before = self._file(pool, name)
        repo.remove_file(self.s, pool, name)
        self._record("file.remove", f"{pool}/{name}", before, None)

    # --- announcements ----------------------------------------------------------------------

    def add_announcement(self, ann: Announcement) -> Announcement:
        created = repo.add_announcement(self.s, ann)
        self._record("announcement.create", f"{created.pool}/{created.name}", None, created)
        return created

    def update_announcement(
        self,
        pool: str,
        name: str,
        *,
        new_name: str | Unset = UNSET,
        audio_file: str | Unset | None = UNSET,
        tts_text: str | Unset | None = UNSET,
        language: str | Unset | None = UNSET,
        target: str | Unset | None = UNSET,
        repeat: int | Unset = UNSET,
        early_media: bool | Unset = UNSET,
        early_status: int | Unset = UNSET,
        redirect_without_answer: bool | Unset = UNSET,
        sit: bool | Unset = UNSET,
    ) -> Announcement:
        before = repo.get_announcement(self.s, pool, name)
        after = repo.update_announcement(
            self.s,
            pool,
            name,
            new_name=new_name,
            audio_file=audio_file,
            tts_text=tts_text,
            language=language,
            target=target,
            repeat=repeat,
            early_media=early_media,
            early_status=early_status,
            redirect_without_answer=redirect_without_answer,
            sit=sit,
        )
        self._record("announcement.update", f"{after.pool}/{after.name}", before, after)
        return after

    def remove_announcement(self, pool: str, name: str, *, force: bool = False) -> list[str]:
        """Returns the ranges left pointing at the removed announcement's id."""
        before = repo.get_announcement(self.s, pool, name)
        dangling = repo.remove_announcement(self.s, pool, name, force=force)
        self._record("announcement.remove", f"{before.pool}/{before.name}", before, None)
        return dangling

    # --- ranges -----------------------------------------------------------------------------

    def add_range(
        self,
        name: str,
        *,
        start: str | None = None,
        end: str | None = None,
        pattern: str | None = None,
        announcement: tuple[str, str] | None = None,
        auto_attendant: str | None = None,
        priority: int | None = None,
        description: str = "",
    ) -> NumberRange:
        created = repo.add_range(
            self.s,
            name,
            start=start,
            end=end,
            pattern=pattern,
            announcement=announcement,
            auto_attendant=auto_attendant,
            priority=priority,
            description=description,
        )
        self._record("range.create", created.name, None, created)
        return created

    def update_range(
        self,
        name: str,
        *,
        start: str | Unset | None = UNSET,
        end: str | Unset | None = UNSET,
        pattern: str | Unset | None = UNSET,
        announcement: tuple[str, str] | Unset | None = UNSET,
        auto_attendant: str | Unset | None = UNSET,
        priority: int | Unset = UNSET,
        description: str | Unset = UNSET,
    ) -> NumberRange:
        before = repo.get_range(self.s, name)
        after = repo.update_range(
            self.s,
            name,
            start=start,
            end=end,
            pattern=pattern,
            announcement=announcement,
            auto_attendant=auto_attendant,
            priority=priority,
            description=description,
        )
        self._record("range.update", after.name, before, after)
        return after

    def remove_range(self, name: str) -> None:
        before = repo.get_range(self.s, name)
        repo.remove_range(self.s, name)
        self._record("range.remove", before.name, before, None)

    def move_range(
        self, name: str, *, up: bool = False, down: bool = False, before: str | None = None
    ) -> list[NumberRange]:
        """Returns the new evaluation order. The entry keeps the moved range's keys of order
        before and after (the ranges it passed swap keys with it)."""
        old = repo.get_range(self.s, name)
        order = repo.move_range(self.s, name, up=up, down=down, before=before)
        new = next(r for r in order if r.name == old.name)
        if (old.priority, old.position) != (new.priority, new.position):
            self._record("range.move", new.name, old, new)
        return order

    # --- assigned numbers -------------------------------------------------------------------

    def add_number(self, number: AssignedNumber) -> AssignedNumber:
        created = repo.add_number(self.s, number)
        self._record("number.create", str(created.number), None, created)
        return created

    def update_number(
        self, number: str, *, uri: str | Unset = UNSET, owner: str | Unset = UNSET
    ) -> AssignedNumber:
        before = repo.get_number(self.s, number)
        after = repo.update_number(self.s, number, uri=uri, owner=owner)
        self._record("number.update", str(after.number), before, after)
        return after

    def remove_number(self, number: str) -> None:
        before = repo.get_number(self.s, number)
        repo.remove_number(self.s, number)
        self._record("number.remove", str(before.number), before, None)

    def import_numbers(
        self,
        rows: Iterable[tuple[int, str, str, str]],
        source: str,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Import CSV rows (all or nothing); the entry keeps the count, not the numbers."""
        count = repo.import_numbers(self.s, rows, progress=progress)
        if count:
            self._record("number.import", source, None, {"imported": count})
        return count

    # --- normalisation rules ----------------------------------------------------------------

    def add_rule(self, rule: NormalisationRule) -> NormalisationRule:
        created = repo.add_rule(self.s, rule)
        self._record("rule.create", created.name, None, created)
        return created

    def update_rule(
        self,
        name: str,
        *,
        pattern: str | Unset = UNSET,
        translation: str | Unset = UNSET,
        description: str | Unset = UNSET,
    ) -> NormalisationRule:
        before = repo.get_rule(self.s, name)
        after = repo.update_rule(
            self.s, name, pattern=pattern, translation=translation, description=description
        )
        self._record("rule.update", after.name, before, after)
        return after

    def remove_rule(self, name: str) -> None:
        before = repo.get_rule(self.s, name)
        repo.remove_rule(self.s, name)
        self._record("rule.remove", before.name, before, None)

    # --- the whole configuration ------------------------------------------------------------

    def import_config(
        self,
        document: dict[str, Any],
        source: str,
        *,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> list[str]:
        """Make the configuration match ``document`` (all or nothing); returns the changes.
        A dry run makes them in a SAVEPOINT and rolls it back, and records nothing."""
        nested = self.s.begin_nested()
        try:
            changes = repo.import_config(self.s, document, progress=progress)
        except BaseException:
            nested.rollback()
            raise
        if dry_run:
            nested.rollback()
            return changes
        nested.commit()
        if changes:
            kept = changes[:MAX_CHANGES_AUDITED]
            self._record("config.import", source, None, {"count": len(changes), "changes": kept})
        return changes

    # --- access: tokens and users -----------------------------------------------------------

    def create_token(self, name: str, role: str) -> NewToken:
        """The secret is in the result only: the entry keeps the token's name, role, prefix."""
        created = access.create_token(self.s, name, role)
        self._record("token.create", created.token.name, None, created.token)
        return created

    def revoke_token(self, name: str) -> ApiToken:
        before = access.get_token(self.s, name)
        after = access.revoke_token(self.s, name)
        self._record("token.revoke", name, before, after)
        return after

    def create_user(self, name: str, role: str, password: str) -> User:
        created = access.create_user(self.s, name, role, password)
        self._record("user.create", created.name, None, created)
        return created

    def remove_user(self, name: str) -> None:
        before = access.get_user(self.s, name)
        access.remove_user(self.s, name)
        self._record("user.remove", name, before, None)

    def set_password(self, name: str, password: str) -> User:
        before = access.get_user(self.s, name)
        after = access.set_password(self.s, name, password)
        self._record("user.set-password", name, before, after)
        return after

    def set_role(self, name: str, role: str) -> User:
        before = access.get_user(self.s, name)
        after = access.set_role(self.s, name, role)
        self._record("user.set-role", name, before, after)
        return after
