"""Fixtures of the store tests (the database fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from vacant.routing.model import Announcement, Pool
from vacant.store import repository as repo

POOL = "pool1.example.com"


@pytest.fixture
def pool(session: Session) -> Pool:
    """The pool ``pool1.example.com``."""
    return repo.add_pool(session, Pool.create(POOL))


@pytest.fixture
def announcement(session: Session, pool: Pool) -> Announcement:
    """The announcement ``busy`` of ``pool1.example.com``: no prompt, transfer to an operator."""
    return repo.add_announcement(
        session, Announcement.create(pool.name, "busy", target="sip:operator@example.com")
    )
