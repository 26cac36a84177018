"""Pages of the panels feature: dashboard, panels, meetings, agendas, KPIs."""

from __future__ import annotations

from flask import Blueprint, render_template

from auth.decorators import login_required

bp = Blueprint("panels", __name__)


@bp.route("/")
@login_required
def dashboard():
    return render_template("panels/dashboard.html", title="Dashboard")
