"""Fixtures for the fault tests: scratch databases per engine, copied from a prepared base."""

from __future__ import annotations

import pytest

from tests.faults.scratch import ScratchDB, ScratchFactory


@pytest.fixture(scope="session")
def scratch_factory(tmp_path_factory):
    factory = ScratchFactory(tmp_path_factory.mktemp("faults"))
    yield factory
    factory.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def scratch(scratch_factory, kind):
    """scratch(cohort=0) -> a fresh ScratchDB of this test's engine (dropped afterwards)."""
    made: list[ScratchDB] = []

    def _make(cohort: int = 0) -> ScratchDB:
        db = scratch_factory.copy(kind, cohort)
        made.append(db)
        return db

    yield _make
    for db in made:
        scratch_factory.drop(db)
        scratch_factory.made.remove(db)
