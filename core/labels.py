"""The one table of human labels for codes shown to people.

Categories, action statuses, indicators, agenda reasons, audit event kinds and the
equality-monitoring categories are stored and sent over the API as codes; pages show
these words instead. `label(code)` is also the Jinja filter `label`. Add new codes here
rather than spelling a label in a template, so a code reads the same on every page.
A code with no entry is shown as a readable fallback ("mappa_l3" -> "Mappa l3"), never
as a raw key with underscores.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    # ISA categories
    "identity": "Identity",
    "contact": "Contact details",
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
    # Cohort file columns (cohort.spreadsheet.COLUMNS): headers, import messages, the preview
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
}


def in_sentence(code: object) -> str:
    """The label as it reads inside a sentence: "date of birth", but "PNC ID" and "RAG" kept."""
    text = label(code)
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def label(code: object) -> str:
    """The words for a code; an unknown code reads as a sentence, not a raw key."""
    if code is None:
        return ""
    text = str(code)
    found = LABELS.get(text)
    if found is not None:
        return found
    words = text.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]
