"""Reading a configuration document (see :mod:`vacant.store.transfer`) and checking it against
the store: every problem is collected (``where: field: rule``), none stops the reading."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from vacant.errors import ValidationError
from vacant.routing.model import (
    DEFAULT_DOWN_AFTER,
    DEFAULT_FAILBACK_AFTER,
    Announcement,
    AssignedNumber,
    NormalisationRule,
    NumberRange,
    Pool,
)
from vacant.store.pools import list_announcements, list_files, list_pools

FORMAT = 1
SECTIONS = ("pools", "files", "announcements", "ranges", "numbers", "rules")
#: The announcement options beyond Lync and their defaults (left out of an export when default).
ANNOUNCEMENT_OPTIONS: dict[str, object] = {
    "repeat": 1,
    "early_media": False,
    "early_status": 404,
    "redirect_without_answer": False,
    "sit": False,
}
#: The automatic-failover options of a pool and their defaults (left out when default).
POOL_OPTIONS: dict[str, object] = {
    "auto_failover": False,
    "down_after": DEFAULT_DOWN_AFTER,
    "failback_after": DEFAULT_FAILBACK_AFTER,
}
_FIELDS = {
    "pools": {"name", "backup", "description", *POOL_OPTIONS},
    "files": {"pool", "name", "media_type", "size", "sha256"},
    "announcements": {
        "id",
        "pool",
        "name",
        "audio_file",
        "tts_text",
        "language",
        "target",
        *ANNOUNCEMENT_OPTIONS,
    },
    "ranges": {
        "name",
        "start",
        "end",
        "pattern",
        "announcement",
        "announcement_id",
        "auto_attendant",
        "priority",
        "description",
    },
    "numbers": {"number", "uri", "owner"},
    "rules": {"name", "pattern", "translation", "description"},
}
_PLACEHOLDER_ID = uuid.UUID(int=0)


@dataclass(slots=True)
class RangeSpec:
    """A range of the document; ``ref`` is the ``(pool, name)`` of its announcement, if named."""

    value: NumberRange
    where: str
    ref: tuple[str, str] | None


@dataclass(slots=True)
class Doc:
    """The sections of a document as values (``None``: the section is absent)."""

    pools: list[Pool] | None = None
    files: list[tuple[str, str, str | None, str]] | None = None
    announcements: list[tuple[Announcement, bool, str]] | None = None
    ranges: list[RangeSpec] | None = None
    numbers: list[AssignedNumber] | None = None
    rules: list[NormalisationRule] | None = None
    #: Where in the document each pool, number and rule is (parallel to those lists).
    where: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in SECTIONS})


@dataclass(slots=True)
class Reader:
    """Reads fields of the document, collecting every problem instead of stopping."""

    problems: list[str] = field(default_factory=list)

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def section(self, data: dict[str, Any], key: str) -> list[tuple[str, dict[str, Any]]] | None:
        if key not in data:
            return None
        items = data[key]
        if items is None:
            return []
        if not isinstance(items, list):
            self.problem(key, "must be a list")
            return None
        out: list[tuple[str, dict[str, Any]]] = []
        for i, item in enumerate(items):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                self.problem(where, "must be a mapping")
                continue
            name = item.get("name")
            if isinstance(name, str):
                where = f"{where} {name!r}"
            unknown = sorted(str(k) for k in set(item) - _FIELDS[key])
            if unknown:
                self.problem(where, f"unknown field(s) {', '.join(unknown)}")
                continue
            out.append((where, item))
        return out

    def text(
        self, item: dict[str, Any], key: str, where: str, *, required: bool = False
    ) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                self.problem(f"{where}.{key}", "is required")
            return None
        if not isinstance(value, str):
            # YAML reads a bare +14255550100 as the integer 14255550100: refuse to guess.
            self.problem(f"{where}.{key}", "must be a string (quote it in YAML)")
            return None
        return value

    def build(self, where: str, make: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return make(*args, **kwargs)
        except ValidationError as exc:
            self.problem(f"{where}.{exc.field}", exc.rule)
            return None


def read_document(data: Any, r: Reader) -> Doc:
    doc = Doc()
    if not isinstance(data, dict):
        r.problem("document", "must be a mapping of sections")
        return doc
    unknown = sorted(str(k) for k in set(data) - {"format", *SECTIONS})
    if unknown:
        r.problem("document", f"unknown section(s) {', '.join(unknown)}")
    if data.get("format", FORMAT) != FORMAT:
        r.problem("format", f"must be {FORMAT}")
    if (pools := r.section(data, "pools")) is not None:
        doc.pools = []
        for where, item in pools:
            name = r.text(item, "name", where, required=True)
            backup = r.text(item, "backup", where)
            description = r.text(item, "description", where) or ""
            options = {k: item[k] for k in POOL_OPTIONS if k in item}
            if name is not None:
                value = r.build(where, Pool.create, name, backup, description, **options)
                if value is not None:
                    doc.pools.append(value)
                    doc.where["pools"].append(where)
    if (files := r.section(data, "files")) is not None:
        doc.files = []
        for where, item in files:
            pool = r.text(item, "pool", where, required=True)
            name = r.text(item, "name", where, required=True)
            if pool is not None and name is not None:
                doc.files.append((pool.lower(), name, r.text(item, "sha256", where), where))
    if (announcements := r.section(data, "announcements")) is not None:
        doc.announcements = []
        for where, item in announcements:
            value = _read_announcement(item, where, r)
            if value is not None:
                doc.announcements.append((value, item.get("id") is not None, where))
    if (ranges := r.section(data, "ranges")) is not None:
        doc.ranges = []
        for where, item in ranges:
            spec = _read_range(item, where, r)
            if spec is not None:
                doc.ranges.append(spec)
    if (numbers := r.section(data, "numbers")) is not None:
        doc.numbers = []
        for where, item in numbers:
            number = r.text(item, "number", where, required=True)
            uri = r.text(item, "uri", where, required=True)
            owner = r.text(item, "owner", where) or ""
            if number is not None and uri is not None:
                value = r.build(where, AssignedNumber.create, number, uri, owner)
                if value is not None:
                    doc.numbers.append(value)
                    doc.where["numbers"].append(where)
    if (rules := r.section(data, "rules")) is not None:
        doc.rules = []
        for i, (where, item) in enumerate(rules, start=1):
            name = r.text(item, "name", where, required=True)
            pattern = r.text(item, "pattern", where, required=True)
            translation = r.text(item, "translation", where, required=True)
            description = r.text(item, "description", where) or ""
            if name is not None and pattern is not None and translation is not None:
                value = r.build(
                    where, NormalisationRule.create, name, pattern, translation, i, description
                )
                if value is not None:
                    doc.rules.append(value)
                    doc.where["rules"].append(where)
    return doc


def _read_announcement(item: dict[str, Any], where: str, r: Reader) -> Announcement | None:
    pool = r.text(item, "pool", where, required=True)
    name = r.text(item, "name", where, required=True)
    ann_id = r.text(item, "id", where)
    fields = {k: r.text(item, k, where) for k in ("audio_file", "tts_text", "language", "target")}
    # Numbers and booleans as YAML reads them: Announcement.create checks their types and ranges.
    options = {k: item.get(k, default) for k, default in ANNOUNCEMENT_OPTIONS.items()}
    if pool is None or name is None:
        return None
    value: Announcement | None = r.build(
        where, Announcement.create, pool, name, id=ann_id, **fields, **options
    )
    return value


def _read_range(item: dict[str, Any], where: str, r: Reader) -> RangeSpec | None:
    name = r.text(item, "name", where, required=True)
    ref: tuple[str, str] | None = None
    raw_ref = item.get("announcement")
    if raw_ref is not None:
        if isinstance(raw_ref, dict) and set(raw_ref) == {"pool", "name"}:
            pool = r.text(raw_ref, "pool", f"{where}.announcement", required=True)
            ann_name = r.text(raw_ref, "name", f"{where}.announcement", required=True)
            if pool is None or ann_name is None:
                return None
            ref = (pool.strip().lower(), ann_name.strip())
        else:
            r.problem(f"{where}.announcement", "must be a mapping with pool and name")
            return None
    raw_id = r.text(item, "announcement_id", where)
    ann_id: uuid.UUID | None = None
    if raw_id is not None:
        try:
            ann_id = uuid.UUID(raw_id)
        except ValueError:
            r.problem(f"{where}.announcement_id", f"{raw_id[:40]!r} is not a UUID")
            return None
    priority = item.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        r.problem(f"{where}.priority", "must be an integer >= 0")
        return None
    if name is None:
        return None
    value: NumberRange | None = r.build(
        where,
        NumberRange.create,
        name,
        start=r.text(item, "start", where),
        end=r.text(item, "end", where),
        pattern=r.text(item, "pattern", where),
        announcement_id=ann_id if ann_id is not None or ref is None else _PLACEHOLDER_ID,
        auto_attendant=r.text(item, "auto_attendant", where),
        priority=priority,
        description=r.text(item, "description", where) or "",
    )
    return None if value is None else RangeSpec(value, where, ref)


def _duplicates(r: Reader, section: str, keys: Iterable[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for where, key in keys:
        if key in seen:
            r.problem(where, f"{section} {key} appears more than once")
        seen.add(key)


# --- checking against the store ------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """The document, resolved against the store: announcement ids found, range targets set."""

    doc: Doc
    pools: set[str]
    announcements: list[Announcement] | None
    ranges: list[NumberRange] | None


def check_document(s: Session, doc: Doc, r: Reader) -> Plan:
    stored_pools = {p.name: p for p in list_pools(s)}
    pools = set(stored_pools) if doc.pools is None else {p.name for p in doc.pools}
    stored_files = {(f.pool, f.name): f for f in list_files(s)}
    stored_anns = list_announcements(s)
    if doc.pools is not None:
        places = doc.where["pools"]
        _duplicates(r, "pool", zip(places, (p.name for p in doc.pools), strict=True))
        for p, where in zip(doc.pools, places, strict=True):
            if p.backup is not None and p.backup not in pools:
                r.problem(f"{where}.backup", f"pool {p.backup!r} is not in the document")
        for gone in sorted(set(stored_pools) - pools):
            if any(pool == gone for pool, _ in stored_files):
                r.problem(
                    f"pools {gone!r}",
                    "is not in the document but still has audio files (remove them first)",
                )
    for pool, name, _sha256, where in doc.files or []:
        stored = stored_files.get((pool, name))
        if stored is None:
            r.problem(where, f"file {pool}/{name} is not in the store: import it first")
        elif pool not in pools:
            r.problem(where, f"pool {pool!r} is not in the document")
    announcements: list[Announcement] | None = None
    if doc.announcements is not None:
        by_key = {(a.pool, a.name): a.id for a in stored_anns}
        announcements = []
        for value, has_id, where in doc.announcements:
            if not has_id and (value.pool, value.name) in by_key:
                value = dataclasses.replace(value, id=by_key[(value.pool, value.name)])
            announcements.append(value)
            if value.pool not in pools:
                r.problem(f"{where}.pool", f"pool {value.pool!r} is not in the document")
            if value.audio_file is not None and (value.pool, value.audio_file) not in stored_files:
                r.problem(
                    f"{where}.audio_file",
                    f"{value.audio_file!r} is not imported into pool {value.pool!r}",
                )
        _duplicates(r, "announcement id", ((w, str(a.id)) for a, _, w in doc.announcements))
        _duplicates(r, "announcement", ((w, f"{a.pool}/{a.name}") for a, _, w in doc.announcements))
    else:
        for a in stored_anns:
            if a.pool not in pools:
                r.problem(
                    f"pools {a.pool!r}", f"is not in the document but has announcement {a.name!r}"
                )
    final_anns = stored_anns if announcements is None else announcements
    ref_ids = {(a.pool, a.name): a.id for a in final_anns}
    ranges: list[NumberRange] | None = None
    if doc.ranges is not None:
        ranges = []
        _duplicates(r, "range", ((spec.where, spec.value.name) for spec in doc.ranges))
        for spec in doc.ranges:
            wanted = spec.value
            if spec.ref is not None:
                found = ref_ids.get(spec.ref)
                if found is None:
                    r.problem(
                        f"{spec.where}.announcement",
                        f"announcement {spec.ref[0]}/{spec.ref[1]} does not exist",
                    )
                    continue
                if wanted.announcement_id not in (_PLACEHOLDER_ID, found):
                    r.problem(
                        f"{spec.where}.announcement_id",
                        f"{wanted.announcement_id} is not the id of {spec.ref[0]}/{spec.ref[1]}",
                    )
                    continue
                wanted = dataclasses.replace(wanted, announcement_id=found)
            ranges.append(wanted)
    if doc.numbers is not None:
        numbers = (str(n.number) for n in doc.numbers)
        _duplicates(r, "number", zip(doc.where["numbers"], numbers, strict=True))
    if doc.rules is not None:
        _duplicates(r, "rule", zip(doc.where["rules"], (x.name for x in doc.rules), strict=True))
    return Plan(doc, pools, announcements, ranges)
