"""Pages as a browser parses them: a real HTML parser (Beautiful Soup) instead of splitting
strings, so a test reads the title, the error summary, the forms and the script nonces."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bs4 import BeautifulSoup

_NONCE_IN_CSP = re.compile(r"'nonce-([^']+)'")


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str]


class Page:
    """One HTML response, parsed."""

    def __init__(self, resp):
        self.resp = resp
        self.status = resp.status_code
        self.html = resp.get_data(as_text=True)
        self.soup = BeautifulSoup(self.html, "html.parser")

    @property
    def is_document(self) -> bool:
        """A whole page (not an htmx fragment)."""
        return self.soup.find("html") is not None

    @property
    def title(self) -> str:
        tag = self.soup.find("title")
        return " ".join(tag.get_text().split()) if tag else ""

    @property
    def h1(self) -> list[str]:
        return [" ".join(h.get_text().split()) for h in self.soup.find_all("h1")]

    @property
    def error_summary(self) -> list[str]:
        """The GOV.UK error summary's messages, in order ([] when there is none)."""
        box = self.soup.select_one(".govuk-error-summary")
        return [" ".join(li.get_text().split()) for li in box.select("li")] if box else []

    @property
    def forms(self) -> list[Form]:
        found = []
        for form in self.soup.find_all("form"):
            controls = form.find_all(["input", "select", "textarea", "button"])
            fields = {i.get("name"): i.get("value", "") for i in controls if i.get("name")}
            found.append(Form(form.get("action", ""), (form.get("method") or "get").lower(), fields))
        return found

    @property
    def csp_nonce(self) -> str | None:
        match = _NONCE_IN_CSP.search(self.resp.headers.get("Content-Security-Policy", ""))
        return match.group(1) if match else None

    def scripts_without_the_nonce(self) -> list[str]:
        """Inline or linked scripts the page's CSP would block."""
        nonce = self.csp_nonce
        return [str(s)[:120] for s in self.soup.find_all("script") if s.get("nonce") != nonce]

    def links(self) -> list[str]:
        return [a["href"] for a in self.soup.find_all("a", href=True)]

    def visible_text(self) -> str:
        for hidden in self.soup(["script", "style", "template"]):
            hidden.extract()
        return " ".join(self.soup.get_text(" ").split())
