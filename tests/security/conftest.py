"""Fixtures for the attack suite: one small world with a real id for every kind of URL."""

from __future__ import annotations

import pytest

from tests.security.world import build_world


@pytest.fixture
def world(partnership):
    """Cases, meetings, agenda items, pairs, a merge, an import token... (see world.build_world)."""
    return build_world(partnership)
