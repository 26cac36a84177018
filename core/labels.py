"""The one table of human labels for codes shown to people.

Categories, action statuses, indicators, agenda reasons, audit event kinds and the
equality-monitoring categories are stored and sent over the API as codes; pages show
these words instead. `label(code)` is also the Jinja filter `label`. Add new codes here
rather than spelling a label in a template, so a code reads the same on every page.
A code with no entry is shown as a readable fallback ("mappa_l3" -> "Mappa l3"), never
as a raw key with underscores. A code that reads differently in one context has a
"kind:code" entry (`label("contact", "engagement")` -> "Face-to-face contact").

`codes()` is every code the table knows (the part after "kind:" too): the page crawls
(tests/pages/test_every_page.py, tests/a11y/test_layout.py) fail when one is shown raw.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    # ISA categories
    "identity": "Identity",
    "contact": "Contact details",
    "category:contact": "Contact",  # as a category name in a form or a heading: label(c, "category")
    "offending": "Offending",
    "risk": "Risk",
    "health": "Health",
    "substance_misuse": "Substance misuse",
    "resettlement": "Resettlement",
    "intelligence": "Intelligence",
    # RAG
    "red": "Red",
    "amber": "Amber",
    "green": "Green",
    # Dashboards: data-quality problems, attendance, notification kinds (issue 15)
    "no_rag": "No RAG status",
    "review_overdue": "Review date passed",
    "no_lead_agency": "No lead agency",
    "no_engagement": "No engagement recorded",
    "no_date_of_birth": "No date of birth",
    "no_identifier": "No PNC, CRO, NOMIS or CRN",
    "present": "Present",
    "by_report": "By report",
    "apologies": "Apologies",
    "absent": "Absent",
    "action_assigned": "Action assigned",
    "action_due_tomorrow": "Action due tomorrow",
    "action_overdue": "Action overdue",
    "agenda_published": "Agenda published",
    "referral_decided": "Referral decided",
    "isa_review": "Agreement due for review",
    "isa_expiry": "Agreement nearing expiry",
    # Action statuses
    "open": "Open",
    "done": "Done",
    "cancelled": "Cancelled",
    "in_progress": "In progress",
    "could_not": "Could not be done",
    "not_done": "Not done",
    "proposed": "Agreed (opens when the meeting closes)",
    # Referral decisions and inclusion reviews (issue 14)
    "awaiting_decision": "Awaiting a decision",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "deferred": "Deferred",
    "keep": "Still meets the panel's criteria",
    "remove": "Removed from the panel",
    # Agenda and tracker reasons
    "new_referral": "New referral",
    "no_engagement_3m": "No engagement for 3+ months",
    "no_engagement_6m": "No engagement for 6+ months",
    "review_due": "Review due",
    "on_other_panels": "On other panels",
    "added_by_coordinator": "Added by the coordinator",
    "actions_outstanding": "Actions outstanding",
    "referral_awaiting_decision": "Referral awaiting a decision",
    "inclusion_review_due": "Inclusion review due",
    # KPI indicators and monthly series
    "mappa_l3_reviews": "MAPPA level 3 cases reviewed within 6 weeks",
    "mappa_l2_reviews": "MAPPA level 2 cases reviewed within 12 weeks",
    "disclosure_recorded": "Disclosure decision recorded at level 2/3 reviews",
    "prison_probation_attendance": "Prison and probation attend level 2/3 meetings",
    "ni143": "NI 143: settled and suitable accommodation at the end of order or licence",
    "ni144": "NI 144: in employment at the end of order or licence",
    "overdue_actions": "Overdue actions (now)",
    "cohort": "Cohort",
    "referrals": "Referrals",
    "exits": "Exits",
    "overlaps": "On other panels",
    # Audit event kinds
    "view": "Viewed",
    "change": "Changed",
    "create": "Created",
    "export": "Exported",
    "print": "Printed",
    "search": "Searched",
    "match": "Duplicate check",
    "merge": "Merged",
    "unmerge": "Unmerged",
    "admin": "Administration",
    "token": "API token",
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in failed",
    "sign_out": "Signed out",
    "refused": "Refused",
    "disclosure": "Disclosed",
    "erasure": "Erased",
    # Duplicate check bands (duplicates.candidates.band)
    "probable": "Probably the same person",
    "review": "Possibly the same person: needs review",
    # Equality monitoring: the dimensions, and values that are not census categories
    "ethnicity": "Ethnicity",
    "gender": "Gender",
    "age_band": "Age band",
    "not_stated": "Not stated",
    # Export purposes (lifecycle.models.EXPORT_PURPOSES) and the unstated one
    "panel_meeting": "Preparing for or running a panel meeting",
    "case_management": "Managing a case",
    "performance_report": "Performance or statistical report",
    "inspection_audit": "Inspection or audit",
    "legal_request": "A legal request (court, subject access, FOI)",
    # Cohort file columns (exchange.spreadsheet.COLUMNS): headers, import messages, the preview
    "ref": "Ref",
    "given_name": "Given name",
    "family_name": "Family name",
    "aliases": "Aliases",
    "date_of_birth": "Date of birth",
    "pnc": "PNC ID",
    "cro": "CRO number",
    "nomis": "NOMIS number",
    "crn": "CRN",
    "address": "Address",
    "postcode": "Postcode",
    "rag": "RAG",
    "lead_agency": "Lead agency",
    "referral_date": "Referral date",
    "last_engagement": "Last engagement",
    "order_end_date": "Order end date",
    "cohort_type": "Cohort type",
    "mappa_category": "MAPPA category",
    "mappa_level": "MAPPA level",
    "risk_level": "Risk level",
    "accommodation": "Accommodation",
    "employment": "Employment",
    "lead_officer": "Lead officer",
    "next_review": "Next review",
    "status": "Status",
    "flags": "Flags",
    "open_actions": "Open actions",
    "marking": "Data protection marking",
    # Roles as offered on the user form, with what each may do
    "role_choice:admin": "Administrator (users, agencies, agreements; sees no case data)",
    "role_choice:coordinator": "Panel coordinator",
    "role_choice:practitioner": "Practitioner",
    "role_choice:analyst": "Data analyst",
    "role_choice:auditor": "Auditor (reads the access log; sees no case data)",
    "role_choice:dpo": "Data protection officer (subject access, rectification, export register)",
    # Shorter headings for the printed cohort list
    "print:risk_level": "Risk of serious harm",
    "print:referral_date": "Referred",
    "print:order_end_date": "Order ends",
    # Case, agreement, meeting and e-mail statuses; access outcomes
    "referred": "Referred",
    "active": "Active",
    "paused": "Paused",
    "exited": "Exited",
    "draft": "Draft",
    "suspended": "Suspended",
    "ended": "Ended",
    "expired": "Expired",
    "scheduled": "Scheduled",
    "published": "Published",
    "closed": "Closed",
    "queued": "Queued",
    "claimed": "Being sent",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "uncertain": "Uncertain (may have been sent)",
    "allowed": "Allowed",
    # Engagement kinds (cohort.services.ENGAGEMENT_KINDS) and pathway needs
    "engagement:contact": "Face-to-face contact",
    "home_visit": "Home visit",
    "office_visit": "Office appointment",
    "phone": "Phone call",
    "attempted": "Attempted contact (no engagement)",
    "engagement:other": "Other",
    "need": "Need identified",
    "no_need": "No need",
    "met": "Need met",
    # Kinds of agency (auth.models.AGENCY_KINDS)
    "police": "Police",
    "probation": "Probation",
    "council": "Council",
    "housing": "Housing",
    "dwp": "DWP",
    "drugs_alcohol": "Drugs and alcohol",
    "youth_justice": "Youth justice",
    "prison": "Prison",
    "other": "Other",
    # Roles (auth.models.ROLES): label(role, "role")
    "role:admin": "Administrator",
    "role:coordinator": "Panel coordinator",
    "role:practitioner": "Practitioner",
    "role:analyst": "Data analyst",
    "role:auditor": "Auditor",
    "role:dpo": "Data protection officer",
    "coordinator": "Panel coordinator",
    "practitioner": "Practitioner",
    "analyst": "Data analyst",
    "auditor": "Auditor",
    "dpo": "Data protection officer",
    # Grants in an agreement: label(access, "access")
    "access:": "No access",
    "access:r": "Read",
    "access:rw": "Read and write",
    # Agenda reasons that read differently from the code's own label: label(reason, "reason")
    "reason:amber": "Amber (for information)",
    "reason:green": "Green (for information)",
    # Export formats
    "csv": "CSV",
    "xlsx": "Excel (.xlsx)",
    "export:print": "A print view",
    # Where a RAG change came from (cohort.models.RagChange.source): label(source, "rag_source")
    "rag_source:import": "from an imported list",
    "rag_source:meeting": "at a panel meeting",
}


def in_sentence(code: object, kind: str | None = None) -> str:
    """The label as it reads inside a sentence: "date of birth", but "PNC ID" and "RAG" kept."""
    text = label(code, kind)
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def label(code: object, kind: str | None = None) -> str:
    """The words for a code; an unknown code reads as a sentence, not a raw key.

    `kind` picks a reading where one code means two things (`label("admin", "role")` is
    "Administrator", `label("admin")` the access-log action "Administration"): the table's
    "kind:code" entry when there is one, else the code's own.
    """
    if code is None:
        return ""
    text = str(code)
    found = LABELS.get(f"{kind}:{text}") if kind else None
    if found is None:
        found = LABELS.get(text)
    if found is not None:
        return found
    words = text.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def codes() -> set[str]:
    """Every code the table has words for, without its "kind:" (the raw forms no page may show)."""
    return {key.split(":", 1)[1] if ":" in key else key for key in LABELS} - {""}


def as_words(text: object) -> str:
    """Free text as it is, but a bare code (an access-log detail reading "referred") in words."""
    if text is None:
        return ""
    value = str(text)
    return label(value) if value in LABELS else value
