"""Load scenario: 50 simulated users against gunicorn on PostgreSQL, over loopback.

Each simulated user signs in (shared sessions per demo account), then loops for the run's
duration: open a panel tracker, poll it, read a case, read the next meeting's agenda, and
every fourth loop change a RAG through the API (read version -> PATCH), pausing about
`--think` seconds between requests as a person would (0 = closed-loop stress). Reported per worker
count: throughput, p50/p95/p99 latency, errors (any 5xx, timeout or unexpected status), and
whether every successful RAG change is in the history exactly once (no lost update).

    .venv/bin/python -m bench.load.run --workers 1 2 4 --users 50 --seconds 60

Bounded: every loop stops at its deadline; only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
DB = os.environ.get("LOAD_DB", "mrp_load")
PG = os.environ.get("LOAD_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
ACCOUNTS = ["police@demo.example", "probation@demo.example", "coordinator@demo.example",
            "mappa.coordinator@demo.example", "housing@demo.example", "dwp@demo.example"]
PASSWORD = "orchid-lantern-42"
RUN_ID = secrets.token_hex(3)  # marks this run's RAG rationales, so earlier runs are not counted


def env(port: int) -> dict:
    e = dict(os.environ)
    e.update({
        "DATABASE_URL": f"{PG}/{DB}",
        "TRACKER_MASTER_KEY": base64.b64encode(b"L" * 32).decode(),
        "SECRET_KEY": "load-test-secret-" + "x" * 40,
        "TRACKER_ENV": "loadtest",
        "RATELIMIT_ENABLED": "0",
    })
    return e


def sh(args, **kw):
    return subprocess.run(args, check=True, cwd=ROOT, **kw)


def prepare(size: int) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f'DROP DATABASE IF EXISTS "{DB}"'], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f'CREATE DATABASE "{DB}"'], check=True)
    e = env(0)
    sh([str(PY), "-m", "flask", "--app", "wsgi", "db", "upgrade"], env=e, capture_output=True)
    sh([str(PY), "-m", "flask", "--app", "wsgi", "demo", "load", "--size", str(size)], env=e, capture_output=True)


def token_for(email: str) -> str:
    out = subprocess.run([str(PY), "-m", "flask", "--app", "wsgi", "users", "token", email], cwd=ROOT, env=env(0),
                         check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


class Client:
    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                cookie = resp.getheader("Set-Cookie")
                if cookie:
                    self.cookie = cookie.split(";", 1)[0]
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def sign_in(self, email: str) -> None:
        status, page = self.request("GET", "/sign-in")
        m = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = f"email={email}&password={PASSWORD}" + (f"&csrf_token={m.group(1).decode()}" if m else "")
        status, _ = self.request("POST", "/sign-in", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"sign-in failed for {email}: {status}")


def run_level(workers: int, users: int, seconds: float, size: int, think: float = 2.0) -> dict:
    port = 8700 + workers
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:create_app()"],
        cwd=ROOT, env=env(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if Client(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        sessions = {}
        for email in ACCOUNTS:
            c = Client(port)
            c.sign_in(email)
            sessions[email] = c.cookie
        tokens = {email: token_for(email) for email in ACCOUNTS[:2]}
        probe = Client(port)
        status, body = probe.request("GET", "/api/v1/panels/IOM/cases?page=1",
                                     headers={"Authorization": f"Bearer {tokens[ACCOUNTS[0]]}"})
        case_ids = [c["id"] for c in json.loads(body)["cases"]][:40]
        status, body = probe.request("GET", "/api/v1/panels/IOM/meetings",
                                     headers={"Authorization": f"Bearer {tokens[ACCOUNTS[0]]}"})
        meetings = json.loads(body)["meetings"]
        meeting_id = meetings[0]["id"] if meetings else None

        latencies: list[float] = []
        errors: list[str] = []
        patched: list[int] = []
        lock = threading.Lock()
        stop_at = time.time() + seconds

        def user(n: int):
            rnd = random.Random(n)
            email = ACCOUNTS[n % len(ACCOUNTS)]
            c = Client(port)
            c.cookie = sessions[email]
            api_email = ACCOUNTS[n % 2]
            auth = {"Authorization": f"Bearer {tokens[api_email]}"}
            panel = "MAPPA" if "mappa" in email else "IOM"
            loop = 0
            while time.time() < stop_at:
                loop += 1
                steps = [("GET", f"/panels/{panel}/tracker", None, {}, (200,)),
                         ("GET", f"/panels/{panel}/tracker/rows?since=0", None, {}, (200, 204)),
                         ("GET", f"/api/v1/cases/{rnd.choice(case_ids)}", None, auth, (200,))]
                if meeting_id:
                    steps.append(("GET", f"/api/v1/meetings/{meeting_id}/agenda", None, auth, (200,)))
                for method, path, body, headers, ok in steps:
                    t0 = time.perf_counter()
                    try:
                        status, data = c.request(method, path, body, headers)
                    except Exception as exc:  # noqa: BLE001 - a timeout is an error to count
                        status, data = 0, str(exc).encode()
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        if status not in ok:
                            errors.append(f"{method} {path} -> {status}")
                    if think:
                        time.sleep(rnd.uniform(0.5 * think, 1.5 * think))
                if loop % 4 == 0:
                    cid = rnd.choice(case_ids)
                    t0 = time.perf_counter()
                    status, data = c.request("GET", f"/api/v1/cases/{cid}", None, auth)
                    version = json.loads(data)["version"] if status == 200 else 0
                    payload = json.dumps({"rag": rnd.choice(["red", "amber", "green"]),
                                          "rationale": f"load test {RUN_ID} {secrets.token_hex(4)}",
                                          "version": version})
                    status, data = c.request("PATCH", f"/api/v1/cases/{cid}", payload,
                                             {**auth, "Content-Type": "application/json"})
                    dt = time.perf_counter() - t0
                    with lock:
                        latencies.append(dt)
                        if status == 200:
                            patched.append(cid)
                        elif status != 409:
                            errors.append(f"PATCH -> {status}")

        threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
        elapsed = time.time() - t0
        lat = sorted(latencies)

        def pct(p):
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return {
            "workers": workers, "requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": pct(0.50),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99), "mean_ms": statistics.fmean(lat) * 1000 if lat else 0,
            "errors": len(errors), "error_examples": sorted(set(errors))[:5], "rag_changes_ok": len(patched),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def lost_updates(expected: int, since_marker: str = f"load test {RUN_ID} ") -> int:
    """Successful PATCHes minus the RAG history rows they wrote (0 means nothing lost)."""
    code = (
        "from wsgi import create_app\nfrom core.extensions import db\nfrom cohort.models import RagChange\n"
        "app=create_app()\nwith app.app_context():\n"
        "    n=sum(1 for r in db.session.execute(db.select(RagChange)).scalars() if (r.rationale or '')"
        f".startswith({since_marker!r}))\n    print(n)\n"
    )
    out = subprocess.run([str(PY), "-c", code], cwd=ROOT, env=env(0), check=True, capture_output=True, text=True)
    return expected - int(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--size", type=int, default=300, help="demo cohort size")
    ap.add_argument("--think", type=float, default=2.0,
                    help="mean seconds a user pauses between requests (0: closed-loop stress)")
    ap.add_argument("--skip-prepare", action="store_true")
    args = ap.parse_args(argv)
    if not args.skip_prepare:
        print(f"preparing database {DB} with a demo cohort of {args.size} ...", flush=True)
        prepare(args.size)
    total_ok = 0
    print(f"{'workers':>7} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for w in args.workers:
        r = run_level(w, args.users, args.seconds, args.size, args.think)
        total_ok += r["rag_changes_ok"]
        print(f"{r['workers']:>7} {r['requests']:>9} {r['rps']:>7.1f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} "
              f"{r['p99_ms']:>7.1f} {r['errors']:>6}  rag changes ok: {r['rag_changes_ok']}", flush=True)
        if r["error_examples"]:
            print("        e.g. " + "; ".join(r["error_examples"]))
    lost = lost_updates(total_ok)
    print(f"lost updates: {lost} (successful PATCHes minus history rows written by them)")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
