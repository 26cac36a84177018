"""Notifications through the pages, the CLI, the scheduler's job and the API, against a real
SMTP server: each one e-mailed once, by preference, with no personal data; SMTP failures
retried with back-off and never felt by a request."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort.models import Action
from core import clock
from core.extensions import db
from notifications import jobs
from notifications.models import Notification, OutboxEmail
from panels import jobs as panel_jobs
from panels.scheduler import SCHEDULE
from tests.notifications.conftest import date_fields, free_port
from tests.support import clock_at

IDENTITY = {"pnc": "2001/0077777Q", "crn": "X998877", "address": "17 Wharfside Lane", "postcode": "ZZ9 9ZZ",
            "aliases": ["Zeb Q"]}


def assign(client, case, agency_id: int, due: dt.date, text: str = "Visit Wharfside Lane with housing") -> None:
    data = {"description": text, "owner_agency_id": agency_id, "owner_name": "", "version": case.version,
            **date_fields("due", due)}
    resp = client.post(f"/cases/{case.id}/actions/new", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]


def send(runner) -> str:
    result = runner.invoke(args=["notifications", "send"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def case(make_case):
    return make_case(identity=IDENTITY)


def test_action_assigned_is_listed_and_emailed_once(mailbox, case, partnership, login_as, client, runner):
    login_as("probation")  # NPS assigns an action to the police
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))
    police = partnership.user("police")
    notes = db.session.execute(db.select(Notification)).scalars().all()
    assert [(n.user_id, n.kind) for n in notes] == [(police.id, "action_assigned")]  # not the assigner, nor DWP
    assert mailbox.messages == []  # the request only queued it

    assert "1 sent" in send(runner)
    assert "0 sent" in send(runner)  # exactly once however often it runs
    [msg] = mailbox.messages
    assert msg["To"] == "police@test.example"
    assert msg["Subject"] == "Manage risk panels: An action was assigned to you on IOM main panel"
    body = mailbox.body(msg)
    assert f"http://localhost/cases/{case.id}#actions" in body and "Wharfside" not in body


def test_header_count_list_open_and_mark_read(mailbox, case, partnership, login_as, client):
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 11), text="Second")
    client.post("/sign-out")
    login_as("police")
    page = client.get("/panels").get_data(as_text=True)
    assert 'id="nav-notifications"' in page and '2<span class="govuk-visually-hidden"> unread</span>' in page
    listing = client.get("/notifications").get_data(as_text=True)
    assert listing.count("An action was assigned to you on IOM main panel") == 2 and "2 unread of 2" in listing
    first = db.session.execute(db.select(Notification).order_by(Notification.id)).scalars().first()
    opened = client.post(f"/notifications/{first.id}/open")
    assert opened.status_code == 302 and opened.location.endswith(f"/cases/{case.id}#actions")
    assert "1 unread of 2" in client.get("/notifications").get_data(as_text=True)
    assert client.post("/notifications/read").status_code == 302
    page = client.get("/notifications").get_data(as_text=True)
    assert "0 unread of 2" in page and "app-unread-count" not in page


def test_someone_elses_notification_is_not_found(mailbox, case, partnership, login_as, client):
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))
    theirs = db.session.execute(db.select(Notification)).scalar_one()
    assert client.post(f"/notifications/{theirs.id}/open").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_daily_digest_and_off(mailbox, case, partnership, login_as, client, runner):
    login_as("police")
    assert client.post("/notifications/preferences", data={"email": "daily"}).status_code == 302
    client.post("/sign-out")
    login_as("probation")
    assert client.post("/notifications/preferences", data={"email": "bogus"}).status_code == 422
    assert client.post("/notifications/preferences", data={"email": "off"}).status_code == 302
    login_as("police")
    assign(client, case, partnership.agencies["NPS"].id, dt.date(2026, 12, 10))  # to probation: off
    client.post("/sign-out")
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))  # to police: daily
    assert "2 sent" in send(runner)  # police's digest for today (it is past 07:00), NPS's coordinator's own
    [today] = mailbox.to("police@test.example")
    assert today["Subject"] == "Manage risk panels: your daily summary (1)"
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 12), text="Two")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 13), text="Three")
    assert "0 sent" in send(runner)  # today's digest went: these wait for tomorrow's
    clock.set_now(clock_at("2026-11-24T06:30:00"))
    assert "0 sent" in send(runner)  # before 07:00
    clock.set_now(clock_at("2026-11-24T07:05:00"))
    assert "1 sent" in send(runner)
    assert "0 sent" in send(runner)
    digest = mailbox.to("police@test.example")[1]
    assert digest["Subject"] == "Manage risk panels: your daily summary (2)"
    assert "2 actions were assigned to you on IOM main panel" in mailbox.body(digest)
    assert mailbox.to("probation@test.example") == []  # off: listed in the service only
    assert db.session.execute(db.select(db.func.count(Notification.id)).where(
        Notification.user_id == partnership.user("probation").id)).scalar() == 1


def test_due_tomorrow_and_overdue_once_each(mailbox, case, partnership, login_as, client, runner):
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 11, 26))
    send(runner)  # the assignment
    clock.set_now(clock_at("2026-11-25T09:00:00"))
    send(runner)
    send(runner)
    clock.set_now(clock_at("2026-11-27T09:00:00"))
    assert panel_jobs.run_job("notifications") == 1  # the scheduler's job: overdue
    assert panel_jobs.run_job("notifications") == 0
    subjects = [m["Subject"] for m in mailbox.to("police@test.example")]
    assert subjects == ["Manage risk panels: An action was assigned to you on IOM main panel",
                        "Manage risk panels: An action on IOM main panel is due tomorrow",
                        "Manage risk panels: An action on IOM main panel is overdue"]


def test_done_action_is_not_chased(mailbox, case, partnership, login_as, client, runner):
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 11, 26))
    action = db.session.execute(db.select(Action)).scalar_one()
    assert client.post(f"/cases/{case.id}/actions/{action.id}/complete").status_code == 302
    clock.set_now(clock_at("2026-11-25T09:00:00"))
    send(runner)
    assert [m["Subject"] for m in mailbox.messages] == [
        "Manage risk panels: An action was assigned to you on IOM main panel"]


def test_agenda_published_tells_the_panels_agencies_only(mailbox, case, partnership, login_as, client, runner):
    from panels.models import Meeting

    meeting = db.session.execute(db.select(Meeting).filter_by(panel_id=partnership.panels["IOM"].id)
                                 .order_by(Meeting.date)).scalars().first()
    login_as("coord")
    assert client.post(f"/meetings/{meeting.id}/agenda/publish").status_code == 302
    send(runner)
    told = sorted(m["To"] for m in mailbox.messages)
    # every working user of an agency party to the IOM agreement, not the publisher, not NOGRANT, not admin
    assert told == ["dwp@test.example", "health@test.example", "mappa.coord@test.example", "police@test.example",
                    "probation@test.example"]
    when = meeting.date.strftime("%-d %B %Y")
    subject = "Manage risk panels: The agenda for the IOM main panel meeting on {} is published"
    assert mailbox.messages[0]["Subject"] == subject.format(when)


def test_agreement_review_tells_admins(mailbox, partnership, runner):
    clock.set_now(clock_at("2026-12-10T09:00:00"))  # ISA-IOM-TEST is due for review on 1 January 2027
    panel_jobs.run_job("reminders")
    panel_jobs.run_job("reminders")
    send(runner)
    [msg] = mailbox.messages
    assert msg["To"] == "admin@test.example"
    assert msg["Subject"] == "Manage risk panels: Agreement ISA-IOM-TEST is due for review"


def test_smtp_down_is_retried_with_backoff_and_never_blocks_a_request(app, mailbox, case, partnership, login_as,
                                                                       client, runner):
    app.config["SMTP_PORT"] = free_port()  # nothing listens: connection refused
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))  # the request does not care
    assert "0 sent, 1 to retry" in send(runner)
    email = db.session.execute(db.select(OutboxEmail)).scalar_one()
    assert (email.status, email.attempts, email.last_error) == ("queued", 1, "ConnectionRefusedError")
    first_retry = email.next_attempt_at
    assert first_retry == clock.utcnow() + dt.timedelta(minutes=1)
    assert "0 sent, 0 to retry" in send(runner)  # not before its back-off
    clock.set_now(clock_at("2026-11-23T10:01:30"))
    assert "0 sent, 1 to retry" in send(runner)
    db.session.expire_all()
    email = db.session.get(OutboxEmail, email.id)
    assert email.attempts == 2 and email.next_attempt_at == clock.utcnow() + dt.timedelta(minutes=2)
    app.config["SMTP_PORT"] = mailbox.port
    mailbox.recorder.refuse_rcpt = True  # up, but "451 try again later"
    clock.set_now(clock_at("2026-11-23T10:04:00"))
    assert "0 sent, 1 to retry" in send(runner)
    mailbox.recorder.refuse_rcpt = False
    clock.set_now(clock_at("2026-11-23T10:09:00"))
    assert "1 sent" in send(runner)
    assert len(mailbox.messages) == 1


def test_gives_up_after_max_attempts(app, mailbox, case, partnership, login_as, client, runner):
    app.config["SMTP_PORT"] = free_port()
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))
    for _ in range(jobs.MAX_ATTEMPTS):
        send(runner)
        clock.set_now(clock_at("2026-11-23T10:00:00") + dt.timedelta(days=1) * (_ + 1))
    email = db.session.execute(db.select(OutboxEmail)).scalar_one()
    assert (email.status, email.attempts) == ("failed", jobs.MAX_ATTEMPTS)


def test_console_without_smtp_host(app, case, partnership, login_as, client, runner, capsys):
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))
    app.config["SMTP_HOST"] = None
    output = send(runner)
    assert "1 sent" in output and "not sent: SMTP_HOST is not set" in output + capsys.readouterr().out


def test_scheduler_runs_the_sender():
    assert ("notifications.send", "notifications", {"trigger": "interval", "minutes": 5}) in SCHEDULE
    assert panel_jobs.JOBS["notifications"] is jobs.run


def test_api_lists_only_the_callers_notifications(mailbox, case, partnership, login_as, client, api_token):
    login_as("probation")
    assign(client, case, partnership.agencies["POLICE"].id, dt.date(2026, 12, 10))
    police = {"Authorization": f"Bearer {api_token('police')}"}
    body = client.get("/api/v1/notifications", headers=police).get_json()
    assert body["total"] == 1 and body["unread"] == 1 and body["next"] is None
    [item] = body["notifications"]
    assert item["kind"] == "action_assigned" and item["panel"] == "IOM" and item["link"] == f"/cases/{case.id}#actions"
    other = client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {api_token('dwp')}"}).get_json()
    assert other["total"] == 0
    assert client.get("/api/v1/notifications?page=0", headers=police).status_code == 422
    assert client.post("/api/v1/notifications/read", json={"ids": "x"}, headers=police).status_code == 422
    done = client.post("/api/v1/notifications/read", json={"ids": [item["id"]]}, headers=police).get_json()
    assert done == {"marked": 1, "unread": 0}
    assert client.get("/api/v1/notifications?unread=true", headers=police).get_json()["total"] == 0
    assert client.get("/api/v1/notifications").status_code == 401


def test_referral_decided_tells_the_referrer(mailbox, partnership, client, api_token, runner):
    police = {"Authorization": f"Bearer {api_token('police')}"}
    made = client.post("/api/v1/panels/IOM/referrals", headers=police, json={
        "nominal": {"given_name": "Zebedee", "family_name": "Quarrington", "pnc": "2001/0066666R"},
        "reason": "Prolific burglary, out on licence at 17 Wharfside Lane"})
    assert made.status_code == 201, made.get_json()
    coord = {"Authorization": f"Bearer {api_token('coord')}"}
    decided = client.post(f"/api/v1/referrals/{made.get_json()['id']}/decision", headers=coord,
                          json={"decision": "accept", "reason": "Meets the IOM criteria"})
    assert decided.status_code == 200, decided.get_json()
    send(runner)
    [msg] = mailbox.to("police@test.example")
    assert msg["Subject"] == "Manage risk panels: A referral to IOM main panel was decided"
    assert f"/cases/{made.get_json()['case_id']}" in mailbox.body(msg)


def test_action_assigned_to_a_person_through_the_api(mailbox, case, partnership, client, api_token, runner):
    probation = {"Authorization": f"Bearer {api_token('probation')}"}
    made = client.post(f"/api/v1/cases/{case.id}/actions", headers=probation,
                       json={"text": "Call Zebedee at 17 Wharfside Lane", "owner_email": "police@test.example",
                             "due": "2026-12-01"})
    assert made.status_code == 201, made.get_json()
    send(runner)
    assert [m["To"] for m in mailbox.messages] == ["police@test.example"]  # the person, not the whole agency
    assert client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {api_token('police')}"}
                      ).get_json()["notifications"][0]["kind"] == "action_assigned"
