"""The routing data of ``bench/sip_cps.py``, for vacant and for the Kamailio it is compared with.

One fixed-seed data set, in two forms that route every number the same way:

- for vacant, a configuration document as ``vacant config export`` writes it (the store imports
  it with ``repository.import_config``): 10,000 numeric ranges, half to an auto-attendant
  (→ 302), half to an announcement with a target and no prompt (→ 480 until the media path
  lands), plus 1,000 assigned numbers inside the auto-attendant ranges (→ 302 to their URI);
- for Kamailio, the same ranges decomposed into prefixes (a range that is not aligned to a power
  of ten becomes several) for the ``mtree`` module, as a ``db_text`` table. mtree matches the
  longest prefix, so an assigned number (a full-length prefix) wins over its range, as it does
  in vacant.

Numbers are ``+1`` and ten digits. Range ``i`` lives in its own ten-thousand block
(``+1 NPANXX ....``): it starts and ends on a multiple of 100 inside the block and never covers
all of it, so the rest of the block is unallocated. The dialled numbers of the 404 path are in
those gaps (90%: the lookup goes as deep as for an allocated number) or in blocks without a range.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 3261
RANGES = 10_000
ASSIGNED = 1_000
DIALLED = 10_000
POOL = "bench.example.com"
DOMAIN = "example.com"
ANNOUNCEMENT = "Not in service"
ANNOUNCEMENT_ID = "5a1d0c2e-0000-4000-8000-000000003261"
BLOCK = 10_000  # numbers per NPA-NXX block
STEP = 100  # range bounds are multiples of this inside a block


@dataclass(frozen=True, slots=True)
class BenchRange:
    name: str
    start: int  # the ten digits after +1
    end: int
    attendant: int | None  # None: the announcement


@dataclass(frozen=True, slots=True)
class Dataset:
    ranges: list[BenchRange]
    assigned: dict[int, str]  # number (ten digits) -> SIP URI
    redirected: list[str]  # dialled numbers answered 302
    unallocated: list[str]  # dialled numbers answered 404

    def document(self) -> dict[str, Any]:
        """The configuration for ``repository.import_config`` (the ``config import`` format)."""
        ranges: list[dict[str, Any]] = []
        for r in self.ranges:
            item: dict[str, Any] = {"name": r.name, "start": _e164(r.start), "end": _e164(r.end)}
            if r.attendant is None:
                item["announcement"] = {"pool": POOL, "name": ANNOUNCEMENT}
            else:
                item["auto_attendant"] = _e164(r.attendant)
            item["priority"] = 1
            ranges.append(item)
        return {
            "format": 1,
            "pools": [{"name": POOL, "description": "bench/sip_cps.py"}],
            "announcements": [
                {
                    "id": ANNOUNCEMENT_ID,
                    "pool": POOL,
                    "name": ANNOUNCEMENT,
                    "target": f"sip:operator@{DOMAIN}",
                }
            ],
            "ranges": ranges,
            "numbers": [
                {"number": _e164(n), "uri": uri, "owner": "bench"}
                for n, uri in sorted(self.assigned.items())
            ],
            "rules": [],
        }

    def prefixes(self) -> dict[str, str]:
        """Kamailio's view: prefix (with ``+``) -> Contact URI, or ``-`` for an announcement."""
        table: dict[str, str] = {}
        for r in self.ranges:
            value = "-" if r.attendant is None else _contact(r.attendant)
            for prefix in cover(r.start, r.end, 10):
                table["+1" + prefix] = value
        for number, uri in self.assigned.items():
            table[_e164(number)] = uri
        return table


def _e164(digits: int) -> str:
    return f"+1{digits:010d}"


def _contact(number: int) -> str:
    """vacant's auto-attendant Contact with ``--domain``: ``sip:+N@DOMAIN;user=phone``."""
    return f"sip:{_e164(number)}@{DOMAIN};user=phone"


def cover(low: int, high: int, width: int) -> list[str]:
    """The fewest decimal prefixes (of ``width``-digit numbers) covering ``low..high``."""
    out: list[str] = []
    while low <= high:
        k = 0
        while k < width and low % 10 ** (k + 1) == 0 and low + 10 ** (k + 1) - 1 <= high:
            k += 1
        out.append(f"{low:0{width}d}"[: width - k])
        low += 10**k
    return out


def generate(seed: int = SEED, ranges: int = RANGES) -> Dataset:
    rng = random.Random(seed)
    blocks = rng.sample(range(200_000, 1_000_000), ranges + ranges // 10)
    used, spare = blocks[:ranges], blocks[ranges:]
    items: list[BenchRange] = []
    gaps: list[tuple[int, int, int]] = []  # block base, range start, range end
    for i, block in enumerate(used):
        base = block * BLOCK
        length = rng.randint(1, 90) * STEP  # never the whole block: a gap stays unallocated
        start = base + rng.randrange(0, BLOCK - length + 1, STEP)
        end = start + length - 1
        attendant = None if i % 2 else base + rng.randrange(BLOCK)
        items.append(BenchRange(f"r{i:05d}", start, end, attendant))
        gaps.append((base, start, end))
    attendant_ranges = [r for r in items if r.attendant is not None]
    assigned: dict[int, str] = {}
    while len(assigned) < ASSIGNED:
        r = rng.choice(attendant_ranges)
        assigned.setdefault(rng.randint(r.start, r.end), f"sip:user{len(assigned)}@{DOMAIN}")
    redirected = [_e164(n) for n in rng.sample(sorted(assigned), ASSIGNED // 2)]
    while len(redirected) < DIALLED:
        r = rng.choice(attendant_ranges)
        redirected.append(_e164(rng.randint(r.start, r.end)))
    unallocated: list[str] = []
    while len(unallocated) < DIALLED:
        if rng.random() < 0.9:
            base, start, end = rng.choice(gaps)
            n = base + rng.randrange(BLOCK)
            if start <= n <= end:
                continue
        else:
            n = rng.choice(spare) * BLOCK + rng.randrange(BLOCK)
        unallocated.append(_e164(n))
    rng.shuffle(redirected)
    return Dataset(items, assigned, redirected, unallocated)


def write_mtree(dataset: Dataset, directory: Path) -> int:
    """Write the ``db_text`` database mtree loads (tables ``mtree`` and ``version``); returns
    the number of prefixes."""
    directory.mkdir(parents=True, exist_ok=True)
    table = dataset.prefixes()
    lines = ["id(int,auto) tprefix(string) tvalue(string) "]
    # db_text escapes ':' in values with a backslash.
    lines += [
        f"{i}:{prefix}:{value.replace(':', chr(92) + ':')}"
        for i, (prefix, value) in enumerate(sorted(table.items()), 1)
    ]
    (directory / "mtree").write_text("\n".join(lines) + "\n")
    (directory / "version").write_text("table_name(string) table_version(int) \nmtree:1\n")
    return len(table)


def longest_prefix(table: dict[str, str], number: str) -> str | None:
    """What mtree's ``mt_match(..., "0")`` finds for ``number`` (a check of the prefixes)."""
    for end in range(len(number), 0, -1):
        value = table.get(number[:end])
        if value is not None:
            return value
    return None


def check(dataset: Dataset) -> None:
    """Both forms route every dialled number as intended (raises AssertionError if not)."""
    table = dataset.prefixes()
    for number in dataset.unallocated:
        assert longest_prefix(table, number) is None, number
    for number in dataset.redirected:
        value = longest_prefix(table, number)
        assert value is not None, number
        assert value.startswith("sip:"), (number, value)
