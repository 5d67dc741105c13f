"""The directory of assigned numbers (number → SIP URI) and the inbound normalisation rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from vacant.errors import Conflict, NotFound, ValidationError
from vacant.routing.model import AssignedNumber, NormalisationRule
from vacant.routing.numbers import parse_bound
from vacant.store.models import AssignedNumberRow, NormalisationRuleRow
from vacant.store.rows import UNSET, Unset, number_from_uri, to_number, to_rule, writing

#: Rows per INSERT batch (and between two progress reports) when importing numbers.
IMPORT_BATCH = 10_000
#: Numbers per ``IN (...)`` when checking an import against the store (SQLite allows 32766).
_IN_CHUNK = 900


# --- assigned numbers ----------------------------------------------------------------------


def add_number(s: Session, a: AssignedNumber) -> AssignedNumber:
    """Assign a number to a SIP URI. Conflict if the number is assigned already."""
    value = AssignedNumber.create(str(a.number), a.uri, a.owner)
    with writing(s, f"number {value.number}"):
        existing = s.scalar(
            select(AssignedNumberRow.uri).where(AssignedNumberRow.number == value.number.uri)
        )
        if existing is not None:
            raise Conflict(f"number {value.number} is already assigned (to {existing})")
        s.add(AssignedNumberRow(number=value.number.uri, uri=value.uri, owner=value.owner))
    return value


def list_numbers(s: Session, *, limit: int | None = None, offset: int = 0) -> list[AssignedNumber]:
    """The assigned numbers by number (a page of them with ``limit``/``offset``)."""
    t = AssignedNumberRow
    query = select(t.number, t.uri, t.owner).order_by(t.number)
    if limit is not None:
        query = query.limit(max(0, limit))
    if offset:
        query = query.offset(max(0, offset))
    return [AssignedNumber(number_from_uri(n), uri, owner) for n, uri, owner in s.execute(query)]


def update_number(
    s: Session, number: str, *, uri: str | Unset = UNSET, owner: str | Unset = UNSET
) -> AssignedNumber:
    """Change where an assigned number's calls go, or its owner."""
    key = parse_bound(number, "number").uri
    row = s.scalar(select(AssignedNumberRow).where(AssignedNumberRow.number == key))
    if row is None:
        raise NotFound(f"number {number!r} is not assigned")
    current = to_number(row)
    value = AssignedNumber.create(
        str(current.number),
        current.uri if uri is UNSET else uri,
        current.owner if owner is UNSET else owner,
    )
    with writing(s, f"number {value.number}"):
        row.uri, row.owner = value.uri, value.owner
    return value


def remove_number(s: Session, number: str) -> None:
    key = parse_bound(number, "number").uri
    row = s.scalar(select(AssignedNumberRow).where(AssignedNumberRow.number == key))
    if row is None:
        raise NotFound(f"number {number!r} is not assigned")
    with writing(s, f"number {number!r}"):
        s.delete(row)


def existing_numbers(s: Session, keys: list[str]) -> set[str]:
    """Which of these ``tel:`` URIs are assigned already (one scan when that is cheaper)."""
    if not keys:
        return set()
    t = AssignedNumberRow
    stored = s.scalar(select(func.count()).select_from(t)) or 0
    if stored <= len(keys):
        wanted = set(keys)
        return {n for n in s.scalars(select(t.number)) if n in wanted}
    found: set[str] = set()
    for i in range(0, len(keys), _IN_CHUNK):
        found.update(s.scalars(select(t.number).where(t.number.in_(keys[i : i + _IN_CHUNK]))))
    return found


def bulk_insert_numbers(
    s: Session,
    values: list[AssignedNumber],
    progress: Callable[[int], None] | None,
    done: int = 0,
) -> int:
    """Insert validated numbers in batches, reporting the running count."""
    for i in range(0, len(values), IMPORT_BATCH):
        batch = values[i : i + IMPORT_BATCH]
        s.execute(
            insert(AssignedNumberRow),
            [{"number": v.number.uri, "uri": v.uri, "owner": v.owner} for v in batch],
        )
        done += len(batch)
        if progress is not None:
            progress(done)
    return done


