"""Fixtures for the KPI and equality tests: the panels tests' case builders, reused."""

from __future__ import annotations

from tests.panels.conftest import held_meeting, make_case, meeting_on  # noqa: F401  (fixtures)
