"""Non-interference for people search: results, counts and order do not depend on withheld
data, and a person only on a panel the viewer cannot see is indistinguishable from no one."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort import services
from tests.security.test_non_interference import (
    GROUPS,
    _explain,
    _load_partnership,
    _normalised,
    _reset,
    build,
    hidden_from,
)
from tests.security.two_worlds import DIP, DIP_ISA, fresh_world, panel, policy
from tests.support import login, partnership_data

QUERIES = ("Ivor Canary", "Ivor Canery", "Canary", "2001/0012345A", "Jane Dough", "Kit Marlowe", "Lena Oakes",
           "Mappaperson Elsewhere", "Dipperson Elsewhere", "Elsewhere", "Secret Street", "Nobody Atall",
           # one word: a given name, a typo, a family name, a name only on another panel
           "Ivor", "Canery", "Oakes", "Dipperson", "Mappaperson")


def _search_as(app, users: list[str], queries=QUERIES) -> dict:
    seen = {}
    for short in users:
        client = app.test_client()
        assert login(client, short).status_code == 302
        for q in queries:
            resp = client.post("/search", data={"q": q})
            seen[(short, q)] = (resp.status_code, _normalised(resp))
    return seen


@pytest.mark.parametrize("agency", list(GROUPS))
def test_search_does_not_depend_on_what_the_agency_may_not_see(app, agency, monkeypatch):
    _load_partnership()
    hidden = hidden_from(GROUPS[agency])
    worlds = []
    for secret in (False, True):
        _reset(app, monkeypatch)
        build(hidden, secret)
        worlds.append(_search_as(app, GROUPS[agency]))
    a, b = worlds
    assert all(v[0] == 200 for v in a.values())
    differing = [_explain(k, a[k], b[k]) for k in a if a[k] != b[k]]
    assert differing == [], f"{len(differing)} of {len(a)} differ:\n\n" + "\n\n".join(differing[:8])


def _world_with_or_without_hidden_people(app, monkeypatch, present: bool) -> None:
    """The standard partnership plus DIP (probation only); an IOM person, and when
    `present` a namesake and a PNC holder on DIP alone."""
    data = partnership_data()
    fresh_world(app, monkeypatch, partnership_data(panels=data["panels"] + [DIP], isas=data["isas"] + [DIP_ISA]))
    from core.extensions import db

    nps = policy("probation")
    iom_nominal = services.create_nominal(given_name="Ada", family_name="Visible", date_of_birth=dt.date(1990, 1, 1))
    services.refer(iom_nominal, panel("IOM"), ref="IOM-1", policy=policy("probation"), status="active")
    if present:
        for given, family, pnc in (("Ada", "Visibel", None), ("Zed", "Hidden", "2004/0044444D")):
            hidden = services.create_nominal(given_name=given, family_name=family, pnc=pnc)
            services.refer(hidden, panel("DIP"), ref=f"DIP-{family}", policy=nps, status="active")
    db.session.commit()


def test_someone_only_on_a_panel_the_viewer_cannot_see_is_no_one(app, monkeypatch):
    """Police, health and DWP take no part in DIP: a search for people there (by name, by a
    near name, by PNC), and for a visible person with a hidden namesake, answers the same
    page, count and order as a world where those people do not exist."""
    worlds = []
    for present in (True, False):
        _world_with_or_without_hidden_people(app, monkeypatch, present)
        worlds.append(_search_as(app, ["police", "health", "dwp", "coord"],
                                 ("Zed Hidden", "2004/0044444D", "Hidden", "Ada Visible", "Ada Visibel", "Visible")))
    a, b = worlds
    differing = [_explain(k, a[k], b[k]) for k in a if a[k] != b[k]]
    assert differing == [], "\n\n".join(differing[:8])
    # and the check has teeth: probation, on DIP, finds them
    _world_with_or_without_hidden_people(app, monkeypatch, True)
    found = _search_as(app, ["probation"], ("Zed Hidden", "2004/0044444D"))
    assert all(b"Zed Hidden" in body for _status, body in found.values())


def _world_with_hidden_namesakes_by_one_word(app, monkeypatch, present: bool) -> None:
    """IOM: Ada Visible, alias "Smudger". DIP (probation only) holds eight people recorded
    first: when `present` they share her one-word names and alias (or nearly), otherwise
    they share nothing with her (the same ids either way, only what is withheld differs)."""
    data = partnership_data()
    fresh_world(app, monkeypatch, partnership_data(panels=data["panels"] + [DIP], isas=data["isas"] + [DIP_ISA]))
    from core.extensions import db

    nps = policy("probation")
    hidden = [("Ada", "Visibel", ["Smudger"]), ("Zed", "Hidden", ["Smudge", "Ada"])]
    hidden += [("Ada", f"Visible{chr(97 + i)}", [f"Smudger{chr(97 + i)}"]) for i in range(6)]
    if not present:
        hidden = [("Quentin", f"Unrelated{chr(97 + i)}", []) for i in range(len(hidden))]
    for i, (given, family, aliases) in enumerate(hidden):
        person = services.create_nominal(given_name=given, family_name=family, aliases=aliases)
        services.refer(person, panel("DIP"), ref=f"DIP-{i}", policy=nps, status="active")
    ada = services.create_nominal(given_name="Ada", family_name="Visible", aliases=["Smudger"],
                                  date_of_birth=dt.date(1990, 1, 1))
    services.refer(ada, panel("IOM"), ref="IOM-1", policy=nps, status="active")
    db.session.commit()


ONE_WORD = ("Ada", "Smudger", "Smudgr", "Smudge", "Visibel", "Visible", "Hidden", "Zed", "Visiblea")


def test_one_word_results_counts_and_order_do_not_depend_on_people_the_viewer_cannot_see(app, monkeypatch):
    """Police, health, DWP and the coordinator take no part in DIP: one-word searches (a given
    name, an alias, a typo of it, a family name), with room for only two candidates so that
    anyone outside the viewer's scope taking a place would show, answer the same page in a
    world where DIP holds namesakes recorded first and in one where it holds no one."""
    from search import queries

    monkeypatch.setattr(queries, "MAX_CANDIDATES", 2)
    worlds = []
    for present in (True, False):
        _world_with_hidden_namesakes_by_one_word(app, monkeypatch, present)
        worlds.append(_search_as(app, ["police", "health", "dwp", "coord"], ONE_WORD))
    a, b = worlds
    assert all(v[0] == 200 for v in a.values())
    assert all(b"Ada Visible" in a[(short, q)][1]
               for short in ("police", "coord") for q in ("Ada", "Smudger", "Smudgr"))
    differing = [_explain(k, a[k], b[k]) for k in a if a[k] != b[k]]
    assert differing == [], "\n\n".join(differing[:8])
    # and the check has teeth: probation, on DIP, finds the namesakes
    _world_with_hidden_namesakes_by_one_word(app, monkeypatch, True)
    found = _search_as(app, ["probation"], ("Zed", "Smudge"))
    assert all(b"Zed Hidden" in body for _status, body in found.values())
