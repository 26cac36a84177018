"""No shadow lists (issue 16): a printed agenda is registered and carries its marking.

An agenda is printed for its meeting, so its purpose is that meeting; it goes into the export
register with the cases it lists and a destroy-by date a week after the meeting, and the page
says who printed it, when, why and until when.
"""

from __future__ import annotations

from core.extensions import db
from lifecycle.models import ExportRecord, ExportSubject
from panels import agenda as agendas
from tests.panels.test_agenda import DEC2, cohort  # noqa: F401  (the fixture)


def test_a_printed_agenda_is_registered_and_marked(cohort, login_as, meeting_on, client, partnership):  # noqa: F811
    meeting = meeting_on("IOM", DEC2)
    agendas.publish(meeting, partnership.user("coord"))
    db.session.commit()
    login_as("police")
    page = client.get(f"/meetings/{meeting.id}/agenda/print").get_data(as_text=True)
    rec = db.session.execute(db.select(ExportRecord)).scalar_one()
    assert (rec.kind, rec.purpose, rec.destroy_by.isoformat()) == ("print", "panel_meeting", "2026-12-09")
    assert rec.user.email == "police@test.example" and rec.rows > 0
    assert db.session.scalar(db.select(db.func.count()).select_from(ExportSubject)) == rec.rows
    start = page.index('id="export-marking-top"')
    marking = page[start:start + 600]
    assert f"Print no. {rec.id} by Paula Police (POLICE)" in marking
    assert "for: Preparing for or running a panel meeting. Destroy every copy by 9 Dec 2026." in marking
