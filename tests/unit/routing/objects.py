"""What a routing snapshot keeps alive: the objects reachable from it, for the tests that check
it holds nothing of the configuration's ranges (which the server drops once it is built)."""

from __future__ import annotations

import gc
from types import ModuleType

from vacant.routing.model import RoutingConfig


def reachable(root: object) -> list[object]:
    """Every object reachable from ``root`` (classes and modules are not followed)."""
    seen: dict[int, object] = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | ModuleType):
            continue
        seen[id(obj)] = obj
        stack.extend(gc.get_referents(obj))
    return list(seen.values())


def range_objects(config: RoutingConfig) -> dict[int, object]:
    """The objects of ``config.ranges`` (by id) that a snapshot must not keep: each range, its
    name, bounds, auto-attendant number and their strings, a dangling announcement id. Left out:
    objects the interpreter shares anyway (``None``, empty and one-character strings), ids of
    existing announcements (the snapshot keeps the announcements) and patterns (the compiled
    regex keeps its source, and so does the ``re`` module's cache)."""
    kept_ids = {announcement.id for announcement in config.announcements}
    found: dict[int, object] = {}
    for rng in config.ranges:
        values: list[object] = [rng, rng.name]
        for number in (rng.start, rng.end, rng.auto_attendant):
            if number is not None:
                values += [number, number.digits, number.ext]
        if rng.announcement_id is not None and rng.announcement_id not in kept_ids:
            values.append(rng.announcement_id)
        for value in values:
            if value is not None and not (isinstance(value, str) and len(value) < 2):
                found[id(value)] = value
    return found
