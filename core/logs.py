"""Structured (JSON) logs. Messages name ids and outcomes, never values: no passwords,
tokens, names or identifiers are passed to the logger, and a filter scrubs anything that
looks like a bearer token or calendar link, just in case."""

from __future__ import annotations

import json
import logging
import re

_SECRETS = re.compile(r"(mr[pf]_[A-Za-z0-9_\-]{8,}|Bearer\s+\S+|password=\S+)", re.IGNORECASE)
# Search terms are personal data (a name, a PNC): a request line's ?q= is logged as [redacted].
_SEARCH_TERMS = re.compile(r"([?&]q=)[^&\s\"]*")
# Werkzeug's request log colours status codes with terminal escapes whatever the output is;
# in a JSON line they are noise that log tools show as "\u001b[33m".
_TERMINAL_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = _SECRETS.sub("[redacted]", _TERMINAL_ESCAPES.sub("", record.getMessage()))
        msg = _SEARCH_TERMS.sub(r"\1[redacted]", msg)
        data = {"at": self.formatTime(record), "level": record.levelname, "logger": record.name, "msg": msg}
        if record.exc_info:
            data["exc"] = _SECRETS.sub("[redacted]", self.formatException(record.exc_info))
        return json.dumps(data)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
