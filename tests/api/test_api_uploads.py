"""Uploads: audio files and CSV imports as multipart, size limits enforced before the body is
read (Content-Length) and while it streams in (chunked), never by reading it all first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import POOL, Api
from tests.media.audio import wav
from vacant.cli.main import main

V1 = "/api/v1"
WAV = wav()


@pytest.fixture
def small(make_api: Callable[..., Api]) -> Api:
    """Uploads up to 100 kB, JSON bodies up to 2 kB, imports up to 200 kB."""
    api = make_api(max_upload=100_000, max_body=2000, max_import=200_000)
    assert api.admin.post(f"{V1}/pools", json={"name": POOL}).status_code == 201
    return api


#: The start of a multipart body whose file part goes on for as long as the stream does.
PART = (
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
    b"Content-Type: audio/wav\r\n\r\n"
)


class Stream:
    """An ASGI request body of ``chunks`` pieces of ``size`` bytes (a multipart file upload),
    counting how many pieces the app pulls."""

    def __init__(self, chunks: int, size: int = 16_384) -> None:
        self.chunks = chunks
        self.size = size
        self.pulled = 0

    async def receive(self) -> dict[str, Any]:
        self.pulled += 1
        more = self.pulled < self.chunks
        body = PART if self.pulled == 1 else b"\0" * self.size
        return {"type": "http.request", "body": body, "more_body": more}


def asgi_post(api: Api, path: str, stream: Stream, headers: dict[str, str]) -> int:
    """POST straight into the ASGI app; returns the status it answered."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    asyncio.run(api.app(scope, stream.receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    status: int = start["status"]
    return status


def multipart(small: Api) -> dict[str, str]:
    return {
        "authorization": f"Bearer {small.secrets['admin']}",
        "content-type": "multipart/form-data; boundary=xyz",
    }


def test_a_content_length_over_the_limit_is_refused_before_reading_the_body(small: Api) -> None:
    stream = Stream(chunks=10_000)
    headers = {**multipart(small), "content-length": str(10**9)}
    assert asgi_post(small, f"{V1}/files/{POOL}", stream, headers) == 413
    assert stream.pulled == 0


def test_a_streamed_body_over_the_limit_is_cut_off_as_it_arrives(small: Api) -> None:
    stream = Stream(chunks=10_000)  # 160 MB if it were all read
    assert asgi_post(small, f"{V1}/files/{POOL}", stream, multipart(small)) == 413
    limit = 100_000 + 64 * 1024
    assert stream.pulled <= limit // stream.size + 2


def test_anonymous_uploads_are_refused(small: Api) -> None:
    response = small.anonymous.post(f"{V1}/files/{POOL}", files={"file": ("a.wav", WAV)})
    assert response.status_code == 401


def test_json_bodies_have_their_own_smaller_limit(small: Api) -> None:
    big = small.admin.post(f"{V1}/pools", json={"name": POOL, "description": "x" * 5000})
    assert big.status_code == 413
    over = small.admin.post(
        f"{V1}/files/{POOL}", files={"file": ("big.wav", b"RIFF" + bytes(300_000))}
    )
    assert over.status_code == 413


def test_a_file_just_over_the_store_limit_gets_the_cli_message(
    small: Api, db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    response = small.admin.post(
        f"{V1}/files/{POOL}", files={"file": ("big.wav", b"RIFF" + bytes(100_000))}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "file"
    assert "larger than the limit of 100000 bytes" in response.json()["detail"]
    assert small.admin.get(f"{V1}/files").json() == []


def test_audio_files_upload_list_download_and_remove(small: Api) -> None:
    c = small.admin
    uploaded = c.post(f"{V1}/files/{POOL}", files={"file": ("closed.wav", WAV, "audio/wav")})
    assert uploaded.status_code == 201
    assert (uploaded.json()["name"], uploaded.json()["size"]) == ("closed.wav", len(WAV))
    again = c.post(f"{V1}/files/{POOL}", files={"file": ("closed.wav", WAV)})
    assert again.status_code == 409
    renamed = c.post(
        f"{V1}/files/{POOL}",
        files={"file": ("x.wav", WAV)},
        data={"name": "closed.wav", "replace": "true"},
    )
    assert renamed.status_code == 201
    assert [f["name"] for f in c.get(f"{V1}/files", params={"pool": POOL}).json()] == ["closed.wav"]
    assert c.get(f"{V1}/files/{POOL}/closed.wav").json()["sha256"] == uploaded.json()["sha256"]
    content = c.get(f"{V1}/files/{POOL}/closed.wav/content")
    assert content.content == WAV
    assert content.headers["content-type"].startswith("audio/")
    assert "attachment" in content.headers["content-disposition"]
    assert c.delete(f"{V1}/files/{POOL}/closed.wav").status_code == 204
    assert c.get(f"{V1}/files/{POOL}/closed.wav").status_code == 404


def test_an_announcement_gets_its_audio_by_upload(small: Api) -> None:
    c = small.admin
    ann = c.post(f"{V1}/announcements", json={"pool": POOL, "name": "Closed"}).json()
    updated = c.post(f"{V1}/announcements/{ann['id']}/audio", files={"file": ("closed.wav", WAV)})
    assert updated.status_code == 200, updated.text
    assert updated.json()["audio_file"] == "closed.wav"
    in_use = c.delete(f"{V1}/files/{POOL}/closed.wav")
    assert in_use.status_code == 409
    assert "Closed" in in_use.json()["detail"]


def test_numbers_import_from_csv_all_or_nothing(
    small: Api, db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    c = small.admin
    good = "number,uri,owner\n+14255550001,sip:a@example.com,A\n+14255550002,sip:b@example.com,\n"
    imported = c.post(f"{V1}/numbers/import", files={"file": ("good.csv", good.encode())})
    assert imported.json() == {"imported": 2}
    bad = (
        "number,uri,owner\n+14255550003,sip:c@example.com,C\n0123,sip:d@x,D\n"
        "+14255550004,nonsense,E\n+14255550001,sip:dup@example.com,F\n"
    )
    refused = c.post(f"{V1}/numbers/import", files={"file": ("bad.csv", bad.encode())})
    assert refused.status_code == 422
    path = tmp_path / "bad.csv"
    path.write_text(bad)
    capsys.readouterr()
    assert main(["--db", db_url, "number", "import", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {refused.json()['detail']}\n"
    assert len(c.get(f"{V1}/numbers").json()) == 2
    headerless = c.post(
        f"{V1}/numbers/import", files={"file": ("h.csv", b"+14255550005,sip:e@example.com,E\n")}
    )
    assert (headerless.status_code, headerless.json()["field"]) == (422, "h.csv")
    not_text = c.post(f"{V1}/numbers/import", files={"file": ("b.csv", b"\xff\xfe\x00")})
    assert not_text.status_code == 422
