"""Reading admins' files: the CSV of assigned numbers (``number,uri,owner``)."""

from __future__ import annotations

import csv
from pathlib import Path

from vacant.errors import ValidationError

HEADER = ["number", "uri", "owner"]
MAX_ERRORS_SHOWN = 50


def read_numbers_csv(path: Path) -> list[tuple[int, str, str, str]]:
    """Read every row as (line number, number, uri, owner); the values are validated by the store.

    The first row must be the header ``number,uri,owner`` (``owner`` may be left empty). Every
    malformed line is reported, with its line number, in one :class:`ValidationError`.
    """
    rows: list[tuple[int, str, str, str]] = []
    errors: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header] != HEADER:
                raise ValidationError(
                    path.name, "the first line must be the header number,uri,owner"
                )
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
            raise ValidationError(
                path.name, f"line {reader.line_num}: not valid CSV: {exc}"
            ) from None
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        tail = [f"... and {more} more"] if more else []
        raise ValidationError(path.name, "\n".join(["bad lines, nothing imported:", *shown, *tail]))
    return rows
