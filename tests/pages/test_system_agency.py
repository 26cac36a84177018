"""The service's own agency (automated jobs) is never offered to a person: not as a lead
agency, an action owner, a party to an agreement or a user's agency."""

from __future__ import annotations

import pytest

from core.extensions import db
from panels.services import system_user
from tests.html import Page
from tests.security.world import build_world


@pytest.fixture
def world(partnership):
    ids = build_world(partnership)
    system_user("jobs")  # as the scheduler makes it on its first run
    db.session.commit()
    return ids


def _choices(page: Page) -> list[str]:
    return [" ".join(o.get_text().split()) for o in page.soup.select("select option")]


@pytest.mark.parametrize(("who", "url"), [
    ("coord", "/cases/{iom_case}/actions/new"),
    ("coord", "/cases/{iom_case}/edit"),
    ("coord", "/panels/IOM/tracker"),
    ("admin", "/admin/users/new"),
    ("admin", "/agreements/new"),
])
def test_the_system_agency_is_never_offered(world, login_as, who, url):
    page = Page(login_as(who).get(url.format(**world.ids)))
    assert page.status == 200, url
    offered = _choices(page) + [page.visible_text()]
    assert _choices(page), f"{url} offers no choices at all"
    assert not [c for c in offered if "Automated jobs" in c or "(SYSTEM)" in c], url
