"""Rectification: the DPO corrects a person's identity or contact detail, with a reason.

The reason is kept on each of the person's cases as a "rectified" case event (encrypted,
shown in the case history to those who read offending there), the blind indexes and
blocking keys are recomputed, and the access log records which field was corrected.
"""

from __future__ import annotations

from cohort.models import Nominal
from cohort.services import add_event
from core.extensions import db
from sharing import audit
from sharing.blind_index import index_nominal
from sharing.gateway import FIELD_CATEGORY, unsealed


class Invalid(ValueError):
    """A correction that cannot be made (said in words to the user)."""


def rectify(nominal: Nominal, *, field: str, value: str, reason: str, user) -> None:
    """Correct one field; flushes (the request commits)."""
    value, reason = (value or "").strip(), (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason for the correction")
    if not value:
        raise Invalid("Enter the correct value")
    if FIELD_CATEGORY.get(field) not in ("identity", "contact") or field in ("aliases", "date_of_birth"):
        raise Invalid("That field cannot be corrected here")
    with unsealed("rectification"):
        if getattr(nominal, field) == value:
            raise Invalid("That is already the value held")
        setattr(nominal, field, value)
        index_nominal(nominal)
    for case in nominal.cases:
        add_event(case, "rectified", user, f"{field.replace('_', ' ')} corrected: {reason}")
    db.session.flush()
    audit.record("change", user=user, nominal_id=nominal.id, categories=[FIELD_CATEGORY[field]],
                 purpose="rectification", detail=f"rectified {field}")
