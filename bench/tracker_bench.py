"""Tracker bench: a 5,000-case panel, timed through the Flask test client.

    .venv/bin/python -m bench.tracker_bench [--cases 5000] [--runs 30]

Builds the panel in a temporary SQLite database (and in PostgreSQL too when
TEST_DATABASE_URL is set — its schema is dropped and recreated, so point it at a scratch
database), then measures the median and p95 of the tracker page, a tracker poll that
answers 204, a filtered + sorted tracker page, GET /api/v1/panels/<code>/cases and
/healthz in the same run, and prints each as a ratio to /healthz (target: 4x or less).

"Just after a change" times the view that follows a colleague's write made through the API
(another agency's user changes a case's RAG with PATCH /api/v1/cases/<id>), which must draw
the page afresh (the others may come from the page cache, as they do for a partnership
watching a tracker between changes). The gateway's cost is the time spent inside
sharing.gateway's unsealed blocks (deciding and decrypting what the viewer may see) while
such a page is drawn, per 50-row page, also as a ratio to /healthz. Each is measured twice: in-process through the Flask
test client (the framework's own cost with nothing around it), and over HTTP against
gunicorn (one sync worker, a new loopback connection per request, as a browser or API
client behind a proxy meets the service).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEST_KEY = "q2bXNtEFb3Q0mOkSE8x0o1Hk7rUj9t1bwzDbTvV2Kcs="
GIVEN = ("James", "Zoë", "Liam", "Aisha", "Nguyễn Thị", "Piotr", "Siobhán", "Mohammed", "Kasia", "Dylan")
FAMILY = ("O'Brien", "Smith", "Wojciechowski-Kaczmarek", "Khan", "Jones", "Murphy", "Lan", "Evans", "Patel")


def build_app(url: str):
    from core.extensions import db
    from wsgi import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench-secret-key-0123456789abcdefghij",
        "TRACKER_MASTER_KEY": TEST_KEY, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "REQUIRE_TOTP": False,
    })
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(db.text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(db.text("CREATE SCHEMA public"))
        db.create_all()
        from sharing.audit_head import reset_to_database
        from sharing.crypto import ensure_data_keys

        ensure_data_keys()
        reset_to_database()  # a new, empty access log: its head checkpoint starts again too
    return app


def seed(app, n: int) -> None:
    """The test partnership and n cases on IOM (rows built directly, identities encrypted)."""
    import datetime as dt

    from cohort.models import Case, RagChange
    from cohort.services import create_nominal
    from core import clock
    from core.extensions import db
    from panels.models import Panel
    from partnership.loading import load
    from tests.support import partnership_data

    rnd = random.Random(2026)
    with app.app_context():
        load(partnership_data())
        db.session.commit()
        panel = db.session.execute(db.select(Panel).filter_by(code="IOM")).scalar_one()
        from auth.models import Agency

        agencies = [a.id for a in db.session.execute(db.select(Agency)).scalars()]
        today = clock.today()
        for i in range(n):
            nominal = create_nominal(given_name=rnd.choice(GIVEN), family_name=f"{rnd.choice(FAMILY)}{i}")
            case = Case(nominal_id=nominal.id, panel_id=panel.id, ref=f"B{i:05d}",
                        status=rnd.choice(("referred", "active", "active", "active", "paused", "exited")),
                        rag=rnd.choice(("red", "amber", "green", None)),
                        referral_date=today - dt.timedelta(days=rnd.randint(0, 900)),
                        last_engagement=today - dt.timedelta(days=rnd.randint(0, 300)) if rnd.random() < .9 else None,
                        next_review=today + dt.timedelta(days=rnd.randint(-30, 60)),
                        lead_agency_id=rnd.choice(agencies))
            case.lead_officer = f"Officer {i % 40}"
            db.session.add(case)
            if i % 500 == 499:
                db.session.flush()
        db.session.flush()
        ids = db.session.execute(db.select(Case.id).where(Case.rag.is_not(None))).scalars().all()
        for cid in ids[:1000]:
            change = RagChange(case_id=cid, at=clock.utcnow(), to_rag="red", source="import")
            change.rationale = "seeded"
            db.session.add(change)
        db.session.commit()
        gather_statistics()


def gather_statistics() -> None:
    """The planner's statistics after the bulk load, as a live database has them (PostgreSQL's
    autovacuum analyses a table within a minute of such a load): without them PostgreSQL
    guessed 7 cases on the panel and joined all 5,000 people before sorting (14.7 ms for the
    page's rows, 1.5 ms with them)."""
    from core.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


class Colleague:
    """A colleague at another agency (POLICE) changing one case's RAG through the API, so the
    next view must be drawn afresh."""

    def __init__(self, app, token: str, case_id: int):
        self.client, self.case_id = app.test_client(), case_id
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rags = iter(("red", "amber", "green") * 10_000)

    def changes_a_case(self) -> None:
        path = f"/api/v1/cases/{self.case_id}"
        version = self.client.get(path, headers=self.headers).get_json()["version"]
        resp = self.client.patch(path, headers=self.headers,
                                 json={"rag": next(self.rags), "rationale": "bench", "version": version})
        assert resp.status_code == 200, resp.get_data(as_text=True)[:200]


@contextlib.contextmanager
def gateway_clock():
    """Time spent inside sharing.gateway's unsealed blocks (outermost only), in seconds."""
    from sharing import gateway

    original, spent, depth = gateway.unsealed, [0.0], [0]

    @contextlib.contextmanager
    def timed_unsealed(why: str):
        depth[0] += 1
        start = time.perf_counter()
        try:
            with original(why):
                yield
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                spent[0] += time.perf_counter() - start

    gateway.unsealed = timed_unsealed
    try:
        yield spent
    finally:
        gateway.unsealed = original


def gateway_cost(client, colleague: Colleague, runs: int) -> tuple[list[float], list[float]]:
    """(page times, gateway times) of the tracker page drawn afresh after each change."""
    pages, spent_each = [], []
    with gateway_clock() as spent:
        for _ in range(runs):
            colleague.changes_a_case()
            before = spent[0]
            start = time.perf_counter()
            assert client.get("/panels/IOM/tracker").status_code == 200
            pages.append(time.perf_counter() - start)
            spent_each.append(spent[0] - before)
    return pages, spent_each


def timed(client, url: str, runs: int, before=None, **kwargs) -> list[float]:
    out = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        resp = client.get(url, **kwargs)
        out.append(time.perf_counter() - start)
        assert resp.status_code in (200, 204), (url, resp.status_code)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def report(results: dict[str, list[float]]) -> None:
    base, base_p95 = statistics.median(results["/healthz"]), p95(results["/healthz"])
    print(f"{'what':40} {'median ms':>10} {'p95 ms':>9} {'x healthz':>10} {'p95 x':>6}")
    for name, values in results.items():
        med, high = statistics.median(values), p95(values)
        print(f"{name:40} {med * 1000:10.2f} {high * 1000:9.2f} {med / base:10.2f} {high / base_p95:6.2f}")


class Http:
    """A client of the live server: a new connection per request (sync gunicorn closes each
    one), the session cookie carried by hand."""

    def __init__(self, port: int):
        self.port, self.cookie = port, ""

    def get(self, path: str, headers: dict | None = None, method: str = "GET", body: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.getheader("Set-Cookie"):
            self.cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
        conn.close()
        return resp.status, data

    def sign_in(self, email: str, password: str) -> None:
        _, page = self.get("/sign-in")
        m = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = f"email={email}&password={password}" + (f"&csrf_token={m.group(1).decode()}" if m else "")
        status, _ = self.get("/sign-in", {"Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
        assert status == 302, status

    def timed(self, path: str, runs: int, headers: dict | None = None, before=None) -> list[float]:
        out = []
        for _ in range(runs):
            if before:
                before()
            start = time.perf_counter()
            status, _ = self.get(path, headers)
            out.append(time.perf_counter() - start)
            assert status in (200, 204), (path, status)
        return out


def run_http(url: str, token: str, runs: int, colleague: Colleague) -> None:
    """The same requests over HTTP against gunicorn serving the same database."""
    from tests.support import TEST_PASSWORD

    port = 8790
    env = dict(os.environ, DATABASE_URL=url, TRACKER_MASTER_KEY=TEST_KEY, TRACKER_ENV="bench",
               SECRET_KEY="bench-secret-key-0123456789abcdefghij", RATELIMIT_ENABLED="0", START_SCHEDULER="0")
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "wsgi:create_app()"], cwd=root, env=env, stdout=subprocess.DEVNULL,
    )
    try:
        client = Http(port)
        for _ in range(100):
            try:
                if client.get("/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        client.sign_in("coord@test.example", TEST_PASSWORD)
        api = {"Authorization": f"Bearer {token}"}
        for _ in range(3):
            client.get("/healthz"), client.get("/panels/IOM/tracker"), client.get("/api/v1/panels/IOM/cases", api)
        page = client.get("/panels/IOM/tracker")[1].decode()
        rows_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
        print(f"-- over HTTP (gunicorn, 1 sync worker), {runs} runs each")
        report({
            "/healthz": client.timed("/healthz", runs),
            "tracker page": client.timed("/panels/IOM/tracker", runs),
            "tracker page, filtered+sorted": client.timed(
                "/panels/IOM/tracker?status=active&flag=no_engagement_3m&sort=last_engagement&page=2", runs),
            "tracker poll (204)": client.timed(rows_url, runs),
            "API cases page": client.timed("/api/v1/panels/IOM/cases?page=3", runs, api),
            "tracker page just after a change": client.timed(
                "/panels/IOM/tracker", runs, before=colleague.changes_a_case),
            "API cases page just after a change": client.timed(
                "/api/v1/panels/IOM/cases?page=3", runs, api, before=colleague.changes_a_case),
        })
    finally:
        server.terminate()
        server.wait(10)


def run(url: str, label: str, n: int, runs: int) -> None:
    from tests.support import login

    app = build_app(url)
    t0 = time.perf_counter()
    seed(app, n)
    print(f"\n== {label}: {n} cases on one panel (built in {time.perf_counter() - t0:.1f} s), {runs} runs each")
    with app.app_context():
        from auth.models import User
        from auth.tokens import create_token
        from core.extensions import db

        token = create_token(db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one())
        writer = create_token(db.session.execute(db.select(User).filter_by(email="police@test.example")).scalar_one())
        db.session.commit()
        from cohort.models import Case

        first_on_page = db.session.execute(  # the first row of the default (RAG) order: on page 1
            db.select(Case.id).where(Case.rag == "red").order_by(Case.ref).limit(1)).scalar_one()
    colleague = Colleague(app, writer, first_on_page)
    client = app.test_client()
    assert login(client, "coord").status_code == 302
    page = client.get("/panels/IOM/tracker").get_data(as_text=True)
    rows_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    api = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # warm caches (keys, templates)
        client.get("/healthz")
        client.get("/panels/IOM/tracker")
        client.get("/api/v1/panels/IOM/cases", headers=api)
    results = {
        "/healthz": timed(client, "/healthz", runs),
        "tracker page": timed(client, "/panels/IOM/tracker", runs),
        "tracker page, filtered+sorted": timed(
            client, "/panels/IOM/tracker?status=active&flag=no_engagement_3m&sort=last_engagement&page=2", runs),
        "tracker poll (204)": timed(client, rows_url, runs),
        "API cases page": timed(client, "/api/v1/panels/IOM/cases?page=3", runs, headers=api),
        "tracker page just after a change": timed(
            client, "/panels/IOM/tracker", runs, before=colleague.changes_a_case),
        "API cases page just after a change": timed(
            client, "/api/v1/panels/IOM/cases?page=3", runs, before=colleague.changes_a_case, headers=api),
        "tracker search (fuzzy)": timed(client, "/panels/IOM/tracker?q=Wojciekowski", max(3, runs // 5)),
    }
    pages, spent = gateway_cost(client, colleague, runs)
    results["  (those pages, timed again)"] = pages
    results["  gateway inside them, per 50-row page"] = spent
    print("-- in-process (Flask test client)")
    report(results)
    share = statistics.median(s / p for s, p in zip(spent, pages, strict=True))
    after = statistics.median(results["tracker page just after a change"]) / statistics.median(results["/healthz"])
    print(f"gateway share of a page drawn afresh: {share:.0%} (median); "
          f"tracker page just after a change: {after:.2f}x /healthz (target < 4x)")
    with app.app_context():
        from core.extensions import db

        db.session.remove()
        db.engine.dispose()
    run_http(url, token, runs, colleague)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("TRACKER_ENV", "bench")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", "SQLite", args.cases, args.runs)
    if os.environ.get("TEST_DATABASE_URL"):
        run(os.environ["TEST_DATABASE_URL"], "PostgreSQL", args.cases, args.runs)
    print("\nTarget: tracker page and API page at most 4x /healthz (median and p95).")


if __name__ == "__main__":
    main()
