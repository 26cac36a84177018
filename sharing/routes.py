"""Pages of the sharing feature."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sharing", __name__)
