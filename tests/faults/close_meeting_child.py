"""Closes one meeting in a process of its own, exactly as the close page does, for the test to kill.

    python tests/faults/close_meeting_child.py MEETING_ID COORDINATOR_EMAIL

Prints "closing" once the transaction has begun, and "closed" after the commit.
"""

from __future__ import annotations

import sys


def main(meeting_id: int, email: str) -> None:
    from auth.models import User
    from core.db import immediate_transactions
    from core.extensions import db
    from panels.meetings import close_meeting
    from panels.models import Meeting
    from sharing.crypto import ensure_data_keys
    from sharing.policy import Policy
    from wsgi import create_app

    app = create_app()
    with app.app_context():
        ensure_data_keys()
        with immediate_transactions():
            user = db.session.execute(db.select(User).filter_by(email=email)).scalar_one()
            meeting = db.session.get(Meeting, meeting_id)
            print("closing", flush=True)
            closed = close_meeting(meeting, Policy(user))
            db.session.commit()
    print("closed" if closed else "already closed", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
