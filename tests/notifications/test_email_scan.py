"""The e-mail scan (tests/notifications/conftest.py) fails on a nominal's details: it is
run on every message each notification test receives, so it must be able to fail."""

from __future__ import annotations

import smtplib

import pytest

from tests.notifications.conftest import scan_for_personal_data

IDENTITY = {"pnc": "2001/0055555K", "crn": "Y123456", "address": "4 Lockkeeper Row", "postcode": "QQ1 1QQ",
            "aliases": ["Bartholomew"]}


@pytest.mark.parametrize("leak", ["Quarrington", "Bartholomew", "2001/0055555K", "Y123456", "4 Lockkeeper Row",
                                  "QQ1 1QQ", "IOM-Q0001"])
def test_scan_fails_on_each_kind_of_personal_data(app, mailbox, make_case, leak):
    make_case(identity=IDENTITY)
    with smtplib.SMTP("127.0.0.1", mailbox.port) as smtp:
        smtp.sendmail("no-reply@localhost", ["police@test.example"],
                      f"From: no-reply@localhost\r\nTo: police@test.example\r\nSubject: hello\r\n\r\n"
                      f"About {leak}.\r\n")
    with pytest.raises(AssertionError, match="personal data"):
        scan_for_personal_data(mailbox.messages)
    mailbox.recorder.messages.clear()  # so the fixture's own scan at teardown passes


def test_scan_passes_a_clean_message(app, mailbox, make_case):
    make_case(identity=IDENTITY)
    with smtplib.SMTP("127.0.0.1", mailbox.port) as smtp:
        smtp.sendmail("no-reply@localhost", ["police@test.example"],
                      "From: no-reply@localhost\r\nTo: police@test.example\r\nSubject: hi\r\n\r\n"
                      "An action on IOM main panel is overdue.\r\n")
    scan_for_personal_data(mailbox.messages)
