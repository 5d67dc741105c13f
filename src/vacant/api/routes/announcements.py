"""``/api/v1/announcements``: what callers hear and where they go next. An announcement is
addressed by its id (names are unique only within a pool, and may hold any character)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Response, UploadFile

from vacant.api.deps import DB, AdminDep, State, guard
from vacant.api.routes.files import store_upload
from vacant.api.schemas import AnnouncementIn, AnnouncementOut, AnnouncementPatch, Removed
from vacant.routing.model import Announcement
from vacant.store import repository as repo
from vacant.store.prompts import playout, to_wav

router = APIRouter(prefix="/announcements", tags=["announcements"], dependencies=[guard()])
uploads = APIRouter(prefix="/announcements", tags=["announcements"], dependencies=[guard()])


@router.get("")
def list_announcements(
    s: DB, pool: str | None = None, name: str | None = None
) -> list[AnnouncementOut]:
    """Every announcement (of one pool), by pool and name; ``name`` picks one by its name."""
    found = repo.list_announcements(s, pool)
    if name is not None:
        found = [a for a in found if a.name == name.strip()]
    return [AnnouncementOut.of(a) for a in found]


@router.post("", status_code=201)
def create_announcement(body: AnnouncementIn, admin: AdminDep) -> AnnouncementOut:
    ann = Announcement.create(
        body.pool,
        body.name,
        id=body.id,
        audio_file=body.audio_file,
        tts_text=body.tts_text,
        language=body.language,
        target=body.target,
        repeat=body.repeat,
        early_media=body.early_media,
        early_status=body.early_status,
        redirect_without_answer=body.redirect_without_answer,
        sit=body.sit,
    )
    return AnnouncementOut.of(admin.add_announcement(ann))


@router.get("/{id}")
def get_announcement(id: str, s: DB) -> AnnouncementOut:
    return AnnouncementOut.of(repo.get_announcement_by_id(s, id))


@router.patch("/{id}")
def update_announcement(id: str, body: AnnouncementPatch, admin: AdminDep) -> AnnouncementOut:
    current = repo.get_announcement_by_id(admin.s, id)
    given = body.model_fields_set

    def pick(key: str, value: str | None) -> str | repo.Unset | None:
        return value if key in given else repo.UNSET

    language = pick("language", body.language)
    if "tts_text" in given and body.tts_text is None and "language" not in given:
        language = None  # as the CLI's --no-tts: clearing the prompt clears its language
    updated = admin.update_announcement(
        current.pool,
        current.name,
        new_name=body.name if "name" in given else repo.UNSET,
        audio_file=pick("audio_file", body.audio_file),
        tts_text=pick("tts_text", body.tts_text),
        language=language,
        target=pick("target", body.target),
        repeat=body.repeat if "repeat" in given else repo.UNSET,
        early_media=body.early_media if "early_media" in given else repo.UNSET,
        early_status=body.early_status if "early_status" in given else repo.UNSET,
        redirect_without_answer=(
            body.redirect_without_answer if "redirect_without_answer" in given else repo.UNSET
        ),
        sit=body.sit if "sit" in given else repo.UNSET,
    )
    return AnnouncementOut.of(updated)


@router.delete("/{id}")
def remove_announcement(id: str, admin: AdminDep, force: bool = False) -> Removed:
    """Without ``force``, 409 while ranges use it; with it, their callers get busy."""
    current = repo.get_announcement_by_id(admin.s, id)
    return Removed(
        dangling_ranges=admin.remove_announcement(current.pool, current.name, force=force)
    )


@uploads.post("/{id}/audio")
def upload_audio(
    id: str,
    file: Annotated[UploadFile, File(description="The audio file to play.")],
    admin: AdminDep,
    state: State,
    name: Annotated[str | None, Form(description="Name in the pool's store.")] = None,
    replace: Annotated[bool, Form(description="Replace a file of the same name.")] = False,
) -> AnnouncementOut:
    """Import an audio file into the announcement's pool and make the announcement play it."""
    current = repo.get_announcement_by_id(admin.s, id)
    stored = store_upload(admin, state, current.pool, file, name, replace)
    return AnnouncementOut.of(
        admin.update_announcement(current.pool, current.name, audio_file=stored.name)
    )


@router.get(
    "/{id}/prompt.wav",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "16 kHz mono 16-bit WAV."},
        404: {"description": "No such announcement, or it has no prompt."},
    },
)
def prompt_wav(id: str, s: DB) -> Response:
    """The prompt as callers hear it, as a 16 kHz mono 16-bit WAV: the Special Information Tone
    when set, then the prompt (the decoded audio file, or the rendered text-to-speech) once
    (``vacant announcement preview`` also applies the repeat count)."""
    ann = repo.get_announcement_by_id(s, id)
    heard = playout(s, ann)
    return Response(
        to_wav(heard.sit + heard.prompt.pcm),
        media_type="audio/wav",
        headers={
            "ETag": f'"{heard.prompt.version}"',
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(ann.name, safe='')}.wav",
            "X-Content-Type-Options": "nosniff",
        },
    )
