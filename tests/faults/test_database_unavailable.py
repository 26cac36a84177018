"""The database goes away under a running service: 503 pages (no traceback), then recovery without a restart.

PostgreSQL: the app reaches the database through a TCP relay the test stops (every
connection cut, new ones refused) and starts again on the same port. SQLite: another
connection holds the write lock (BEGIN EXCLUSIVE) for longer than the app's busy timeout.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import socket
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import event
from sqlalchemy.engine import make_url

from core.extensions import db
from tests.conftest import test_overrides as overrides_for
from tests.support import TEST_PASSWORD, LiveServer

UNAVAILABLE = "Sorry, the service is unavailable"


class Relay:
    """A TCP relay to host:port that can be stopped (all connections cut) and started again."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.listener: socket.socket | None = None
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        with self.lock:
            for s in self.sockets:
                _close(s)
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self.lock:
                if self.listener is not listener:
                    _close(client)
                    _close(upstream)
                    return
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()


class Browser:
    """A cookie-keeping HTTP client that returns (status, body) without raising on errors."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path, data=urllib.parse.urlencode(form).encode()))

    def _open(self, req) -> tuple[int, str]:
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def assert_unavailable(browser: Browser) -> None:
    status, page = browser.get("/")
    assert status == 503, page[:500]
    assert UNAVAILABLE in page and "govuk-template" in page
    assert "Traceback" not in page and "OperationalError" not in page and "psycopg" not in page
    status, body = browser.get("/healthz")
    assert status == 503 and '"error"' in body and "Traceback" not in body


def assert_available(browser: Browser) -> None:
    status, page = browser.get("/")
    assert status == 200, page[:500]
    assert UNAVAILABLE not in page
    assert browser.get("/healthz") == (200, '{"status":"ok"}\n')


def signed_in(server: LiveServer) -> Browser:
    browser = Browser(server.url)
    status, _ = browser.post("/sign-in", {"email": "coord@test.example", "password": TEST_PASSWORD})
    assert status == 200  # urllib followed the redirect after a successful sign-in
    assert_available(browser)
    return browser


def test_database_unavailable_then_recovers(app, partnership, engine_name):
    db.session.commit()
    db.session.remove()
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    relay = None
    if engine_name == "postgresql":
        relay = Relay(url.host or "127.0.0.1", url.port or 5432)
        relay.start()
        url = url.set(host="127.0.0.1", port=relay.port)
    from wsgi import create_app

    served = create_app(overrides_for(url.render_as_string(hide_password=False)))
    served.extensions["keys_ready"] = True
    holder = None
    try:
        if engine_name == "sqlite":
            with served.app_context():
                # The test app gives up on a held lock after 0.3 s instead of the service's 30 s.
                event.listen(db.engine, "connect", lambda conn, _r: conn.execute("PRAGMA busy_timeout=300"))
        with LiveServer(served) as server:
            browser = signed_in(server)
            if relay is not None:
                relay.stop()
            else:
                holder = sqlite3.connect(url.database, timeout=1, isolation_level=None)
                holder.execute("BEGIN EXCLUSIVE")
            assert_unavailable(browser)
            assert_unavailable(browser)
            if relay is not None:
                relay.start()
            else:
                holder.execute("ROLLBACK")
                holder.close()
                holder = None
            # Back without restarting the app: the dead pooled connections are replaced (pre-ping).
            assert_available(browser)
            assert_available(browser)
    finally:
        if holder is not None:
            holder.close()
        with served.app_context():
            db.session.remove()
            db.engine.dispose()
        if relay is not None:
            relay.stop()
