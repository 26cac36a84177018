"""Every page each role can reach, parsed as a browser would: crawled from the dashboard by
following links, with CSRF protection on. A page must not fail, must have a title and one
heading, must run no script its CSP would block, must carry the CSRF token in every form that
posts, and must not print a Python value where text belongs."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest

from tests.html import Page
from tests.security.world import SHORTS, build_world
from tests.support import TEST_PASSWORD

SKIP = re.compile(r"^/(sign-out|static/|api/)|\.(csv|xlsx|ics|svg|pdf)$|/download")
MAX_PAGES = 150
LEAKED_VALUES = re.compile(r"\b(None|Undefined|True|False)\b|\{\{|\{%")


def _pattern(path: str) -> str:
    """/cases/12/notes/new -> /cases/N/notes/new: one page of each kind is enough."""
    return re.sub(r"/\d+", "/N", path)


def _signed_in(app, short: str):
    client = app.test_client()
    page = Page(client.get("/sign-in"))
    token = next(f.fields["csrf_token"] for f in page.forms if "csrf_token" in f.fields)
    resp = client.post("/sign-in", data={"email": f"{short}@test.example", "password": TEST_PASSWORD,
                                         "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def _crawl(client) -> dict[str, Page]:
    seen_patterns: set[str] = set()
    pages: dict[str, Page] = {}
    queue = deque(["/"])
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        path = urlsplit(url).path
        if _pattern(path) in seen_patterns:
            continue
        seen_patterns.add(_pattern(path))
        resp = client.get(url)
        if resp.status_code in (301, 302, 303):
            queue.append(resp.headers["Location"])
            continue
        if not resp.content_type.startswith("text/html"):
            continue
        page = pages[url] = Page(resp)
        for href in page.links():
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return pages


def _problems(url: str, page: Page) -> list[str]:
    problems = []
    if page.status >= 500:
        return [f"{url}: {page.status}"]
    if not page.is_document:
        return []
    if not page.title:
        problems.append(f"{url}: no <title>")
    if len(page.h1) != 1:
        problems.append(f"{url}: {len(page.h1)} <h1> headings")
    problems += [f"{url}: script without the CSP nonce: {s}" for s in page.scripts_without_the_nonce()]
    for form in page.forms:
        tokens = [v for k, v in form.fields.items() if k == "csrf_token" or k.endswith("-csrf_token")]
        if form.method == "post" and not any(tokens):
            problems.append(f"{url}: a form posting to {form.action or url} has no CSRF token")
    text = page.visible_text()
    if "Traceback" in text:
        problems.append(f"{url}: a stack trace")
    leaked = LEAKED_VALUES.search(text)
    if leaked:
        start = max(0, leaked.start() - 40)
        problems.append(f"{url}: prints {leaked.group(0)!r}: ...{text[start:leaked.end() + 40]}...")
    return problems


@pytest.mark.parametrize("short", SHORTS)
def test_every_page_a_role_reaches_is_whole(partnership, strict_app, short):
    build_world(partnership)
    app = strict_app(WTF_CSRF_ENABLED=True)
    pages = _crawl(_signed_in(app, short))
    assert len(pages) >= 2, f"{short} reached only {list(pages)}"
    problems = [p for url, page in pages.items() for p in _problems(url, page)]
    assert not problems, "\n".join(problems)
