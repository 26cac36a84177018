"""Answers drawn from the cohort, kept until the cohort changes.

A whole partnership watches the same tracker: between changes every page load, every poll
and every API client draws the same 50 rows again (decrypting names, building flags,
rendering GOV.UK markup). This cache keeps what was drawn under a key made of the change
token (writes to the panel's cases, to cases anywhere, which set "on other panels", and to
people, which change names; today's date; the viewer's readable categories), the panel,
the viewer's agency and the query, so a hit can only hand back exactly what this viewer
would have drawn now. The tracker also keeps whole pages here, under that key plus the
session (cohort.routes.tracker).

It belongs to the app (each gunicorn worker fills its own, so no decrypted value leaves the
process) and is small. Entries also expire after ``TTL_SECONDS``: the rare admin edits that
the token does not see (an agency renamed) show within a minute. The caller writes the
access log on every answer, hit or miss.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")

MAX_ENTRIES = 256
TTL_SECONDS = 60.0


class PageCache:
    """A small LRU with expiry; `make` runs outside the lock (two misses may both draw)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS) -> None:
        self.max_entries, self.ttl = max_entries, ttl
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self.misses += 1
            self._entries[key] = (now + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def page_cache() -> PageCache:
    """This app's cache (the test fixture drops it between tests, whose emptied tables and
    frozen clock would otherwise repeat change tokens)."""
    return current_app.extensions.setdefault("cohort_page_cache", PageCache())
