"""Pages at a desk and on a phone (Chromium, SQLite only): every page each role reaches, at
1280 px and at 375 px, must not scroll the page sideways (wide tables scroll inside their own
labelled region), must not show a raw code from the label table, and must have no serious
or critical axe violation (checked at 1280 px; the layout at 375 px by the scroll check).

Set SCREENSHOTS=dir to write a screenshot of each page at each width (`make screenshots`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.a11y.test_axe import AXE
from tests.pages.test_every_page import ROLES, _with_a_dpo, raw_codes
from tests.security.world import build_world

pytestmark = pytest.mark.browser

WIDTHS = (1280, 375)
SKIP = re.compile(r"^/(sign-out|static/|assets/|api/)|\.(csv|xlsx|ics|svg|pdf|json)$|/download|/feed")
MAX_PAGES = 40

SIDEWAYS = """() => {
  const page = document.documentElement.scrollWidth - window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.app-table-scroll')
                 && getComputedStyle(e).position !== 'fixed' && e.offsetParent !== null)
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : ''));
  return {overflow: page, wide};
}"""


def _pattern(path: str) -> str:
    return re.sub(r"/\d+", "/N", path)


def _crawl(page, check) -> int:
    """Follow links breadth-first from the start page, one page of each kind, calling
    check(url) on each page as it is shown; returns how many pages were checked."""
    queue, seen, checked = ["/"], set(), 0
    while queue and checked < MAX_PAGES:
        url = queue.pop(0)
        key = _pattern(urlsplit(url).path)
        if key in seen:
            continue
        seen.add(key)
        resp = page.goto(url)
        if resp is None or "text/html" not in (resp.headers.get("content-type") or ""):
            continue
        checked += 1
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        check(url)
        for href in hrefs:
            parts = urlsplit(href)
            if not parts.netloc and parts.path.startswith("/") and not SKIP.search(parts.path):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return checked


def _problems(page, url: str, shots: Path | None, short: str, axe: bool) -> list[str]:
    """The page as shown, at each width (resized in place: no second load)."""
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        sideways = page.evaluate(SIDEWAYS)
        if sideways["overflow"] > 0:
            problems.append(f"{short} {url} at {width}px: the page scrolls {sideways['overflow']}px sideways "
                            f"({', '.join(sideways['wide'])})")
        if shots is not None:
            name = re.sub(r"[^A-Za-z0-9]+", "_", f"{short}{url}").strip("_")
            page.screenshot(path=str(shots / f"{name}_{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    # The page as drawn (htmx fragments included): every code of the label table (core.labels.codes),
    # the same check as the non-browser crawl (tests/pages/test_every_page.raw_codes).
    problems += [f"{short} {url}: shows the raw code {code!r}" for code in raw_codes(page.content())]
    if axe:
        page.add_script_tag(url="/assets/js/axe.min.js")
        bad = [v for v in page.evaluate(AXE) if v["impact"] in ("serious", "critical")]
        problems += [f"{short} {url}: axe {v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in bad]
    return problems


def test_every_page_holds_at_desk_and_phone_widths(engine_name, partnership, page_for):
    if engine_name != "sqlite":
        pytest.skip("browser tests run once, on SQLite")
    build_world(partnership)
    _with_a_dpo()
    shots = Path(os.environ["SCREENSHOTS"]) if os.environ.get("SCREENSHOTS") else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    problems, visited, axed = [], 0, set()
    for short in ROLES:  # every role of the test partnership, the DPO too
        page = page_for(short)
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})

        def check(url: str, page=page, short=short) -> None:
            kind = _pattern(urlsplit(url).path)
            problems.extend(_problems(page, url, shots, short, axe=kind not in axed))  # axe once per kind
            axed.add(kind)

        visited += _crawl(page, check)
    assert visited >= 50, visited
    assert not problems, "\n".join(problems)
