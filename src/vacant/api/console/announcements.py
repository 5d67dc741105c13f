"""The console's Announcements pages: every announcement with its prompt, played in the page
through the REST ``GET /api/v1/announcements/{id}/prompt.wav`` (the session cookie is enough),
its options, target and the ranges using it; the pools' audio files with their length and peak
level; New and Edit with every setting (audio upload or an imported file, text to speech and
its language, target, repeat, SIT, early media and its final status, redirect without answer);
Delete after a confirmation page that names the ranges using it (deleted only when forced).

A form's problem is shown on the form with what was typed (422, or 404/409 from the store); a
missing announcement is the console's 404 page (``vacant.api.errors``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from vacant.api.console.common import Viewer, Writer, render, see
from vacant.api.deps import DB, State
from vacant.api.routes.files import media_type, read_upload
from vacant.errors import Conflict, NotFound, StoreError, ValidationError
from vacant.routing.model import LOCALES, MAX_REPEAT, Announcement, AnnouncementFile
from vacant.service.access import Principal
from vacant.service.admin import Admin
from vacant.store import repository as repo
from vacant.store.engine import session_scope
from vacant.store.prompts import prompt_versions

router = APIRouter(include_in_schema=False)

_WHOLE = re.compile(r"\s*-?\d{1,6}\s*")
#: A new announcement's form before anything is typed (Lync's defaults).
NEW_ANNOUNCEMENT = {"language": "en-US", "repeat": "1", "early_status": "404"}


def _whole(value: str, field: str, default: int, low: int, high: int) -> int:
    """A whole number typed in a form (empty: ``default``); the model checks its bounds."""
    if not value.strip():
        return default
    if not _WHOLE.fullmatch(value):
        raise ValidationError(field, f"must be an integer from {low} to {high}")
    return int(value)


class AnnouncementForm(BaseModel):
    """The announcement form, as the browser sends it: text fields (an empty one clears its
    setting) and checkboxes (sent when ticked). ``audio_file`` names a file already imported
    into the pool; an uploaded file (the ``audio`` part) replaces it."""

    id: str = ""
    pool: str = ""
    name: str = ""
    audio_file: str = ""
    tts_text: str = ""
    language: str = ""
    target: str = ""
    repeat: str = ""
    early_media: str = ""
    early_status: str = ""
    redirect_without_answer: str = ""
    sit: str = ""

    def settings(self) -> dict[str, Any]:
        """Everything but the pool, the name and the audio file, as the model takes them."""
        text = self.tts_text.strip() or None
        return {
            "tts_text": text,
            # Only a text-to-speech prompt has a language (as the CLI's --no-tts clears it).
            "language": (self.language.strip() or None) if text else None,
            "target": self.target.strip() or None,
            "repeat": _whole(self.repeat, "repeat", 1, 1, MAX_REPEAT),
            "early_media": bool(self.early_media),
            "early_status": _whole(self.early_status, "early-status", 404, 400, 699),
            "redirect_without_answer": bool(self.redirect_without_answer),
            "sit": bool(self.sit),
        }

    def values(self) -> dict[str, Any]:
        """The form as it was sent, to show it again with the problem."""
        shown: dict[str, Any] = self.model_dump()
        for flag in ("early_media", "redirect_without_answer", "sit"):
            shown[flag] = bool(shown[flag])
        return shown


AnnouncementFields = Annotated[AnnouncementForm, Form()]
Upload = Annotated[UploadFile | None, File()]


def _form_values(a: Announcement) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "pool": a.pool,
        "name": a.name,
        "audio_file": a.audio_file or "",
        "tts_text": a.tts_text or "",
        "language": a.language or "en-US",
        "target": a.target or "",
        "repeat": str(a.repeat),
        "early_media": a.early_media,
        "early_status": str(a.early_status),
        "redirect_without_answer": a.redirect_without_answer,
        "sit": a.sit,
    }


def _options(a: Announcement) -> list[str]:
    """What the announcement does beyond playing its prompt once, in words."""
    found = []
    if a.sit:
        found.append("SIT first")
    if a.repeat != 1:
        found.append(f"plays {a.repeat} times")
    if a.early_media:
        then = "302 to the target" if a.target else str(a.early_status)
        found.append(f"early media (183), then {then}")
    if a.redirect_without_answer:
        found.append("no prompt: 302 to the target")
    return found


def _catalogue(s: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every announcement (its file, whether it has a prompt to play, its options, the ranges
    using it) and every imported file (with the announcements playing it)."""
    announcements = repo.list_announcements(s)
    files = repo.list_files(s)
    by_key = {(f.pool, f.name): f for f in files}
    playable = prompt_versions(s, {a.pool for a in announcements})
    users: dict[Any, list[str]] = {}
    for r in repo.list_ranges(s):
        if r.announcement_id is not None:
            users.setdefault(r.announcement_id, []).append(r.name)
    rows = [
        {
            "a": a,
            "file": by_key.get((a.pool, a.audio_file)) if a.audio_file else None,
            "plays": a.id in playable,
            "options": _options(a),
            "used_by": users.get(a.id, []),
        }
        for a in announcements
    ]
    players: dict[tuple[str, str | None], list[str]] = {}
    for a in announcements:
        players.setdefault((a.pool, a.audio_file), []).append(a.name)
    playing = [{"file": f, "used_by": players.get((f.pool, f.name), [])} for f in files]
    return rows, playing


