"""Configuration export and all-or-nothing import."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.media.audio import wav
from vacant.errors import ValidationError
from vacant.routing.model import Announcement, AssignedNumber, NormalisationRule, Pool
from vacant.store import repository as repo
from vacant.store.engine import session_scope

P = "pool1.example.com"
ID_A = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
ID_B = "0e2a6c5d-1b3f-4a7e-9c8d-5f4e3d2c1b0a"


def _populate(s: Session) -> None:
    repo.add_pool(s, Pool.create(P, description="main"))
    repo.add_pool(s, Pool.create("pool2.example.com", backup=P))
    repo.update_pool(s, P, backup="pool2.example.com")
    repo.add_file(s, P, "closed.wav", wav(), "audio/wav")
    repo.add_announcement(
        s, Announcement.create(P, "closed", id=ID_A, audio_file="closed.wav", target="tel:+1")
    )
    repo.add_announcement(
        s, Announcement.create(P, "busy", id=ID_B, tts_text="Busy", language="en-US")
    )
    repo.add_range(s, "r1", start="+14255550100", end="+14255550199", announcement=(P, "closed"))
    repo.add_range(s, "r2", pattern=r"\+1999\d+", auto_attendant="+14255550000", priority=0)
    repo.add_range(
        s, "r3", start="100", end="199", announcement=(P, "busy"), description="internal"
    )
    repo.add_number(s, AssignedNumber.create("+14255550150", "sip:alice@example.com", "Alice"))
    repo.add_rule(s, NormalisationRule.create("four", r"(\d{4})", "+1425555$1", description="d"))
    repo.add_rule(s, NormalisationRule.create("plus", r"00(\d+)", "+$1"))


def test_export_gives_a_plain_yaml_able_document(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    assert yaml.safe_load(yaml.safe_dump(doc)) == doc
    assert doc["format"] == 1
    assert doc["pools"] == [
        {"name": P, "backup": "pool2.example.com", "description": "main"},
        {"name": "pool2.example.com", "backup": P},
    ]
    [file] = doc["files"]
    assert (file["pool"], file["name"], file["size"]) == (P, "closed.wav", len(wav()))
    assert doc["announcements"] == [
        {"id": ID_B, "pool": P, "name": "busy", "tts_text": "Busy", "language": "en-US"},
        {"id": ID_A, "pool": P, "name": "closed", "audio_file": "closed.wav", "target": "tel:+1"},
    ]
    assert doc["ranges"] == [
        {
            "name": "r1",
            "start": "+14255550100",
            "end": "+14255550199",
            "announcement": {"pool": P, "name": "closed"},
            "announcement_id": ID_A,
            "priority": 0,
        },
        {"name": "r2", "pattern": r"\+1999\d+", "auto_attendant": "+14255550000", "priority": 0},
        {
            "name": "r3",
            "start": "100",
            "end": "199",
            "announcement": {"pool": P, "name": "busy"},
            "announcement_id": ID_B,
            "priority": 1,
            "description": "internal",
        },
    ]
    assert doc["numbers"] == [
        {"number": "+14255550150", "uri": "sip:alice@example.com", "owner": "Alice"}
    ]
    assert doc["rules"] == [
        {"name": "four", "pattern": r"(\d{4})", "translation": "+1425555$1", "description": "d"},
        {"name": "plus", "pattern": r"00(\d+)", "translation": "+$1"},
    ]


def test_a_dangling_range_is_exported_with_its_id_only(session: Session) -> None:
    _populate(session)
    repo.remove_announcement(session, P, "closed", force=True)
    r1 = repo.export_config(session)["ranges"][0]
    assert "announcement" not in r1
    assert r1["announcement_id"] == ID_A


def test_export_then_import_into_an_empty_store_gives_the_same_store(
    session: Session, engine: Engine
) -> None:
    _populate(session)
    doc = repo.export_config(session)
    session.rollback()
    with session_scope(engine) as s:
        repo.add_pool(s, Pool.create(P))
        repo.add_file(s, P, "closed.wav", wav(), "audio/wav")
    with session_scope(engine) as s:
        changes = repo.import_config(s, doc)
    assert "+ pool pool2.example.com" in changes
    assert (
        "~ pool pool1.example.com: description '' -> 'main', backup none -> 'pool2.example.com'"
        not in changes
    )
    assert "~ pool pool1.example.com: description '' -> 'main'" in changes
    assert "~ pool pool1.example.com: backup none -> 'pool2.example.com'" in changes
    assert {"+ announcement pool1.example.com/closed", "+ range r1", "+ rule four"} <= set(changes)
    assert "+ number +14255550150 -> sip:alice@example.com" in changes
    with session_scope(engine) as s:
        again = repo.export_config(s)
        assert again == doc
        assert repo.import_config(s, again) == []


def test_importing_the_same_document_changes_nothing(session: Session) -> None:
    _populate(session)
    version = repo.config_version(session)
    assert repo.import_config(session, repo.export_config(session)) == []
    assert repo.config_version(session) == version


def test_import_reports_every_change(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    doc["pools"][0]["description"] = "renamed"
    doc["announcements"][0]["target"] = "sip:op@example.com"
    doc["announcements"].append({"pool": P, "name": "new", "target": "tel:+2"})
    doc["ranges"] = [
        doc["ranges"][2],
        doc["ranges"][1],
        {**doc["ranges"][0], "end": "+14255550150"},
    ]
    doc["ranges"][0]["priority"] = 0
    doc["ranges"].append({"name": "r4", "pattern": "4", "announcement": {"pool": P, "name": "new"}})
    del doc["numbers"][0]
    doc["numbers"].append({"number": "+14255550160", "uri": "sip:bob@example.com"})
    doc["rules"] = [
        {**doc["rules"][1], "translation": "+00$1"},
        {"name": "x", "pattern": "1", "translation": "2"},
    ]
    changes = repo.import_config(session, doc)
    assert changes == [
        "~ pool pool1.example.com: description 'main' -> 'renamed'",
        "~ announcement pool1.example.com/busy: target none -> 'sip:op@example.com'",
        "+ announcement pool1.example.com/new",
        "~ range r3: priority 1 -> 0",
        "~ range r1: end '+14255550199' -> '+14255550150'",
        "+ range r4",
        "~ ranges: evaluation order",
        "- number +14255550150",
        "+ number +14255550160 -> sip:bob@example.com",
        "- rule four",
        "~ rule plus: translation '+$1' -> '+00$1'",
        "+ rule x",
    ]
    assert [r.name for r in repo.list_ranges(session)] == ["r3", "r2", "r1", "r4"]
    assert [(r.name, r.position) for r in repo.list_rules(session)] == [("plus", 1), ("x", 2)]
    assert repo.import_config(session, repo.export_config(session)) == []


def test_import_removes_what_a_present_section_lacks(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    doc["ranges"] = []
    doc["announcements"] = [a for a in doc["announcements"] if a["name"] == "busy"]
    doc["pools"] = [{"name": P}]
    doc["rules"] = None
    changes = repo.import_config(session, doc)
    assert changes == [
        "~ pool pool1.example.com: description 'main' -> ''",
        "- announcement pool1.example.com/closed",
        "- range r1",
        "- range r2",
        "- range r3",
        "- rule four",
        "- rule plus",
        "~ pool pool1.example.com: backup 'pool2.example.com' -> none",
        "- pool pool2.example.com",
    ]
    assert [p.name for p in repo.list_pools(session)] == [P]


def test_an_absent_section_is_left_alone(session: Session) -> None:
    _populate(session)
    before = repo.export_config(session)
    assert repo.import_config(session, {"ranges": before["ranges"][:1]}) == [
        "- range r2",
        "- range r3",
    ]
    after = repo.export_config(session)
    assert {k: v for k, v in after.items() if k != "ranges"} == {
        k: v for k, v in before.items() if k != "ranges"
    }


def test_announcements_are_matched_by_id_so_names_can_be_swapped(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    a, b = doc["announcements"]
    a["name"], b["name"] = b["name"], a["name"]
    for r in doc["ranges"]:
        r.pop("announcement", None)
    changes = repo.import_config(session, doc)
    assert changes == [
        "~ announcement pool1.example.com/closed: name 'busy' -> 'closed'",
        "~ announcement pool1.example.com/busy: name 'closed' -> 'busy'",
    ]
    assert repo.get_announcement(session, P, "busy").id == uuid.UUID(ID_A)


def test_an_announcement_without_id_keeps_the_id_of_its_namesake(session: Session) -> None:
    _populate(session)
    doc = {"announcements": [{"pool": P, "name": "busy", "tts_text": "Busy", "language": "en-US"}]}
    assert repo.import_config(session, doc) == ["- announcement pool1.example.com/closed"]
    assert repo.get_announcement(session, P, "busy").id == uuid.UUID(ID_B)


def test_a_range_may_name_a_dangling_announcement_id(session: Session) -> None:
    _populate(session)
    dangling = str(uuid.uuid4())
    changes = repo.import_config(
        session, {"ranges": [{"name": "r9", "pattern": "9", "announcement_id": dangling}]}
    )
    assert changes == ["- range r1", "- range r2", "- range r3", "+ range r9"]
    assert str(repo.get_range(session, "r9").announcement_id) == dangling


def test_import_progress_is_reported(session: Session) -> None:
    seen: list[int] = []
    doc = {
        "numbers": [{"number": f"+1425555{i:04d}", "uri": "sip:a@example.com"} for i in range(3)]
    }
    assert len(repo.import_config(session, doc, progress=seen.append)) == 3
    assert seen == [0, 0, 3, 3]


def test_import_changes_numbers_and_the_order_of_rules(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    doc["numbers"][0]["owner"] = "Bob"
    doc["numbers"][0]["uri"] = "sip:bob@example.com"
    doc["rules"].reverse()
    assert repo.import_config(session, doc) == [
        "~ number +14255550150: uri 'sip:alice@example.com' -> 'sip:bob@example.com',"
        " owner 'Alice' -> 'Bob'",
        "~ rules: order",
    ]
    assert [r.name for r in repo.list_rules(session)] == ["plus", "four"]
    assert repo.list_numbers(session)[0].owner == "Bob"


def test_a_dry_run_is_a_rolled_back_import(engine: Engine) -> None:
    with session_scope(engine) as s:
        _populate(s)
        doc = repo.export_config(s)
    doc["ranges"] = []
    with session_scope(engine) as s:
        changes = repo.import_config(s, doc)
        s.rollback()
    assert changes == ["- range r1", "- range r2", "- range r3"]
    with session_scope(engine) as s:
        assert len(repo.list_ranges(s)) == 3


def test_the_stored_file_content_differing_is_noted(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    doc["files"][0]["sha256"] = "0" * 64
    assert repo.import_config(session, doc) == [
        "! file pool1.example.com/closed.wav: the stored content differs from the document's"
    ]


def _problems(session: Session, doc: Any) -> list[str]:
    before = repo.export_config(session)
    version = repo.config_version(session)
    with pytest.raises(ValidationError) as info:
        repo.import_config(session, doc)
    assert info.value.field == "config"
    assert repo.export_config(session) == before
    assert repo.config_version(session) == version
    head, *lines = str(info.value).splitlines()
    assert head == f"config: {len(lines)} problem(s), nothing imported:"
    return lines


def test_every_problem_is_reported_and_nothing_is_imported(session: Session) -> None:
    _populate(session)
    doc = copy.deepcopy(repo.export_config(session))
    doc["pools"].append({"name": "bad name!"})
    doc["pools"].append({"name": "pool3.example.com", "backup": "nope.example.com"})
    doc["files"].append({"pool": P, "name": "missing.wav"})
    doc["announcements"].append({"pool": "nope.example.com", "name": "x"})
    doc["announcements"].append({"pool": P, "name": "y", "audio_file": "missing.wav"})
    doc["announcements"].append({"pool": P, "name": "busy"})
    doc["ranges"].append({"name": "r1", "pattern": "1", "auto_attendant": "1"})
    doc["ranges"].append({"name": "bad", "start": "+2", "end": "+1", "auto_attendant": "1"})
    doc["ranges"].append({"name": "ref", "pattern": "1", "announcement": {"pool": P, "name": "z"}})
    doc["ranges"].append(
        {
            "name": "mismatch",
            "pattern": "1",
            "announcement": {"pool": P, "name": "busy"},
            "announcement_id": ID_A,
        }
    )
    doc["numbers"].append({"number": 14255550150, "uri": "sip:a@example.com"})
    doc["numbers"].append(dict(doc["numbers"][0]))
    doc["rules"].append({"name": "four", "pattern": "1", "translation": "2"})
    doc["rules"].append({"name": "bad", "pattern": "(", "translation": "2"})
    assert _problems(session, doc) == [
        "pools[2] 'bad name!'.name: 'bad name!' is not an FQDN-like name"
        " (letters, digits, - and dots)",
        "ranges[4] 'bad'.end: +1 is less than the start +2 (compared as numbers)",
        "numbers[1].number: must be a string (quote it in YAML)",
        "rules[3] 'bad'.pattern: is not a valid regular expression: missing ), unterminated"
        " subpattern at position 0",
        "pools[3] 'pool3.example.com'.backup: pool 'nope.example.com' is not in the document",
        "files[1] 'missing.wav': file pool1.example.com/missing.wav is not in the store:"
        " import it first",
        "announcements[2] 'x'.pool: pool 'nope.example.com' is not in the document",
        "announcements[3] 'y'.audio_file: 'missing.wav' is not imported into pool"
        " 'pool1.example.com'",
        "announcements[4] 'busy': announcement pool1.example.com/busy appears more than once",
        "ranges[3] 'r1': range r1 appears more than once",
        "ranges[5] 'ref'.announcement: announcement pool1.example.com/z does not exist",
        f"ranges[6] 'mismatch'.announcement_id: {ID_A} is not the id of pool1.example.com/busy",
        "numbers[2]: number +14255550150 appears more than once",
        "rules[2] 'four': rule four appears more than once",
    ]


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "document: must be a mapping of sections"),
        ({"format": 2}, "format: must be 1"),
        ({"extra": []}, "document: unknown section(s) extra"),
        ({"pools": {}}, "pools: must be a list"),
        ({"pools": ["x"]}, "pools[0]: must be a mapping"),
        ({"pools": [{"name": "a", "size": 1}]}, "pools[0] 'a': unknown field(s) size"),
        ({"pools": [{}]}, "pools[0].name: is required"),
        ({"rules": [{"name": "a"}]}, "rules[0] 'a'.pattern: is required"),
        ({"numbers": [{"uri": "sip:a@b"}]}, "numbers[0].number: is required"),
        ({"numbers": [{"number": "x", "uri": "sip:a@b"}]}, "numbers[0].number: 'x' does not"),
        ({"files": [{"name": "a.wav"}]}, "files[0] 'a.wav'.pool: is required"),
        ({"announcements": [{"name": "a"}]}, "announcements[0] 'a'.pool: is required"),
        ({"announcements": [{"pool": P, "name": "a", "id": "x"}]}, "announcements[0] 'a'.id:"),
        ({"ranges": [{"pattern": "1"}]}, "ranges[0].name: is required"),
        ({"ranges": [{"name": "a", "pattern": "1", "priority": "1", "auto_attendant": "1"}]},
         "ranges[0] 'a'.priority: must be an integer >= 0"),
        ({"ranges": [{"name": "a", "pattern": "1", "priority": -1, "auto_attendant": "1"}]},
         "ranges[0] 'a'.priority: must be an integer >= 0"),
        ({"ranges": [{"name": "a", "pattern": "1", "announcement_id": "x"}]},
         "ranges[0] 'a'.announcement_id: 'x' is not a UUID"),
        ({"ranges": [{"name": "a", "pattern": "1", "announcement": "p/a"}]},
         "ranges[0] 'a'.announcement: must be a mapping with pool and name"),
        ({"ranges": [{"name": "a", "pattern": "1", "announcement": {"pool": P, "name": None}}]},
         "ranges[0] 'a'.announcement.name: is required"),
        ({"ranges": [{"name": "a", "pattern": "1"}]}, "ranges[0] 'a'.target: give exactly one"),
    ],
)  # fmt: skip
def test_a_malformed_document_is_refused(session: Session, doc: Any, problem: str) -> None:
    lines = _problems(session, doc)
    assert any(line.startswith(problem) for line in lines), lines


def test_a_pool_with_files_cannot_be_dropped_by_import(session: Session) -> None:
    _populate(session)
    doc = repo.export_config(session)
    doc["pools"] = [p for p in doc["pools"] if p["name"] != P]
    doc["pools"][0].pop("backup")
    assert _problems(session, doc) == [
        "pools 'pool1.example.com': is not in the document but still has audio files"
        " (remove them first)",
        "files[0] 'closed.wav': pool 'pool1.example.com' is not in the document",
        "announcements[0] 'busy'.pool: pool 'pool1.example.com' is not in the document",
        "announcements[1] 'closed'.pool: pool 'pool1.example.com' is not in the document",
    ]


def test_a_pool_with_announcements_cannot_be_dropped_by_import(session: Session) -> None:
    repo.add_pool(session, Pool.create(P))
    repo.add_announcement(session, Announcement.create(P, "busy"))
    assert _problems(session, {"pools": []}) == [
        "pools 'pool1.example.com': is not in the document but has announcement 'busy'"
    ]
