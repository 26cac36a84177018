"""Every page each role can reach, parsed as a browser would: crawled from the dashboard by
following links, with CSRF protection on. A page must not fail, must have a title and one
heading, must run no script its CSP would block, must carry the CSRF token in every form that
posts, must not print a Python value where text belongs, and must not show a code from the
label table (core.labels.LABELS) where its words belong: a code-like key (``substance_misuse``,
``ni143``) anywhere in the visible text, and any key at all as the whole text of an element
(a cell, tag or value reading ``red`` or ``open`` is a code printed raw; its label reads
``Red``, ``Open``). Every role is crawled, the DPO too."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from core.labels import codes
from tests.html import Page
from tests.security.world import SHORTS, build_world
from tests.support import TEST_PASSWORD

SKIP = re.compile(r"^/(sign-out|static/|api/)|\.(csv|xlsx|ics|svg|pdf)$|/download")
MAX_PAGES = 150
LEAKED_VALUES = re.compile(r"\b(None|Undefined|True|False)\b|\{\{|\{%")
# The label table's keys that cannot be plain words: seen anywhere in visible text, a raw code.
CODES = codes()
CODE_LIKE = re.compile(r"(?<![\w/.@-])(" + "|".join(sorted((re.escape(k) for k in CODES if re.search(r"[_\d]", k)),
                                                       key=len, reverse=True)) + r")(?![\w/@-])")
# Elements whose whole text is what the page says (not markup around a sentence).
LEAF_TEXT = ("td", "th", "dd", "dt", "li", "strong", "span", "option", "label", "legend", "h1", "h2", "h3",
             "p", "a", "button", "caption", "summary")
ROLES = (*SHORTS, "dpo")


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
    problems += [f"{url}: shows the raw code {code!r}" for code in raw_codes(page.html)]
    leaked = LEAKED_VALUES.search(text)
    if leaked:
        start = max(0, leaked.start() - 40)
        problems.append(f"{url}: prints {leaked.group(0)!r}: ...{text[start:leaked.end() + 40]}...")
    return problems


def raw_codes(html: str) -> list[str]:
    """Codes of the label table shown where their words belong in this HTML (sorted, each once)."""
    soup = BeautifulSoup(html, "html.parser")
    main = soup.find("main") or soup
    for hidden in main(["script", "style", "template", "code", "pre", "textarea"]):
        hidden.extract()
    found = set(CODE_LIKE.findall(" ".join(main.get_text(" ").split())))
    for element in main.find_all(LEAF_TEXT):
        whole = " ".join(element.get_text(" ").split())
        parts = whole.split(", ")  # "admin, coordinator": a list of codes joined
        if whole and all(part in CODES for part in parts):
            found.update(parts)
    return sorted(found)


def test_the_raw_code_check_catches_codes_and_spares_words():
    def found(body: str) -> list[str]:
        return raw_codes(f"<html><body><main>{body}</main></body></html>")

    assert found("<p>Needs: substance_misuse</p><td>ni143</td>") == ["ni143", "substance_misuse"]
    assert found("<td>red</td><strong class='govuk-tag'>open</strong><dd>review</dd>") == ["open", "red", "review"]
    assert found("<td>admin, coordinator</td><li>dpo</li>") == ["admin", "coordinator", "dpo"]
    assert found("<td>Red</td><p>Open the case to review it, or view the red cases.</p>") == []
    assert found("<p>Run <code>flask retention apply</code></p><a href='/x/date_of_birth'>Date of birth</a>") == []
    assert found("<p>contact@example.org, mappa_l3_reviews@x</p><td>Red, Amber</td>") == []


def _with_a_dpo() -> None:
    """The test partnership has no DPO: add one (loading is an upsert)."""
    from partnership.loading import load
    from tests.support import partnership_data

    data = partnership_data()
    data["users"].append({"email": "dpo@test.example", "name": "Dee DPO", "agency": "LACS", "roles": ["dpo"],
                          "password": TEST_PASSWORD})
    load(data)
    from core.extensions import db

    db.session.commit()


@pytest.mark.parametrize("short", ROLES)
def test_every_page_a_role_reaches_is_whole(partnership, strict_app, short):
    build_world(partnership)
    if short == "dpo":
        _with_a_dpo()
    app = strict_app(WTF_CSRF_ENABLED=True)
    pages = _crawl(_signed_in(app, short))
    assert len(pages) >= 2, f"{short} reached only {list(pages)}"
    problems = [p for url, page in pages.items() for p in _problems(url, page)]
    assert not problems, "\n".join(problems)
