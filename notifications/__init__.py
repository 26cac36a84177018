"""Notifications: an in-service list, and e-mail through an outbox that sends each one once.

A request or a job calls `notifications.services.queue(...)`; the row commits with the
change that caused it. Nothing talks to the SMTP server during a request: the sender
(`flask notifications send`, the scheduler) claims queued e-mails from the outbox.
"""
