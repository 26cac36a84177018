"""No lost updates: 16 simultaneous PATCHes of one case at one version through a live server."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

from cohort.models import Case, RagChange
from core.extensions import db
from tests.cohort.test_tracker_helpers import make_case

THREADS = 16


def patch(url: str, token: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PATCH", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_sixteen_concurrent_patches_one_wins(partnership, api_token, live_server):
    case = make_case(partnership, given="Race", family="Condition", rag="amber")
    case_id, version = case.id, case.version
    history_before = db.session.execute(
        db.select(db.func.count(RagChange.id)).filter_by(case_id=case_id)).scalar_one()
    tokens = [api_token("police") for _ in range(THREADS)]
    db.session.commit()
    db.session.remove()  # no transaction open in the test while the server works

    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict]] = [None] * THREADS  # type: ignore[list-item]

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = patch(f"{live_server.url}/api/v1/cases/{case_id}", tokens[i],
                           {"rag": ("red", "green")[i % 2], "rationale": f"thread {i}", "version": version})

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    statuses = sorted(r[0] for r in results)
    assert statuses == [200] + [409] * (THREADS - 1), statuses
    winner = next(body for status, body in results if status == 200)
    assert winner["version"] == version + 1
    db.session.expire_all()
    stored = db.session.get(Case, case_id)
    assert stored.version == version + 1 and stored.rag == winner["rag"]
    history = db.session.execute(
        db.select(RagChange).filter_by(case_id=case_id).order_by(RagChange.id)).scalars().all()
    assert len(history) == history_before + 1
    assert history[-1].to_rag == winner["rag"] and history[-1].from_rag == "amber"
