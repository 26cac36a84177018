"""Dashboards by role: what needs each user, as counts that link to the filtered lists.

practitioner: my cases, my actions overdue / due soon, my cases changed since I last looked;
coordinator: referrals to decide, agenda status, outstanding actions by agency, attendance;
analyst: the duplicate queue and data-quality problems; auditor and admin: their own work.
Every count here is computed by the same query its list page shows (dashboards.queries).
"""
