"""Issue 12, leftovers of hole 4: referral candidates and /overlaps name another panel only
where the viewer reads identity on it too -- the one rule, sharing.gateway.visible_other_panel_ids,
that the tracker, case page and agenda use. LACS here takes part in MAPPA (risk only)."""

from __future__ import annotations

import re

import pytest

from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case
from tests.support import login


@pytest.fixture
def on_both(partnership):
    """Wilhelmina on IOM and MAPPA; LACS reads risk on MAPPA, not identity."""
    from sharing.models import Isa, IsaGrant

    mappa_isa = db.session.execute(db.select(Isa).filter_by(ref="ISA-MAPPA-TEST")).scalar_one()
    lacs = partnership.agencies["LACS"]
    db.session.execute(db.delete(IsaGrant).where(IsaGrant.isa_id == mappa_isa.id, IsaGrant.agency_id == lacs.id,
                                                 IsaGrant.category == "identity"))
    db.session.commit()
    iom = make_case(partnership, given="Wilhelmina", family="Brightwater", ref="B1")
    make_case(partnership, "MAPPA", nominal=iom.nominal, ref="B1-M")
    return iom


def _candidate_panels(app, short: str) -> str:
    client = app.test_client()
    login(client, short)
    html = client.get("/panels/IOM/refer", query_string={"q": "Wilhelmina Brightwater"}).get_data(as_text=True)
    found = re.search(r'Panels</dt><dd class="govuk-summary-list__value">([^<]*)</dd>', html)
    assert found, html[:2000]
    return found.group(1)


def test_a_referral_candidate_names_only_panels_where_identity_is_read(app, on_both):
    assert _candidate_panels(app, "coord") == "IOM"  # LACS: takes part in MAPPA, reads no identity there
    assert _candidate_panels(app, "police") == "IOM, MAPPA"  # POLICE reads identity on both


def test_overlaps_count_a_person_only_where_identity_is_read_on_both_panels(app, on_both, api_token):
    client = app.test_client()
    login(client, "analyst")  # LACS
    page = client.get("/overlaps").get_data(as_text=True)
    assert "Wilhelmina" not in page and "B1-M" not in page
    body = client.get("/api/v1/overlaps", headers={"Authorization": f"Bearer {api_token('analyst')}"}).get_json()
    assert body == {"overlaps": []}
    police = client.get("/api/v1/overlaps", headers={"Authorization": f"Bearer {api_token('police')}"}).get_json()
    assert [o["nominal_id"] for o in police["overlaps"]] == [on_both.nominal_id]