def import_numbers(
    s: Session,
    rows: Iterable[tuple[int, str, str, str]],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add many assigned numbers, all or nothing. ``rows`` are ``(line, number, uri, owner)``.

    Every row is checked first; every bad line (a broken rule, a number repeated in the rows or
    already assigned) is reported in one :class:`ValidationError`, ``line N: field: rule`` each.
    Returns how many numbers were added; ``progress(count)`` is called after each batch.
    """
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    values: list[AssignedNumber] = []
    for line, number, uri, owner in rows:
        try:
            value = AssignedNumber.create(number, uri, owner)
        except ValidationError as exc:
            problems.append((line, f"line {line}: {exc}"))
            continue
        key = value.number.uri
        if key in first_line:
            problems.append(
                (line, f"line {line}: number: {value.number} repeats line {first_line[key]}")
            )
            continue
        first_line[key] = line
        values.append(value)
    for key in existing_numbers(s, list(first_line)):
        line = first_line[key]
        problems.append((line, f"line {line}: number: {number_from_uri(key)} is already assigned"))
    if problems:
        problems.sort(key=lambda p: p[0])
        raise ValidationError(
            "numbers",
            f"{len(problems)} bad line(s), nothing imported:\n"
            + "\n".join(text for _, text in problems),
        )
    if not values:
        return 0
    with writing(s, "number import"):
        return bulk_insert_numbers(s, values, progress)


# --- normalisation rules -------------------------------------------------------------------


def _rule_count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(NormalisationRuleRow)) or 0


def add_rule(s: Session, rule: NormalisationRule) -> NormalisationRule:
    """Add a rule at ``position`` (1 is first; the rules from there on move down one), or last
    when ``position`` is 0 or past the end."""
    if isinstance(rule.position, bool) or not isinstance(rule.position, int) or rule.position < 0:
        raise ValidationError("position", "must be an integer >= 0 (0: last)")
    value = NormalisationRule.create(
        rule.name, rule.pattern, rule.translation, rule.position, rule.description
    )
    with writing(s, f"rule {value.name!r}"):
        if s.scalar(select(NormalisationRuleRow.id).where(NormalisationRuleRow.name == value.name)):
            raise Conflict(f"rule {value.name!r} already exists")
        count = _rule_count(s)
        position = value.position
        if position == 0 or position > count:
            position = count + 1
        else:
            _shift_rules(s, position, +1)
        s.add(
            NormalisationRuleRow(
                name=value.name,
                pattern=value.pattern,
                translation=value.translation,
                position=position,
                description=value.description,
            )
        )
    return NormalisationRule(
        value.name, value.pattern, value.translation, position, value.description
    )


def _shift_rules(s: Session, start: int, step: int) -> None:
    t = NormalisationRuleRow
    s.flush()
    s.execute(
        update(t)
        .where(t.position >= start)
        .values(position=t.position + step)
        .execution_options(synchronize_session="fetch")
    )


def list_rules(s: Session) -> list[NormalisationRule]:
    """The rules in the order they apply."""
    t = NormalisationRuleRow
    query: Any = select(t.name, t.pattern, t.translation, t.position, t.description)
    return [NormalisationRule(*r) for r in s.execute(query.order_by(t.position, t.id))]


def remove_rule(s: Session, name: str) -> None:
    row = s.scalar(select(NormalisationRuleRow).where(NormalisationRuleRow.name == name.strip()))
    if row is None:
        raise NotFound(f"rule {name!r} does not exist")
    with writing(s, f"rule {row.name!r}"):
        position = row.position
        s.delete(row)
        s.flush()
        _shift_rules(s, position + 1, -1)


def update_rule(
    s: Session,
    name: str,
    *,
    pattern: str | Unset = UNSET,
    translation: str | Unset = UNSET,
    description: str | Unset = UNSET,
) -> NormalisationRule:
    """Change a rule's pattern, translation or description (validated as a whole); its place
    in the order stays."""
    row = s.scalar(select(NormalisationRuleRow).where(NormalisationRuleRow.name == name.strip()))
    if row is None:
        raise NotFound(f"rule {name!r} does not exist")
    current = to_rule(row)
    value = NormalisationRule.create(
        current.name,
        current.pattern if pattern is UNSET else pattern,
        current.translation if translation is UNSET else translation,
        current.position,
        current.description if description is UNSET else description,
    )
    with writing(s, f"rule {value.name!r}"):
        row.pattern, row.translation = value.pattern, value.translation
        row.description = value.description
    return value


def get_rule(s: Session, name: str) -> NormalisationRule:
    row = s.scalar(select(NormalisationRuleRow).where(NormalisationRuleRow.name == name.strip()))
    if row is None:
        raise NotFound(f"rule {name!r} does not exist")
    return to_rule(row)


def get_number(s: Session, number: str) -> AssignedNumber:
    key = parse_bound(number, "number").uri
    row = s.scalar(select(AssignedNumberRow).where(AssignedNumberRow.number == key))
    if row is None:
        raise NotFound(f"number {number!r} is not assigned")
    return to_number(row)
