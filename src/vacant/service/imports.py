"""Reading admins' input, the same for the CLI and the API: the CSV of assigned numbers
(``number,uri,owner``), the YAML (or JSON) configuration document, and times like ``30m``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from vacant.errors import ValidationError

HEADER = ["number", "uri", "owner"]
MAX_ERRORS_SHOWN = 50
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def read_numbers_csv(path: Path) -> list[tuple[int, str, str, str]]:
    """The rows of a CSV file (see :func:`parse_numbers_csv`)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return parse_numbers_csv(handle, path.name)


def decode_text(data: bytes, source: str) -> str:
    """Uploaded bytes as text: UTF-8, with or without a byte order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(source, f"not UTF-8 text: {exc}") from None


def parse_numbers_csv(
    lines: Iterable[str] | str | bytes, source: str = "csv"
) -> list[tuple[int, str, str, str]]:
    """Read every row as (line number, number, uri, owner); the values are validated by the store.

    ``lines`` is an open text file, the text, or UTF-8 bytes; ``source`` names it in errors.
    The first row must be the header ``number,uri,owner`` (``owner`` may be left empty). Every
    malformed line is reported, with its line number, in one :class:`ValidationError`.
    """
    if isinstance(lines, bytes):
        lines = decode_text(lines, source)
    if isinstance(lines, str):
        lines = io.StringIO(lines.removeprefix("\ufeff"), newline="")
    rows: list[tuple[int, str, str, str]] = []
    errors: list[str] = []
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != HEADER:
            raise ValidationError(source, "the first line must be the header number,uri,owner")
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(HEADER):
                errors.append(
                    f"line {line}: expected 3 fields (number,uri,owner), got {len(fields)}"
                )
                continue
            number, uri, owner = (f.strip() for f in fields)
            rows.append((line, number, uri, owner))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ValidationError(source, f"line {reader.line_num}: not valid CSV: {exc}") from None
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        tail = [f"... and {more} more"] if more else []
        raise ValidationError(source, "\n".join(["bad lines, nothing imported:", *shown, *tail]))
    return rows


def parse_config_document(text: str, source: str = "config") -> dict[str, Any]:
    """A configuration document as ``vacant config export`` writes it (YAML; JSON is YAML)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(source, f"not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ValidationError(source, "must be a YAML mapping (as `vacant config export` writes)")
    return document


def parse_since(value: str, now: datetime, field_name: str = "since") -> datetime:
    """``30m``, ``2h``, ``7d`` ago, or an ISO 8601 time (UTC when it names no zone)."""
    unit = _UNITS.get(value[-1:])
    if unit and value[:-1].isdigit():
        return now - timedelta(**{unit: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            field_name, f"{value!r} is neither like 30m, 2h, 7d nor an ISO 8601 time"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
