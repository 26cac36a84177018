"""Navigation by role: one list; links appear only to roles that may use them."""

from __future__ import annotations

from flask import current_app, request, url_for

# (label, endpoint, roles that see it)
NAV = (
    ("Dashboard", "panels.dashboard", ("coordinator", "practitioner", "analyst")),
    ("Panels", "panels.index", ("coordinator", "practitioner", "analyst")),
    ("Duplicates", "duplicates.queue", ("analyst", "admin")),
    ("Overlaps", "duplicates.overlaps", ("analyst", "coordinator")),
    ("KPIs", "panels.kpis", ("coordinator", "analyst")),
    ("Agreements", "sharing.isas", ("admin", "auditor", "coordinator")),
    ("Access log", "sharing.audit_log", ("auditor",)),
    ("Users", "auth.admin_users", ("admin",)),
    ("Agencies", "auth.admin_agencies", ("admin",)),
    ("Subject access", "lifecycle.subject_access_lookup", ("dpo",)),
    ("Export register", "lifecycle.export_register", ("dpo",)),
)


def nav_items(user) -> list[dict]:
    if user is None:
        return []
    items = []
    for label, endpoint, roles in NAV:
        if endpoint in current_app.view_functions and user.has_role(*roles):
            href = url_for(endpoint)
            items.append({"text": label, "href": href, "active": request.path.startswith(href) and href != "/"
                          or request.path == href})
    return items
