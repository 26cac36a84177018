"""The case page tells one story: the engagement section and the case details give the same
last engagement, and a pathway not yet assessed still shows the accommodation or employment
recorded on the case."""

from __future__ import annotations

import datetime as dt

from cohort import services
from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case, policy_for
from tests.html import Page


def _section(page: Page, heading_id: str) -> str:
    """The text from a section's heading to the next h2."""
    heading = page.soup.find(id=heading_id)
    parts = []
    for sibling in heading.find_next_siblings():
        if sibling.name == "h2":
            break
        parts.append(sibling.get_text(" "))
    return " ".join(" ".join(parts).split())


def test_engagement_and_details_agree_on_the_last_engagement(login_as, partnership):
    case = make_case(partnership, last_engagement=dt.date(2026, 2, 24))
    client = login_as("probation")
    page = Page(client.get(f"/cases/{case.id}"))
    engagement = _section(page, "engagement")
    assert "Last engagement: 24 February 2026 (from the panel's list" in engagement
    assert "No contacts logged in the service yet" in engagement
    assert "24 February 2026" in _section(page, "details")
    services.add_engagement(db.session.merge(case), on=dt.date(2026, 3, 2), kind="office_visit", note="",
                            policy=policy_for(partnership, "probation"))
    db.session.commit()
    page = Page(client.get(f"/cases/{case.id}"))
    engagement = _section(page, "engagement")
    assert "Last engagement: 2 March 2026" in engagement and "from the panel's list" not in engagement
    assert "2 March 2026" in _section(page, "details")


def test_a_pathway_not_assessed_shows_what_is_recorded(login_as, partnership):
    case = make_case(partnership)
    services.update_case(case, changes={"accommodation": "Sofa surfing"}, policy=policy_for(partnership, "probation"),
                         expected_version=None)
    db.session.commit()
    needs = _section(Page(login_as("probation").get(f"/cases/{case.id}")), "needs")
    assert "Accommodation Not assessed Accommodation recorded: Sofa surfing" in needs
