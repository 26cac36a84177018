"""JSON API: the caller's own notifications (no case data: kinds, panels, counts, links).

GET /api/v1/notifications?unread=true&page=N    POST /api/v1/notifications/read {"ids": [..]} or {"all": true}
"""

from __future__ import annotations

from flask import abort, g

from core.api import ID, api, endpoint, request_args, request_json, shape
from notifications import services
from notifications.models import KINDS, Notification

NOTIFICATION = shape("Notification", {
    "type": "object",
    "required": ["id", "kind", "text", "panel", "count", "link", "created_at", "read"],
    "properties": {
        "id": ID, "kind": {"type": "string", "enum": list(KINDS)},
        "text": {"type": "string", "description": "What happened: a kind, a count and a panel name only"},
        "panel": {"type": ["string", "null"], "description": "The panel's code"},
        "count": {"type": "integer", "minimum": 1},
        "link": {"type": "string", "description": "A path of this service to open (it applies the access policy)"},
        "created_at": {"type": "string", "format": "date-time"}, "read": {"type": "boolean"},
    },
})
NOTIFICATION_PAGE = shape("NotificationPage", {
    "type": "object", "required": ["notifications", "page", "next", "total", "unread"],
    "properties": {
        "notifications": {"type": "array", "items": NOTIFICATION}, "page": {"type": "integer"},
        "next": {"type": ["integer", "null"]}, "total": {"type": "integer"}, "unread": {"type": "integer"},
    },
})
MARK_READ = {
    "type": "object", "additionalProperties": False,
    "properties": {"ids": {"type": "array", "items": ID, "minItems": 1, "maxItems": 1000},
                   "all": {"type": "boolean", "const": True}},
    "oneOf": [{"required": ["ids"]}, {"required": ["all"]}],
}
MARKED = shape("NotificationsMarked", {
    "type": "object", "required": ["marked", "unread"],
    "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}},
})


def notification_dict(n: Notification) -> dict:
    return {
        "id": n.id, "kind": n.kind, "text": services.notification_text(n),
        "panel": n.panel.code if n.panel else None, "count": n.count, "link": n.link,
        "created_at": n.created_at.isoformat() + "Z", "read": n.read_at is not None,
    }


@api.get("/notifications")
@endpoint("The caller's notifications, newest first, 50 a page", responses={200: NOTIFICATION_PAGE,
          422: "A bad page number"},
          query={"unread": {"type": "boolean"}, "page": {"type": "integer", "minimum": 1, "maximum": 100000}})
def my_notifications():
    """The caller's notifications, newest first, 50 a page."""
    args = request_args()
    page, unread_only = args.get("page", 1), args.get("unread", False)
    rows, total = services.for_user(g.user, page=page, unread_only=unread_only)
    more = page * services.PAGE_SIZE < total
    return {"notifications": [notification_dict(n) for n in rows], "page": page,
            "next": page + 1 if more else None, "total": total, "unread": services.unread_count(g.user)}


@api.post("/notifications/read")
@endpoint("Mark the caller's notifications read: the ids given, or all", body=MARK_READ,
          responses={200: MARKED, 422: 'Neither "ids" nor "all"'})
def mark_notifications_read():
    """Mark the caller's notifications read: the ids given, or all of them."""
    body = request_json()
    if not isinstance(body, dict):
        abort(422, 'Send {"ids": [1, 2]} or {"all": true}')
    done = services.mark_read(g.user, None if body.get("all") is True else body["ids"])
    return {"marked": done, "unread": services.unread_count(g.user)}
