"""In Chromium: an analyst runs the check, confirms one pair (merge), rejects another, and sees
the merge in the history; the queue has no serious accessibility problems."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cohort.models import DuplicateCandidate, Merge, Nominal
from core.extensions import db
from tests.duplicates.test_dedupe_helpers import MUST_MATCH, MUST_NOT_MATCH, add_nominal, make_background

pytestmark = pytest.mark.browser

AXE = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id + ': ' + v.help);
}"""


@pytest.fixture
def world(engine_name, partnership):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    make_background(60)
    same = [add_nominal(p) for p in MUST_MATCH["nickname Bill/William"]]
    twins = [add_nominal(p) for p in MUST_NOT_MATCH["twins"]]
    # the twins scored low (Jack and Jake too: two known names are two names); a given name
    # only alike as a string keeps them in the queue, as a pair an analyst must reject
    twins[1].given_name = "Jackson"
    ids = {"william": same[0].id, "bill": same[1].id, "jack": twins[0].id, "jackson": twins[1].id,
           "case": same[0].cases[0].id}
    from sharing.blind_index import index_nominal

    index_nominal(twins[1])
    db.session.commit()
    db.session.remove()
    return ids


def section(page, *names: str):
    loc = page.locator("section.app-dedupe-pair")
    for name in names:
        loc = loc.filter(has_text=name)
    return loc.first


def test_analyst_merges_one_pair_and_rejects_another(page_for, world):
    page = page_for("analyst")
    page.goto("/duplicates")
    page.get_by_role("button", name="Run the duplicate check now").click()
    # The page posts back to its own URL: wait for the new page's words, not for the URL.
    expect(page.locator("main")).to_contain_text("Duplicate check run")

    merge_pair = section(page, "William Hargreaves", "Bill Hargreaves")
    assert "known nickname" in merge_pair.inner_text()
    page.add_script_tag(url="/assets/js/axe.min.js")
    assert page.evaluate(AXE) == []

    merge_pair.get_by_label(re.compile(r"Keep record [AB] \(William Hargreaves\)")).check()
    merge_pair.get_by_role("button", name=re.compile("Same person: merge")).click()
    expect(page.locator("h1")).to_have_text("Merge these two records?")  # asked first
    expect(page.locator("main")).to_contain_text("William Hargreaves's record is kept")
    page.get_by_role("button", name="Merge the records").click()
    page.wait_for_url(re.compile(r"/duplicates$"))
    expect(page.locator("main")).to_contain_text("Merged:")
    expect(page.locator("section.app-dedupe-pair", has_text="Bill Hargreaves")).to_have_count(0)

    reject_pair = section(page, "Jack Hargreaves", "Jackson Hargreaves")
    reject_pair.get_by_role("button", name=re.compile("Not the same person")).click()
    expect(page.locator("main")).to_contain_text("will not be proposed again")
    expect(page.locator("section.app-dedupe-pair", has_text="Jackson Hargreaves")).to_have_count(0)

    page.get_by_role("link", name="Decided").click()
    history = page.locator("#merge-history").inner_text()
    assert "William Hargreaves" in history and "Bill Hargreaves" in history and "Merged" in history
    rejected = page.locator("#rejected-pairs").inner_text()
    assert "Jack Hargreaves" in rejected and "Jackson Hargreaves" in rejected

    page.goto(f"/cases/{world['case']}")
    assert "A duplicate record of the same person was merged into this one" in page.content()

    db.session.remove()
    assert db.session.get(Nominal, world["bill"]).merged_into_id == world["william"]
    assert db.session.execute(db.select(Merge)).scalar_one().kept_id == world["william"]
    statuses = dict(db.session.execute(db.select(DuplicateCandidate.nominal_b_id, DuplicateCandidate.status)).all())
    assert statuses[world["jackson"]] == "rejected"
    db.session.remove()


def test_admin_undoes_a_merge(page_for, world):
    from duplicates import candidates, merging
    from tests.duplicates.test_dedupe_helpers import policy_for

    candidates.run(None)
    cand = db.session.execute(db.select(DuplicateCandidate).filter_by(
        nominal_a_id=world["william"], nominal_b_id=world["bill"])).scalar_one()
    merging.merge(cand, world["william"], policy_for("analyst"))
    db.session.commit()
    db.session.remove()
    page = page_for("admin")
    page.goto("/")
    page.get_by_role("link", name="Duplicates").click()
    page.wait_for_url(re.compile(r"/duplicates/merges$"))
    page.get_by_role("link", name=re.compile("Undo")).click()
    page.get_by_role("button", name=re.compile("Undo merge")).click()
    page.wait_for_url(re.compile(r"/duplicates/merges$"))
    assert "undone" in page.content()
    db.session.remove()
    assert db.session.get(Nominal, world["bill"]).merged_into_id is None
    db.session.remove()


def test_analyst_opens_a_pair_page_and_sees_the_band_and_the_evidence(page_for, world):
    """From the queue to the pair's own page: both records, the band (never a percentage),
    the evidence for and against in words; no serious accessibility problems; rejecting there
    takes the pair off the queue."""
    page = page_for("analyst")
    page.goto("/duplicates")
    page.get_by_role("button", name="Run the duplicate check now").click()
    page.wait_for_url(re.compile(r"/duplicates$"))
    page.get_by_role("link", name="Jack Hargreaves and Jackson Hargreaves").click()
    page.wait_for_url(re.compile(r"/duplicates/\d+$"))
    text = page.locator("main").inner_text()
    assert "Are Jack Hargreaves and Jackson Hargreaves the same person?" in text
    assert "Possibly the same person: needs review" in text and "estimated chance they are one person" in text
    assert "%" not in text.split("estimated chance they are one person")[0]
    assert "Evidence they are the same person" in text and "Evidence they are different people" in text
    against = page.locator("ul.app-dedupe-against").inner_text()
    assert "could be twins" in against  # Jack and Jackson: alike, but not a typo
    assert "given name: similar but not the same" in page.locator("ul.app-dedupe-neutral").inner_text()
    page.add_script_tag(url="/assets/js/axe.min.js")
    assert page.evaluate(AXE) == []
    page.get_by_role("button", name=re.compile("Not the same person")).click()
    page.wait_for_url(re.compile(r"/duplicates$"))
    assert page.locator("section.app-dedupe-pair", has_text="Jackson Hargreaves").count() == 0