def _announcements(
    request: Request,
    who: Principal,
    s: Session,
    *,
    status: int = 200,
    error: str = "",
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    rows, files = _catalogue(s)
    return render(
        request,
        "announcements.html",
        who,
        status=status,
        rows=rows,
        files=files,
        pools=repo.list_pools(s),
        locales=sorted(LOCALES),
        max_repeat=MAX_REPEAT,
        error=error,
        values=values or NEW_ANNOUNCEMENT,
    )


@router.get("/announcements")
def announcements_page(request: Request, who: Viewer, s: DB) -> HTMLResponse:
    """Every announcement with its prompt (played in the page), options, target and the ranges
    using it; every imported file with its length and peak level; the New form."""
    return _announcements(request, who, s)


def _store_upload(admin: Admin, state: State, pool: str, audio: UploadFile | None) -> str | None:
    """Import an uploaded audio file into ``pool`` (decoded now); its name, or None."""
    if audio is None or not audio.filename:
        return None
    limit = state.settings.max_upload
    stored: AnnouncementFile = admin.add_file(
        pool,
        audio.filename,
        read_upload(audio, limit),
        media_type(audio.filename, audio.content_type),
        max_size=limit,
        replace=True,
    )
    return stored.name


def _refused(exc: ValidationError | StoreError) -> tuple[int, str]:
    """A form's problem: its status and the message shown on the form."""
    if isinstance(exc, ValidationError):
        return 422, f"{exc.field}: {exc.rule}"
    return (404 if isinstance(exc, NotFound) else 409), str(exc)


@router.post("/announcements")
def create_announcement(
    request: Request, who: Writer, state: State, form: AnnouncementFields, audio: Upload = None
) -> Response:
    """Create an announcement, importing its uploaded audio file first (one transaction)."""
    try:
        with session_scope(state.app.engine) as s:
            admin = Admin(s, who.actor)
            uploaded = _store_upload(admin, state, form.pool, audio)
            admin.add_announcement(
                Announcement.create(
                    form.pool,
                    form.name,
                    audio_file=uploaded or form.audio_file or None,
                    **form.settings(),
                )
            )
    except (ValidationError, StoreError) as exc:
        status, error = _refused(exc)
        with session_scope(state.app.engine) as s:
            return _announcements(request, who, s, status=status, error=error, values=form.values())
    return see("/announcements")


def _edit_form(
    request: Request,
    who: Principal,
    s: Session,
    values: dict[str, Any],
    *,
    status: int = 200,
    error: str = "",
) -> HTMLResponse:
    pool = values["pool"]
    playable = {str(key) for key in prompt_versions(s, {pool})}
    return render(
        request,
        "announcement_form.html",
        who,
        status=status,
        values=values,
        plays=values["id"] in playable,
        files=repo.list_files(s, values["pool"]),
        locales=sorted(LOCALES),
        max_repeat=MAX_REPEAT,
        error=error,
    )


@router.get("/announcements/edit")
def edit_announcement(request: Request, who: Viewer, s: DB, id: str) -> HTMLResponse:
    """Every setting of one announcement (404 page when there is no such announcement)."""
    return _edit_form(request, who, s, _form_values(repo.get_announcement_by_id(s, id)))


@router.post("/announcements/edit")
def update_announcement(
    request: Request, who: Writer, state: State, form: AnnouncementFields, audio: Upload = None
) -> Response:
    """Save every setting of an announcement; an uploaded file is imported and played."""
    with session_scope(state.app.engine) as s:
        current = repo.get_announcement_by_id(s, form.id)  # 404 page when it was removed
    try:
        with session_scope(state.app.engine) as s:
            admin = Admin(s, who.actor)
            uploaded = _store_upload(admin, state, current.pool, audio)
            admin.update_announcement(
                current.pool,
                current.name,
                new_name=form.name,
                audio_file=uploaded or form.audio_file or None,
                **form.settings(),
            )
    except (ValidationError, StoreError) as exc:
        status, error = _refused(exc)
        with session_scope(state.app.engine) as s:
            values = {**form.values(), "id": str(current.id), "pool": current.pool}
            return _edit_form(request, who, s, values, status=status, error=error)
    return see("/announcements")


def _delete_form(
    request: Request, who: Principal, s: Session, id: str, *, status: int = 200, error: str = ""
) -> HTMLResponse:
    ann = repo.get_announcement_by_id(s, id)
    used_by = [r.name for r in repo.list_ranges(s) if r.announcement_id == ann.id]
    return render(
        request,
        "announcement_delete.html",
        who,
        status=status,
        a=ann,
        used_by=used_by,
        error=error,
    )


@router.get("/announcements/delete")
def confirm_delete(request: Request, who: Viewer, s: DB, id: str) -> HTMLResponse:
    """Ask before deleting, naming the ranges that use the announcement."""
    return _delete_form(request, who, s, id)


@router.post("/announcements/delete")
def delete_announcement(
    request: Request,
    who: Writer,
    state: State,
    id: Annotated[str, Form()] = "",
    force: Annotated[str, Form()] = "",
) -> Response:
    """Delete an announcement; while ranges use it, only when forced (their callers then hear
    busy), else the confirmation again with the ranges (409)."""
    with session_scope(state.app.engine) as s:
        current = repo.get_announcement_by_id(s, id)  # 404 page when it is gone
    try:
        with session_scope(state.app.engine) as s:
            Admin(s, who.actor).remove_announcement(current.pool, current.name, force=bool(force))
    except Conflict as exc:
        with session_scope(state.app.engine) as s:
            return _delete_form(request, who, s, id, status=409, error=str(exc))
    return see("/announcements")
