"""What a viewer may see of a case: the gateway's views, under the names the cohort uses.

The rule itself (field -> category, what is withheld, the pseudonym) lives in
sharing.gateway; this module only shapes a view as the API and exports print it.
"""

from __future__ import annotations

from typing import Any

from sharing.gateway import (  # noqa: F401  (re-exported for the cohort's callers)
    CONTACT_FIELDS,
    FIELD_CATEGORY,
    IDENTITY_FIELDS,
    OFFENDING_FIELDS,
    RESETTLEMENT_FIELDS,
    RISK_FIELDS,
    case_detail,
    display_name,
    needs,
    notes,
    rag_history,
    view_case,
)
from sharing.policy import Policy


def case_dict(case, policy: Policy, *, json: bool = True) -> dict[str, Any]:
    """The case as this viewer may see it: always id/ref/status/version, then permitted fields."""
    view = view_case(case, policy)
    return view.as_json() if json else dict(view)
