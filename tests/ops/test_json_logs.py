"""The request log as an operator's log tool receives it: one JSON object per line, plain text."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import urllib.request

from core.logs import JsonFormatter
from tests.support import LiveServer


def test_request_log_lines_are_json_without_terminal_colour(app):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    werkzeug_log = logging.getLogger("werkzeug")
    werkzeug_log.addHandler(handler)
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.INFO)
    try:
        with LiveServer(app) as server:
            for path in ("/healthz", "/no-such-page"):  # 200 and 404 are coloured differently
                with contextlib.suppress(urllib.error.HTTPError):
                    urllib.request.urlopen(server.url + path, timeout=10).read()
    finally:
        werkzeug_log.removeHandler(handler)
        werkzeug_log.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    messages = [line["msg"] for line in lines if "HTTP/1.1" in line["msg"]]
    assert any('"GET /healthz HTTP/1.1" 200' in m for m in messages), messages
    assert any('"GET /no-such-page HTTP/1.1" 404' in m for m in messages), messages
    assert not any("\x1b" in m for m in messages), messages
